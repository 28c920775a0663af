"""Evolution, Bayes and halving against random search, at equal compute.

Compute is counted in training epochs: every candidate x fold fit reports
the epochs it trained through an extra scorer (``n_epochs_`` of the fitted
network), so the count does not depend on the machine or its load. The
refit on all the data is the same for every strategy and is not counted.

For each corpus (reference splits of ``shared/data/README.md``) and seed,
random search runs ``n_trials`` candidates for ``max_epochs`` epochs each;
evolution and Bayes get the same ``n_trials`` and epochs; halving starts
the same ``n_trials`` architectures but trains most of them for fewer
epochs, and promotes by log-loss (``rank_by='neg_log_loss'``), which
still separates networks that tie on accuracy after an epoch. Fits train
exactly their ``max_epochs`` (no early stopping), so compute is the same
for every candidate of a round. The table gives best CV accuracy and
held-out accuracy (mean and standard deviation over seeds), compute used,
and the share of random search's compute a strategy spent before its
best-so-far CV accuracy first reached random search's final best CV
accuracy (same seed).

Run from the repository root::

    python benchmarks/strategies.py                 # ~12 min, 2 workers
    python benchmarks/strategies.py --n-trials 48   # twice the budget
    python benchmarks/strategies.py --size small    # a quick look
"""

import argparse
import gzip
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import loguniform, spearmanr
from sklearn.model_selection import (
    StratifiedGroupKFold, StratifiedKFold, train_test_split,
)

# Import the package of this checkout, not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skgnas import GensimNASClassifier, GensimVectorizer  # noqa: E402

DATA_DIR = Path(os.environ.get(
    "SKGNAS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
))

STRATEGIES = ("random", "evolution", "bayes", "halving")

# Recurrent networks cost 5-50 times more per epoch on a CPU than the
# families below; leaving them out keeps the default run near 25 minutes.
SPACE = {
    "layer_type": ["bag", "dense", "convolutional"],
    "num_layers": [1, 2],
    "hidden_units": [16, 32, 64],
    "activation": ["relu", "tanh", "gelu"],
    "dropout": [0.0, 0.25, 0.5],
    "pooling": ["max", "mean"],
    "kernel_size": [3, 5],
    "ngrams": [1, 2],
    "freeze_embeddings": [False, True],
    "lr": loguniform(3e-4, 3e-2),
}

SIZES = {
    # n_train: training documents drawn (stratified, fixed) from the
    # reference training split; n_trials and max_epochs: random search's
    # budget, so its compute is n_trials * max_epochs * 3 folds.
    "small": dict(n_train=300, n_trials=6, max_epochs=3, max_len=60),
    "default": dict(n_train=700, n_trials=24, max_epochs=9, max_len=100),
    "large": dict(n_train=1500, n_trials=30, max_epochs=9, max_len=200),
}

TARGET_REACH = 0.60     # evolution and bayes: share of random's compute
TARGET_HALVING = 0.35   # halving: share of random's compute ...
TARGET_GAP = 0.005      # ... within 0.5 accuracy points of random


def read_corpus(name):
    with gzip.open(DATA_DIR / name, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def reference_split(corpus):
    """(X_train, y_train, groups_train, X_test, y_test) as in the README."""
    records = read_corpus(f"{corpus}.jsonl.gz")
    X = np.array([r["text"] for r in records], dtype=object)
    y = np.array([r["label"] for r in records])
    if corpus == "spam_assassin":
        train, test = train_test_split(
            np.arange(len(y)), test_size=0.2, stratify=y, random_state=0
        )
        groups = None
    else:
        groups = np.array([r["doc"] for r in records])
        splitter = StratifiedGroupKFold(5, shuffle=True, random_state=0)
        train, test = next(splitter.split(X, y, groups))
    return (X[train], y[train], None if groups is None else groups[train],
            X[test], y[test])


def subsample(X, y, groups, n):
    """A fixed stratified subset of ``n`` training documents."""
    if n >= len(y):
        return X, y, groups
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=y, random_state=0
    )
    keep = np.sort(keep)
    return X[keep], y[keep], None if groups is None else groups[keep]


def folds(y, groups):
    """Fixed 3-fold CV; brown_genre keeps each source document in one fold."""
    if groups is None:
        splitter = StratifiedKFold(3, shuffle=True, random_state=0)
        return list(splitter.split(np.zeros(len(y)), y))
    splitter = StratifiedGroupKFold(3, shuffle=True, random_state=0)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def epochs_trained(estimator, X, y):
    """Scorer: epochs the candidate's network trained on this fold."""
    return float(estimator.n_epochs_)


def run_search(strategy, X, y, cv, seed, size, n_jobs):
    nas = GensimNASClassifier(
        SPACE,
        strategy=strategy,
        n_trials=size["n_trials"],
        cv=cv,
        scoring={"accuracy": "accuracy", "neg_log_loss": "neg_log_loss",
                 "epochs": epochs_trained},
        refit="accuracy",
        # One refit network, so held-out figures compare with earlier runs
        # and do not depend on averaging.
        refit_networks=1,
        # Halving promotes by log-loss, which still separates networks
        # that tie on accuracy after an epoch (docs/strategies.md).
        strategy_options=(
            {"rank_by": "neg_log_loss"} if strategy == "halving" else None
        ),
        vectorizer=GensimVectorizer(
            vector_size=32, epochs=5, min_count=2, max_len=size["max_len"]
        ),
        max_epochs=size["max_epochs"],
        patience=None,  # epochs are the resource: train exactly max_epochs
        n_jobs=n_jobs,
        n_threads=1,
        random_state=seed,
    )
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        nas.fit(list(X), y)
    return nas, time.monotonic() - started


def trajectory(nas, n_splits, max_epochs):
    """Cumulative compute and best-so-far CV accuracy, row by row.

    Only rows trained for the full ``max_epochs`` count as reaching a
    score (halving's early rounds are not comparable).
    """
    results = nas.cv_results_
    epochs = results["mean_test_epochs"] * n_splits
    if "param_max_epochs" in results:
        full = np.asarray(results["param_max_epochs"].filled(max_epochs), int)
    else:
        full = np.full(len(epochs), max_epochs)
    scores = np.where(full == max_epochs, results["mean_test_accuracy"],
                      -np.inf)
    scores = np.nan_to_num(scores, nan=-np.inf)
    return np.cumsum(epochs), np.maximum.accumulate(scores)


def reach(compute, best_so_far, target):
    """Compute spent when the best-so-far first reaches ``target``."""
    hit = np.flatnonzero(best_so_far >= target - 1e-12)
    return compute[hit[0]] if len(hit) else None


def benchmark(corpus, size, seeds, n_jobs, log):
    X, y, groups, X_test, y_test = reference_split(corpus)
    n_full = len(y)
    X, y, groups = subsample(X, y, groups, size["n_train"])
    cv = folds(y, groups)
    log(f"\n## {corpus}: {len(y)} of {n_full} training documents "
        f"(stratified subsample), {len(y_test)} held-out, "
        f"{len(np.unique(y))} classes")

    runs = {s: [] for s in STRATEGIES}
    for seed in seeds:
        for strategy in STRATEGIES:
            nas, seconds = run_search(strategy, X, y, cv, seed, size, n_jobs)
            compute, best = trajectory(nas, len(cv), size["max_epochs"])
            results = nas.cv_results_
            run = dict(
                seed=seed,
                best_cv=float(nas.best_score_),
                test=float(nas.score(list(X_test), y_test)),
                compute=float(compute[-1]),
                curve=(compute, best),
                rows=len(results["params"]),
                fold_sd=float(np.nanmedian(results["std_test_accuracy"])),
                seconds=seconds,
                best=nas.best_params_,
                scores=[
                    (_arch_key(p), p.get("max_epochs", size["max_epochs"]),
                     float(a), float(nll))
                    for p, a, nll in zip(results["params"],
                                         results["mean_test_accuracy"],
                                         results["mean_test_neg_log_loss"])
                ],
            )
            runs[strategy].append(run)
            log(f"  seed {seed} {strategy:9s} best CV {run['best_cv']:.4f} "
                f"held-out {run['test']:.4f} compute {run['compute']:.0f} "
                f"epochs, {run['rows']} rows, {seconds:.0f} s; best "
                f"{json.dumps(nas.best_params_, default=str)}")

    # Compute to reach random search's final best, per seed.
    for i, random_run in enumerate(runs["random"]):
        target = random_run["best_cv"]
        for strategy in STRATEGIES:
            run = runs[strategy][i]
            spent = reach(*run["curve"], target)
            run["reach"] = (None if spent is None
                            else spent / random_run["compute"])
            run["share"] = run["compute"] / random_run["compute"]
    return runs


def mean_sd(values):
    values = np.asarray(values, float)
    return f"{values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0:.4f}"


def reach_cell(runs):
    reached = [r["reach"] for r in runs if r["reach"] is not None]
    n = len(runs)
    if len(reached) < n:
        # Unreached seeds count as their whole compute: a lower bound.
        bound = [r["reach"] if r["reach"] is not None else r["share"]
                 for r in runs]
        return f">{100 * np.mean(bound):.0f}% ({len(reached)}/{n} reached)"
    return f"{100 * np.mean(reached):.0f}% ({n}/{n} reached)"


def table(all_runs):
    lines = [
        "| corpus | strategy | best CV acc | held-out acc | compute "
        "(epochs) | % of random | compute to reach random's best CV |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for corpus, runs in all_runs.items():
        for strategy in STRATEGIES:
            r = runs[strategy]
            lines.append(
                f"| {corpus} | {strategy} | "
                f"{mean_sd([x['best_cv'] for x in r])} | "
                f"{mean_sd([x['test'] for x in r])} | "
                f"{np.mean([x['compute'] for x in r]):.0f} | "
                f"{100 * np.mean([x['share'] for x in r]):.0f}% | "
                f"{reach_cell(r)} |"
            )
    return "\n".join(lines)


def verdicts(all_runs):
    lines = []
    for corpus, runs in all_runs.items():
        for strategy in ("evolution", "bayes"):
            r = runs[strategy]
            ok = all(x["reach"] is not None for x in r) and (
                np.mean([x["reach"] for x in r]) <= TARGET_REACH
            )
            lines.append(
                f"{corpus} {strategy}: reach random's best with <= "
                f"{TARGET_REACH:.0%} of its compute: "
                f"{'met' if ok else 'MISSED'} ({reach_cell(r)})"
            )
        halving, random = runs["halving"], runs["random"]
        gap = np.mean([h["test"] - r["test"] for h, r in zip(halving, random)])
        cv_gap = np.mean([h["best_cv"] - r["best_cv"]
                          for h, r in zip(halving, random)])
        share = np.mean([h["share"] for h in halving])
        ok = gap >= -TARGET_GAP and share <= TARGET_HALVING
        lines.append(
            f"{corpus} halving: within {100 * TARGET_GAP:.1f} points of "
            f"random with <= {TARGET_HALVING:.0%} compute: "
            f"{'met' if ok else 'MISSED'} (held-out {100 * gap:+.2f} "
            f"points, best CV {100 * cv_gap:+.2f} points, compute "
            f"{share:.0%})"
        )
    return "\n".join(lines)


def _arch_key(params):
    return json.dumps(
        {k: v for k, v in params.items() if k != "max_epochs"},
        sort_keys=True, default=str,
    )


def luck_of_random(n_trials):
    """What a second random search of ``n_trials`` scores in the reach test.

    With exchangeable candidates, the first ``k`` of another random search
    hold the best of the ``n_trials + k`` with chance ``k / (n_trials +
    k)``. Returns the expected share of compute to reach (an unreached run
    counting as all of it, as in the table) and the chance of reaching
    within ``TARGET_REACH`` of the compute.
    """
    n = n_trials
    expected = sum(1.0 / (n + k) for k in range(n))
    k = int(TARGET_REACH * n)
    return expected, k / (n + k)


def analysis(all_runs, max_epochs, n_trials):
    """Figures that say why a target was met or missed."""
    expected, chance = luck_of_random(n_trials)
    lines = [
        f"A second random search (another seed) needs {expected:.0%} of the "
        f"compute in expectation to reach the first one's best, counting "
        f"an unreached run as 100%, and reaches it within "
        f"{TARGET_REACH:.0%} with chance {chance:.2f}: the bar a strategy "
        f"must clear to beat luck."
    ]
    for corpus, runs in all_runs.items():
        fold_sd = np.median([x["fold_sd"] for r in runs.values() for x in r])
        random_best = [x["best_cv"] for x in runs["random"]]
        own = [x["reach"] for x in runs["random"]]
        near, rho, rho_loss, kept = [], [], [], []
        for random, halving in zip(runs["random"], runs["halving"]):
            full = {row[0]: row[2] for row in random["scores"]}
            scores = np.array(list(full.values()))
            near.append(np.mean(scores >= random["best_cv"] - fold_sd))
            # Halving's round 0 trains random search's candidates (same
            # seed) for fewer epochs: how well does it rank them, by
            # accuracy and by log-loss?
            first = min(row[1] for row in halving["scores"])
            early = {row[0]: row[2:] for row in halving["scores"]
                     if row[1] == first}
            common = sorted(set(early) & set(full))
            rho.append(spearmanr([early[k][0] for k in common],
                                 [full[k] for k in common])[0])
            rho_loss.append(spearmanr([early[k][1] for k in common],
                                      [full[k] for k in common])[0])
            best_key = max(full, key=full.get)
            last = {row[0] for row in halving["scores"]
                    if row[1] == max_epochs}
            kept.append(best_key in last)
        lines += [
            f"{corpus}: median fold-to-fold SD of a candidate's CV accuracy "
            f"{fold_sd:.4f}; random's best CV over seeds "
            f"{min(random_best):.4f}-{max(random_best):.4f}.",
            f"{corpus}: random search first reached its own final best at "
            f"{', '.join(f'{100 * v:.0f}%' for v in own)} of its compute; "
            f"{', '.join(f'{100 * v:.0f}%' for v in near)} of its "
            f"candidates score within one fold SD of its best.",
            f"{corpus}: halving's round 0 ({first} epoch(s)) vs the same "
            f"candidates' accuracy at {max_epochs} epochs: Spearman of "
            f"round-0 accuracy {', '.join(f'{v:.2f}' for v in rho)}, of "
            f"round-0 log-loss {', '.join(f'{v:.2f}' for v in rho_loss)}; "
            f"random's best reached halving's last round in "
            f"{sum(kept)}/{len(kept)} seeds.",
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-trials", type=int, default=None,
                        help="override the size's n_trials")
    parser.add_argument("--save", default=None,
                        help="write every run's rows (settings, max_epochs, "
                             "CV accuracy) to this JSON file")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--corpora", nargs="+",
                        default=["spam_assassin", "brown_genre"])
    args = parser.parse_args(argv)
    size = dict(SIZES[args.size])
    if args.n_trials is not None:
        if args.n_trials < 1:
            parser.error(f"--n-trials expects a positive int; received "
                         f"{args.n_trials}")
        size["n_trials"] = args.n_trials
    if args.seeds < 1:
        parser.error(f"--seeds expects a positive int; received {args.seeds}")

    def log(message):
        print(message, flush=True)

    started = time.monotonic()
    log(f"# Strategies vs random search, size={args.size}: "
        f"{json.dumps(size)}, seeds 0..{args.seeds - 1}, 3-fold CV, "
        f"epochs fixed (no early stopping), n_jobs={args.n_jobs}")
    all_runs = {
        corpus: benchmark(corpus, size, range(args.seeds), args.n_jobs, log)
        for corpus in args.corpora
    }
    if args.save:
        with open(args.save, "w") as out:
            json.dump({
                corpus: {strategy: [
                    {k: v for k, v in run.items() if k != "curve"}
                    for run in strategy_runs
                ] for strategy, strategy_runs in runs.items()}
                for corpus, runs in all_runs.items()
            }, out, default=str)
    log("\n" + table(all_runs))
    log("\n" + verdicts(all_runs))
    log("\n" + analysis(all_runs, size["max_epochs"], size["n_trials"]))
    log(f"\ntotal {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
