"""Search strategies: which candidates to evaluate, and in what order.

A strategy never trains anything itself. It proposes candidates (dicts of
:class:`TextNetClassifier` parameters) to an :class:`Evaluator`, which hands
them to scikit-learn's search-CV candidate evaluator, answers duplicates
from the results so far, and refuses new work once the time budget is spent.
New strategies subclass :class:`Strategy` and register in ``STRATEGIES``.
"""

import math
import numbers
import time
from collections.abc import Mapping

import numpy as np

from ._space import draw_value

__all__ = ["Evaluator", "Strategy", "STRATEGIES", "make_strategy"]


class Evaluator:
    """Runs candidates through scikit-learn and remembers their scores.

    Parameters
    ----------
    evaluate_candidates : callable
        The callback scikit-learn's ``BaseSearchCV._run_search`` receives.
    space : SearchSpace
        Gives each candidate its canonical key.
    score_key : str or callable
        Column of ``cv_results_`` that strategies optimise, or a function
        of ``cv_results_`` that names it (when only the results tell).
    batch_size : int
        Candidates sent to scikit-learn at once: enough to keep every
        worker busy, few enough to check the clock often.
    deadline : float or None
        ``time.monotonic()`` after which no candidate starts.
    report : callable or None
        Called with ``(candidate, score, n_done)`` after each candidate.
    """

    def __init__(self, evaluate_candidates, space, score_key, *,
                 batch_size=1, deadline=None, report=None):
        self._evaluate_candidates = evaluate_candidates
        self.space = space
        self.score_key = score_key
        self.batch_size = max(1, int(batch_size))
        self.deadline = deadline
        self.report = report
        self.results = None
        self._index = {}

    def __getstate__(self):
        # scikit-learn sends the search object to its workers (as the
        # ``caller`` of each fit), and with it the strategy's closure that
        # holds this Evaluator. Workers never evaluate candidates, and the
        # callback holds the parent's worker pool, which cannot be pickled.
        state = self.__dict__.copy()
        state["_evaluate_candidates"] = None
        state["results"] = None
        return state

    @property
    def n_evaluated(self):
        return len(self._index)

    def out_of_time(self):
        return self.deadline is not None and time.monotonic() >= self.deadline

    def score_of(self, candidate):
        """Mean CV score of an evaluated candidate (NaN if it failed)."""
        index = self._index.get(self.space.key_of(candidate))
        if index is None:
            return None
        column = self.score_key
        if callable(column):
            column = column(self.results)
        return float(self.results[column][index])

    def value_of(self, candidate, column):
        """``cv_results_[column]`` of an evaluated candidate, or None."""
        index = self._index.get(self.space.key_of(candidate))
        if index is None:
            return None
        return self.results[column][index]

    def __call__(self, candidates, *, extra=None):
        """Evaluate ``candidates``; return their scores in the same order.

        Candidates seen before are answered from earlier results. A score is
        None for a candidate left out because the time budget ran out.
        ``extra`` maps column names to one value per candidate, stored in
        ``cv_results_`` beside the scores.
        """
        candidates = [self.space.canonical(c) for c in candidates]
        pending, pending_extra, queued = [], [], set()
        for position, candidate in enumerate(candidates):
            key = self.space.key_of(candidate)
            if key in self._index or key in queued:
                continue
            queued.add(key)
            pending.append(candidate)
            pending_extra.append(position)

        for start in range(0, len(pending), self.batch_size):
            if self.out_of_time():
                break
            batch = pending[start:start + self.batch_size]
            more = None
            if extra is not None:
                rows = pending_extra[start:start + self.batch_size]
                more = {k: [v[i] for i in rows] for k, v in extra.items()}
            self.results = self._evaluate_candidates(
                batch, more_results=more
            )
            first = len(self.results["params"]) - len(batch)
            for offset, candidate in enumerate(batch):
                self._index[self.space.key_of(candidate)] = first + offset
                if self.report is not None:
                    self.report(
                        candidate, self.score_of(candidate), self.n_evaluated
                    )
        return [self.score_of(c) for c in candidates]


def _summary(errors):
    """The distinct fit errors of a Counter, most frequent first."""
    rule = "-" * 72
    return "\n".join(
        f"{rule}\n{n} fit(s) failed with:\n{error}"
        for error, n in errors.most_common()
    )


#: Candidates an adaptive strategy proposes at a time. It is fixed, not
#: derived from ``n_jobs``, so the same ``random_state`` gives the same
#: candidates serially, on loky, Dask or Ray; the Evaluator still splits
#: each proposal into batches that keep the workers busy.
PROPOSALS_PER_ROUND = 4


class Strategy:
    """Base class: proposes candidates until its budget is spent.

    Parameters
    ----------
    space : SearchSpace
    n_trials : int
        Most distinct candidates to evaluate.
    random_state : int
        Seed of every random choice the strategy makes.
    options : dict
        Strategy-specific settings (``strategy_options``).
    verbose : int, default=0
        The search's verbosity; strategies that drive a library with its
        own logging (Optuna) let it speak from 2 on.
    """

    #: Settings a subclass accepts in ``options``, with their defaults.
    option_defaults = {}

    def __init__(self, space, n_trials, random_state, options=None, *,
                 verbose=0):
        self.space = space
        self.n_trials = n_trials
        self.random_state = random_state
        self.verbose = verbose
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(
                f"strategy_options expects a dict of settings or None; "
                f"received {options!r}."
            )
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.option_defaults))
        if unknown:
            raise ValueError(
                f"strategy_options has unknown keys {unknown} for "
                f"strategy {self.name!r}; valid keys are "
                f"{sorted(self.option_defaults) or 'none'}."
            )
        self.options = {**self.option_defaults, **options}

    name = None

    def run(self, evaluate):
        """Propose candidates to ``evaluate`` (an :class:`Evaluator`)."""
        raise NotImplementedError

    def _int_option(self, key, low, high=None):
        """``options[key]`` checked to be an int in ``[low, high]``."""
        value = self.options[key]
        if not (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ValueError(
                f"strategy_options[{key!r}] of strategy {self.name!r} expects "
                f"an int {bound}; received {value!r}."
            )
        return int(value)

    def _float_option(self, key, low, high):
        """``options[key]`` checked to be a real number in ``[low, high]``."""
        value = self.options[key]
        if not (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and low <= value <= high
        ):
            raise ValueError(
                f"strategy_options[{key!r}] of strategy {self.name!r} expects "
                f"a number in [{low}, {high}]; received {value!r}."
            )
        return float(value)

    def select_best(self, results, metric):
        """Row of ``results`` to refit, or None for scikit-learn's choice.

        scikit-learn picks the best-ranked row of ``mean_test_<metric>``.
        A strategy whose rows are not comparable (say, trained for fewer
        epochs) overrides this to choose among the rows that are.
        """
        return None


class GridStrategy(Strategy):
    """Every distinct candidate of a finite space, in grid order.

    ``n_trials`` is ignored: the grid is the budget (``time_budget`` still
    stops it early).
    """

    name = "grid"

    def run(self, evaluate):
        evaluate(self.space.grid())


class RandomStrategy(Strategy):
    """``n_trials`` distinct candidates drawn uniformly at random."""

    name = "random"

    def run(self, evaluate):
        evaluate(self.space.sample(self.n_trials, self.random_state))


STRATEGIES = {cls.name: cls for cls in (GridStrategy, RandomStrategy)}


def make_strategy(name, space, n_trials, random_state, options=None, *,
                  verbose=0):
    """Instantiate the strategy called ``name``."""
    if name not in STRATEGIES:
        raise ValueError(
            f"GensimNASClassifier: strategy expects one of "
            f"{sorted(STRATEGIES)}; received {name!r}."
        )
    return STRATEGIES[name](
        space, n_trials, random_state, options, verbose=verbose
    )


def batch_size_for(n_jobs, n_splits):
    """Candidates per batch that keep ``n_jobs`` workers evenly busy.

    A batch of ``k`` candidates makes ``k * n_splits`` fits; the smallest
    ``k`` for which that is a multiple of ``n_jobs`` leaves no worker idle
    while the others finish the batch.
    """
    n_jobs, n_splits = max(1, n_jobs), max(1, n_splits)
    return n_jobs // math.gcd(n_jobs, n_splits)


def draw_genes(space, rng):
    """A random raw candidate of ``space`` and the index of its subspace.

    Unlike :meth:`SearchSpace.draw` the candidate is not canonicalised
    and the subspace is known, which mutation and Optuna's queue need.
    """
    index = rng.randint(len(space.subspaces))
    subspace = space.subspaces[index]
    genes = {}
    for key in sorted(subspace):
        genes[key] = draw_value(key, subspace[key], rng)
    return index, genes


def nan_to_worst(scores):
    """Scores with failures (NaN or None) replaced by -inf, for ranking."""
    return np.array(
        [-np.inf if s is None or np.isnan(s) else s for s in scores], float
    )


# Adaptive strategies live in their own modules and register here; they
# import Strategy from this module, hence the imports at the end.
from ._bayes import BayesStrategy  # noqa: E402
from ._evolution import EvolutionStrategy  # noqa: E402
from ._halving import HalvingStrategy  # noqa: E402

STRATEGIES.update(
    (cls.name, cls)
    for cls in (EvolutionStrategy, BayesStrategy, HalvingStrategy)
)
