"""Rebuild skgnas/datasets/spam_sample.jsonl.gz from the team corpus.

Usage: python scripts/make_spam_sample.py ../shared/data/spam_assassin.jsonl.gz
"""

import gzip
import json
import sys
from pathlib import Path

import numpy as np

N_HAM, N_SPAM, MAX_CHARS = 1050, 450, 3000
OUT = Path(__file__).resolve().parents[1] / "skgnas/datasets/spam_sample.jsonl.gz"


def main(source):
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    rng = np.random.RandomState(0)
    ham = [i for i, r in enumerate(records) if r["label"] == "ham"]
    spam = [i for i, r in enumerate(records) if r["label"] == "spam"]
    picked = sorted(
        list(rng.choice(ham, N_HAM, replace=False))
        + list(rng.choice(spam, N_SPAM, replace=False))
    )
    with gzip.open(OUT, "wt", encoding="utf-8") as out:
        for i in picked:
            r = records[i]
            row = {"text": r["text"][:MAX_CHARS], "label": r["label"],
                   "id": r["id"], "group": r["group"]}
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
