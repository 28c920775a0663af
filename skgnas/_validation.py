"""Checks on the raw texts and labels that users hand to skgnas."""

import numbers

import numpy as np

__all__ = ["check_texts", "check_labels", "check_positive_int",
           "is_positive_int"]


def is_positive_int(value):
    """Whether ``value`` is an int >= 1 (numpy ints too, bools not)."""
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= 1
    )


def check_positive_int(owner, name, value):
    """Raise ``ValueError`` naming ``owner``'s ``name`` unless ``value`` is
    a positive int."""
    if not is_positive_int(value):
        raise ValueError(
            f"{owner}: {name} expects a positive int; received {value!r}."
        )


def check_texts(X, *, name="X"):
    """Return ``X`` as a list of ``str``, or raise a clear error.

    Accepted containers are lists, tuples, one-dimensional numpy arrays and
    pandas Series (of any index). Each document must be a ``str``; ``bytes``
    are decoded as UTF-8 (undecodable bytes are replaced).

    Raises
    ------
    TypeError
        If ``X`` is a single string or not a sequence of documents, or a
        document is None, NaN or not text. The message names the position.
    ValueError
        If ``X`` is two-dimensional or empty.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of documents (a list of str), but a "
            f"single {type(X).__name__} was passed. Wrap it in a list: "
            f"[{name}]."
        )
    if hasattr(X, "iloc"):
        # pandas Series or DataFrame: positions, not index labels, matter.
        if getattr(X, "ndim", 1) != 1:
            raise ValueError(
                f"{name} must be one-dimensional (one document per row); "
                f"received an object of shape {X.shape}. Select the text "
                f"column, e.g. df['text']."
            )
        X = X.to_list()
    elif isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(
                f"{name} must be one-dimensional (one document per row); "
                f"received an array of shape {X.shape}."
            )
        X = X.tolist()
    elif not hasattr(X, "__len__") or not hasattr(X, "__iter__"):
        raise TypeError(
            f"{name} must be a sequence of documents (list, tuple, numpy "
            f"array or pandas Series of str); received "
            f"{type(X).__name__}."
        )
    texts = list(X)
    if not texts:
        raise ValueError(f"{name} is empty: at least one document is needed.")
    for position, doc in enumerate(texts):
        if isinstance(doc, str):
            continue
        if isinstance(doc, (bytes, bytearray)):
            texts[position] = bytes(doc).decode("utf-8", errors="replace")
            continue
        if doc is None or (isinstance(doc, float) and doc != doc):
            what = "None" if doc is None else "NaN"
            raise TypeError(
                f"{name}[{position}] is {what}; every document must be a str. "
                f"Drop or fill missing documents first, e.g. with ''."
            )
        raise TypeError(
            f"{name}[{position}] is of type {type(doc).__name__} "
            f"({doc!r:.60}); every document must be a str."
        )
    return texts


def check_labels(y, n_samples, *, min_per_class=1):
    """Return ``y`` as a 1-d numpy array after checking it against ``X``.

    Raises
    ------
    ValueError
        If the lengths differ, a label is missing, fewer than two classes are
        present, or a class has fewer than ``min_per_class`` members.
    """
    if y is None:
        raise ValueError("y is required: pass one label per document.")
    if hasattr(y, "iloc"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"y must be one-dimensional (one label per document); received "
            f"shape {y.shape}."
        )
    if len(y) != n_samples:
        raise ValueError(
            f"X and y have different lengths: {n_samples} documents but "
            f"{len(y)} labels."
        )
    if y.dtype == object:
        for position, label in enumerate(y):
            if label is None or (
                isinstance(label, numbers.Real) and label != label
            ):
                raise ValueError(f"y[{position}] is missing ({label!r}).")
    elif y.dtype.kind == "f" and np.isnan(y).any():
        position = int(np.flatnonzero(np.isnan(y))[0])
        raise ValueError(f"y[{position}] is missing (nan).")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has a single class ({_plain(classes[0])!r}); a classifier "
            f"needs at least two."
        )
    if counts.min() < min_per_class:
        rare = _plain(classes[counts.argmin()])
        raise ValueError(
            f"class {rare!r} has only {counts.min()} member(s), fewer than "
            f"the {min_per_class} cross-validation folds; each fold needs "
            f"every class. Lower cv or add examples of {rare!r}."
        )
    return y


def _plain(value):
    """A numpy scalar as the Python value it holds, for messages."""
    return value.item() if isinstance(value, np.generic) else value
