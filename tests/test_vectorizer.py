import numpy as np
import pytest
from sklearn.base import clone

from skgnas import GensimVectorizer, simple_tokenize
from skgnas._vectorizer import PAD_ID, UNK_ID

from conftest import TINY_VECTORIZER


@pytest.mark.parametrize("model", ["word2vec", "fasttext", "doc2vec"])
def test_each_gensim_model_gives_aligned_ids_and_embedding(spam_small, model):
    texts, _ = spam_small
    vec = GensimVectorizer(model, **TINY_VECTORIZER).fit(texts)
    ids = vec.transform(texts[:20])

    assert ids.shape == (20, TINY_VECTORIZER["max_len"])
    assert ids.dtype == np.int32
    assert ids.max() < vec.embedding_.shape[0]
    assert vec.embedding_.shape[1] == TINY_VECTORIZER["vector_size"]
    assert np.all(vec.embedding_[PAD_ID] == 0)
    assert np.isfinite(vec.embedding_).all()
    # Rows of known words hold Gensim's vectors: they are not all equal.
    assert np.abs(vec.embedding_[2:] - vec.embedding_[2]).sum() > 0


def test_ids_are_left_aligned_padded_and_unknown_words_get_unk(spam_small):
    texts, _ = spam_small
    vec = GensimVectorizer(**TINY_VECTORIZER).fit(texts)
    known = next(iter(vec.vocabulary_))
    ids = vec.transform([f"{known} zzqqxxunseen {known}", ""])

    assert list(ids[0, :3]) == [vec.vocabulary_[known], UNK_ID,
                                vec.vocabulary_[known]]
    assert np.all(ids[0, 3:] == PAD_ID)
    assert np.all(ids[1] == PAD_ID)


def test_long_documents_are_capped_at_max_len():
    texts = [" ".join(["alpha beta"] * 300), "alpha beta gamma"]
    vec = GensimVectorizer(min_count=1, max_len=50, vector_size=8).fit(texts)
    ids = vec.transform(texts)
    assert (ids[0] != PAD_ID).sum() == 50
    assert (ids[1] != PAD_ID).sum() == 3
    np.testing.assert_array_equal(vec.token_ids(texts), ids)


def test_token_ids_are_transform_cut_to_the_longest_document(
    spam_small, monkeypatch
):
    import skgnas._vectorizer as module

    texts, _ = spam_small
    vec = GensimVectorizer(**{**TINY_VECTORIZER, "max_len": 20_000})
    fitted_ids = vec.fit_token_ids(texts)
    # Small blocks, so rows of one matrix come from several of them.
    monkeypatch.setattr(module, "_ROWS_PER_BLOCK", 7)
    ids, full = vec.token_ids(texts), vec.transform(texts)
    longest = max(len(simple_tokenize(t)) for t in texts)
    assert full.shape == (len(texts), 20_000)
    assert ids.shape == (len(texts), longest) and longest < 20_000
    np.testing.assert_array_equal(full[:, : ids.shape[1]], ids)
    assert np.all(full[:, ids.shape[1]:] == PAD_ID)
    np.testing.assert_array_equal(fitted_ids, ids)
    np.testing.assert_array_equal(vec.fit_transform(texts), full)


def test_token_ids_of_empty_texts_keep_one_column(spam_small):
    vec = GensimVectorizer(**TINY_VECTORIZER).fit(spam_small[0])
    ids = vec.token_ids(["", "   "])
    assert ids.shape == (2, 1) and np.all(ids == PAD_ID)


def test_vectors_come_from_the_training_texts_only(spam_small):
    texts, _ = spam_small
    vec = GensimVectorizer(**TINY_VECTORIZER).fit(texts[:100])
    unseen = set(simple_tokenize(" ".join(texts[100:]))) - set(
        simple_tokenize(" ".join(texts[:100]))
    )
    assert unseen and not unseen & set(vec.vocabulary_)


def test_same_seed_gives_same_vectors(spam_small):
    texts, _ = spam_small
    a = GensimVectorizer(**TINY_VECTORIZER, seed=3).fit(texts)
    b = clone(a).fit(texts)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_custom_tokenizer_is_used():
    vec = GensimVectorizer(tokenizer=str.split, min_count=1, vector_size=4)
    vec.fit(["Hello, World!", "Hello again"])
    assert "Hello," in vec.vocabulary_ and "hello" not in vec.vocabulary_


def test_empty_vocabulary_after_min_count_is_a_clear_error():
    vec = GensimVectorizer(min_count=5)
    with pytest.raises(ValueError, match="vocabulary is empty.*min_count=5"):
        vec.fit(["one two", "three four"])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"model": "glove"}, "model expects one of"),
        ({"vector_size": 0}, "vector_size expects a positive int"),
        ({"sg": 2}, "sg expects 0"),
        ({"max_len": -1}, "max_len expects a positive int"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        GensimVectorizer(**params).fit(["a b c", "a b d"])


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GensimVectorizer().transform(["text"])
