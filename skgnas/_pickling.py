"""Checks that what a search sends to other processes pickles.

A search ships its estimator (with the vectorizer and its tokenizer), the
scorer and the splitter to joblib workers, which may be other processes or
other machines, and stores fitted vectorizers in its cache with
:mod:`pickle`. Checking these with the standard library before any training
turns a late, remote failure into an early error that names the parameter.
"""

import pickle

from sklearn.base import BaseEstimator

__all__ = ["check_picklable"]


def check_picklable(owner, params):
    """Raise if a value of ``params`` cannot be pickled.

    Parameters
    ----------
    owner : str
        Name of the estimator, used in the message.
    params : dict
        Parameter name to value. Estimators, dicts, lists and tuples are
        searched so that the message names the innermost culprit, e.g.
        ``vectorizer__tokenizer``.

    Raises
    ------
    TypeError
        Naming the parameter, the value and how to fix it.
    """
    for name, value in params.items():
        culprit = _find_unpicklable(name, value)
        if culprit is None:
            continue
        path, bad, exc = culprit
        raise TypeError(
            f"{owner}: {path}={_describe(bad)} cannot be pickled with the "
            f"standard library ({type(exc).__name__}: {exc}), so it cannot "
            f"be sent to parallel workers or stored in the vector cache. "
            f"Define it with `def` at the top level of a module (not as a "
            f"lambda, nested function or local class) and pass that."
        )


def _find_unpicklable(path, value):
    """``(path, value, error)`` of the innermost value that fails, or None."""
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        error = exc
    else:
        return None

    if isinstance(value, BaseEstimator):
        parts = value.get_params(deep=False).items()
        names = ((f"{path}__{key}", part) for key, part in parts)
    elif isinstance(value, dict):
        names = ((f"{path}[{key!r}]", part) for key, part in value.items())
    elif isinstance(value, (list, tuple)):
        names = ((f"{path}[{i}]", part) for i, part in enumerate(value))
    else:
        names = ()
    for inner_path, part in names:
        found = _find_unpicklable(inner_path, part)
        if found is not None:
            return found
    return path, value, error


def _describe(value):
    """A short repr: functions by qualified name, without the address."""
    qualname = getattr(value, "__qualname__", None)
    module = getattr(value, "__module__", None)
    if callable(value) and qualname is not None:
        return f"{module}.{qualname}" if module else qualname
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
