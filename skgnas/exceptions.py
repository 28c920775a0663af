"""Exceptions and warnings raised by skgnas."""

from sklearn.exceptions import NotFittedError

__all__ = ["SkgnasError", "SkgnasWarning", "NotFittedError", "NotFittedYetError"]


class SkgnasError(Exception):
    """Base class of every error that skgnas defines."""


class SkgnasWarning(UserWarning):
    """Base class of every warning that skgnas emits."""


class NotFittedYetError(SkgnasError, NotFittedError):
    """Raised when a skgnas estimator is used before ``fit``.

    It subclasses scikit-learn's :class:`~sklearn.exceptions.NotFittedError`,
    so code that catches that class keeps working.
    """
