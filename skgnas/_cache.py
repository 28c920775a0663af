"""On-disk reuse of fitted vectorizers across candidates and processes.

A search trains many networks on the same cross-validation split. Their
word vectors only depend on the training texts and the vectorizer settings,
so the first fit of a split stores the fitted vectorizer and the token ids of
its training texts under a key made of both; every later fit, in this
process or in another one on the same machine, loads them instead of
training Gensim again. A lock file per key makes concurrent workers wait for
the one that trains. Every Gensim training done for the cache also leaves
an empty marker file, so the trainings of all processes can be counted.
"""

import os
import pickle
import tempfile
import warnings

import joblib
from sklearn.base import clone

from .exceptions import SkgnasWarning

try:  # POSIX only; elsewhere concurrent workers may both train (still correct).
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["fit_vectorizer_cached", "count_trainings"]

_SUFFIX = ".vectors.pkl"
_TRAINED_SUFFIX = ".trained"
_warned_dirs = set()


def _key(vectorizer, texts):
    params = clone(vectorizer).get_params(deep=False)
    return joblib.hash((type(vectorizer).__qualname__, params, texts))


def _fit(vectorizer, texts, cache_dir=None):
    vectorizer = clone(vectorizer)
    ids = vectorizer.fit_token_ids(texts)
    if cache_dir is not None:
        _record_training(cache_dir)
    return vectorizer, ids


def _record_training(cache_dir):
    """Leave one marker file per Gensim training, whichever process ran it."""
    try:
        fd, _ = tempfile.mkstemp(
            dir=cache_dir, prefix="training-", suffix=_TRAINED_SUFFIX
        )
        os.close(fd)
    except OSError:
        pass  # An unusable folder has been warned about already.


def fit_vectorizer_cached(vectorizer, texts, cache_dir):
    """Return ``(fitted vectorizer, token ids of texts)``, reusing the cache.

    With ``cache_dir=None`` the vectorizer is simply fitted. If the cache
    folder does not exist or cannot be written here (a worker on another
    machine, a read-only disk), the vectorizer is fitted here with one
    warning per folder and process; results are the same, only slower.
    """
    if cache_dir is None:
        return _fit(vectorizer, texts)
    path = os.path.join(cache_dir, _key(vectorizer, texts) + _SUFFIX)
    try:
        # Not created when missing: a worker on another machine than the
        # search would leave a folder behind that nobody removes.
        lock = open(path + ".lock", "a")
    except OSError as exc:
        _warn_unavailable(cache_dir, exc)
        return _fit(vectorizer, texts, cache_dir)
    with lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, "rb") as stored:
                return pickle.load(stored)
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        result = _fit(vectorizer, texts, cache_dir)
        try:
            _write_atomic(path, result)
        except OSError as exc:
            _warn_unavailable(cache_dir, exc)
        return result


def _write_atomic(path, obj):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _warn_unavailable(cache_dir, exc):
    if cache_dir in _warned_dirs:
        return
    _warned_dirs.add(cache_dir)
    reason = exc.strerror or type(exc).__name__
    warnings.warn(
        f"skgnas: vector cache {cache_dir!r} is unusable in this process "
        f"({reason}); word vectors are trained here instead, with the same "
        f"results, only slower.",
        SkgnasWarning,
        stacklevel=3,
    )


def count_trainings(cache_dir):
    """Gensim trainings run through ``cache_dir``, by any process.

    Each is counted when it happens, so a training whose result could not
    be stored still counts, and a stored result read back does not.
    """
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return 0
    return sum(name.endswith(_TRAINED_SUFFIX) for name in names)
