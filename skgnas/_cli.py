"""The ``skgnas`` command: search architectures on a corpus, predict with one.

``skgnas search [DATA]`` reads a CSV or JSON-lines corpus (or, without DATA,
the e-mail sample shipped with skgnas), holds out a stratified test part,
searches architectures on the rest, prints the best one and its held-out
accuracy, and writes the fitted model and the table of results.
``skgnas predict MODEL DATA`` writes one predicted label per document.
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from ._classifier import GensimNASClassifier
from ._datasets import load_corpus, load_spam_sample
from ._strategies import STRATEGIES
from ._vectorizer import GensimVectorizer

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="skgnas",
        description="Neural architecture search for text classification.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    search = commands.add_parser(
        "search", help="search architectures on a labelled corpus",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Search architectures on a labelled CSV or JSON-lines "
        "corpus (.gz allowed). Without DATA, the e-mail sample shipped with "
        "skgnas is used.",
    )
    search.add_argument("data", nargs="?", help="corpus file")
    search.add_argument("--text-column", default="text",
                        help="field holding each document")
    search.add_argument("--label-column", default="label",
                        help="field holding each label")
    search.add_argument("--space", help="search space as JSON, e.g. "
                        "'{\"layer_type\": [\"bag\", \"convolutional\"]}'")
    search.add_argument("--strategy", default="random",
                        choices=sorted(STRATEGIES), help="search strategy")
    search.add_argument("--strategy-options", metavar="JSON",
                        help="options of the strategy as JSON, e.g. "
                        "'{\"rank_by\": \"neg_log_loss\"}' for halving; "
                        "see docs/strategies.md")
    search.add_argument("--scoring", default="accuracy",
                        help="scikit-learn scorer name, or several separated "
                        "by commas: the first picks the best architecture, "
                        "the others are also reported (and halving may "
                        "rank_by them)")
    search.add_argument("--n-trials", type=int, default=8,
                        help="candidates to evaluate")
    search.add_argument("--cv", type=int, default=3,
                        help="cross-validation folds")
    search.add_argument("--max-epochs", type=int, default=8,
                        help="most training epochs per candidate")
    search.add_argument("--time-budget", type=float, default=None,
                        help="seconds after which no candidate starts")
    search.add_argument("--test-size", type=float, default=0.2,
                        help="held-out share for the final accuracy")
    search.add_argument("--vector-size", type=int, default=100,
                        help="dimension of the Gensim word vectors")
    search.add_argument("--max-len", type=int, default=300,
                        help="tokens kept per document (default 300, for "
                        "a quick run; GensimVectorizer keeps 2000)")
    search.add_argument("--n-jobs", type=int, default=-1,
                        help="parallel fits (-1: one per core)")
    search.add_argument("--random-state", type=int, default=0,
                        help="seed of folds, candidates and training")
    search.add_argument("--output-dir", default="skgnas-out",
                        help="where model.joblib, results.csv and summary.json go")
    search.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing")

    predict = commands.add_parser(
        "predict", help="predict labels with a saved model",
        description="Write one predicted label per document as CSV.",
    )
    predict.add_argument("model", help="model.joblib written by search")
    predict.add_argument("data", help="corpus file (CSV or JSON lines)")
    predict.add_argument("--text-column", default="text",
                         help="field holding each document")
    predict.add_argument("--output", help="CSV file (default: stdout)")
    return parser


def _search(args):
    say = (lambda *a: None) if args.quiet else print
    if args.data is None:
        texts, labels = load_spam_sample(return_X_y=True)
        say(f"skgnas: no DATA given; using the shipped e-mail sample "
            f"({len(texts)} documents)")
    else:
        texts, labels = load_corpus(
            args.data, text_column=args.text_column,
            label_column=args.label_column, return_X_y=True,
        )
        say(f"skgnas: read {len(texts)} documents from {args.data}")
    space = _json_option("--space", args.space)
    options = _json_option("--strategy-options", args.strategy_options)
    scoring, refit = _scoring_option(args.scoring)
    X_train, X_test, y_train, y_test = train_test_split(
        texts, labels, test_size=args.test_size, stratify=labels,
        random_state=args.random_state,
    )
    nas = GensimNASClassifier(
        space,
        strategy=args.strategy,
        strategy_options=options,
        scoring=scoring,
        refit=refit,
        n_trials=args.n_trials,
        cv=args.cv,
        vectorizer=GensimVectorizer(vector_size=args.vector_size,
                                    max_len=args.max_len),
        max_epochs=args.max_epochs,
        time_budget=args.time_budget,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
    )
    say(f"skgnas: searching ({args.strategy}, {args.n_trials} trials, "
        f"{args.cv}-fold CV) on {len(X_train)} documents, "
        f"{len(X_test)} held out")
    started = time.monotonic()
    nas.fit(X_train, y_train)
    predicted = nas.predict(X_test)
    accuracy = accuracy_score(y_test, predicted)
    macro_f1 = f1_score(y_test, predicted, average="macro")

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(nas, out / "model.joblib")
    metrics = (["score"] if isinstance(nas.scoring, str)
               else [nas.refit] + [m for m in nas.scoring if m != nas.refit])
    _write_results(nas.cv_results_, out / "results.csv", metrics)
    summary = {
        "best_architecture": nas.best_architecture_,
        "best_cv_score": float(nas.best_score_),
        "test_accuracy": float(accuracy),
        "test_macro_f1": float(macro_f1),
        "n_train": len(X_train),
        "n_test": len(X_test),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    say("\nBest architecture:")
    for key, value in nas.best_architecture_.items():
        say(f"  {key:26} {value}")
    say(f"\nCV {_metric_name(nas)}: {nas.best_score_:.4f}")
    say(f"Held-out accuracy: {accuracy:.4f}  macro-F1: {macro_f1:.4f} "
        f"({len(X_test)} documents)")
    say(f"Total time: {summary['seconds']:.1f} s; model, results and "
        f"summary written to {out}/")
    return 0


def _json_option(flag, text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{flag} expects JSON; {exc} in {text!r}") from None


def _scoring_option(text):
    """``'accuracy'`` -> one metric; ``'accuracy,neg_log_loss'`` -> a dict
    of metrics refitting on the first."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ValueError(
            f"--scoring expects scorer names separated by commas, e.g. "
            f"'accuracy,neg_log_loss'; received {text!r}."
        )
    if len(names) == 1:
        return names[0], True
    return {name: name for name in names}, names[0]


def _metric_name(nas):
    if isinstance(nas.scoring, str):
        return nas.scoring
    return nas.refit if isinstance(nas.refit, str) else "accuracy"


def _write_results(cv_results, path, metrics):
    """One row per candidate, best first: rank, mean and spread of each
    metric, fit time and the candidate's settings."""
    keys = [f"{what}_test_{metric}" for metric in metrics
            for what in ("rank", "mean", "std")]
    keys = [k for k in keys if k in cv_results]
    keys += ["mean_fit_time", "params"]
    order = np.argsort(cv_results[f"rank_test_{metrics[0]}"], kind="stable")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(keys)
        for i in order:
            writer.writerow([
                json.dumps(cv_results[k][i]) if k == "params"
                else cv_results[k][i] for k in keys
            ])


def _predict(args):
    model = joblib.load(args.model)
    texts, _ = load_corpus(args.data, text_column=args.text_column,
                           label_column=None, return_X_y=True)
    predicted = model.predict(texts)
    handle = (open(args.output, "w", newline="", encoding="utf-8")
              if args.output else sys.stdout)
    try:
        writer = csv.writer(handle)
        writer.writerow(["prediction"])
        for label in predicted:
            writer.writerow([label.item() if hasattr(label, "item")
                             else label])
    finally:
        if args.output:
            handle.close()
    return 0


def main(argv=None):
    """Entry point of the ``skgnas`` console command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "search":
            return _search(args)
        return _predict(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"skgnas: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
