"""Loading labelled text corpora: the shipped sample and user files."""

import csv
import gzip
import json
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["load_corpus", "load_spam_sample"]


def _open_text(path):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def load_corpus(path, *, text_column="text", label_column="label",
                return_X_y=False):
    """Read a labelled corpus from a CSV or JSON-lines file.

    The format follows the name: ``.csv`` (or ``.csv.gz``) is read as CSV
    with a header row, anything else as one JSON object per line. Files
    ending in ``.gz`` are decompressed.

    Parameters
    ----------
    path : str or Path
    text_column, label_column : str
        Field names of the document and of its label. ``label_column=None``
        reads unlabelled texts (labels come back as None).
    return_X_y : bool, default=False
        Return ``(texts, labels)`` instead of the list of records.

    Returns
    -------
    records : list of dict, or (list of str, ndarray) with ``return_X_y``.

    Raises
    ------
    ValueError
        If a record lacks ``text_column`` or ``label_column``; the message
        names the line.
    """
    path = Path(path)
    is_csv = ".csv" in path.suffixes
    with _open_text(path) as handle:
        if is_csv:
            rows = list(csv.DictReader(handle))
            first_line = 2
        else:
            rows = [json.loads(line) for line in handle if line.strip()]
            first_line = 1
    wanted = [c for c in (text_column, label_column) if c is not None]
    for number, row in enumerate(rows, start=first_line):
        missing = [c for c in wanted if c not in row]
        if missing:
            raise ValueError(
                f"{path}: line {number} has no field {missing[0]!r}; its "
                f"fields are {sorted(row)}. Choose the column with "
                f"--text-column / --label-column."
            )
    if not return_X_y:
        return rows
    texts = [row[text_column] for row in rows]
    labels = (
        np.asarray([row[label_column] for row in rows])
        if label_column is not None else None
    )
    return texts, labels


def load_spam_sample(*, return_X_y=False):
    """The 1,500 e-mails shipped with skgnas (1,050 ham, 450 spam).

    A seeded subset of the SpamAssassin public corpus; see
    ``skgnas/datasets/README.md`` for provenance and licence.
    """
    source = resources.files("skgnas") / "datasets" / "spam_sample.jsonl.gz"
    with resources.as_file(source) as path:
        return load_corpus(path, return_X_y=return_X_y)
