"""Regularised evolution over architectures.

The founders are random candidates spread over every setting's range (a
Latin hypercube), so a few of them still cover it. A population of
evaluated candidates then evolves a few children at a time: a few members
are drawn at random, the best of them becomes the parent, its child
differs from it in one decision (after an optional crossover with the
runner-up), and the oldest members leave the population when the children
join. Removing the oldest rather than the worst keeps a lucky score from
dominating for ever, which matters when cross-validated scores are noisy;
among members born in the same round, the worst leaves first.

Which decision a child changes is not drawn uniformly: settings that have
explained more of the score differences among the candidates evaluated so
far are mutated more often (half of the choice), the others still
uniformly (the other half), so a search whose score hangs on one setting,
often the learning rate, spends its children on it.
"""

import numbers

import numpy as np

from ._space import _is_distribution, _plain, as_setting
from ._strategies import (
    PROPOSALS_PER_ROUND,
    Strategy,
    draw_genes,
    nan_to_worst,
)

__all__ = ["EvolutionStrategy", "spread_genes"]

# Attempts at finding a child not evaluated before, before falling back to a
# fresh random candidate; a finite space may simply be used up.
_MAX_TRIES = 100
# Second seed word of this strategy's random stream.
_STREAM = 0x65766F
# Standard deviation, in quantiles, of a mutation of a value drawn from a
# distribution: most children stay near their parent, a few move far.
_QUANTILE_STEP = 0.15
# Share of mutations of a number that move it locally (one step).
_LOCAL_SHARE = 0.5


class _Member:
    """One genome of the population and its score.

    ``genes`` holds a value for every key of subspace ``subspace``, also
    those that do not apply to the current layer type: they are inherited
    unchanged and come back into play if a mutation switches layer type.
    """

    __slots__ = ("subspace", "genes", "score", "born")

    def __init__(self, subspace, genes, score=None):
        self.subspace = subspace
        self.genes = genes
        self.score = score
        self.born = 0  # the round that evaluated it


class EvolutionStrategy(Strategy):
    """Regularised (aging) evolution with one-decision mutations.

    Options (``strategy_options``)
    ------------------------------
    population_size : int or None, default=None
        Members kept alive; the first ``population_size`` candidates are
        drawn at random. ``None`` means ``n_trials // 4`` clipped to
        [4, 20] (and at most ``n_trials``), so that most of a small budget
        goes to children.
    sample_size : int or None, default=None
        Members drawn for each tournament; larger means greedier.
        ``None`` means half the population but at least 10, so a
        population of up to 10 always breeds from its best members: on a
        small budget, few children are left to explore with.
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
            size = min(20, max(4, n_trials // 4))
        else:
            size = self._int_option("population_size", 2)
        self.population_size = max(1, min(size, n_trials))
        if self.options["sample_size"] is None:
            self.sample_size = max(10, self.population_size // 2)
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
        history = []  # every evaluated member, for the mutation weights

        # Founders: distinct random candidates, spread over each setting.
        founders = []
        drawn = spread_genes(
            self.space,
            [draw_genes(self.space, rng) for _ in range(self.population_size)],
            rng,
        )
        for member in (_Member(index, genes) for index, genes in drawn):
            if not self._claim(member, seen):
                member = self._fresh(rng, seen)
                if member is None:
                    break
            founders.append(member)
        if not self._evaluate(evaluate, founders):
            return
        population.extend(founders)
        history.extend(founders)

        round_ = 0
        while evaluate.n_evaluated < self.n_trials:
            round_ += 1
            n_children = min(PROPOSALS_PER_ROUND,
                             self.n_trials - evaluate.n_evaluated)
            weights = _influence(self.space, history)
            children = []
            for _ in range(n_children):
                child = self._offspring(population, rng, seen, weights)
                if child is None:
                    break
                child.born = round_
                children.append(child)
            if not children or not self._evaluate(evaluate, children):
                return
            history.extend(children)
            population = _survivors(population + children,
                                    self.population_size)

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

    def _offspring(self, population, rng, seen, weights):
        """A new child of a tournament winner, or None if none is left."""
        # A used-up finite space may leave fewer founders than planned.
        size = min(self.sample_size, len(population))
        picked = rng.choice(len(population), size, replace=False)
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
            child = self._mutate(start if attempt < 10 else child, rng,
                                 weights)
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

    def _mutate(self, member, rng, weights=None):
        """A copy of ``member`` with one applicable setting changed.

        Half the time the setting is drawn uniformly, otherwise in
        proportion to ``weights`` (a key's influence on the score so far).
        """
        subspace = self.space.subspaces[member.subspace]
        active = self.space.canonical(member.genes)
        keys = [key for key in sorted(active) if _n_choices(subspace[key]) > 1]
        genes = dict(member.genes)
        if not keys:
            return _Member(member.subspace, genes)
        key = keys[rng.choice(len(keys), p=_key_odds(keys, weights))]
        genes[key] = as_setting(
            key, _other_value(subspace[key], genes[key], rng))
        return _Member(member.subspace, genes)


def spread_genes(space, drawn, rng):
    """Random candidates with each setting's values spread evenly.

    ``drawn`` holds ``(subspace index, genes)`` pairs from
    :func:`draw_genes`; their genes are changed in place and returned. A
    Latin hypercube design: within each subspace, the candidates take the
    values of a list in equal shares (in random order), and the values of
    a distribution one from each of as many equal-chance slices. A few
    random candidates then still cover the whole range of every setting,
    such as a learning rate that matters most near one end of its range.
    """
    for index, subspace in enumerate(space.subspaces):
        group = [genes for i, genes in drawn if i == index]
        if len(group) < 2:
            continue
        for key in sorted(subspace):
            spec = subspace[key]
            if _is_distribution(spec):
                slices = (rng.permutation(len(group))
                          + rng.random_sample(len(group))) / len(group)
                for genes, quantile in zip(group, slices):
                    genes[key] = as_setting(
                        key, spec.ppf(max(quantile, 1e-12)))
            else:
                values = _distinct(spec)
                shares = np.resize(rng.permutation(len(values)), len(group))
                for genes, i in zip(group, rng.permutation(shares)):
                    genes[key] = values[i]
    return drawn


def _survivors(members, size):
    """The ``size`` members that stay: the oldest leave first.

    Members born in the same round (the founders, or one round's
    children) have the same age; among them the worst leaves first, so a
    strong founder is not dropped for being listed first.
    """
    n_leave = len(members) - size
    if n_leave <= 0:
        return members
    scores = nan_to_worst([m.score for m in members])
    order = sorted(range(len(members)),
                   key=lambda i: (members[i].born, scores[i], i))
    leave = set(order[:n_leave])
    return [m for i, m in enumerate(members) if i not in leave]


# Share of each mutation's key choice made by influence; the rest is
# uniform, so every setting keeps being explored.
_INFLUENCE_SHARE = 0.5
# Numbers with more distinct values than this are grouped by tercile.
_MAX_GROUPS = 3


def _influence(space, members):
    """How much of the score spread each setting explains, by key.

    For each key, the members it applies to are grouped by its value
    (numbers with many values by tercile) and the share of the score
    variance between the groups is measured, adjusted for the number of
    groups so that chance differences count for nothing (an adjusted
    correlation ratio, 0 when a key explains no more than noise would).
    Failed members are left out. Fewer than four scores give no weights.
    """
    scored = [(space.canonical(m.genes), m.score) for m in members
              if m.score is not None and np.isfinite(m.score)]
    weights = {}
    if len(scored) < 4:
        return weights
    for key in space.keys:
        pairs = [(genes[key], score) for genes, score in scored
                 if key in genes]
        n = len(pairs)
        if n < 4:
            continue
        values = [_plain(v) for v, _ in pairs]
        scores = np.array([s for _, s in pairs], float)
        if all(map(_is_number, values)) and len(set(values)) > _MAX_GROUPS:
            ranks = np.argsort(np.argsort(values, kind="stable"),
                               kind="stable")
            groups = ranks * _MAX_GROUPS // n
        else:
            labels = [(isinstance(v, bool), repr(v)) for v in values]
            index = {label: i for i, label in enumerate(sorted(set(labels)))}
            groups = np.array([index[label] for label in labels])
        n_groups = len(np.unique(groups))
        total = np.sum((scores - scores.mean()) ** 2)
        if n_groups < 2 or n <= n_groups or total <= 0:
            continue
        between = sum(
            np.sum(groups == g) * (scores[groups == g].mean()
                                   - scores.mean()) ** 2
            for g in np.unique(groups)
        )
        explained = between / total
        adjusted = 1.0 - (1.0 - explained) * (n - 1) / (n - n_groups)
        if adjusted > 0:
            weights[key] = float(adjusted)
    return weights


def _key_odds(keys, weights):
    """Chance of mutating each of ``keys``: part uniform, part influence."""
    uniform = np.full(len(keys), 1.0 / len(keys))
    influence = np.array([(weights or {}).get(key, 0.0) for key in keys])
    if influence.sum() <= 0:
        return uniform
    return ((1.0 - _INFLUENCE_SHARE) * uniform
            + _INFLUENCE_SHARE * influence / influence.sum())


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
    local = rng.random_sample() < _LOCAL_SHARE
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
