"""How many torch threads one fit may use, and restoring the setting."""

import contextlib
import os
import threading

import torch

__all__ = ["resolve_n_threads", "torch_threads"]

# Torch's random generator and its thread setting belong to the process.
# Fits in several threads of one process (a Dask worker with nthreads > 1,
# joblib's threading backend) would change each other's results, so they
# take turns; parallel fits belong in separate processes.
_PROCESS_LOCK = threading.RLock()


def resolve_n_threads(n_threads):
    """Threads a fit in this process should use.

    An explicit positive ``n_threads`` wins. Otherwise the process's
    ``OMP_NUM_THREADS`` decides: joblib's loky workers, Dask nannies and Ray
    workers set it to their share of the cores, so workers x threads never
    exceeds the cores they were given. Without it torch's current setting is
    kept.
    """
    if n_threads is not None:
        return int(n_threads)
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch threads, then restore.

    One such block runs at a time in a process.
    """
    with _PROCESS_LOCK:
        previous = torch.get_num_threads()
        wanted = resolve_n_threads(n_threads)
        if wanted != previous:
            torch.set_num_threads(wanted)
        try:
            yield wanted
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)
