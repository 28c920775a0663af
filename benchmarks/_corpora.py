"""The team corpora and their reference splits (shared/data/README.md)."""

import gzip
import json
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

DATA_DIR = Path(os.environ.get(
    "SKGNAS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _records(name):
    with gzip.open(DATA_DIR / name, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def load_spam(n_docs, seed=0):
    """A seeded random subset of spam_assassin: (texts, labels)."""
    records = _records("spam_assassin.jsonl.gz")
    picked = np.random.RandomState(seed).permutation(len(records))[:n_docs]
    return (
        [records[i]["text"] for i in picked],
        np.array([records[i]["label"] for i in picked]),
    )


def reference_split(corpus, *, with_groups=False):
    """``(X_train, X_test, y_train, y_test)`` of the reference protocol.

    With ``with_groups``, a fifth item gives the source document of each
    training passage for brown_genre (None for spam_assassin), so a search
    can keep passages of one document in one fold, as the split does.
    """
    if corpus == "spam_assassin":
        records = _records("spam_assassin.jsonl.gz")
        X = [r["text"] for r in records]
        y = np.array([r["label"] for r in records])
        split = train_test_split(X, y, test_size=0.2, stratify=y,
                                 random_state=0)
        return (*split, None) if with_groups else split
    if corpus == "brown_genre":
        records = _records("brown_genre.jsonl.gz")
        X = np.array([r["text"] for r in records], dtype=object)
        y = np.array([r["label"] for r in records])
        groups = np.array([r["doc"] for r in records])
        splitter = StratifiedGroupKFold(n_splits=5, shuffle=True,
                                        random_state=0)
        train, test = next(splitter.split(X, y, groups))
        split = list(X[train]), list(X[test]), y[train], y[test]
        return (*split, groups[train]) if with_groups else split
    raise ValueError(f"unknown corpus {corpus!r}")
