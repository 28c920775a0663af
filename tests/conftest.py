"""Shared fixtures: small real subsets of the team corpora, seeded torch."""

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

DATA_DIR = Path(
    os.environ.get(
        "SKGNAS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def read_corpus(name):
    """All records of ``name`` from the team's data folder."""
    path = DATA_DIR / name
    if not path.exists():
        pytest.fail(
            f"corpus {path} not found; set SKGNAS_DATA to the folder holding "
            f"the team corpora (shared/data)."
        )
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def subset(records, n, seed=0):
    """A seeded, label-stratified subset of ``n`` records: (texts, labels)."""
    rng = np.random.RandomState(seed)
    labels = np.array([r["label"] for r in records])
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = max(6, int(round(n * len(members) / len(labels))))
        picked += list(rng.choice(members, min(share, len(members)), False))
    picked = rng.permutation(picked)
    return [records[i]["text"] for i in picked], labels[picked]


@pytest.fixture(scope="session")
def spam_records():
    return read_corpus("spam_assassin.jsonl.gz")


@pytest.fixture(scope="session")
def brown_records():
    return read_corpus("brown_genre.jsonl.gz")


@pytest.fixture(scope="session")
def spam_small(spam_records):
    """240 e-mails, ham and spam in their corpus proportions."""
    return subset(spam_records, 240)


@pytest.fixture(scope="session")
def brown_small(brown_records):
    """About 300 Brown passages over all 15 genres."""
    return subset(brown_records, 300)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield


# A tiny, fast configuration shared by tests that run real searches.
TINY_VECTORIZER = dict(vector_size=16, epochs=2, max_len=60, min_count=2)
TINY_NET = dict(max_epochs=2, batch_size=32, n_threads=1)
