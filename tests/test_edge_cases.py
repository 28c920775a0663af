"""Edge cases: multi-metric callables, rank_by, distribution ranges, inputs."""

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import accuracy_score

from skgnas import GensimNASClassifier, GensimVectorizer

from conftest import TINY_NET, TINY_VECTORIZER


def _nas(**params):
    settings = dict(
        vectorizer=GensimVectorizer(**TINY_VECTORIZER), cv=2, n_trials=2,
        random_state=0, **{**TINY_NET, "max_epochs": 1},
    )
    settings.update(params)
    return GensimNASClassifier(**settings)


@pytest.fixture
def tiny(spam_small):
    texts, labels = spam_small
    return texts[:40], labels[:40]


def _two_metrics(estimator, X, y):
    predicted = estimator.predict(X)
    return {"acc": accuracy_score(y, predicted),
            "err": float(np.mean(predicted != y))}


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_callable_scoring_returning_a_dict_of_metrics(tiny, strategy):
    # scikit-learn accepts a callable that returns several metrics with
    # refit naming one; the strategies must optimise that column.
    nas = _nas(strategy=strategy, scoring=_two_metrics, refit="acc")
    nas.fit(*tiny)
    assert "mean_test_acc" in nas.cv_results_
    assert nas.best_score_ == pytest.approx(
        np.nanmax(nas.cv_results_["mean_test_acc"]))


@pytest.mark.parametrize("scoring, rank_by", [
    ("accuracy", "accuracy"),
    (None, "accuracy"),
    ("neg_log_loss", "neg_log_loss"),
])
def test_rank_by_may_name_the_single_scoring_metric(tiny, scoring, rank_by):
    nas = _nas(strategy="halving", max_epochs=3, n_trials=3,
               scoring=scoring, strategy_options={"rank_by": rank_by})
    nas.fit(*tiny)
    assert list(nas.cv_results_["halving_round"]) == [0, 0, 0, 1]


@pytest.mark.parametrize("strategy", ["random", "evolution", "bayes",
                                      "halving"])
@pytest.mark.parametrize("key, spec, match", [
    ("dropout", scipy.stats.uniform(0.0, 2.0), r"'dropout'.*< 1\.0"),
    ("num_layers", scipy.stats.randint(0, 3), r"'num_layers'.*>= 1"),
])
def test_out_of_range_distribution_raises_before_training(
    tiny, strategy, key, spec, match
):
    # Random search used to raise only if a draw fell outside the range,
    # evolution and Bayes trained the invalid candidates as failed fits.
    nas = _nas(strategy=strategy, max_epochs=3, n_trials=6,
               search_space={"layer_type": ["dense"], key: spec})
    with pytest.raises(ValueError, match=match):
        nas.fit(*tiny)
    assert not hasattr(nas, "cv_results_")


def test_bayes_queues_ints_for_an_integer_setting_of_a_continuous_range(
    tiny, recwarn
):
    # docs/strategies.md: uniform over an integer setting is suggested as
    # ints; the Latin-hypercube startup trials must be queued as ints too.
    nas = _nas(strategy="bayes", n_trials=4, search_space={
        "layer_type": ["dense"], "hidden_units": scipy.stats.uniform(4, 12)})
    nas.fit(*tiny)
    out_of_range = [w for w in recwarn if "out of range" in str(w.message)]
    assert out_of_range == []
    units = [p["hidden_units"] for p in nas.cv_results_["params"]]
    assert all(isinstance(u, int) and 4 <= u <= 16 for u in units)


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_every_strategy_rounds_an_integer_setting_of_a_continuous_range(
    tiny, strategy
):
    # As Bayes does (above): the candidates train instead of failing.
    nas = _nas(strategy=strategy, n_trials=6, search_space={
        "layer_type": ["dense"], "hidden_units": scipy.stats.uniform(4, 12)})
    nas.fit(*tiny)
    units = [p["hidden_units"] for p in nas.cv_results_["params"]]
    assert len(units) == 6
    assert all(type(u) is int and 4 <= u <= 16 for u in units)
    assert np.isfinite(nas.cv_results_["mean_test_score"]).all()


def test_rank_by_message_suggests_a_valid_scoring_dict(tiny):
    nas = _nas(strategy="halving", max_epochs=3, n_trials=3,
               scoring={"a": "accuracy"}, refit="a",
               strategy_options={"rank_by": "accuracy"})
    with pytest.raises(ValueError, match=r"\['a'\].*scoring=\{'main': "
                       r"'accuracy', 'accuracy': \.\.\.\} with refit='main'"):
        nas.fit(*tiny)
