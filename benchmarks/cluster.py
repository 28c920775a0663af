"""Speed-up of a 2-worker local Dask cluster over 1 worker, and overhead.

Runs one fixed search (grid of 8 candidates x 2 folds on a seeded subset of
spam_assassin from the team corpora) under ``joblib.parallel_backend('dask')`` on a
``LocalCluster(n_workers=1)`` and then on a ``LocalCluster(n_workers=2)``,
each worker a process on the loopback address that runs one fit at a
time. (joblib runs the work of a cluster with one thread in all in the
calling process, so every worker has two threads and one ``fit`` resource
that each fit takes: joblib then sends the fits to the cluster, and a
worker still trains one network at a time.) Prints:

- the wall time of each search and the speed-up of 2 workers over 1;
- the work the workers reported (scikit-learn's fit and score times,
  summed over every candidate x fold);
- the scheduling overhead: worker time not spent fitting or scoring,
  ``(wall time x workers - summed fit and score times)``, per fit and per
  candidate. With one worker this is the cost of shipping and collecting
  fits; with two it also holds the time a worker waited for the last fit.

Both runs give the same scores (checked). Usage, from the repository root::

    python benchmarks/cluster.py [--n-docs 2400] [--max-epochs 4]

The machine's load average is printed before and after, with the CPU
cores the workers actually got during each search (CPU seconds of the
worker processes over wall seconds; at most ``n_workers``): other work on
the same cores slows the 2-worker run most, and with Linux's per-session
CPU sharing (autogroup) a session competing with busy others cannot get
more cores by starting more processes.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import joblib
import numpy as np

# This checkout's skgnas, also for the workers (they inherit sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _corpora import load_spam  # noqa: E402
from skgnas import (  # noqa: E402
    GensimNASClassifier, GensimVectorizer, TextNetClassifier,
)

SPACE = {
    "layer_type": ["convolutional", "dense"],
    "hidden_units": [16, 32, 64, 128],
}


def make_vectorizer():
    return GensimVectorizer(vector_size=32, epochs=2, max_len=200)


def make_search(max_epochs):
    return GensimNASClassifier(
        SPACE,
        strategy="grid",
        cv=2,
        vectorizer=make_vectorizer(),
        max_epochs=max_epochs,
        patience=None,
        batch_size=32,
        n_jobs=-1,
        refit=False,
        random_state=0,
    )


def _import_stack():
    import skorch  # noqa: F401

    import skgnas

    return skgnas.__file__


def _warm_up(texts, labels):
    TextNetClassifier(
        make_vectorizer(), layer_type="dense", max_epochs=1, n_threads=1,
        random_state=0,
    ).fit(texts, labels)


def run_cluster(n_workers, texts, labels, max_epochs):
    """Wall time, CPU seconds of the workers and the fitted search."""
    from distributed import Client, LocalCluster, get_task_stream

    with LocalCluster(
        n_workers=n_workers, threads_per_worker=2, resources={"fit": 1},
        processes=True, host="127.0.0.1", dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        imported = client.run(_import_stack)
        assert set(imported.values()) == {_import_stack()}, imported
        # One fit on each worker first, so one-time start-up costs (torch
        # and Gensim initialisation) stay out of the measurement.
        client.gather([
            client.submit(_warm_up, texts[:100], labels[:100], pure=False,
                          workers=[address], resources={"fit": 1})
            for address in imported
        ])
        with joblib.parallel_backend("dask", resources={"fit": 1}):
            cpu_before = client.run(time.process_time)
            with get_task_stream(client) as stream:
                started = time.perf_counter()
                search = make_search(max_epochs).fit(texts, labels)
                wall = time.perf_counter() - started
            cpu_after = client.run(time.process_time)
    cpu = sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
    used = {task["worker"] for task in stream.data}
    assert len(used) == n_workers, f"fits ran on {len(used)} workers"
    return wall, cpu, search


def busy_seconds(search):
    """Seconds the workers spent fitting and scoring, from cv_results_."""
    results = search.cv_results_
    return float(
        (results["mean_fit_time"] + results["mean_score_time"]).sum()
        * search.n_splits_
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=2400)
    parser.add_argument("--max-epochs", type=int, default=4)
    args = parser.parse_args()

    texts, labels = load_spam(args.n_docs)
    print(f"cores: {os.cpu_count()}  load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    runs = {}
    for n_workers in (1, 2):
        wall, cpu, search = run_cluster(
            n_workers, texts, labels, args.max_epochs
        )
        runs[n_workers] = (wall, search)
        n_candidates = len(search.cv_results_["params"])
        n_fits = n_candidates * search.n_splits_
        busy = busy_seconds(search)
        overhead = wall * n_workers - busy
        print(
            f"{n_workers} worker(s): {n_candidates} candidates x "
            f"{search.n_splits_} folds = {n_fits} fits in {wall:.1f} s; "
            f"fit+score time {busy:.1f} s; overhead "
            f"{overhead / n_fits * 1000:.0f} ms per fit, "
            f"{overhead / n_candidates * 1000:.0f} ms per candidate; "
            f"the workers got {cpu / wall:.2f} CPU cores on average"
        )

    one, two = runs[1], runs[2]
    same = all(
        np.array_equal(one[1].cv_results_[key], two[1].cv_results_[key])
        for key in ("split0_test_score", "split1_test_score")
    )
    print(f"speed-up of 2 workers over 1: {one[0] / two[0]:.2f}x "
          f"(target >= 1.6x); same scores: {same}")
    print(f"load average after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
