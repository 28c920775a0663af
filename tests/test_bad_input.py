import numpy as np
import pytest

from skgnas import GensimNASClassifier, GensimVectorizer

from conftest import TINY_NET, TINY_VECTORIZER


def tiny_nas(**params):
    settings = dict(vectorizer=GensimVectorizer(**TINY_VECTORIZER), cv=2,
                    random_state=0, **TINY_NET)
    settings.update(params)
    return GensimNASClassifier({"layer_type": ["bag"]}, **settings)


@pytest.fixture(scope="module")
def fitted(spam_small):
    return tiny_nas().fit(*spam_small)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (None, TypeError, r"X\[3\] is None"),
        (float("nan"), TypeError, r"X\[3\] is NaN"),
        (42, TypeError, r"X\[3\] is of type int"),
        (["nested"], TypeError, r"X\[3\] is of type list"),
    ],
)
def test_bad_documents_name_their_position(spam_small, bad, error, message):
    X, y = spam_small
    X = list(X)
    X[3] = bad
    with pytest.raises(error, match=message):
        tiny_nas().fit(X, y)


def test_bad_documents_at_predict_time(fitted):
    with pytest.raises(TypeError, match=r"X\[1\] is None"):
        fitted.predict(["fine", None])


def test_a_single_string_is_rejected(fitted, spam_small):
    with pytest.raises(TypeError, match="single str was passed"):
        fitted.predict("just one document")
    with pytest.raises(TypeError, match="single str"):
        tiny_nas().fit("a document", spam_small[1])


def test_two_dimensional_input_is_rejected(fitted):
    with pytest.raises(ValueError, match="one-dimensional"):
        fitted.predict(np.array([["a", "b"], ["c", "d"]], dtype=object))


def test_one_class_fails_before_any_training(spam_small):
    X, _ = spam_small
    with pytest.raises(ValueError, match="single class \\('ham'\\)"):
        tiny_nas().fit(X, ["ham"] * len(X))


def test_too_few_members_for_the_folds(spam_small):
    X, y = spam_small
    y = np.array(y, dtype=object)
    y[:2] = "rare"
    with pytest.raises(ValueError, match="class 'rare' has only 2.*3 cross"):
        tiny_nas(cv=3).fit(X, y)


def test_length_mismatch_and_missing_labels(spam_small):
    X, y = spam_small
    with pytest.raises(ValueError, match="different lengths"):
        tiny_nas().fit(X, y[:-1])
    y = np.array(y, dtype=object)
    y[5] = None
    with pytest.raises(ValueError, match=r"y\[5\] is missing"):
        tiny_nas().fit(X, y)


def test_vocabulary_emptied_by_min_count_says_so(spam_small):
    X, y = spam_small
    nas = GensimNASClassifier(
        {"layer_type": ["bag"]}, cv=2, error_score="raise",
        vectorizer=GensimVectorizer(min_count=10**6), max_epochs=1)
    with pytest.raises(ValueError, match="vocabulary is empty.*min_count"):
        nas.fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"strategy": "annealing"}, "strategy expects one of"),
        ({"n_trials": 0}, "n_trials expects a positive int"),
        ({"time_budget": -5}, "time_budget expects a positive number"),
        ({"cv": 1}, "cv expects an int >= 2"),
        ({"vectorizer": "word2vec"}, "vectorizer expects a GensimVectorizer"),
    ],
)
def test_bad_estimator_parameters_are_named(spam_small, params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        tiny_nas(**params).fit(*spam_small)


def test_a_failed_fit_keeps_earlier_results(spam_small):
    X, y = spam_small
    nas = tiny_nas().fit(X, y)
    before = nas.predict(X[:20])
    results = nas.cv_results_
    with pytest.raises(TypeError):
        nas.fit(X[:-1] + [None], y)
    nas.set_params(search_space={"layer_type": ["nope"]})
    with pytest.raises(ValueError, match="invalid value 'nope'"):
        nas.fit(X, y)
    assert nas.cv_results_ is results
    np.testing.assert_array_equal(nas.predict(X[:20]), before)
