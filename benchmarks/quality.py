"""Held-out quality of the default search against TF-IDF baselines.

For each corpus, on its reference split, this fits TF-IDF (sublinear,
min_df=2) + LogisticRegression(C=10) and + LinearSVC(C=1), then the default
GensimNASClassifier search, and prints test accuracy and macro-F1 of all
three, the search's wall time and its best architecture, in one run. On
brown_genre the search's CV folds keep each source document's passages
together (``groups``), as the reference split does.

Run: python benchmarks/quality.py [--corpora spam_assassin brown_genre]
     [--n-trials 10] [--n-jobs -1]
"""

import argparse
import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from _corpora import reference_split
from skgnas import GensimNASClassifier


def _scores(y_true, y_pred):
    return (accuracy_score(y_true, y_pred),
            f1_score(y_true, y_pred, average="macro"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpora", nargs="+",
                        default=["spam_assassin", "brown_genre"])
    parser.add_argument("--n-trials", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args()

    rows = []
    for corpus in args.corpora:
        X_train, X_test, y_train, y_test, groups = reference_split(
            corpus, with_groups=True)
        print(f"== {corpus}: {len(X_train)} train, {len(X_test)} test",
              flush=True)
        for name, model in [
            ("TF-IDF + LogisticRegression", LogisticRegression(C=10,
                                                               max_iter=2000)),
            ("TF-IDF + LinearSVC", LinearSVC(C=1)),
        ]:
            pipe = make_pipeline(
                TfidfVectorizer(sublinear_tf=True, min_df=2), model)
            started = time.monotonic()
            pipe.fit(X_train, y_train)
            seconds = time.monotonic() - started
            rows.append((corpus, name, *_scores(y_test,
                                                 pipe.predict(X_test)),
                         seconds))

        nas = GensimNASClassifier(
            n_trials=args.n_trials, n_jobs=args.n_jobs,
            random_state=args.random_state, verbose=1,
        )
        started = time.monotonic()
        # brown_genre: passages of one source document stay in one CV fold,
        # as they do across the reference split.
        nas.fit(X_train, y_train, groups=groups)
        seconds = time.monotonic() - started
        rows.append((corpus, "skgnas default search",
                     *_scores(y_test, nas.predict(X_test)), seconds))
        print(f"best architecture ({corpus}): "
              f"{json.dumps(nas.best_architecture_)}")
        print(f"best CV score {nas.best_score_:.4f}, "
              f"{nas.n_vector_trainings_} word-vector trainings", flush=True)

    print()
    print(f"{'corpus':15} {'model':30} {'accuracy':>9} {'macro-F1':>9} "
          f"{'seconds':>9}")
    for corpus, name, accuracy, macro_f1, seconds in rows:
        print(f"{corpus:15} {name:30} {accuracy:9.3f} {macro_f1:9.3f} "
              f"{seconds:9.1f}")


if __name__ == "__main__":
    main()
