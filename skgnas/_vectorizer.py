"""Gensim word vectors as a scikit-learn transformer producing token ids.

The training texts are tokenized once into one flat ``int32`` array of raw
word ids (one ``str`` object per distinct word, not per token), so a corpus
of tens of millions of tokens fits in memory. Gensim reads the documents
from a restartable iterable that rebuilds each one's token list from those
ids while it trains.
"""

from array import array
from itertools import repeat

import numpy as np
from gensim.models import Doc2Vec, FastText, Word2Vec
from gensim.models.doc2vec import TaggedDocument
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._tokenize import simple_tokenize
from ._validation import check_positive_int, check_texts

__all__ = ["GensimVectorizer", "PAD_ID", "UNK_ID"]

PAD_ID = 0
UNK_ID = 1

# Gensim's training loop cuts every sentence after this many tokens, so long
# documents are fed to it in pieces of at most this size.
_GENSIM_MAX_SENTENCE = 10_000

_MODELS = ("word2vec", "fasttext", "doc2vec")

# Documents tokenized into one scratch block by token_ids.
_ROWS_PER_BLOCK = 1024


def _pad_to(ids, width):
    """``ids`` padded on the right with PAD_ID to ``width`` columns."""
    if ids.shape[1] == width:
        return ids
    padded = np.zeros((len(ids), width), dtype=np.int32)
    padded[:, : ids.shape[1]] = ids
    return padded


class _WordIndex(dict):
    """Maps each word to a raw id: its rank in order of first appearance."""

    def __missing__(self, word):
        raw_id = self[word] = len(self)
        return raw_id


class _Corpus:
    """Tokenized documents stored as raw word ids.

    Attributes
    ----------
    index : dict of str to int
        Raw id of each word.
    words : ndarray of object
        ``words[raw_id]`` is the word, each distinct word stored once.
    ids : ndarray of int32
        Raw ids of every token of every document, end to end.
    offsets : ndarray of int64, of length ``n_docs + 1``
        Document ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.
    """

    def __init__(self, texts, tokenizer):
        index = _WordIndex()
        raw_id = index.__getitem__
        ids = array("i")
        lengths = np.empty(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = tokenizer(text)
            ids.extend(map(raw_id, tokens))
            lengths[row] = len(tokens)
        self.index = index
        self.words = np.empty(len(index), dtype=object)
        self.words[:] = list(index)
        self.ids = np.frombuffer(ids, dtype=np.intc).astype(np.int32,
                                                            copy=False)
        self.offsets = np.concatenate(([0], np.cumsum(lengths)))

    def __len__(self):
        return len(self.offsets) - 1

    def counts(self):
        """Occurrences of each word, indexed by raw id."""
        return np.bincount(self.ids, minlength=len(self.words))

    def n_pieces(self):
        """Sentences Gensim receives: long documents come in pieces."""
        lengths = np.diff(self.offsets)
        return int(np.maximum(1, -(-lengths // _GENSIM_MAX_SENTENCE)).sum())

    def sentences(self, tagged=False):
        return _Sentences(self, tagged)


class _Sentences:
    """Restartable iterable of token lists for Gensim, rebuilt from ids.

    Gensim's training loop cuts every sentence after 10,000 tokens, so
    longer documents are yielded in pieces of at most that size: every token
    is trained on. With ``tagged=True`` each piece is a ``TaggedDocument``
    whose tag is its position.
    """

    def __init__(self, corpus, tagged):
        self.corpus = corpus
        self.tagged = tagged

    def __iter__(self):
        words, ids, offsets = (
            self.corpus.words, self.corpus.ids, self.corpus.offsets
        )
        tag = 0
        for start, stop in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
            # An empty document is still one (empty) sentence.
            for begin in range(start, max(stop, start + 1),
                               _GENSIM_MAX_SENTENCE):
                end = min(stop, begin + _GENSIM_MAX_SENTENCE)
                tokens = words[ids[begin:end]].tolist()
                yield TaggedDocument(tokens, [tag]) if self.tagged else tokens
                tag += 1


class GensimVectorizer(TransformerMixin, BaseEstimator):
    """Learn Gensim word vectors and turn texts into padded token ids.

    ``fit`` trains Word2Vec, FastText or Doc2Vec on the training texts only.
    ``transform`` maps each text to a row of integer token ids, left-aligned
    and padded with :data:`PAD_ID`; words outside the vocabulary become
    :data:`UNK_ID`. ``embedding_`` holds one vector per id, so a network can
    look vectors up with an embedding layer instead of receiving a dense
    ``n_docs x max_len x dim`` array.

    Parameters
    ----------
    model : {'word2vec', 'fasttext', 'doc2vec'}, default='word2vec'
        Gensim model to train. For ``'doc2vec'`` the word vectors learnt
        alongside the document vectors are used.
    vector_size : int, default=100
        Dimension of the word vectors.
    window : int, default=5
        Context window of the Gensim model.
    min_count : int, default=2
        Words seen fewer times in the training texts are left out of the
        vocabulary and mapped to the unknown-word id.
    sg : {0, 1}, default=0
        1 for skip-gram, 0 for CBOW. For Doc2Vec, 1 selects PV-DBOW (with
        word training) and 0 PV-DM.
    epochs : int, default=5
        Passes of Gensim over the training texts.
    max_len : int, default=2000
        Documents are cut to their first ``max_len`` tokens when transformed.
        Vector training always sees every token. A large value costs little
        for short texts: networks work on ids only as wide as the longest
        document (:meth:`token_ids`) and cut each batch to its own longest.
    tokenizer : callable, default=None
        Maps a str to a list of str. ``None`` means
        :func:`skgnas.simple_tokenize`. Define it at module level so the
        estimator can be pickled and sent to other processes.
    seed : int, default=0
        Seed of the Gensim model.
    workers : int, default=1
        Gensim worker threads. Values above 1 train faster but make the
        vectors depend on thread timing.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token id of each word in the vocabulary.
    embedding_ : ndarray of shape (n_ids, vector_size), dtype float32
        Row ``i`` is the vector of token id ``i``: row :data:`PAD_ID` is
        zeros, row :data:`UNK_ID` the mean of all word vectors.
    n_tokens_trained_ : int
        Tokens Gensim saw during training.
    """

    def __init__(
        self,
        model="word2vec",
        *,
        vector_size=100,
        window=5,
        min_count=2,
        sg=0,
        epochs=5,
        max_len=2000,
        tokenizer=None,
        seed=0,
        workers=1,
    ):
        self.model = model
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.sg = sg
        self.epochs = epochs
        self.max_len = max_len
        self.tokenizer = tokenizer
        self.seed = seed
        self.workers = workers

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def _check_params(self):
        if self.model not in _MODELS:
            raise ValueError(
                f"GensimVectorizer: model expects one of {list(_MODELS)}; "
                f"received {self.model!r}."
            )
        for name in ("vector_size", "window", "min_count", "epochs",
                     "max_len", "workers"):
            check_positive_int("GensimVectorizer", name, getattr(self, name))
        if self.sg not in (0, 1):
            raise ValueError(
                f"GensimVectorizer: sg expects 0 (CBOW) or 1 (skip-gram); "
                f"received {self.sg!r}."
            )
        if self.tokenizer is not None and not callable(self.tokenizer):
            raise TypeError(
                f"GensimVectorizer: tokenizer expects a callable mapping a "
                f"str to a list of str; received {self.tokenizer!r}."
            )

    def _tokenizer(self):
        return self.tokenizer or simple_tokenize

    def _build_model(self):
        common = dict(
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            epochs=self.epochs,
            seed=self.seed,
            workers=self.workers,
        )
        if self.model == "word2vec":
            return Word2Vec(sg=self.sg, **common)
        if self.model == "fasttext":
            return FastText(sg=self.sg, **common)
        return Doc2Vec(dm=1 - self.sg, dbow_words=self.sg, **common)

    def fit(self, X, y=None):
        """Train the Gensim model on ``X`` and build the id vocabulary."""
        self._check_params()
        self._fit_corpus(_Corpus(check_texts(X), self._tokenizer()))
        return self

    def _fit_corpus(self, corpus):
        """Train Gensim on ``corpus``; return raw id -> token id."""
        gensim_model = self._build_model()
        if self.model == "doc2vec":
            # Doc2Vec also needs every document's tag, so it scans.
            sentences = corpus.sentences(tagged=True)
            gensim_model.build_vocab(sentences)
        else:
            # The counts are known already: no pass over the text needed.
            sentences = corpus.sentences()
            counts = corpus.counts().tolist()
            gensim_model.build_vocab_from_freq(
                dict(zip(corpus.words.tolist(), counts)),
                corpus_count=corpus.n_pieces(),
            )
            gensim_model.corpus_total_words = len(corpus.ids)
        if len(gensim_model.wv) == 0:
            raise ValueError(
                f"GensimVectorizer: the vocabulary is empty: no word occurs "
                f"at least min_count={self.min_count} times in the "
                f"{len(corpus)} training documents. Lower min_count or pass "
                f"more text."
            )
        gensim_model.train(
            sentences,
            total_examples=gensim_model.corpus_count,
            epochs=gensim_model.epochs,
        )

        words = gensim_model.wv.index_to_key
        vectors = np.asarray(gensim_model.wv.vectors, dtype=np.float32)
        embedding = np.zeros((len(words) + 2, self.vector_size), np.float32)
        embedding[UNK_ID] = vectors.mean(axis=0)
        embedding[2:] = vectors
        self.vocabulary_ = {word: i + 2 for i, word in enumerate(words)}
        self.embedding_ = embedding
        self.n_tokens_trained_ = len(corpus.ids)

        to_token_id = np.full(len(corpus.words), UNK_ID, dtype=np.int32)
        to_token_id[[corpus.index[word] for word in words]] = np.arange(
            2, len(words) + 2, dtype=np.int32
        )
        return to_token_id

    def transform(self, X):
        """Map texts to token ids.

        Returns
        -------
        ids : ndarray of shape (n_docs, max_len), dtype int32
            Token ids, left-aligned, padded with :data:`PAD_ID`. Empty
            documents are all padding.
        """
        return _pad_to(self.token_ids(X), self.max_len)

    def token_ids(self, X):
        """Like :meth:`transform`, but only as wide as the longest document.

        A network cuts each batch to its longest document anyway, so
        :class:`TextNetClassifier` uses this narrower matrix: with a large
        ``max_len`` and short texts it is a fraction of the size.

        Returns
        -------
        ids : ndarray of shape (n_docs, width), dtype int32
            ``width`` is the longest document's token count, capped at
            ``max_len`` (at least 1).
        """
        check_is_fitted(self, "vocabulary_")
        texts = check_texts(X)
        tokenizer = self._tokenizer()
        lookup = self.vocabulary_.get
        # Rows are written a block at a time into max_len-wide scratch and
        # kept only as wide as the block's longest document, so memory
        # follows the documents, not max_len.
        blocks, width = [], 1
        for start in range(0, len(texts), _ROWS_PER_BLOCK):
            chunk = texts[start:start + _ROWS_PER_BLOCK]
            block = np.zeros((len(chunk), self.max_len), dtype=np.int32)
            longest = 0
            for row, text in enumerate(chunk):
                tokens = tokenizer(text)[: self.max_len]
                block[row, : len(tokens)] = np.fromiter(
                    map(lookup, tokens, repeat(UNK_ID)), np.int32,
                    len(tokens),
                )
                longest = max(longest, len(tokens))
            blocks.append(block[:, :max(longest, 1)].copy())
            width = max(width, longest)
        ids = np.zeros((len(texts), width), dtype=np.int32)
        start = 0
        for block in blocks:
            ids[start:start + len(block), : block.shape[1]] = block
            start += len(block)
        return ids

    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its token ids, tokenizing only once."""
        return _pad_to(self.fit_token_ids(X), self.max_len)

    def fit_token_ids(self, X):
        """Fit on ``X`` and return :meth:`token_ids` of it, tokenizing once."""
        self._check_params()
        corpus = _Corpus(check_texts(X), self._tokenizer())
        to_token_id = self._fit_corpus(corpus)

        starts = corpus.offsets[:-1]
        stops = np.minimum(corpus.offsets[1:], starts + self.max_len)
        width = max(int((stops - starts).max(initial=0)), 1)
        ids = np.zeros((len(corpus), width), dtype=np.int32)
        for row, (start, stop) in enumerate(zip(starts.tolist(),
                                                stops.tolist())):
            ids[row, : stop - start] = to_token_id[corpus.ids[start:stop]]
        return ids

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: token positions."""
        check_is_fitted(self, "vocabulary_")
        return np.asarray([f"token{i}" for i in range(self.max_len)], object)
