import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as checks

from skgnas import GensimNASClassifier, GensimVectorizer, TextNetClassifier

from conftest import TINY_NET, TINY_VECTORIZER

SPACE = {"layer_type": ["bag", "dense"]}


def tiny_nas(**params):
    settings = dict(search_space=SPACE, cv=2, random_state=0,
                    vectorizer=GensimVectorizer(**TINY_VECTORIZER), **TINY_NET)
    settings.update(params)
    return GensimNASClassifier(**settings)


def lower_case(texts):
    return [text.lower() for text in texts]


def test_get_set_params_reach_the_vectorizer():
    nas = tiny_nas()
    nas.set_params(vectorizer__window=3, max_epochs=4)
    params = nas.get_params()
    assert params["vectorizer__window"] == 3
    assert params["max_epochs"] == 4
    assert params["search_space"] is SPACE


def test_clone_copies_parameters_not_fitted_state(spam_small):
    nas = tiny_nas().fit(*spam_small)
    copy = clone(nas)
    assert copy.get_params()["vectorizer__window"] == (
        nas.get_params()["vectorizer__window"])
    assert not hasattr(copy, "best_estimator_")
    assert copy.vectorizer is not nas.vectorizer


def test_last_step_of_a_pipeline(spam_small):
    X, y = spam_small
    pipe = make_pipeline(FunctionTransformer(lower_case), tiny_nas())
    pipe.fit(X, y)
    assert set(pipe.predict(X[:10])) <= {"ham", "spam"}
    assert pipe[-1].best_architecture_["layer_type"] in ("bag", "dense")


def test_inside_cross_val_score(spam_small):
    X, y = spam_small
    scores = cross_val_score(tiny_nas(), X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_nested_inside_grid_search_cv(spam_small):
    X, y = spam_small
    outer = GridSearchCV(tiny_nas(), {"max_epochs": [1, 2]}, cv=2)
    outer.fit(X, y)
    assert outer.best_params_["max_epochs"] in (1, 2)
    assert len(outer.cv_results_["params"]) == 2
    assert outer.best_estimator_.best_architecture_["layer_type"] in SPACE[
        "layer_type"]


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (None, None),
])
def test_pickle_and_joblib_round_trips_predict_identically(
        spam_small, tmp_path, dump, load):
    X, y = spam_small
    nas = tiny_nas().fit(X, y)
    if dump is None:
        joblib.dump(nas, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    else:
        restored = load(dump(nas))
    np.testing.assert_array_equal(restored.predict(X), nas.predict(X))
    np.testing.assert_allclose(restored.predict_proba(X),
                               nas.predict_proba(X))
    assert restored.best_architecture_ == nas.best_architecture_


def _checked_estimators():
    vectorizer = dict(vector_size=8, epochs=1, min_count=1, max_len=20)
    return [
        tiny_nas(search_space={"layer_type": ["bag"]},
                 vectorizer=GensimVectorizer(**vectorizer)),
        TextNetClassifier(GensimVectorizer(**vectorizer), layer_type="bag",
                          max_epochs=2, random_state=0, n_threads=1),
        GensimVectorizer(**vectorizer),
    ]


ESTIMATORS = _checked_estimators()
IDS = [type(e).__name__ for e in ESTIMATORS]

# scikit-learn's common checks feed numeric 2-d arrays, which a raw-text
# estimator rejects; parametrize_with_checks therefore skips every check for
# input_tags.string estimators. The checks below need no data and are run
# as they are; the data checks that apply to text follow, rewritten on text.
DATA_FREE_CHECKS = [
    checks.check_parameters_default_constructible,
    checks.check_no_attributes_set_in_init,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_valid_tag_types,
    checks.check_estimator_tags_renamed,
    checks.check_mixin_order,
    checks.check_do_not_raise_errors_in_init_or_set_params,
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS,
                         ids=lambda c: c.__name__)
def test_scikit_learn_data_free_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


def _fit(estimator, X, y):
    return estimator.fit(X) if not hasattr(estimator, "predict") else (
        estimator.fit(X, y))


def _output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.transform(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_fit_returns_self_and_keeps_parameters(estimator, spam_small):
    X, y = spam_small
    estimator = clone(estimator)
    before = joblib.hash(estimator.get_params())
    assert _fit(estimator, X, y) is estimator
    assert joblib.hash(estimator.get_params()) == before


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_fit_is_idempotent_and_unfitted_use_raises(estimator, spam_small):
    X, y = spam_small
    estimator = clone(estimator)
    with pytest.raises(NotFittedError):
        _output(estimator, X[:3])
    first = _output(_fit(estimator, X, y), X[:30])
    second = _output(_fit(estimator, X, y), X[:30])
    np.testing.assert_allclose(first, second)


@pytest.mark.parametrize("estimator", ESTIMATORS[:2], ids=IDS[:2])
def test_classifier_output_is_consistent(estimator, spam_small):
    X, y = spam_small
    estimator = _fit(clone(estimator), X, y)
    proba = estimator.predict_proba(X[:30])
    np.testing.assert_array_equal(
        estimator.predict(X[:30]), estimator.classes_[proba.argmax(axis=1)])
    # Predictions do not depend on which other documents share the call.
    np.testing.assert_allclose(
        estimator.predict_proba(X[5:10]), proba[5:10], rtol=1e-5, atol=1e-6)


def test_models_pickled_before_binary_bags_and_row_slices_still_work(
    spam_small
):
    import pickle

    from skgnas import GensimVectorizer, TextNetClassifier

    X, y = spam_small[0][:80], spam_small[1][:80]
    clf = TextNetClassifier(
        GensimVectorizer(vector_size=8, epochs=1, max_len=40),
        layer_type="bag", binary=False, max_epochs=1, random_state=0,
        n_threads=1,
    ).fit(X, y)
    before = clf.predict_proba(X[:20])
    # What a model saved before those settings existed holds: bags that
    # average every occurrence, one network, no row slices.
    for name in ("binary", "n_networks", "nets_", "seed_"):
        delattr(clf, name)
    for name in ("binary", "max_positions"):
        delattr(clf.net_.module_, name)
    old = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(old.predict_proba(X[:20]), before, rtol=1e-6)
    assert old.get_params()["binary"] is False
    assert old.get_params()["n_networks"] == 1
    assert "TextNetClassifier" in repr(old)
    from skgnas import GensimNASClassifier

    nas = GensimNASClassifier()
    del nas.refit_networks
    assert pickle.loads(pickle.dumps(nas)).get_params()["refit_networks"] == 1
