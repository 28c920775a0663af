"""Model-based search with Optuna's TPE sampler, through ask and tell.

Optuna only proposes: each trial it hands out is turned into a candidate,
evaluated by scikit-learn through the :class:`Evaluator` and told back.
Settings are suggested after the layer type and only when they apply to
it, so the sampler learns from the settings that shaped each network.
"""

import contextlib
import math
import numbers

import numpy as np
import optuna
from optuna.samplers import TPESampler
from optuna.trial import TrialState

from ._space import SEARCH_KEYS, _is_distribution, _plain
from ._evolution import spread_genes
from ._strategies import PROPOSALS_PER_ROUND, Strategy, draw_genes

__all__ = ["BayesStrategy"]

# After this many proposals in a row that were all evaluated before, one
# random unseen candidate is queued so a converged sampler cannot stall.
_MAX_REPEATS = 10
# Random draws tried when looking for an unseen candidate.
_MAX_DRAWS = 200

# scipy.stats distributions with an Optuna counterpart: name -> log scale.
_DISTRIBUTIONS = {"randint": False, "uniform": False, "loguniform": True,
                  "reciprocal": True}


class BayesStrategy(Strategy):
    """Tree-structured Parzen estimator search (Optuna ask-and-tell).

    Lists become categorical choices; ``scipy.stats`` ``randint``,
    ``uniform`` and ``loguniform`` become integer, float and log-scaled
    ranges. Failed candidates are told to Optuna as failed trials.

    Options (``strategy_options``)
    ------------------------------
    n_startup_trials : int or None, default=None
        Random trials before the sampler starts modelling, spread over
        every setting's range (a Latin hypercube). ``None`` means
        ``n_trials // 6`` clipped to [4, 10]: one round of proposals on a
        small budget, so most of it is spent where the model points.
    n_ei_candidates : int, default=24
        Samples scored by the sampler's acquisition for each proposal.
    """

    name = "bayes"
    option_defaults = {"n_startup_trials": None, "n_ei_candidates": 24}

    def __init__(self, space, n_trials, random_state, options=None, *,
                 verbose=0):
        super().__init__(space, n_trials, random_state, options,
                         verbose=verbose)
        if self.options["n_startup_trials"] is None:
            self.n_startup_trials = min(10, max(4, n_trials // 6))
        else:
            self.n_startup_trials = self._int_option("n_startup_trials", 0)
        self.n_ei_candidates = self._int_option("n_ei_candidates", 1)
        for subspace in space.subspaces:
            for key, spec in subspace.items():
                if _is_distribution(spec):
                    _check_distribution(key, spec)

    def run(self, evaluate):
        with _optuna_logging(self.verbose):
            self._run(evaluate)

    def _run(self, evaluate):
        sampler = TPESampler(
            seed=self.random_state,
            n_startup_trials=self.n_startup_trials,
            n_ei_candidates=self.n_ei_candidates,
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        rng = np.random.RandomState(self.random_state)
        repeats = 0
        # The startup trials are random, but spread over every setting's
        # range (a Latin hypercube) rather than drawn independently.
        startup = [draw_genes(self.space, rng)
                   for _ in range(min(self.n_startup_trials, self.n_trials))]
        for index, genes in spread_genes(self.space, startup, rng):
            study.enqueue_trial(self._params(index, genes))

        while evaluate.n_evaluated < self.n_trials:
            size = min(PROPOSALS_PER_ROUND,
                       self.n_trials - evaluate.n_evaluated)
            trials = [study.ask() for _ in range(size)]
            candidates = [self._suggest(trial) for trial in trials]
            n_before = evaluate.n_evaluated
            scores = evaluate(candidates)
            for trial, score in zip(trials, scores):
                if score is None or math.isnan(score):
                    study.tell(trial, state=TrialState.FAIL)
                else:
                    study.tell(trial, score)
            if any(score is None for score in scores):
                return  # the time budget ran out

            if evaluate.n_evaluated > n_before:
                repeats = 0
                continue
            repeats += len(trials)
            if repeats >= _MAX_REPEATS:
                unseen = self._unseen(evaluate, rng)
                if unseen is None:
                    return  # a finite space is used up
                study.enqueue_trial(unseen)
                repeats = 0

    def _prefix(self, index):
        return f"{index}:" if len(self.space.subspaces) > 1 else ""

    def _suggest(self, trial):
        """The candidate of an Optuna trial; the layer type comes first."""
        subspaces = self.space.subspaces
        index = 0
        if len(subspaces) > 1:
            index = trial.suggest_categorical(
                "subspace", list(range(len(subspaces)))
            )
        subspace, prefix = subspaces[index], self._prefix(index)
        candidate = {}
        if "layer_type" in subspace:
            candidate["layer_type"] = _suggest_value(
                trial, prefix + "layer_type", "layer_type",
                subspace["layer_type"],
            )
        layer_type = candidate.get(
            "layer_type", self.space.defaults.get("layer_type")
        )
        for key in sorted(subspace):
            applies = SEARCH_KEYS[key][1]
            if key in candidate or (
                applies is not None and layer_type not in applies
            ):
                continue
            candidate[key] = _suggest_value(
                trial, prefix + key, key, subspace[key]
            )
        return candidate

    def _params(self, index, genes):
        """Optuna parameters of the candidate ``genes`` of subspace ``index``."""
        prefix, subspace = self._prefix(index), self.space.subspaces[index]
        params = {}
        for key, value in self.space.canonical(genes).items():
            # An integer setting drawn from a continuous distribution is
            # suggested as an int; Optuna refuses a queued float for it.
            if _is_distribution(subspace[key]) and _integral(
                    key, subspace[key]):
                value = int(round(value))
            params[prefix + key] = value
        if len(self.space.subspaces) > 1:
            params["subspace"] = index
        return params

    def _unseen(self, evaluate, rng):
        """Optuna parameters of a random candidate not evaluated yet."""
        for _ in range(_MAX_DRAWS):
            index, genes = draw_genes(self.space, rng)
            if evaluate.score_of(self.space.canonical(genes)) is None:
                return self._params(index, genes)
        return None


def _suggest_value(trial, name, key, spec):
    if not _is_distribution(spec):
        choices = []
        for value in map(_plain, spec):
            if not any(
                isinstance(value, bool) == isinstance(c, bool) and value == c
                for c in choices
            ):
                choices.append(value)
        if len(choices) == 1:
            return choices[0]
        return trial.suggest_categorical(name, choices)

    low, high = (_plain(bound) for bound in spec.support())
    log = _DISTRIBUTIONS[spec.dist.name]
    if _integral(key, spec):
        return trial.suggest_int(name, math.ceil(low), math.floor(high),
                                 log=log)
    return trial.suggest_float(name, float(low), float(high), log=log)


def _integral(key, spec):
    """Whether the distribution ``spec`` of ``key`` is suggested as ints."""
    return spec.dist.name == "randint" or (
        getattr(SEARCH_KEYS[key][0], "kind", None) is numbers.Integral
    )


def _check_distribution(key, spec):
    name = getattr(getattr(spec, "dist", None), "name", type(spec).__name__)
    if name not in _DISTRIBUTIONS:
        raise ValueError(
            f"strategy='bayes' cannot model search_space[{key!r}], a "
            f"scipy.stats {name!r} distribution; use randint, uniform or "
            f"loguniform, or a list of values."
        )
    low, high = spec.support()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(
            f"strategy='bayes' needs bounded ranges; search_space[{key!r}] "
            f"spans [{low}, {high}]."
        )


@contextlib.contextmanager
def _optuna_logging(verbose):
    """Keep Optuna quiet below verbose=2, then restore its setting."""
    previous = optuna.logging.get_verbosity()
    if verbose < 2:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
