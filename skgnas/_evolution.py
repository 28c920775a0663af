"""Regularised evolution over architectures.

A population of evaluated candidates evolves one child at a time: a few
members are drawn at random, the best of them becomes the parent, its child
differs from it in one architectural decision (after an optional crossover
with the runner-up), and the oldest member leaves the population when the
child joins. Removing the oldest rather than the worst keeps a lucky score
from dominating for ever, which matters when cross-validated scores are
noisy.
"""

import numbers

import numpy as np

from ._space import _is_distribution, _plain
from ._strategies import (
    PROPOSALS_PER_ROUND,
    Strategy,
    draw_genes,
    nan_to_worst,
)

__all__ = ["EvolutionStrategy"]

# Attempts at finding a child not evaluated before, before falling back to a
# fresh random candidate; a finite space may simply be used up.
_MAX_TRIES = 100
# Second seed word of this strategy's random stream.
_STREAM = 0x65766F
# Standard deviation, in quantiles, of a mutation of a value drawn from a
# distribution: most children stay near their parent, a few move far.
_QUANTILE_STEP = 0.15


class _Member:
    """One genome of the population and its score.

    ``genes`` holds a value for every key of subspace ``subspace``, also
    those that do not apply to the current layer type: they are inherited
    unchanged and come back into play if a mutation switches layer type.
    """

    __slots__ = ("subspace", "genes", "score")

    def __init__(self, subspace, genes, score=None):
        self.subspace = subspace
        self.genes = genes
        self.score = score


class EvolutionStrategy(Strategy):
    """Regularised (aging) evolution with one-decision mutations.

    Options (``strategy_options``)
    ------------------------------
    population_size : int or None, default=None
        Members kept alive; the first ``population_size`` candidates are
        drawn at random. ``None`` means ``n_trials // 3`` clipped to
        [4, 20] (and at most ``n_trials``).
    sample_size : int or None, default=None
        Members drawn for each tournament; larger means greedier.
        ``None`` means half the population (at least 2).
    crossover_rate : float, default=0.25
        Chance that a child starts as a uniform crossover of the two best
        members of its tournament (when both come from the same subspace)
        before it is mutated.
    """

    name = "evolution"
    option_defaults = {
        "population_size": None,
        "sample_size": None,
        "crossover_rate": 0.25,
    }

    def __init__(self, space, n_trials, random_state, options=None, *,
                 verbose=0):
        super().__init__(space, n_trials, random_state, options,
                         verbose=verbose)
        if self.options["population_size"] is None:
            size = min(20, max(4, n_trials // 3))
        else:
            size = self._int_option("population_size", 2)
        self.population_size = max(1, min(size, n_trials))
        if self.options["sample_size"] is None:
            self.sample_size = max(2, self.population_size // 2)
        else:
            self.sample_size = self._int_option("sample_size", 1)
        self.sample_size = min(self.sample_size, self.population_size)
        self.crossover_rate = self._float_option("crossover_rate", 0.0, 1.0)

    def run(self, evaluate):
        # A stream of its own: founders differ from the candidates random
        # search draws with the same seed.
        rng = np.random.RandomState([self.random_state, _STREAM])
        seen = set()
        population = []

        # Founders: distinct random candidates.
        founders = []
        for _ in range(self.population_size):
            member = self._fresh(rng, seen)
            if member is None:
                break
            founders.append(member)
        if not self._evaluate(evaluate, founders):
            return
        population.extend(founders)

        while evaluate.n_evaluated < self.n_trials:
            n_children = min(PROPOSALS_PER_ROUND,
                             self.n_trials - evaluate.n_evaluated)
            children = []
            for _ in range(n_children):
                child = self._offspring(population, rng, seen)
                if child is None:
                    break
                children.append(child)
            if not children or not self._evaluate(evaluate, children):
                return
            population.extend(children)
            del population[:max(0, len(population) - self.population_size)]

    @staticmethod
    def _evaluate(evaluate, members):
        """Score ``members``; False when the time budget stopped them."""
        if not members:
            return False
        scores = evaluate([m.genes for m in members])
        for member, score in zip(members, scores):
            member.score = score
        return all(score is not None for score in scores)

    def _claim(self, member, seen):
        """Mark ``member`` as proposed; False if it was proposed before."""
        key = self.space.key_of(self.space.canonical(member.genes))
        if key in seen:
            return False
        seen.add(key)
        return True

    def _fresh(self, rng, seen):
        """A random member not proposed before, or None."""
        for _ in range(_MAX_TRIES):
            member = _Member(*draw_genes(self.space, rng))
            if self._claim(member, seen):
                return member
        return None

    def _offspring(self, population, rng, seen):
        """A new child of a tournament winner, or None if none is left."""
        picked = rng.choice(len(population), self.sample_size, replace=False)
        order = np.argsort(
            -nan_to_worst([population[i].score for i in picked]),
            kind="stable",
        )
        parent = population[picked[order[0]]]

        start = parent
        if len(order) > 1 and rng.random_sample() < self.crossover_rate:
            other = population[picked[order[1]]]
            if other.subspace == parent.subspace:
                start = self._crossover(parent, other, rng)
                if self._claim(start, seen):
                    return start

        # One decision away from the start; if every such neighbour was
        # tried, keep walking so the search can leave a worn-out region.
        child = start
        for attempt in range(_MAX_TRIES):
            child = self._mutate(start if attempt < 10 else child, rng)
            if self._claim(child, seen):
                return child
        return self._fresh(rng, seen)

    @staticmethod
    def _crossover(first, second, rng):
        genes = {
            key: (first.genes if rng.random_sample() < 0.5 else second.genes)[
                key]
            for key in first.genes
        }
        return _Member(first.subspace, genes)

    def _mutate(self, member, rng):
        """A copy of ``member`` with one applicable setting changed."""
        subspace = self.space.subspaces[member.subspace]
        active = self.space.canonical(member.genes)
        keys = [key for key in sorted(active) if _n_choices(subspace[key]) > 1]
        genes = dict(member.genes)
        if not keys:
            return _Member(member.subspace, genes)
        key = keys[rng.randint(len(keys))]
        genes[key] = _other_value(subspace[key], genes[key], rng)
        return _Member(member.subspace, genes)


def _same(a, b):
    # True == 1 in Python, so booleans only equal booleans.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _distinct(spec):
    values = []
    for value in map(_plain, spec):
        if not any(_same(value, v) for v in values):
            values.append(value)
    return values


def _n_choices(spec):
    return np.inf if _is_distribution(spec) else len(_distinct(spec))


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _other_value(spec, current, rng):
    """A value of ``spec`` different from ``current``.

    Half the time a number moves one step: to a neighbour in a list of
    numbers, or a small move in the quantiles of a distribution (so a
    log-uniform range moves on a log scale). Otherwise, and for other
    values, any other value is drawn, so the search can leave a plateau.
    """
    local = rng.random_sample() < 0.5
    if _is_distribution(spec):
        return _nearby_draw(spec, current, rng, local)
    values = _distinct(spec)
    others = [v for v in values if not _same(v, current)]
    if not others:
        return current
    if local and len(others) < len(values) and all(map(_is_number, values)):
        ordered = sorted(values)
        i = ordered.index(current)
        others = ordered[max(0, i - 1):i] + ordered[i + 1:i + 2]
    return others[rng.randint(len(others))]


def _nearby_draw(spec, current, rng, local):
    if local and _is_number(current):
        quantile = float(spec.cdf(current))
        for _ in range(10):
            moved = np.clip(quantile + rng.normal(0.0, _QUANTILE_STEP),
                            1e-9, 1.0 - 1e-9)
            value = _plain(spec.ppf(moved))
            if isinstance(current, numbers.Integral):
                value = int(round(value))
            if not _same(value, current):
                return value
    for _ in range(10):
        value = _plain(spec.rvs(random_state=rng))
        if not _same(value, current):
            break
    return value
