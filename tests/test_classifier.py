import json

import numpy as np
import torch
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning

from skgnas import GensimNASClassifier, GensimVectorizer
from skgnas.exceptions import NotFittedYetError

from conftest import TINY_NET, TINY_VECTORIZER

EXACT = {
    "num_layers": [1, 2, 3],
    "layer_type": ["convolutional", "recurrent"],
    "activation": ["relu", "sigmoid"],
}


def tiny_nas(space=None, **params):
    settings = dict(
        vectorizer=GensimVectorizer(**TINY_VECTORIZER), cv=2,
        random_state=0, **TINY_NET,
    )
    settings.update(params)
    return GensimNASClassifier(space, **settings)


@pytest.fixture(scope="module")
def fitted(spam_small):
    """The exact dict from the user request, searched as a grid."""
    X, y = spam_small
    return tiny_nas(EXACT, strategy="grid").fit(X, y)


def test_exact_dict_runs_a_real_grid_search(fitted):
    params = fitted.cv_results_["params"]
    assert len(params) == 9
    assert {p["layer_type"] for p in params} == {"convolutional",
                                                 "recurrent"}
    for column in ("mean_test_score", "std_test_score", "rank_test_score",
                   "split0_test_score", "mean_fit_time"):
        assert len(fitted.cv_results_[column]) == 9
    scores = fitted.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores.min() > 0


def test_best_attributes_agree_with_cv_results(fitted):
    best = fitted.best_index_
    assert fitted.best_score_ == fitted.cv_results_["mean_test_score"][best]
    assert fitted.best_params_ == fitted.cv_results_["params"][best]
    assert fitted.cv_results_["rank_test_score"][best] == 1
    arch = fitted.best_architecture_
    assert json.loads(json.dumps(arch)) == arch
    for key, value in fitted.best_params_.items():
        assert arch[key] == value
    assert fitted.best_estimator_.get_params()["layer_type"] == (
        arch["layer_type"])


def test_predicts_string_labels_on_new_raw_text(fitted, spam_records):
    texts = [r["text"] for r in spam_records[-40:]]
    predicted = fitted.predict(texts)
    assert set(predicted) <= {"ham", "spam"}
    assert fitted.classes_.tolist() == ["ham", "spam"]
    proba = fitted.predict_proba(texts)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    labels = np.array([r["label"] for r in spam_records[-40:]])
    assert 0 <= fitted.score(texts, labels) <= 1


def test_accepts_list_array_and_series_with_any_index(fitted, spam_small):
    texts = spam_small[0][:15]
    expected = fitted.predict(texts)
    series = pd.Series(texts, index=np.arange(100, 115)[::-1])
    np.testing.assert_array_equal(fitted.predict(series), expected)
    np.testing.assert_array_equal(
        fitted.predict(np.array(texts, dtype=object)), expected)
    np.testing.assert_array_equal(fitted.predict(tuple(texts)), expected)


def test_counts_word_vector_trainings(fitted):
    # two CV splits and the final refit
    assert fitted.n_vector_trainings_ == 3


def test_empty_and_unseen_documents_get_finite_predictions(fitted):
    proba = fitted.predict_proba(["", "zzqx wvvq kkjjh", "   "])
    assert np.isfinite(proba).all()
    assert len(fitted.predict(["", "qqqqzz"])) == 2


def test_bytes_are_decoded_as_utf8(fitted, spam_small):
    text = spam_small[0][0]
    np.testing.assert_array_equal(
        fitted.predict([text.encode("utf-8")]), fitted.predict([text]))


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: (y == "spam").astype(int) * 7 + 1,
        lambda y: y == "spam",
        lambda y: np.where(y == "spam", "junk", "mail").astype(object),
    ],
    ids=["ints", "bools", "objects"],
)
def test_labels_come_back_in_their_original_type(spam_small, labels):
    X, y = spam_small
    y = labels(y)
    nas = tiny_nas({"layer_type": ["bag"]}, max_epochs=1).fit(X, y)
    predicted = nas.predict(X[:10])
    assert predicted.dtype == np.asarray(y).dtype
    assert set(predicted) <= set(np.unique(y))
    assert type(predicted[0]) is type(np.asarray(y)[0])


def test_same_random_state_same_search(spam_small):
    X, y = spam_small
    space = {"layer_type": ["bag", "dense", "convolutional"],
             "dropout": [0.0, 0.5], "lr": [1e-3, 1e-2]}
    a = tiny_nas(space, n_trials=4).fit(X, y)
    b = tiny_nas(space, n_trials=4).fit(X, y)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"],
                                  b.cv_results_["mean_test_score"])
    assert a.best_architecture_ == b.best_architecture_
    c = tiny_nas(space, n_trials=4, random_state=1).fit(X, y)
    assert c.cv_results_["params"] != a.cv_results_["params"]


def test_scoring_names_and_callables_are_used(spam_small):
    X, y = spam_small
    nas = tiny_nas({"layer_type": ["bag", "dense"]},
                   scoring="f1_macro").fit(X, y)
    assert "mean_test_score" in nas.cv_results_
    multi = tiny_nas({"layer_type": ["bag", "dense"]},
                     scoring=["accuracy", "balanced_accuracy"],
                     refit="balanced_accuracy").fit(X, y)
    assert "mean_test_balanced_accuracy" in multi.cv_results_
    assert multi.best_score_ == (
        multi.cv_results_["mean_test_balanced_accuracy"][multi.best_index_])


def test_refit_false_keeps_results_but_no_model(spam_small):
    X, y = spam_small
    nas = tiny_nas({"layer_type": ["bag", "dense"]}, refit=False).fit(X, y)
    assert len(nas.cv_results_["params"]) == 2
    with pytest.raises(NotFittedYetError, match="refit=False"):
        nas.predict(X[:3])


FAILING_SPACE = [
    {"layer_type": ["bag"]},
    # No word occurs a million times: this candidate's fit really fails.
    {"layer_type": ["dense"], "vectorizer__min_count": [10**6]},
]


def test_failed_candidates_score_error_score(spam_small):
    X, y = spam_small
    nas = tiny_nas(FAILING_SPACE, strategy="grid", error_score=-1.0)
    with pytest.warns(FitFailedWarning, match="fits failed"):
        nas.fit(X, y)
    scores = dict(zip([p["layer_type"] for p in nas.cv_results_["params"]],
                      nas.cv_results_["mean_test_score"]))
    assert scores["dense"] == -1.0 and scores["bag"] > 0
    assert nas.best_params_["layer_type"] == "bag"


def test_error_score_raise_reraises(spam_small):
    X, y = spam_small
    nas = tiny_nas(FAILING_SPACE, strategy="grid", error_score="raise")
    with pytest.raises(ValueError, match="vocabulary is empty"):
        nas.fit(X, y)


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedYetError, match="not fitted yet"):
        GensimNASClassifier().predict(["some text"])


def test_verbose_prints_progress_and_best(spam_small, capsys):
    X, y = spam_small
    tiny_nas({"layer_type": ["bag", "dense"]}, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("[skgnas] candidate") == 2
    assert "best score" in out


def test_silent_by_default(spam_small, capsys):
    X, y = spam_small
    tiny_nas({"layer_type": ["bag"]}).fit(X, y)
    assert capsys.readouterr().out == ""


TEST_FOLDS = []


def record_test_fold(estimator, X_test, y_test):
    """A scorer that remembers which documents it was scored on."""
    TEST_FOLDS.append(set(X_test))
    return 0.0


def test_groups_keep_each_group_in_one_fold(brown_records):
    labels = sorted({r["label"] for r in brown_records})[:3]
    records = [r for label in labels
               for r in [q for q in brown_records if q["label"] == label][:80]]
    X = [r["text"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["doc"] for r in records])
    TEST_FOLDS.clear()
    splits = TEST_FOLDS

    nas = tiny_nas({"layer_type": ["bag"]},
                   scoring={"accuracy": "accuracy", "seen": record_test_fold},
                   refit="accuracy")
    nas.fit(X, y, groups=groups)
    doc_of = dict(zip(X, groups))
    test_groups = [{doc_of[text] for text in fold} for fold in splits]
    assert len(test_groups) == 2 and not test_groups[0] & test_groups[1]
    with pytest.raises(ValueError, match="groups has 3 entries"):
        tiny_nas().fit(X, y, groups=groups[:3])
    with pytest.raises(TypeError, match="groups expects an array-like.*"
                                        "received generator"):
        tiny_nas().fit(X, y, groups=(g for g in groups))


def test_refit_averages_refit_networks_trained_on_one_set_of_vectors(
    fitted, spam_small
):
    best = fitted.best_estimator_
    assert best.n_networks == fitted.refit_networks == 3
    assert len(best.nets_) == 3 and best.net_ is best.nets_[0]
    weights = [net.module_.output.weight.detach() for net in best.nets_]
    assert not torch.allclose(weights[0], weights[1])
    assert not torch.allclose(weights[1], weights[2])
    # The same vectors: the refit added networks, not Gensim trainings.
    assert fitted.n_vector_trainings_ == 3

    X = spam_small[0][:30]
    ids = best.transform_ids(X)
    each = [torch.softmax(net.forward(ids), dim=1).numpy()
            for net in best.nets_]
    np.testing.assert_allclose(best.predict_proba(X), np.mean(each, axis=0),
                               rtol=1e-5, atol=1e-6)


def test_refit_networks_change_the_final_model_not_the_search(spam_small):
    X, y = spam_small
    space = {"layer_type": ["bag", "dense"]}
    one = tiny_nas(space, strategy="grid", refit_networks=1).fit(X, y)
    two = tiny_nas(space, strategy="grid", refit_networks=2).fit(X, y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"],
                                  two.cv_results_["mean_test_score"])
    assert one.best_architecture_ == two.best_architecture_
    assert len(one.best_estimator_.nets_) == 1
    assert len(two.best_estimator_.nets_) == 2
    assert one.n_vector_trainings_ == two.n_vector_trainings_
    # The first network is the single one; a fresh fit of the two-network
    # model gives the same ensemble as networks added after the search.
    np.testing.assert_array_equal(
        one.best_estimator_.net_.module_.output.weight.detach(),
        two.best_estimator_.net_.module_.output.weight.detach())
    fresh = clone(two.best_estimator_).fit(X, y)
    np.testing.assert_allclose(fresh.predict_proba(X[:40]),
                               two.predict_proba(X[:40]), rtol=1e-5)


@pytest.mark.parametrize("value", [0, 2.0, True, "3"])
def test_bad_refit_networks_is_named_before_any_training(spam_small, value):
    nas = tiny_nas(refit_networks=value)
    with pytest.raises(ValueError, match="refit_networks expects a positive "
                       f"int; received {value!r}"):
        nas.fit(*spam_small)
    assert not hasattr(nas, "cv_results_")


def test_textnet_n_networks_and_add_networks_errors(spam_small):
    from skgnas import TextNetClassifier

    X, y = spam_small
    with pytest.raises(ValueError, match=r"n_networks expects a positive "
                       r"int; received 0"):
        TextNetClassifier(n_networks=0).fit(X, y)
    clf = TextNetClassifier(GensimVectorizer(**TINY_VECTORIZER),
                            layer_type="bag", max_epochs=1,
                            random_state=0).fit(X[:60], y[:60])
    with pytest.raises(ValueError, match="previously unseen labels"):
        clf.add_networks(X[:60], np.where(y[:60] == "spam", "eggs", "ham"), 2)
    assert len(clf.nets_) == 1 and clf.n_networks == 1
    clf.add_networks(X[:60], y[:60], 2)
    assert len(clf.nets_) == 2 and clf.n_networks == 2


def _tiny_textnet(**params):
    from skgnas import TextNetClassifier

    return TextNetClassifier(GensimVectorizer(**TINY_VECTORIZER),
                             layer_type="bag", max_epochs=1, random_state=0,
                             n_threads=1, **params)


def test_add_networks_with_fewer_keeps_the_first_ones(spam_small):
    X, y = spam_small[0][:80], spam_small[1][:80]
    three = _tiny_textnet(n_networks=3).fit(X, y)
    first = three.net_
    three.add_networks(X, y, 1)
    # As fit with n_networks=1: one network, the same first one.
    assert three.n_networks == 1 and three.nets_ == [first]
    assert three.net_ is first
    one = _tiny_textnet(n_networks=1).fit(X, y)
    np.testing.assert_allclose(three.predict_proba(X[:20]),
                               one.predict_proba(X[:20]), rtol=1e-5)


def test_added_networks_have_an_output_per_class_of_fit(brown_small):
    X, y = brown_small
    clf = _tiny_textnet().fit(X, y)
    # Training data lacking the last class still gives networks with
    # one output per class of fit, so predict_proba can average them.
    kept = y != clf.classes_[-1]
    clf.add_networks([x for x, k in zip(X, kept) if k], y[kept], 2)
    assert [net.module_.output.out_features for net in clf.nets_] == [
        len(clf.classes_)] * 2
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_add_networks_on_a_model_from_before_it_existed_says_so(spam_small):
    from skgnas import TextNetClassifier

    X, y = spam_small
    clf = TextNetClassifier(GensimVectorizer(**TINY_VECTORIZER),
                            layer_type="bag", max_epochs=1,
                            random_state=0).fit(X[:60], y[:60])
    del clf.nets_, clf.seed_  # as a model saved before they existed
    with pytest.raises(NotFittedYetError, match="without add_networks.*fit "
                       "it again with n_networks=2"):
        clf.add_networks(X[:60], y[:60], 2)
    assert clf.predict(X[:5]).shape == (5,)
