"""Successive halving with training epochs as the resource.

Round 0 trains ``n_trials`` random candidates for a few epochs; each later
round trains the best ``1/eta`` of the previous round's candidates (rounded
up) for ``eta`` times as many epochs, until the last round trains the
survivors for the estimator's full ``max_epochs``. Every round uses the search's own
cross-validation splits on all the training data, so each round sees the
same folds and every class; only the epochs change.
"""

import math
import warnings

import numpy as np

from ._strategies import Strategy
from .exceptions import SkgnasWarning

__all__ = ["HalvingStrategy"]

#: Column of ``cv_results_`` holding each row's round (0 = first).
ROUND_COLUMN = "halving_round"


class HalvingStrategy(Strategy):
    """Successive halving over ``max_epochs``.

    ``n_trials`` distinct architectures start in round 0; each appears
    again in ``cv_results_`` for every round it survives, with its
    ``max_epochs`` and its round in the ``halving_round`` column. A failed
    candidate (score NaN) is never promoted, and the refitted best is
    chosen among the candidates of the last round reached, which are the
    ones trained longest.

    Options (``strategy_options``)
    ------------------------------
    eta : int, default=3
        Keep the best ``ceil(n / eta)`` of a round's ``n`` candidates and
        train them ``eta`` times longer.
    min_epochs : int, default=1
        Fewest epochs of round 0 (at most the estimator's ``max_epochs``).
        Round 0 trains ``max_epochs / eta**(n_rounds - 1)`` epochs, rounded,
        where ``n_rounds`` is as large as both this bound and ``n_trials``
        allow (each round keeps at least one candidate).
    rank_by : str or None, default=None
        Metric that decides who is promoted: the name of one of the
        search's ``scoring`` metrics. ``None`` means the optimised score
        (the refit metric). After an epoch or two, many networks still
        predict mostly the commonest class and tie on accuracy; a smooth
        metric such as ``'neg_log_loss'`` still tells them apart. The
        final choice among the last round is always by the optimised
        score.
    """

    name = "halving"
    option_defaults = {"eta": 3, "min_epochs": 1, "rank_by": None}

    def __init__(self, space, n_trials, random_state, options=None, *,
                 verbose=0):
        super().__init__(space, n_trials, random_state, options,
                         verbose=verbose)
        if any("max_epochs" in subspace for subspace in space.subspaces):
            raise ValueError(
                "strategy='halving' sets max_epochs itself (epochs are its "
                "resource); remove 'max_epochs' from search_space and pass "
                "the largest budget as GensimNASClassifier(max_epochs=...)."
            )
        self.eta = self._int_option("eta", 2)
        max_epochs = int(space.defaults["max_epochs"])
        self.min_epochs = self._int_option("min_epochs", 1, max_epochs)
        self.epochs = epoch_schedule(
            self.min_epochs, max_epochs, self.eta, n_trials
        )
        self.rank_by = self.options["rank_by"]
        if self.rank_by is not None and not isinstance(self.rank_by, str):
            raise ValueError(
                f"strategy_options['rank_by'] of strategy 'halving' expects "
                f"the name of a scoring metric or None; received "
                f"{self.rank_by!r}."
            )
        if len(self.epochs) == 1:
            warnings.warn(
                f"strategy='halving' runs a single round (a plain random "
                f"search): max_epochs={max_epochs}, min_epochs="
                f"{self.min_epochs}, eta={self.eta} and n_trials={n_trials} "
                f"leave no room to halve. Raise max_epochs or n_trials to "
                f"at least eta * min_epochs and eta, or lower eta.",
                SkgnasWarning,
                stacklevel=4,
            )

    def run(self, evaluate):
        survivors = self.space.sample(self.n_trials, self.random_state)
        for round_, epochs in enumerate(self.epochs):
            candidates = [{**c, "max_epochs": epochs} for c in survivors]
            scores = evaluate(
                candidates, extra={ROUND_COLUMN: [round_] * len(candidates)}
            )
            if any(score is None for score in scores):
                return  # the time budget ran out
            if round_ == len(self.epochs) - 1:
                return
            ranks = scores
            if self.rank_by is not None:
                ranks = self._rank_values(evaluate, candidates)

            # Failed candidates (NaN) are never promoted.
            ranked = [
                i for i in np.argsort(-np.asarray(ranks, float), kind="stable")
                if not (np.isnan(scores[i]) or np.isnan(ranks[i]))
            ]
            # Rounded up, as scikit-learn's halving searches do: a
            # round of 8 with eta=3 sends 3 to the last round, not 2.
            n_keep = math.ceil(len(candidates) / self.eta)
            survivors = [survivors[i] for i in sorted(ranked[:n_keep])]
            if not survivors:
                return

    def _rank_values(self, evaluate, candidates):
        """Mean CV ``rank_by`` metric of each candidate (NaN if it failed)."""
        column = f"mean_test_{self.rank_by}"
        if column not in evaluate.results:
            metrics = sorted(
                key[len("mean_test_"):] for key in evaluate.results
                if key.startswith("mean_test_")
            )
            raise unknown_rank_by(self.rank_by, metrics)
        return [float(evaluate.value_of(c, column)) for c in candidates]


    def select_best(self, results, metric):
        """Best successful row of the latest round that has one."""
        if ROUND_COLUMN not in results:
            return None
        rounds = np.asarray(results[ROUND_COLUMN])
        scores = np.asarray(results[f"mean_test_{metric}"], float)
        for round_ in sorted(set(rounds.tolist()), reverse=True):
            rows = np.flatnonzero((rounds == round_) & ~np.isnan(scores))
            if len(rows):
                return int(rows[np.argmax(scores[rows])])
        return None


def epoch_schedule(min_epochs, max_epochs, eta, n_candidates):
    """Epochs of each round: ``eta`` times more each, ending at the max.

    There are as many rounds as both the epoch range and the candidates
    allow: round ``r`` keeps about ``n_candidates / eta**r`` candidates,
    which must stay at least 1.
    """
    n_rounds = 1
    while (min_epochs * eta ** n_rounds <= max_epochs
           and eta ** n_rounds <= n_candidates):
        n_rounds += 1
    epochs = [
        max(min_epochs, round(max_epochs / eta ** (n_rounds - 1 - r)))
        for r in range(n_rounds)
    ]
    # Rounding may repeat a value; each round must train longer.
    return sorted(set(epochs))


def unknown_rank_by(rank_by, metrics):
    """The error for a ``rank_by`` that is none of the search's ``metrics``."""
    return ValueError(
        f"strategy_options['rank_by'] of strategy 'halving' names "
        f"{rank_by!r}, which is not a scoring metric of this search; valid "
        f"names are {metrics}. Add it to scoring, e.g. "
        f"scoring={{'main': 'accuracy', {rank_by!r}: ...}} with "
        f"refit='main'."
    )
