"""Contracts of the adaptive strategies: evolution, bayes and halving.

Every search here is real (Gensim, skorch, scikit-learn's search CV) but
tiny: small vectors, one or two epochs, a few units, one torch thread.
"""

import re
import zlib

import numpy as np
import optuna
import pytest
from joblib import parallel_backend
from scipy.stats import loguniform, norm, randint
from sklearn.exceptions import FitFailedWarning

from skgnas import STRATEGIES, GensimNASClassifier, GensimVectorizer
from skgnas import SearchSpace, TextNetClassifier
from skgnas._halving import ROUND_COLUMN, HalvingStrategy, epoch_schedule
from skgnas.exceptions import SkgnasWarning

from skgnas._strategies import PROPOSALS_PER_ROUND

from conftest import TINY_NET, TINY_VECTORIZER

ADAPTIVE = ["evolution", "bayes", "halving"]

# Big enough that n_trials distinct candidates exist, with a list, an int
# range and a log-scaled float range, and keys that only some layer types
# use.
SPACE = {
    "layer_type": ["bag", "dense", "convolutional"],
    "hidden_units": randint(2, 9),
    "kernel_size": [3, 5],
    "ngrams": [1],
    "lr": loguniform(1e-3, 3e-2),
}

# Candidates with min_count above the corpus size fail at fit time: Gensim
# finds no word frequent enough and the vectorizer raises.
FAILING = 10**6


def make(strategy, space=SPACE, **params):
    settings = dict(
        strategy=strategy,
        n_trials=6,
        cv=2,
        vectorizer=GensimVectorizer(**TINY_VECTORIZER),
        random_state=0,
        **TINY_NET,
    )
    if strategy == "halving":
        settings["strategy_options"] = {"eta": 2}
    settings.update(params)
    return GensimNASClassifier(space, **settings)


def keys(nas):
    return [SearchSpace.key_of(p) for p in nas.cv_results_["params"]]


def architectures(nas):
    """Distinct searched settings, ignoring halving's max_epochs."""
    return {
        SearchSpace.key_of({k: v for k, v in p.items() if k != "max_epochs"})
        for p in nas.cv_results_["params"]
    }


def test_strategies_are_registered():
    assert {"grid", "random", *ADAPTIVE} <= set(STRATEGIES)


@pytest.mark.parametrize("strategy", ADAPTIVE)
def test_same_seed_same_search(spam_small, strategy):
    X, y = spam_small
    first = make(strategy).fit(X, y)
    again = make(strategy).fit(X, y)
    other = make(strategy, random_state=1).fit(X, y)

    assert first.cv_results_["params"] == again.cv_results_["params"]
    np.testing.assert_allclose(
        first.cv_results_["mean_test_score"],
        again.cv_results_["mean_test_score"],
    )
    assert first.best_params_ == again.best_params_
    assert first.cv_results_["params"] != other.cv_results_["params"]

    # Settings that do not apply to a layer type never reach cv_results_,
    # and ranges keep their kind.
    for params in first.cv_results_["params"]:
        if params["layer_type"] == "bag":
            assert "hidden_units" not in params
        else:
            assert isinstance(params["hidden_units"], int)
            assert 2 <= params["hidden_units"] <= 8
        assert 1e-3 <= params["lr"] <= 3e-2


@pytest.mark.parametrize("strategy", ["evolution", "bayes"])
def test_n_trials_counts_distinct_candidates(spam_small, strategy):
    X, y = spam_small
    nas = make(strategy, n_trials=7).fit(X, y)

    assert len(nas.cv_results_["params"]) == 7
    assert len(set(keys(nas))) == 7


@pytest.mark.parametrize("strategy", ["evolution", "bayes"])
def test_small_space_is_used_up_without_repeats(spam_small, strategy):
    # Three distinct networks: kernel_size only matters for convolutions,
    # so the bag candidates collapse into one.
    space = {"layer_type": ["bag", "convolutional"], "kernel_size": [3, 5],
             "hidden_units": [2], "ngrams": [1]}
    X, y = spam_small
    nas = make(strategy, space, n_trials=10).fit(X, y)

    assert len(nas.cv_results_["params"]) == 3
    assert len(set(keys(nas))) == 3


def test_halving_rounds(spam_small):
    X, y = spam_small
    nas = make("halving", n_trials=5, max_epochs=2).fit(X, y)
    results = nas.cv_results_
    rounds = np.asarray(results[ROUND_COLUMN])
    epochs = np.asarray(results["param_max_epochs"], int)

    # 5 architectures for 1 epoch, then the best ceil(5 / 2) = 3 of them
    # for 2.
    assert rounds.tolist() == [0] * 5 + [1] * 3
    assert epochs.tolist() == [1] * 5 + [2] * 3
    assert len(architectures(nas)) == 5
    assert len(set(keys(nas))) == 8
    scores = results["mean_test_score"]
    top = np.argsort(-scores[:5], kind="stable")[:3]
    promoted = {SearchSpace.key_of({**results["params"][i], "max_epochs": 2})
                for i in top}
    assert promoted == set(keys(nas)[5:])
    assert nas.best_index_ in (5, 6, 7)
    assert nas.best_score_ == scores[5:].max()
    assert nas.best_architecture_["max_epochs"] == 2
    assert nas.best_estimator_.max_epochs == 2


def _n_classes(estimator, X, y):
    """Classes the candidate was trained on."""
    return len(estimator.classes_)


def _fold(estimator, X, y):
    """A fingerprint of the test fold, the same for the same texts."""
    return float(zlib.crc32("\x00".join(X).encode()))


def test_halving_rounds_share_folds_holding_every_class(brown_small):
    X, y = brown_small
    n_classes = len(np.unique(y))
    scoring = {"accuracy": "accuracy", "n_classes": _n_classes,
               "fold": _fold}
    nas = make(
        "halving", n_trials=4, max_epochs=2, cv=3, scoring=scoring,
        refit="accuracy", vectorizer=GensimVectorizer(
            **{**TINY_VECTORIZER, "min_count": 1}),
    ).fit(X, y)
    results = nas.cv_results_
    rounds = np.asarray(results[ROUND_COLUMN])
    assert rounds.max() == 1

    for split in range(3):
        # Every fit of every round saw all 15 genres and the same folds.
        assert set(results[f"split{split}_test_n_classes"]) == {n_classes}
        assert len(set(results[f"split{split}_test_fold"])) == 1
    assert len({results[f"split{s}_test_fold"][0] for s in range(3)}) == 3

    # The refit metric decides promotion and the final choice.
    accuracy = results["mean_test_accuracy"]
    first = np.flatnonzero(rounds == 0)
    best_two = first[np.argsort(-accuracy[first], kind="stable")[:2]]
    assert sorted(
        SearchSpace.key_of({**results["params"][i], "max_epochs": 2})
        for i in best_two
    ) == sorted(keys(nas)[i] for i in np.flatnonzero(rounds == 1))
    last = np.flatnonzero(rounds == 1)
    assert nas.best_index_ == last[np.argmax(accuracy[last])]
    assert nas.best_score_ == accuracy[last].max()


def test_halving_select_best_skips_failed_and_earlier_rounds():
    strategy = HalvingStrategy(
        SearchSpace({"lr": [1e-3, 1e-2]}, TextNetClassifier().get_params()),
        4, 0, {"eta": 2},
    )
    nan = np.nan
    # A higher score from a shorter round never wins over the last round.
    results = {ROUND_COLUMN: np.array([0, 0, 0, 1, 1]),
               "mean_test_score": np.array([0.99, 0.5, nan, nan, 0.6])}
    assert strategy.select_best(results, "score") == 4
    # If the whole last round failed, the best of the one before counts.
    results["mean_test_score"] = np.array([0.5, 0.9, nan, nan, nan])
    assert strategy.select_best(results, "score") == 1
    results["mean_test_score"] = np.full(5, nan)
    assert strategy.select_best(results, "score") is None


@pytest.mark.parametrize(
    "min_epochs, max_epochs, eta, n, expected",
    [
        (1, 9, 3, 27, [1, 3, 9]),
        (1, 10, 3, 27, [1, 3, 10]),
        (1, 9, 3, 4, [3, 9]),
        (2, 9, 3, 27, [3, 9]),
        (1, 2, 2, 6, [1, 2]),
        (1, 2, 3, 6, [2]),
    ],
)
def test_epoch_schedule(min_epochs, max_epochs, eta, n, expected):
    assert epoch_schedule(min_epochs, max_epochs, eta, n) == expected


# 'random' is here too: every strategy sends candidates in small batches,
# and a batch whose fits all fail must not end the search.
@pytest.mark.parametrize("strategy", ["random", *ADAPTIVE])
def test_failed_candidates_score_error_score(spam_small, strategy):
    space = {"layer_type": ["bag", "dense"], "ngrams": [1],
             "hidden_units": [2, 4], "lr": [3e-3, 1e-2],
             "vectorizer__min_count": [1, FAILING]}
    X, y = spam_small
    with pytest.warns(FitFailedWarning, match="fits failed"):
        nas = make(strategy, space, n_trials=6).fit(X, y)
    results = nas.cv_results_
    failing = np.array(
        [p["vectorizer__min_count"] == FAILING for p in results["params"]]
    )
    scores = results["mean_test_score"]

    assert failing.any()
    assert np.isnan(scores[failing]).all()
    assert not np.isnan(scores[~failing]).any()
    assert nas.best_params_["vectorizer__min_count"] == 1
    if strategy == "halving":
        assert not failing[np.asarray(results[ROUND_COLUMN]) > 0].any()


def test_halving_never_promotes_failed_candidates(spam_small):
    # Three of four candidates fail: the one that works goes on alone
    # although the quota (ceil(4 / 2) = 2) has room for a failed one.
    space = {"layer_type": ["bag"], "ngrams": [1],
             "vectorizer__min_count": [1, FAILING, 2 * FAILING, 3 * FAILING]}
    X, y = spam_small
    with pytest.warns(FitFailedWarning, match="fits failed"):
        nas = make("halving", space, n_trials=4).fit(X, y)
    results = nas.cv_results_

    assert list(results[ROUND_COLUMN]) == [0, 0, 0, 0, 1]
    assert results["params"][-1]["vectorizer__min_count"] == 1
    assert nas.best_index_ == 4


@pytest.mark.parametrize("strategy", ADAPTIVE)
def test_search_fails_when_every_candidate_fails(spam_small, strategy):
    space = {"layer_type": ["bag"], "ngrams": [1],
             "vectorizer__min_count": [FAILING, 2 * FAILING]}
    X, y = spam_small
    with pytest.warns(FitFailedWarning, match="fits failed"):
        with pytest.raises(ValueError, match=r"All \d+ fits of the search "
                           r"failed(.|\n)*vocabulary is empty"):
            make(strategy, space, n_trials=2).fit(X, y)


@pytest.mark.parametrize("strategy", ADAPTIVE)
def test_error_score_raise(spam_small, strategy):
    space = {"layer_type": ["bag"], "ngrams": [1],
             "vectorizer__min_count": [FAILING]}
    X, y = spam_small
    with pytest.raises(ValueError, match="vocabulary is empty"):
        make(strategy, space, error_score="raise").fit(X, y)


@pytest.mark.parametrize("strategy", ADAPTIVE)
def test_time_budget_ends_search_normally(spam_small, strategy):
    X, y = spam_small
    nas = make(strategy, n_trials=60, time_budget=2.0).fit(X, y)
    n_rows = len(nas.cv_results_["params"])

    assert 1 <= n_rows < 60
    assert len(nas.cv_results_["mean_test_score"]) == n_rows
    assert nas.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("strategy", ADAPTIVE)
def test_process_workers_give_the_same_search(spam_small, strategy):
    # scikit-learn pickles the search for its workers: the strategy's
    # state must survive that, and the results must not depend on it.
    X, y = spam_small
    alone = make(strategy, n_trials=4).fit(X, y)
    workers = make(strategy, n_trials=4, n_jobs=2).fit(X, y)

    assert workers.cv_results_["params"] == alone.cv_results_["params"]
    np.testing.assert_allclose(workers.cv_results_["mean_test_score"],
                               alone.cv_results_["mean_test_score"])


@pytest.mark.parametrize("strategy", ["evolution", "bayes"])
def test_batches_keep_workers_busy(spam_small, strategy):
    # Four workers over two folds: candidates go out two at a time, but
    # what is proposed does not depend on the number of workers.
    X, y = spam_small
    with parallel_backend("threading"):
        nas = make(strategy, n_trials=7, n_jobs=4).fit(X, y)
    alone = make(strategy, n_trials=7).fit(X, y)

    assert len(nas.cv_results_["params"]) == 7
    assert len(set(keys(nas))) == 7
    assert nas.cv_results_["params"] == alone.cv_results_["params"]


def one_step(parent, child):
    """Whether ``child`` differs from ``parent`` in one decision."""
    if parent["layer_type"] != child["layer_type"]:
        # A new layer type brings its own settings; shared ones stay.
        shared = set(parent) & set(child) - {"layer_type"}
        return all(parent[k] == child[k] for k in shared)
    changed = [k for k in child if child[k] != parent[k]]
    return set(parent) == set(child) and len(changed) == 1


def test_evolution_children_change_one_decision(spam_small):
    X, y = spam_small
    nas = make(
        "evolution", n_trials=9,
        strategy_options={"population_size": 4, "crossover_rate": 0.0},
    ).fit(X, y)
    params = nas.cv_results_["params"]

    for i in range(4, len(params)):
        assert any(one_step(parent, params[i]) for parent in params[:i])


def _error(estimator, X, y):
    """1 - accuracy: a metric the search should drive up when it refits."""
    return float(np.mean(estimator.predict(X) != np.asarray(y)))


def test_evolution_follows_the_refit_metric(spam_small):
    # With tournaments over the whole population (greedy) and no
    # crossover, each child is one decision away from the member with the
    # highest refit metric in the population its round started from: the
    # last three evaluated before the round (rounds hold
    # PROPOSALS_PER_ROUND children).
    X, y = spam_small
    nas = make(
        "evolution", n_trials=7, scoring={"accuracy": "accuracy",
                                          "error": _error},
        refit="error",
        strategy_options={"population_size": 3, "sample_size": 3,
                          "crossover_rate": 0.0},
    ).fit(X, y)
    params = nas.cv_results_["params"]
    error = nas.cv_results_["mean_test_error"]

    assert nas.best_score_ == error.max()
    for i in range(3, len(params)):
        start = 3 + (i - 3) // PROPOSALS_PER_ROUND * PROPOSALS_PER_ROUND
        window = np.arange(start - 3, start)
        # Ties are broken by the tournament's random order.
        parents = window[error[window] == error[window].max()]
        assert any(one_step(params[j], params[i]) for j in parents)


def test_bayes_keeps_optuna_quiet_and_restores_its_level(spam_small,
                                                          capfd):
    X, y = spam_small
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        make("bayes", n_trials=3).fit(X, y)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(previous)
    assert "Trial" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "strategy, options, space, match",
    [
        ("evolution", {"population_size": 1}, SPACE,
         r"'population_size'.*int >= 2; received 1"),
        ("evolution", {"crossover_rate": 1.5}, SPACE,
         r"'crossover_rate'.*in \[0.0, 1.0\]; received 1.5"),
        ("evolution", {"mutation": 2}, SPACE,
         r"unknown keys \['mutation'\].*'evolution'"),
        ("bayes", {"n_ei_candidates": 0}, SPACE,
         r"'n_ei_candidates'.*int >= 1; received 0"),
        ("bayes", None, {"lr": norm(0.01, 0.001)},
         r"search_space\['lr'\].*'norm'.*randint, uniform or loguniform"),
        ("halving", {"eta": 1}, SPACE, r"'eta'.*int >= 2; received 1"),
        ("halving", {"min_epochs": 5}, SPACE,
         r"'min_epochs'.*in \[1, 2\]; received 5"),
        ("halving", None, {"max_epochs": [1, 2]},
         "sets max_epochs itself"),
        ("halving", {"rank_by": 3}, SPACE,
         r"'rank_by'.*name of a scoring metric or None; received 3"),
        ("halving", {"eta": 2, "rank_by": "nll"}, SPACE,
         r"'rank_by'.*'nll', which is not a scoring metric.*\['score'\]"),
    ],
)
def test_bad_options(spam_small, strategy, options, space, match):
    X, y = spam_small
    nas = make(strategy, space)
    nas.set_params(strategy_options=options)
    with pytest.raises(ValueError, match=match):
        nas.fit(X, y)


@pytest.mark.parametrize("options", [[("eta", 2)], "eta", []])
def test_strategy_options_that_are_not_a_dict_are_named(spam_small, options):
    nas = make("halving").set_params(strategy_options=options)
    with pytest.raises(TypeError, match=r"strategy_options expects a dict "
                       r"of settings or None; received "
                       + re.escape(repr(options))):
        nas.fit(*spam_small)
    assert not hasattr(nas, "cv_results_")


def test_halving_warns_when_it_cannot_halve():
    space = SearchSpace({"lr": [1e-3, 1e-2]},
                        TextNetClassifier(max_epochs=2).get_params())
    with pytest.warns(SkgnasWarning, match="single round"):
        strategy = HalvingStrategy(space, 6, 0, {"eta": 3})
    assert strategy.epochs == [2]


def test_evolution_oldest_leave_first_and_the_worst_among_peers():
    from skgnas._evolution import _Member, _survivors

    founders = [_Member(0, {"lr": i}, score) for i, score in
                enumerate([0.5, 0.9, float("nan"), 0.7])]
    children = [_Member(0, {"lr": 10 + i}, 0.1) for i in range(2)]
    for child in children:
        child.born = 1

    kept = _survivors(founders + children, 4)

    # Two founders leave (the failed one and the worst scored), however
    # good the children are not; order of the rest is kept.
    assert [m.genes["lr"] for m in kept] == [1, 3, 10, 11]


def test_evolution_mutates_influential_settings_more_often():
    from skgnas._evolution import _key_odds, _influence, _Member

    space = SearchSpace(
        {"layer_type": ["bag"], "dropout": [0.0, 0.5], "lr": loguniform(
            1e-3, 1e-1)},
        TextNetClassifier().get_params(),
    )
    rng = np.random.RandomState(0)
    members = []
    for _ in range(24):
        lr = float(10 ** rng.uniform(-3, -1))
        genes = {"layer_type": "bag", "dropout": float(rng.choice([0, 0.5])),
                 "lr": lr}
        # The score follows the learning rate; dropout is noise.
        members.append(_Member(0, genes, np.log10(lr) + 0.01 * rng.randn()))

    weights = _influence(space, members)
    odds = _key_odds(["dropout", "lr"], weights)

    assert weights["lr"] > 0.5
    assert weights.get("dropout", 0.0) < 0.1
    assert odds[1] > 0.7 and np.isclose(odds.sum(), 1.0)
    # Too few scores: every setting is equally likely.
    assert _key_odds(["dropout", "lr"], _influence(space, members[:3])
                     ).tolist() == [0.5, 0.5]


def test_founders_spread_over_every_setting():
    from skgnas._evolution import spread_genes
    from skgnas._strategies import draw_genes

    lr = loguniform(1e-4, 1e-1)
    space = SearchSpace({**SPACE, "lr": lr}, TextNetClassifier().get_params())
    rng = np.random.RandomState(0)
    drawn = spread_genes(space, [draw_genes(space, rng) for _ in range(6)],
                         rng)

    genes = [g for _, g in drawn]
    # A list's values in equal shares; one value per sixth of the range.
    assert sorted(g["layer_type"] for g in genes) == sorted(
        ["bag", "dense", "convolutional"] * 2)
    assert sorted(int(lr.cdf(g["lr"]) * 6) for g in genes) == list(range(6))
    assert all(isinstance(g["hidden_units"], int) and 2 <= g["hidden_units"]
               <= 8 for g in genes)


def test_halving_promotes_by_rank_by_and_chooses_by_the_refit_metric(
        spam_small):
    # Ranking by the error promotes the least accurate half: proof that
    # rank_by, not the refit metric, decides who goes on.
    X, y = spam_small
    nas = make(
        "halving", n_trials=4, max_epochs=2,
        scoring={"accuracy": "accuracy", "error": _error}, refit="accuracy",
        strategy_options={"eta": 2, "rank_by": "error"},
    ).fit(X, y)
    results = nas.cv_results_
    rounds = np.asarray(results[ROUND_COLUMN])
    error = results["mean_test_error"]

    first, last = np.flatnonzero(rounds == 0), np.flatnonzero(rounds == 1)
    assert error[first].max() > np.sort(error[first])[1]  # not all tied
    promoted = first[np.argsort(-error[first], kind="stable")[:2]]
    assert sorted(
        SearchSpace.key_of({**results["params"][i], "max_epochs": 2})
        for i in promoted
    ) == sorted(keys(nas)[i] for i in last)
    accuracy = results["mean_test_accuracy"]
    assert nas.best_index_ == last[np.argmax(accuracy[last])]
