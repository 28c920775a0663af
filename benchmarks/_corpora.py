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


def reference_split(corpus):
    """``(X_train, X_test, y_train, y_test)`` of the reference protocol."""
    if corpus == "spam_assassin":
        records = _records("spam_assassin.jsonl.gz")
        X = [r["text"] for r in records]
        y = np.array([r["label"] for r in records])
        return train_test_split(X, y, test_size=0.2, stratify=y,
                                random_state=0)
    if corpus == "brown_genre":
        records = _records("brown_genre.jsonl.gz")
        X = np.array([r["text"] for r in records], dtype=object)
        y = np.array([r["label"] for r in records])
        groups = np.array([r["doc"] for r in records])
        splitter = StratifiedGroupKFold(n_splits=5, shuffle=True,
                                        random_state=0)
        train, test = next(splitter.split(X, y, groups))
        return list(X[train]), list(X[test]), y[train], y[test]
    raise ValueError(f"unknown corpus {corpus!r}")
