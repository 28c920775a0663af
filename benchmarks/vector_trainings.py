"""Benchmark 2: Gensim trainings during a 20-candidate, 3-fold search.

Word vectors depend only on the training texts and the vectorizer settings,
so a search over network settings must train Gensim once per CV split plus
once for the refit: 4 trainings for 3 folds, however many candidates, with
``n_jobs=1`` and with ``n_jobs=2`` (separate worker processes sharing the
on-disk cache).

``n_vector_trainings_`` counts marker files left by each real training in
the search's cache folder. With ``n_jobs=1`` this script also counts calls
of Gensim's ``train`` in its own process, as an independent check.

Run from the repository root::

    python benchmarks/vector_trainings.py
"""

import os
import sys
import time
from pathlib import Path

from gensim.models import Word2Vec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _corpora import load_spam  # noqa: E402
from skgnas import GensimNASClassifier, GensimVectorizer  # noqa: E402

N_DOCS = 600
N_TRIALS = 20
SPACE = {
    "layer_type": ["bag", "dense", "convolutional"],
    "hidden_units": [8, 16],
    "dropout": [0.0, 0.1, 0.3],
    "lr": [1e-3, 3e-3, 1e-2],
}


class GensimTrainCounter:
    """Counts calls of Gensim's ``Word2Vec.train`` in this process."""

    def __init__(self):
        self.calls = 0
        self._original = Word2Vec.train

    def __enter__(self):
        original = self._original

        def counted(model, *args, **kwargs):
            self.calls += 1
            return original(model, *args, **kwargs)

        Word2Vec.train = counted
        return self

    def __exit__(self, *exc):
        Word2Vec.train = self._original


def search(X, y, n_jobs):
    nas = GensimNASClassifier(
        SPACE,
        strategy="random",
        n_trials=N_TRIALS,
        cv=3,
        vectorizer=GensimVectorizer(
            vector_size=16, epochs=2, max_len=100, min_count=2
        ),
        max_epochs=1,
        batch_size=32,
        patience=None,
        n_jobs=n_jobs,
        n_threads=1,
        random_state=0,
    )
    started = time.perf_counter()
    with GensimTrainCounter() as counter:
        nas.fit(X, y)
    return nas, counter.calls, time.perf_counter() - started


def main():
    print(f"load average at start: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores); 1 torch thread per fit")
    X, y = load_spam(N_DOCS)
    print(f"corpus: {len(X)} spam_assassin documents; {N_TRIALS} candidates "
          f"drawn at random, 3 folds + refit")
    print(f"{'n_jobs':>6}  {'candidates':>10}  {'fits':>5}  "
          f"{'n_vector_trainings_':>19}  {'train() calls here':>18}  "
          f"{'seconds':>7}")
    ok = True
    for n_jobs in (1, 2):
        try:
            nas, calls, seconds = search(X, y, n_jobs)
        except Exception as exc:  # reported, so the other row still prints
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            print(f"{n_jobs:>6}  search failed: {type(exc).__name__}: "
                  f"{first_line}")
            ok = False
            continue
        n_candidates = len(nas.cv_results_["params"])
        fits = n_candidates * nas.n_splits_ + 1
        print(f"{n_jobs:>6}  {n_candidates:>10}  {fits:>5}  "
              f"{nas.n_vector_trainings_:>19}  {calls:>18}  {seconds:>7.1f}")
        ok &= nas.n_vector_trainings_ == 4 and n_candidates == N_TRIALS
        if n_jobs == 1:
            ok &= calls == nas.n_vector_trainings_
    print(f"target: 4 Gensim trainings (3 splits + refit) -> "
          f"{'met' if ok else 'MISSED'}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
