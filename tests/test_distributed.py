"""The search on real clusters: loky, a local Dask cluster and local Ray.

Each cluster starts and stops inside these tests, on the loopback address
only. Every distributed search is compared with one serial search of the
same settings and ``random_state``: same candidates, same scores to the bit.
"""

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

import skgnas
from conftest import TINY_NET, TINY_VECTORIZER
from skgnas import (
    GensimNASClassifier, GensimVectorizer, TextNetClassifier, simple_tokenize,
)
from skgnas.exceptions import SkgnasWarning

SPACE = {
    "layer_type": ["bag", "dense", "convolutional", "recurrent"],
    "hidden_units": [8, 16],
}
# Log-loss moves with every weight, so equal scores mean equal training.
# n_threads is left at GensimNASClassifier's default: that default is what
# must make every backend agree.
SEARCH = dict(
    n_trials=4, cv=2, scoring="neg_log_loss", random_state=7,
    **{key: value for key, value in TINY_NET.items() if key != "n_threads"},
)
PID_DIR_VARIABLE = "SKGNAS_TEST_PID_DIR"


def recording_tokenize(text):
    """simple_tokenize, leaving a file named after the process when asked.

    A module-level tokenizer, as users write them; the files show which
    processes did the work, and which skgnas they imported.
    """
    folder = os.environ.get(PID_DIR_VARIABLE)
    if folder:
        record = Path(folder, str(os.getpid()))
        if not record.exists():
            record.write_text(skgnas.__file__)
    return simple_tokenize(text)


def make_search(**params):
    vectorizer = GensimVectorizer(tokenizer=recording_tokenize,
                                  **TINY_VECTORIZER)
    return GensimNASClassifier(SPACE, vectorizer=vectorizer,
                               **{**SEARCH, **params})


def assert_same_search(result, reference):
    assert result.cv_results_["params"] == reference.cv_results_["params"]
    for split in range(reference.n_splits_):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(
            result.cv_results_[key], reference.cv_results_[key]
        )
    assert result.best_params_ == reference.best_params_


@pytest.fixture(scope="module")
def data(spam_small):
    texts, labels = spam_small
    return list(texts), labels


@pytest.fixture(scope="module")
def serial(data):
    """The reference: one process, torch at its default thread count."""
    return make_search().fit(*data)


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster, Client(cluster) as client:
        # Import the stack on both workers before any timing matters; they
        # must run this checkout's skgnas, not another installed copy.
        imported = client.run(_import_stack)
        assert set(imported.values()) == {skgnas.__file__}
        yield client


def _import_stack():
    import skorch  # noqa: F401

    import skgnas

    return skgnas.__file__


def test_dask_search_matches_serial(data, serial, dask_client):
    from distributed import get_task_stream

    with get_task_stream(dask_client) as stream:
        with joblib.parallel_backend("dask"):
            result = make_search(n_jobs=-1).fit(*data)

    assert_same_search(result, serial)
    np.testing.assert_array_equal(
        result.predict_proba(data[0][:20]), serial.predict_proba(data[0][:20])
    )
    # Both worker processes trained candidates.
    workers = {task["worker"] for task in stream.data}
    assert workers == set(dask_client.scheduler_info()["workers"])


def test_loky_search_matches_serial(data, serial):
    result = make_search(n_jobs=2).fit(*data)
    assert_same_search(result, serial)


def test_search_fits_use_one_thread_by_default(serial):
    # Float results depend on torch's thread count; one thread per fit is
    # what makes the serial run equal to the distributed ones.
    assert "n_threads" not in SEARCH
    assert serial.best_estimator_.n_threads == 1
    assert serial.best_estimator_.n_threads_ == 1


def _fit_reporting_threads(texts, labels, n_threads):
    """Runs in a worker: a fit's threads, and torch's setting around it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        net = TextNetClassifier(
            GensimVectorizer(**TINY_VECTORIZER), layer_type="bag",
            random_state=0, **{**TINY_NET, "n_threads": n_threads},
        ).fit(texts, labels)
        return {
            "omp": os.environ.get("OMP_NUM_THREADS"),
            "used": net.n_threads_,
            "after": torch.get_num_threads(),
        }
    finally:
        torch.set_num_threads(previous)


def test_dask_worker_limits_and_restores_torch_threads(data, dask_client):
    texts, labels = data[0][:120], data[1][:120]
    future = dask_client.submit(_fit_reporting_threads, texts, labels, None)
    report = future.result()

    # Dask nannies give each worker process its share of the cores.
    assert report["omp"] is not None
    assert report["used"] == int(report["omp"])
    assert report["used"] * 2 <= max(os.cpu_count(), 2)
    assert report["after"] == 2


def test_loky_worker_limits_threads(data):
    texts, labels = data[0][:120], data[1][:120]
    reports = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_fit_reporting_threads)(texts, labels, n)
        for n in (None, 1)
    )
    default, explicit = reports
    assert default["used"] == int(default["omp"])
    assert default["used"] * 2 <= max(os.cpu_count(), 2)
    assert explicit["used"] == 1
    assert default["after"] == explicit["after"] == 2


def _lambda_tokenizer(calls):
    return lambda text: calls.append(text) or text.split()


def _closure_tokenizer(calls):
    def tokenize(text):
        calls.append(text)
        return text.split()

    return tokenize


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize(
    "make_tokenizer, shown",
    [(_lambda_tokenizer, "<lambda>"),
     (_closure_tokenizer, "_closure_tokenizer.<locals>.tokenize")],
)
def test_unpicklable_tokenizer_is_named_before_training(
    data, make_tokenizer, shown, n_jobs
):
    calls = []
    vectorizer = GensimVectorizer(tokenizer=make_tokenizer(calls),
                                  **TINY_VECTORIZER)
    search = GensimNASClassifier(SPACE, vectorizer=vectorizer, n_jobs=n_jobs,
                                 **SEARCH)
    with pytest.raises(
        TypeError,
        match=rf"vectorizer__tokenizer=\S*{shown} cannot be pickled .*"
              r"Define it with `def` at the top level of a module",
    ):
        search.fit(*data)
    assert calls == []
    assert not hasattr(search, "cv_results_")


def test_unpicklable_scoring_is_named(data):
    search = make_search(scoring=lambda estimator, X, y: 0.0)
    with pytest.raises(TypeError, match=r"scoring=\S*<lambda> cannot be"):
        search.fit(*data)


@pytest.mark.parametrize("n_threads", [0, 1.5, "2"])
def test_bad_n_threads(data, n_threads):
    with pytest.raises(ValueError, match=r"n_threads expects a positive int"
                                         rf" or None; received {n_threads!r}"):
        make_search(n_threads=n_threads).fit(*data)


def _unshare_command():
    """A prefix giving a process its own mount namespace, or None."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        return None
    command = [unshare, "--mount"]
    if os.geteuid() != 0:
        command.insert(1, "--map-root-user")
    probe = subprocess.run(
        command + ["sh", "-c", "mount -t tmpfs none /mnt"],
        capture_output=True,
    )
    return command if probe.returncode == 0 else None


def test_worker_with_read_only_cache_gives_same_results(
    data, serial, tmp_path, monkeypatch
):
    """One of two Dask workers sees the search's temp folder read-only.

    That worker runs in its own mount namespace in which the folder holding
    the vector cache is remounted read-only: a real write failure, for that
    worker alone. Its fits must train vectors themselves and warn once; the
    search must score exactly as the serial one.
    """
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster, get_task_stream

    unshare = _unshare_command()
    if unshare is None:
        pytest.skip("needs unshare(1) and a mount namespace to make a "
                    "folder read-only for one process")
    temp_root = tmp_path / "temp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    log_path = tmp_path / "worker.log"
    remount = (
        f"mount --bind {temp_root} {temp_root} && "
        f"mount -o remount,bind,ro {temp_root} && exec \"$@\""
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster, Client(cluster) as client, open(log_path, "wb") as log:
        worker = subprocess.Popen(
            unshare + [
                "sh", "-c", remount, "sh", sys.executable, "-m",
                "distributed.cli.dask_worker", cluster.scheduler_address,
                "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                "--no-dashboard", "--name", "read-only-cache",
            ],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        try:
            client.wait_for_workers(2, timeout=120)
            imported = client.run(_import_stack)
            assert set(imported.values()) == {skgnas.__file__}
            read_only = [
                address for address, info in
                client.scheduler_info()["workers"].items()
                if info["name"] == "read-only-cache"
            ]
            # That worker really cannot write where the search's cache lives.
            writable = client.run(_can_write, str(temp_root))
            assert [a for a, ok in writable.items() if not ok] == read_only
            with get_task_stream(client) as stream:
                with joblib.parallel_backend("dask"):
                    result = make_search(n_jobs=-1).fit(*data)
        finally:
            client.shutdown()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    assert_same_search(result, serial)
    assert read_only[0] in {task["worker"] for task in stream.data}
    warnings = [
        line for line in log_path.read_text().splitlines()
        if "SkgnasWarning" in line
    ]
    assert len(warnings) == 1, log_path.read_text()[-3000:]
    assert "Read-only file system" in warnings[0]
    assert "unusable in this process" in warnings[0]


def _can_write(folder):
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def test_ray_search_matches_serial(data, serial, tmp_path, monkeypatch):
    # Keep every Ray service on the loopback address: Ray reads this when
    # it is imported, and its services when they start.
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = pytest.importorskip("ray")
    from ray._private import ray_constants
    from ray.util.joblib import register_ray

    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {
            "PYTHONPATH": os.pathsep.join(filter(None, sys.path)),
            PID_DIR_VARIABLE: str(pid_dir),
        }},
    )
    try:
        gcs_host = ray.get_runtime_context().gcs_address.rsplit(":", 1)[0]
        assert gcs_host == "127.0.0.1"
        register_ray()
        with joblib.parallel_backend("ray"):
            result = make_search(n_jobs=-1).fit(*data)
    finally:
        ray.shutdown()

    assert_same_search(result, serial)
    workers = {int(path.name): path.read_text() for path in pid_dir.iterdir()}
    assert os.getpid() not in workers
    assert len(workers) >= 2
    assert set(workers.values()) == {skgnas.__file__}


def test_fitted_search_pickles_with_the_standard_library(data, serial):
    restored = pickle.loads(pickle.dumps(serial))
    np.testing.assert_array_equal(
        restored.predict_proba(data[0][:20]), serial.predict_proba(data[0][:20])
    )


def test_fits_in_threads_of_one_process_match_serial(data, serial):
    # As in a Dask worker with several threads: the fits share torch's
    # process-wide random generator and thread setting.
    with joblib.parallel_backend("threading", n_jobs=2):
        result = make_search().fit(*data)
    assert_same_search(result, serial)


def test_cache_folder_missing_here_is_not_created(data, tmp_path):
    # What a worker on another machine than the search sees.
    texts, labels = data[0][:120], data[1][:120]
    missing = tmp_path / "skgnas-vectors-elsewhere"
    settings = dict(layer_type="bag", random_state=0, **TINY_NET)
    with pytest.warns(SkgnasWarning, match=r"is unusable in this process "
                      r"\(No such file or directory\); word vectors are "
                      r"trained here instead"):
        net = TextNetClassifier(
            GensimVectorizer(**TINY_VECTORIZER), vector_cache=str(missing),
            **settings,
        ).fit(texts, labels)
    plain = TextNetClassifier(
        GensimVectorizer(**TINY_VECTORIZER), **settings
    ).fit(texts, labels)

    assert not missing.exists()
    np.testing.assert_array_equal(
        net.predict_proba(texts), plain.predict_proba(texts)
    )
