"""Tokenizers. They live at module level so that estimators pickle."""

import re

__all__ = ["simple_tokenize", "whitespace_tokenize"]

_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?$%&@#*+=<>/]")


def simple_tokenize(text):
    """Lower-case ``text`` and split it into words and salient symbols.

    Words are runs of letters and digits (with one inner apostrophe, so
    ``don't`` stays whole); the symbols ``! ? $ % & @ # * + = < > /`` are kept
    as tokens of their own because they carry signal in e-mail and web text.
    All other punctuation and whitespace is dropped.

    Parameters
    ----------
    text : str
        One document.

    Returns
    -------
    tokens : list of str
    """
    return _TOKEN_RE.findall(text.lower())


def whitespace_tokenize(text):
    """Split ``text`` on whitespace, keeping case and punctuation."""
    return text.split()
