"""Performance contracts: work done once, padding that changes nothing.

- A search trains Gensim once per CV split plus once for the refit, however
  many candidates it tries, also with worker processes.
- Cutting batches to their longest document, and bucketing documents by
  length, leave every prediction as it is with full padding.
- Early stopping keeps the best epoch's weights.
- A fit leaves torch's thread setting as it found it.
- Documents longer than Gensim's 10,000-token sentence limit are trained on
  whole, and streaming the corpus gives Gensim's own vectors.
"""

import numpy as np
import pytest
import torch
from gensim.models import Doc2Vec, Word2Vec
from gensim.models.doc2vec import TaggedDocument
from sklearn.preprocessing import LabelEncoder

from skgnas import (
    GensimNASClassifier, GensimVectorizer, TextNetClassifier, simple_tokenize,
)
from skgnas._networks import batch_order, document_lengths

from conftest import TINY_NET, TINY_VECTORIZER

SPACE = {
    "layer_type": ["bag", "dense"],
    "hidden_units": [4, 8],
    "lr": [1e-3, 1e-2],
}


@pytest.fixture
def gensim_train_calls(monkeypatch):
    """Counts real Gensim trainings (``Word2Vec.train``) in this process."""
    calls = []
    original = Word2Vec.train

    def counted(model, *args, **kwargs):
        calls.append(type(model).__name__)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(Word2Vec, "train", counted)
    return calls


def _search(n_jobs):
    return GensimNASClassifier(
        SPACE, strategy="grid", cv=3,
        vectorizer=GensimVectorizer(**TINY_VECTORIZER),
        max_epochs=1, batch_size=32, patience=None, n_jobs=n_jobs,
        n_threads=1, random_state=0,
    )


def test_search_trains_gensim_once_per_split(spam_small, gensim_train_calls):
    X, y = spam_small
    nas = _search(n_jobs=1).fit(X, y)

    assert len(nas.cv_results_["params"]) == 6
    assert nas.n_vector_trainings_ == 4
    assert len(gensim_train_calls) == 4


def test_parallel_search_trains_gensim_once_per_split(spam_small):
    X, y = spam_small
    nas = _search(n_jobs=2).fit(X, y)

    assert len(nas.cv_results_["params"]) == 6
    assert nas.n_vector_trainings_ == 4


def test_batch_order_buckets_by_length_and_is_seeded():
    lengths = np.random.RandomState(0).randint(1, 400, size=1000)

    torch.manual_seed(3)
    plain = list(batch_order(lengths, 64, shuffle=True, bucket_pool=1))
    torch.manual_seed(3)
    bucketed = list(batch_order(lengths, 64, shuffle=True))
    torch.manual_seed(3)
    again = list(batch_order(lengths, 64, shuffle=True))

    assert all(np.array_equal(a, b) for a, b in zip(bucketed, again))
    for batches in (plain, bucketed):
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
        assert sorted(len(b) for b in batches) == [40] + [64] * 15

    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches)

    assert padded(bucketed) < 0.75 * padded(plain)
    ordered = list(batch_order(lengths, 64, shuffle=False))
    assert np.array_equal(np.concatenate(ordered), np.arange(1000))


@pytest.mark.parametrize(
    "layer_type", ["bag", "dense", "convolutional", "recurrent"]
)
def test_trimmed_batches_predict_as_full_padding(spam_small, layer_type):
    X, y = spam_small
    clf = TextNetClassifier(
        GensimVectorizer(**{**TINY_VECTORIZER, "max_len": 120}),
        layer_type=layer_type, hidden_units=4, patience=None, max_epochs=1,
        batch_size=32, random_state=0,
    ).fit(X[:120], y[:120])
    lengths = document_lengths(clf.transform_ids(X))
    assert lengths.min() < 30 and lengths.max() == 120

    trimmed = clf.predict_proba(X)
    # predict_proba batches documents by length; rows stay in input order.
    unsorted = clf.net_.predict_proba(clf.transform_ids(X))
    np.testing.assert_allclose(trimmed, unsorted, rtol=0, atol=1e-5)
    clf.net_.module_.trim_batches = False
    full = clf.predict_proba(X)

    np.testing.assert_allclose(trimmed, full, rtol=0, atol=1e-5)
    assert np.array_equal(trimmed.argmax(axis=1), full.argmax(axis=1))


def test_early_stopping_restores_best_epoch(spam_small):
    X, y = spam_small
    clf = TextNetClassifier(
        GensimVectorizer(**TINY_VECTORIZER), layer_type="dense",
        hidden_units=32, lr=0.05, max_epochs=15, patience=2, batch_size=16,
        random_state=0,
    ).fit(X, y)
    history = clf.net_.history
    assert clf.best_epoch_ < clf.n_epochs_ < 15

    # The validation part is the one skorch held out while training.
    ids = clf.transform_ids(X)
    targets = LabelEncoder().fit(y).transform(y)
    _, valid = clf.net_.get_split_datasets(ids, targets)
    rows = np.asarray(valid.indices)
    logits = clf.net_.forward(ids[rows])
    loss = torch.nn.functional.cross_entropy(
        logits, torch.as_tensor(targets[rows], dtype=torch.long)
    ).item()

    best = history[clf.best_epoch_ - 1, "valid_loss"]
    assert best == min(history[:, "valid_loss"])
    assert loss == pytest.approx(best, rel=1e-5)
    assert loss != pytest.approx(history[-1, "valid_loss"], rel=1e-3)


@pytest.mark.parametrize("before, n_threads", [(1, 2), (2, 1)])
def test_fit_restores_torch_threads(spam_small, before, n_threads):
    X, y = spam_small
    previous = torch.get_num_threads()
    torch.set_num_threads(before)
    try:
        clf = TextNetClassifier(
            GensimVectorizer(**TINY_VECTORIZER),
            patience=None, random_state=0,
            **{**TINY_NET, "n_threads": n_threads},
        ).fit(X, y)
        assert clf.n_threads_ == n_threads
        assert torch.get_num_threads() == before
        clf.predict(X[:5])
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(previous)


def test_fit_follows_omp_num_threads_and_restores(spam_small, monkeypatch):
    X, y = spam_small
    previous = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(2)
    try:
        clf = TextNetClassifier(
            GensimVectorizer(**TINY_VECTORIZER), patience=None,
            random_state=0, **{**TINY_NET, "n_threads": None},
        ).fit(X, y)
        assert clf.n_threads_ == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_failed_fit_restores_torch_threads(spam_small):
    X, y = spam_small
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clf = TextNetClassifier(
            GensimVectorizer(min_count=10**6), **TINY_NET,
        )
        with pytest.raises(ValueError, match="vocabulary is empty"):
            clf.fit(X, y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def _long_document():
    """12,000 filler tokens, then words that appear nowhere else.

    Each filler word occurs 6 times, too rarely for Gensim to drop any of
    its occurrences by frequent-word sampling, so a sentence cut after
    10,000 kept tokens would end before the late words.
    """
    rng = np.random.RandomState(0)
    filler = [f"filler{i}" for i in rng.permutation(np.repeat(range(2000), 6))]
    late = ["lateword", "latepair"] * 40
    return " ".join(filler + late)


def test_long_document_is_trained_on_whole():
    params = dict(vector_size=8, window=3, min_count=2, epochs=3, seed=0)
    text = _long_document()
    tokens = simple_tokenize(text)
    assert tokens.index("lateword") > 10_000

    vectorizer = GensimVectorizer(**params).fit([text, "filler1 filler2"])
    assert "lateword" in vectorizer.vocabulary_
    assert vectorizer.n_tokens_trained_ == len(tokens) + 2
    trained = vectorizer.embedding_[vectorizer.vocabulary_["lateword"]]

    # Gensim's initial vectors depend only on the seed and the vocabulary.
    sentences = [tokens, ["filler1", "filler2"]]
    untrained = Word2Vec(workers=1, **params)
    untrained.build_vocab(sentences)
    initial = untrained.wv["lateword"]
    assert not np.allclose(trained, initial)

    # Fed as one sentence, Gensim stops at 10,000 tokens and never trains
    # the late word: that is what splitting the document avoids.
    cut = Word2Vec(sentences, workers=1, **params)
    np.testing.assert_array_equal(cut.wv["lateword"], initial)


@pytest.mark.parametrize("model", ["word2vec", "doc2vec"])
def test_streamed_corpus_gives_gensims_vectors(spam_small, model):
    X = list(spam_small[0][:120])
    params = dict(vector_size=8, window=3, min_count=2, epochs=2, seed=0)
    vectorizer = GensimVectorizer(model, **params).fit(X)

    tokens = [simple_tokenize(text) for text in X]
    if model == "word2vec":
        direct = Word2Vec(tokens, workers=1, **params)
    else:
        direct = Doc2Vec(
            [TaggedDocument(t, [i]) for i, t in enumerate(tokens)],
            dm=1, dbow_words=0, workers=1, **params,
        )
    words = direct.wv.index_to_key
    assert [vectorizer.vocabulary_[w] for w in words] == list(
        range(2, len(words) + 2)
    )
    np.testing.assert_array_equal(vectorizer.embedding_[2:], direct.wv.vectors)


def test_validation_rows_come_sorted_by_length_from_the_same_split():
    from skorch.dataset import ValidSplit

    from skgnas._networks import TokenIdsDataset, dataset_lengths
    from skgnas._textnet import _LengthSortedValidSplit

    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 50, size=200)
    ids = np.zeros((200, 50), dtype=np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.randint(2, 100, size=n)
    y = rng.randint(0, 3, size=200)
    dataset = TokenIdsDataset(ids, y)

    train, valid = _LengthSortedValidSplit(0.2, stratified=True,
                                           random_state=3)(dataset, y)
    plain_train, plain_valid = ValidSplit(0.2, stratified=True,
                                          random_state=3)(dataset, y)
    assert list(train.indices) == list(plain_train.indices)
    assert sorted(valid.indices) == sorted(plain_valid.indices)
    assert list(valid.indices) != list(plain_valid.indices)
    assert np.all(np.diff(dataset_lengths(valid)) >= 0)
