"""The architecture search space: what can be searched and how it is checked.

A search space is a dict mapping parameter names to a non-empty list of
values (or, for random search, a scipy.stats distribution). Names are those
of :class:`skgnas.TextNetClassifier`; vectorizer settings take the
``vectorizer__`` prefix, exactly as in ``set_params``.
"""

import difflib
import json
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.model_selection import ParameterGrid

from ._networks import ACTIVATIONS, LAYER_TYPES, POOLINGS, RNN_CELLS

__all__ = ["DEFAULT_SEARCH_SPACE", "SEARCH_KEYS", "SearchSpace"]


def _plain(value):
    """numpy scalars to Python scalars, for stable keys and JSON."""
    return value.item() if isinstance(value, np.generic) else value


class _Choice:
    def __init__(self, values):
        self.values = tuple(values)

    def accepts(self, value):
        value = _plain(value)
        # True == 1 in Python, so booleans only match booleans.
        return any(
            isinstance(value, bool) == isinstance(v, bool) and value == v
            for v in self.values
        )

    def describe(self):
        return "one of " + repr(list(self.values))


class _Number:
    def __init__(self, kind, low, *, low_open=False, high=None):
        self.kind, self.low, self.low_open, self.high = kind, low, low_open, high

    def accepts(self, value):
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.low_open and value <= self.low:
            return False
        if value < self.low:
            return False
        return self.high is None or value < self.high

    def describe(self):
        what = "an int" if self.kind is numbers.Integral else "a float"
        low = f"> {self.low}" if self.low_open else f">= {self.low}"
        high = f" and < {self.high}" if self.high is not None else ""
        return f"{what} {low}{high}"


_INT = numbers.Integral
_REAL = numbers.Real
_TYPES_WITH_DEPTH = ("dense", "convolutional", "recurrent")

#: Every key a search space may use: its check and the layer types it
#: applies to (``None``: all of them).
SEARCH_KEYS = {
    "layer_type": (_Choice(LAYER_TYPES), None),
    "num_layers": (_Number(_INT, 1), _TYPES_WITH_DEPTH),
    "hidden_units": (_Number(_INT, 1), _TYPES_WITH_DEPTH),
    "activation": (_Choice(ACTIVATIONS), ("dense", "convolutional")),
    "dropout": (_Number(_REAL, 0.0, high=1.0), None),
    "pooling": (_Choice(POOLINGS), _TYPES_WITH_DEPTH),
    "kernel_size": (_Number(_INT, 1), ("convolutional",)),
    "rnn_cell": (_Choice(RNN_CELLS), ("recurrent",)),
    "bidirectional": (_Choice((False, True)), ("recurrent",)),
    "ngrams": (_Choice((1, 2)), ("bag",)),
    "binary": (_Choice((False, True)), ("bag",)),
    "freeze_embeddings": (_Choice((False, True)), None),
    "lr": (_Number(_REAL, 0.0, low_open=True), None),
    "weight_decay": (_Number(_REAL, 0.0), None),
    "batch_size": (_Number(_INT, 1), None),
    "max_epochs": (_Number(_INT, 1), None),
    "vectorizer__model": (
        _Choice(("word2vec", "fasttext", "doc2vec")), None),
    "vectorizer__vector_size": (_Number(_INT, 1), None),
    "vectorizer__window": (_Number(_INT, 1), None),
    "vectorizer__min_count": (_Number(_INT, 1), None),
    "vectorizer__sg": (_Choice((0, 1)), None),
    "vectorizer__epochs": (_Number(_INT, 1), None),
    "vectorizer__max_len": (_Number(_INT, 1), None),
}

#: The space searched when ``search_space=None``: the families that are
#: strong and cheap on small corpora, a few settings each, sized for a
#: laptop. It is a list of two subspaces, each drawn half of the time by
#: random search: fastText-style bags, the strongest family on both team
#: corpora, and pooled dense or convolutional networks. Recurrent layers
#: are left out because on a CPU one recurrent epoch costs about as much as
#: ten convolutional ones, and frozen embeddings because vectors learnt from
#: one small corpus lose 5 to 15 accuracy points against fine-tuned ones;
#: add either to search it.
DEFAULT_SEARCH_SPACE = [
    {
        "layer_type": ["bag"],
        "ngrams": [1, 2],
        "dropout": [0.0, 0.25, 0.5],
        "lr": [3e-3, 1e-2, 3e-2],
    },
    {
        "layer_type": ["dense", "convolutional"],
        "num_layers": [1, 2],
        "hidden_units": [64, 128],
        "activation": ["relu", "gelu", "tanh"],
        "dropout": [0.0, 0.25, 0.5],
        "pooling": ["max", "mean"],
        "kernel_size": [3, 5],
        "lr": [3e-3, 1e-2, 3e-2],
    },
]


def _is_distribution(value):
    return hasattr(value, "rvs") and callable(value.rvs)


def as_setting(key, value):
    """``value`` of ``key`` as the estimator takes it: a float drawn for an
    integer setting (``uniform(4, 12)`` for ``hidden_units``) is rounded,
    as Bayes' ``suggest_int`` does, so every strategy trains the same
    networks from the same space."""
    value = _plain(value)
    if (getattr(SEARCH_KEYS[key][0], "kind", None) is _INT
            and isinstance(value, float) and np.isfinite(value)):
        return int(round(value))
    return value


def draw_value(key, spec, rng):
    """One random value of ``key`` from a list or a distribution."""
    if _is_distribution(spec):
        return as_setting(key, spec.rvs(random_state=rng))
    return _plain(spec[rng.randint(len(spec))])


def _check_support(key, spec, check):
    """A distribution must draw only valid values of ``key``.

    Random search checks every draw, but evolution (quantile moves) and
    Bayes (Optuna's ranges) take values anywhere in the distribution's
    range, so a range that leaves the valid one is refused before anything
    trains. The range is taken between tiny quantiles, which are the
    extremes those strategies reach, so an unbounded but narrow
    distribution is still accepted.
    """
    if not hasattr(spec, "ppf"):
        return  # a custom sampler: its draws are checked where they are made
    low, high = (float(spec.ppf(q)) for q in (_TAIL, 1.0 - _TAIL))
    too_low = low < check.low or (check.low_open and low <= check.low)
    too_high = check.high is not None and high >= check.high
    if too_low or too_high:
        raise ValueError(
            f"search_space[{key!r}] is a distribution that draws values from "
            f"{low:.4g} to {high:.4g}, but {key!r} expects "
            f"{check.describe()}; narrow its range."
        )


# Quantile below which (and above 1 minus which) no strategy draws.
_TAIL = 1e-12


def _key(candidate):
    return json.dumps(
        {k: _plain(v) for k, v in candidate.items()}, sort_keys=True,
        default=repr,
    )


class SearchSpace:
    """A checked search space that yields distinct, canonical candidates.

    Parameters
    ----------
    space : dict or list of dict, or None
        Maps keys of :data:`SEARCH_KEYS` to non-empty lists of values or to
        scipy.stats distributions. A list of dicts is the union of the
        spaces, as in scikit-learn's ``param_grid``. ``None`` means
        :data:`DEFAULT_SEARCH_SPACE`.
    defaults : dict
        The base estimator's parameter values, used for every key a
        candidate leaves out and to decide which layer type applies.

    Raises
    ------
    ValueError
        For an unknown key, an empty list or a value outside a key's range;
        the message names the key, the value and what is valid.
    """

    def __init__(self, space, defaults):
        if space is None:
            space = DEFAULT_SEARCH_SPACE
        subspaces = [space] if isinstance(space, Mapping) else space
        if not isinstance(subspaces, Sequence) or not subspaces or not all(
            isinstance(sub, Mapping) for sub in subspaces
        ):
            raise ValueError(
                f"search_space expects a dict of lists (or a non-empty list "
                f"of such dicts); received {space!r:.200}."
            )
        self.subspaces = [self._check(dict(sub)) for sub in subspaces]
        self.defaults = dict(defaults)

    @staticmethod
    def _check(space):
        for key, values in space.items():
            if key not in SEARCH_KEYS:
                close = difflib.get_close_matches(str(key), SEARCH_KEYS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"search_space has an unknown key {key!r}.{hint} Valid "
                    f"keys are {sorted(SEARCH_KEYS)}."
                )
            check = SEARCH_KEYS[key][0]
            if _is_distribution(values):
                if isinstance(check, _Choice):
                    raise ValueError(
                        f"search_space[{key!r}] is a distribution, but "
                        f"{key!r} is categorical: pass a list, "
                        f"{check.describe()}."
                    )
                _check_support(key, values, check)
                continue
            if isinstance(values, (str, bytes)) or not isinstance(
                values, (Sequence, np.ndarray)
            ):
                raise ValueError(
                    f"search_space[{key!r}] must be a list of values or a "
                    f"scipy.stats distribution; received {values!r}. Wrap a "
                    f"single value in a list: [{values!r}]."
                )
            if len(values) == 0:
                raise ValueError(
                    f"search_space[{key!r}] is an empty list; give at least "
                    f"one value, {check.describe()}."
                )
            for position, value in enumerate(values):
                if not check.accepts(value):
                    raise ValueError(
                        f"search_space[{key!r}] has the invalid value "
                        f"{value!r} at position {position}; {key!r} expects "
                        f"{check.describe()}."
                    )
        return space

    @property
    def keys(self):
        return sorted({key for sub in self.subspaces for key in sub})

    @property
    def is_finite(self):
        return not any(
            _is_distribution(v) for sub in self.subspaces for v in sub.values()
        )

    def canonical(self, candidate):
        """Drop settings that do not apply to the candidate's layer type.

        Two candidates that differ only in such settings describe the same
        network, so after this step they compare equal.
        """
        layer_type = candidate.get(
            "layer_type", self.defaults.get("layer_type")
        )
        return {
            key: _plain(value)
            for key, value in sorted(candidate.items())
            if SEARCH_KEYS[key][1] is None or layer_type in SEARCH_KEYS[key][1]
        }

    def unique(self, candidates, seen=None):
        """Canonical candidates, each once, in first-seen order."""
        seen = set() if seen is None else seen
        out = []
        for candidate in candidates:
            candidate = self.canonical(candidate)
            key = _key(candidate)
            if key not in seen:
                seen.add(key)
                out.append(candidate)
        return out

    def grid(self):
        """Every distinct candidate of a finite space."""
        if not self.is_finite:
            raise ValueError(
                "strategy='grid' needs lists only; the search space holds "
                "scipy.stats distributions. Use strategy='random'."
            )
        return self.unique(ParameterGrid(self.subspaces))

    def sample(self, n, random_state):
        """Up to ``n`` distinct candidates drawn at random.

        Each draw picks every key's value uniformly (or from its
        distribution), so each layer type is equally likely however many
        settings apply to it. Fewer than ``n`` come back only when a finite
        space has fewer distinct candidates.
        """
        rng = np.random.RandomState(random_state)
        if self.is_finite and len(ParameterGrid(self.subspaces)) <= 100_000:
            distinct = self.grid()
            if len(distinct) <= n:
                return [distinct[i] for i in rng.permutation(len(distinct))]
        seen, out = set(), []
        for _ in range(100 * n):
            out += self.unique([self.draw(rng)], seen)
            if len(out) == n:
                break
        return out

    def draw(self, rng):
        """One random raw candidate."""
        space = self.subspaces[rng.randint(len(self.subspaces))]
        candidate = {}
        for key in sorted(space):
            values = space[key]
            if _is_distribution(values):
                value = draw_value(key, values, rng)
                check = SEARCH_KEYS[key][0]
                if not check.accepts(value):
                    raise ValueError(
                        f"search_space[{key!r}] drew {value!r}, but {key!r} "
                        f"expects {check.describe()}; use a distribution "
                        f"of such values (scipy.stats.randint for ints)."
                    )
                candidate[key] = value
            else:
                candidate[key] = _plain(values[rng.randint(len(values))])
        return candidate

    def architecture(self, candidate):
        """The full, JSON-ready description of a candidate's network."""
        full = {
            key: _plain(self.defaults[key])
            for key in SEARCH_KEYS if key in self.defaults
        }
        full.update(candidate)
        return self.canonical(full)

    @staticmethod
    def key_of(candidate):
        """A hashable key: equal for candidates that are the same network."""
        return _key(candidate)
