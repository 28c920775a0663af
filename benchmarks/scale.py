"""Benchmark 3: memory and speed on 100,000 synthetic documents of 500 tokens.

One ``TextNetClassifier`` learns Gensim vectors from the corpus (fit and
transform), trains its network for one epoch and then predicts every
document. The script prints the peak resident memory of the process (target:
under 2.5 GB, the corpus itself included), the resident memory after each
step, the time of each step and the prediction throughput.

The corpus is synthetic: words drawn from a Zipf-like distribution over a
vocabulary of made-up words, two classes told apart by a small set of words
each class uses more often. Gensim makes one pass over the corpus
(``epochs=1``): the memory does not depend on the number of passes and more
would only lengthen the run. Every other setting is the default
(``max_len=2000``), so each document keeps all its 500 tokens; the network
works on ids only as wide as the longest document (500).

Run from the repository root::

    python benchmarks/scale.py            # 100,000 documents
    python benchmarks/scale.py 10000      # a quicker, smaller run
"""

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skgnas import GensimVectorizer, TextNetClassifier  # noqa: E402

N_DOCS = 100_000
DOC_TOKENS = 500
VOCABULARY = 30_000
CLASS_WORDS = 200
CLASS_SHARE = 0.05
TARGET_GB = 2.5
SEED = 0


def make_words(n, rng):
    """``n`` distinct made-up lower-case words of 2 to 10 letters."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = set()
    while len(words) < n:
        size = rng.randint(2, 11)
        words.add("".join(letters[rng.randint(26, size=size)]))
    return np.array(sorted(words), dtype=object)[rng.permutation(n)]


def make_corpus(n_docs, rng):
    """Texts of ``DOC_TOKENS`` words and their binary labels."""
    words = make_words(VOCABULARY, rng)
    weights = 1.0 / (np.arange(VOCABULARY) + 2.7)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    # Each class over-uses its own slice of mid-frequency words.
    class_words = [1000 + c * CLASS_WORDS + np.arange(CLASS_WORDS)
                   for c in (0, 1)]
    labels = rng.randint(2, size=n_docs)
    texts = []
    for start in range(0, n_docs, 1000):
        rows = labels[start:start + 1000]
        ids = np.searchsorted(cdf, rng.random_sample((len(rows),
                                                      DOC_TOKENS)))
        marked = rng.random_sample(ids.shape) < CLASS_SHARE
        for row, label in enumerate(rows):
            picks = rng.choice(class_words[label], marked[row].sum())
            ids[row, marked[row]] = picks
            texts.append(" ".join(words[ids[row]].tolist()))
    return texts, np.where(labels == 1, "pos", "neg")


def rss_gb():
    """Resident memory of this process now, in GB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e9


def peak_rss_gb():
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main():
    n_docs = int(sys.argv[1]) if len(sys.argv) > 1 else N_DOCS
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores); 1 torch thread, 1 Gensim worker")
    print(f"after imports: rss {rss_gb():.2f} GB")

    started = time.perf_counter()
    X, y = make_corpus(n_docs, np.random.RandomState(SEED))
    text_gb = sum(sys.getsizeof(text) for text in X) / 1e9
    print(f"corpus: {len(X):,} documents x {DOC_TOKENS} tokens, "
          f"{text_gb:.2f} GB of str, made in "
          f"{time.perf_counter() - started:.1f} s; rss {rss_gb():.2f} GB")

    clf = TextNetClassifier(
        GensimVectorizer(vector_size=100, epochs=1),  # default max_len
        layer_type="convolutional", num_layers=1, hidden_units=64,
        batch_size=64, max_epochs=1, patience=None, random_state=SEED,
        n_threads=1,
    )
    started = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - started
    vectorizer = clf.vectorizer_
    print(f"fit (vectors + 1 epoch): {fit_seconds:.1f} s; vocabulary "
          f"{len(vectorizer.vocabulary_):,} words, "
          f"{vectorizer.n_tokens_trained_:,} tokens trained on; "
          f"rss {rss_gb():.2f} GB, peak so far {peak_rss_gb():.2f} GB")

    started = time.perf_counter()
    predicted = clf.predict(X)
    predict_seconds = time.perf_counter() - started
    print(f"predict: {predict_seconds:.1f} s, "
          f"{len(X) / predict_seconds:,.0f} docs/s (training accuracy "
          f"{np.mean(predicted == y):.3f}); rss {rss_gb():.2f} GB")

    peak = peak_rss_gb()
    print(f"peak resident memory: {peak:.2f} GB (target < {TARGET_GB} GB "
          f"-> {'met' if peak < TARGET_GB else 'MISSED'})")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
