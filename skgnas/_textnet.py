"""One text network trained by skorch: the estimator a search evaluates."""

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from ._cache import fit_vectorizer_cached
from ._networks import (
    TextNet, TokenIdsDataset, dataset_lengths, document_lengths,
    token_id_batches,
)
from ._space import SEARCH_KEYS, SearchSpace
from ._threads import torch_threads
from ._validation import check_labels, check_positive_int, check_texts
from ._vectorizer import GensimVectorizer
from .exceptions import NotFittedYetError

__all__ = ["TextNetClassifier"]


class TextNetClassifier(ClassifierMixin, BaseEstimator):
    """A single text network over Gensim vectors, trained with skorch.

    ``fit`` learns word vectors from the training texts with ``vectorizer``,
    copies them into the network's embedding layer and trains the network
    with early stopping on a stratified validation part of the training
    data. :class:`GensimNASClassifier` searches over the parameters of this
    estimator; use it directly to train one known architecture.

    Parameters
    ----------
    vectorizer : GensimVectorizer, default=None
        Produces token ids and the embedding matrix. ``None`` means
        ``GensimVectorizer()``. Nested settings are reachable as
        ``vectorizer__<name>``.
    layer_type : {'bag', 'dense', 'convolutional', 'recurrent'}, \
default='convolutional'
        Family of the network; see :class:`skgnas.TextNet`.
    num_layers : int, default=1
        Hidden layers (dense), convolutions (convolutional) or stacked
        recurrent layers (recurrent).
    hidden_units : int, default=64
        Width of each hidden layer.
    activation : {'relu', 'tanh', 'sigmoid', 'gelu', 'elu', 'leaky_relu'}, \
default='relu'
        Non-linearity of dense and convolutional layers.
    dropout : float, default=0.2
        Dropout rate, in [0, 1).
    pooling : {'max', 'mean'}, default='max'
        Pooling over token positions.
    kernel_size : int, default=3
        Convolution width.
    rnn_cell : {'gru', 'lstm'}, default='gru'
    bidirectional : bool, default=False
    ngrams : {1, 2}, default=2
        For ``layer_type='bag'``: add hashed bigram embeddings when 2.
    binary : bool, default=True
        For ``layer_type='bag'``: count each distinct word and bigram of a
        document once instead of averaging every occurrence. On the
        reference splits of the team corpora this gained 1.5 to 2.9
        accuracy points on brown_genre and -0.3 to +0.5 on spam_assassin
        (docs/search_space.md).
    freeze_embeddings : bool, default=False
        Keep the Gensim vectors fixed instead of fine-tuning them.
    lr : float, default=3e-3
        Learning rate of Adam.
    weight_decay : float, default=0.0
        L2 penalty of Adam.
    batch_size : int, default=64
    max_epochs : int, default=10
        Upper bound on training epochs.
    patience : int or None, default=3
        Stop after this many epochs without a lower validation loss and
        restore the best epoch's weights. ``None`` trains ``max_epochs``
        epochs on all the training data.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_networks : int, default=1
        Networks trained on the same word vectors from different seeds;
        ``predict_proba`` averages their probabilities. Each one costs a
        training and a prediction pass, and together they vary less from
        seed to seed: on spam_assassin's reference split, single networks
        of one bag scored 0.989 to 0.993 and any 3 of them averaged 0.993
        to 0.994.
    device : str, default='cpu'
        Torch device, e.g. ``'cuda'``.
    n_threads : int, default=None
        Torch threads during ``fit`` and ``predict``; the previous setting
        is restored afterwards. ``None`` follows ``OMP_NUM_THREADS`` when
        set (as joblib, Dask and Ray workers do), else torch's setting.
    vector_cache : str, default=None
        Folder in which fitted vectorizers are shared between fits on the
        same texts; set by :class:`GensimNASClassifier` during a search.
    random_state : int, default=None
        Seeds torch and the validation split. ``None`` draws a seed.
    verbose : int, default=0
        0 is silent; 1 or more prints skorch's table of epochs.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, in their original type.
    vectorizer_ : GensimVectorizer
        The fitted vectorizer.
    nets_ : list of skorch.NeuralNetClassifier
        The trained networks, ``n_networks`` of them.
    net_ : skorch.NeuralNetClassifier
        The first network, ``nets_[0]``.
    seed_ : int
        Seed of the first network; the others' seeds are drawn from it.
    n_epochs_ : int
        Epochs the first network trained.
    best_epoch_ : int
        Epoch (1-based) whose weights the first network kept.
    n_threads_ : int
        Torch threads used during ``fit``.
    """

    def __init__(
        self,
        vectorizer=None,
        *,
        layer_type="convolutional",
        num_layers=1,
        hidden_units=64,
        activation="relu",
        dropout=0.2,
        pooling="max",
        kernel_size=3,
        rnn_cell="gru",
        bidirectional=False,
        ngrams=2,
        binary=True,
        freeze_embeddings=False,
        lr=3e-3,
        weight_decay=0.0,
        batch_size=64,
        max_epochs=10,
        patience=3,
        validation_fraction=0.1,
        n_networks=1,
        device="cpu",
        n_threads=None,
        vector_cache=None,
        random_state=None,
        verbose=0,
    ):
        self.vectorizer = vectorizer
        self.layer_type = layer_type
        self.num_layers = num_layers
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.pooling = pooling
        self.kernel_size = kernel_size
        self.rnn_cell = rnn_cell
        self.bidirectional = bidirectional
        self.ngrams = ngrams
        self.binary = binary
        self.freeze_embeddings = freeze_embeddings
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_networks = n_networks
        self.device = device
        self.n_threads = n_threads
        self.vector_cache = vector_cache
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags

    def __setstate__(self, state):
        # Models saved before these settings existed: their bags averaged
        # every occurrence, and they trained one network.
        state = {"binary": False, "n_networks": 1, **state}
        super().__setstate__(state)

    def _check_params(self):
        for key, (check, _) in SEARCH_KEYS.items():
            if "__" in key or key == "max_epochs":
                continue
            value = getattr(self, key)
            if not check.accepts(value):
                raise ValueError(
                    f"{type(self).__name__}: {key} expects "
                    f"{check.describe()}; received {value!r}."
                )
        if not isinstance(self.max_epochs, (int, np.integer)) or (
            self.max_epochs < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: max_epochs expects a positive int; "
                f"received {self.max_epochs!r}."
            )
        if self.patience is not None and (
            not isinstance(self.patience, (int, np.integer))
            or self.patience < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: patience expects a positive int or "
                f"None; received {self.patience!r}."
            )
        check_positive_int(type(self).__name__, "n_networks", self.n_networks)
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"{type(self).__name__}: validation_fraction expects a float "
                f"in (0, 1); received {self.validation_fraction!r}."
            )

    def fit(self, X, y):
        """Learn word vectors from ``X`` and train the network.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str
            Training documents.
        y : array-like of shape (n_samples,)
            Labels: str, int or bool.

        Returns
        -------
        self : TextNetClassifier
        """
        self._check_params()
        texts = check_texts(X)
        y = check_labels(y, len(texts))
        encoder = LabelEncoder().fit(y)
        targets = encoder.transform(y).astype(np.int64)
        seed = (
            self.random_state if self.random_state is not None
            else int(np.random.randint(2**31 - 1))
        )

        with torch_threads(self.n_threads) as n_threads:
            vectorizer = (
                self.vectorizer if self.vectorizer is not None
                else GensimVectorizer()
            )
            vectorizer, ids = fit_vectorizer_cached(
                vectorizer, texts, self.vector_cache
            )
            self.vectorizer_ = vectorizer
            self.nets_ = []
            self.seed_ = seed
            self._train_networks(ids, targets, len(encoder.classes_))

        self.classes_ = encoder.classes_
        self.net_ = self.nets_[0]
        self.n_threads_ = n_threads
        self.n_epochs_ = len(self.net_.history)
        self.best_epoch_ = self._best_epoch(self.net_.history)
        return self

    def _network_seeds(self):
        """The first network's seed, then one drawn from it per extra one."""
        extra = np.random.RandomState(self.seed_).randint(
            2**31 - 1, size=self.n_networks - 1)
        return [self.seed_, *map(int, extra)]

    def _train_networks(self, ids, targets, n_classes):
        """Train the networks ``nets_`` still lacks, up to ``n_networks``,
        each with ``n_classes`` outputs."""
        embedding = self.vectorizer_.embedding_
        for seed in self._network_seeds()[len(self.nets_):]:
            net = self._build_net(embedding, n_classes, targets, seed)
            torch.manual_seed(seed)
            net.initialize()
            with torch.no_grad():
                net.module_.embedding.weight.copy_(
                    torch.from_numpy(embedding)
                )
            net.partial_fit(ids, targets)
            self.nets_.append(net)

    def add_networks(self, X, y, n_networks):
        """Train more networks on the fitted word vectors, up to
        ``n_networks`` in all, as ``fit`` with that ``n_networks`` would.

        The vectors are not trained again. ``X`` and ``y`` must be the
        training data of ``fit``. A smaller ``n_networks`` than ``nets_``
        holds keeps the first ``n_networks`` of them.

        Returns
        -------
        self : TextNetClassifier
        """
        self._check_fitted()
        if not hasattr(self, "seed_"):
            raise NotFittedYetError(
                f"This {type(self).__name__} was saved by an skgnas version "
                f"without add_networks, so the seeds of more networks are "
                f"unknown; fit it again with n_networks={n_networks!r}."
            )
        check_positive_int(type(self).__name__, "n_networks", n_networks)
        texts = check_texts(X)
        y = check_labels(y, len(texts))
        encoder = LabelEncoder()
        encoder.classes_ = self.classes_
        targets = encoder.transform(y).astype(np.int64)
        self.set_params(n_networks=n_networks)
        del self.nets_[n_networks:]
        with torch_threads(self.n_threads):
            self._train_networks(self.vectorizer_.token_ids(texts), targets,
                                 len(self.classes_))
        return self

    def _use_validation(self, targets):
        """Early stopping needs a validation part holding every class."""
        if self.patience is None:
            return False
        counts = np.bincount(targets)
        n_valid = int(len(targets) * self.validation_fraction)
        return counts.min() >= 2 and n_valid >= len(counts)

    def _build_net(self, embedding, n_classes, targets, seed):
        validate = self._use_validation(targets)
        callbacks = []
        if validate:
            callbacks.append((
                "early_stopping",
                EarlyStopping(
                    patience=self.patience, load_best=True,
                    sink=print if self.verbose else _silent,
                ),
            ))
        return NeuralNetClassifier(
            TextNet,
            module__n_embeddings=embedding.shape[0],
            module__embedding_dim=embedding.shape[1],
            module__n_classes=n_classes,
            module__layer_type=self.layer_type,
            module__num_layers=self.num_layers,
            module__hidden_units=self.hidden_units,
            module__activation=self.activation,
            module__dropout=self.dropout,
            module__pooling=self.pooling,
            module__kernel_size=self.kernel_size,
            module__rnn_cell=self.rnn_cell,
            module__bidirectional=self.bidirectional,
            module__ngrams=self.ngrams,
            module__binary=self.binary,
            module__freeze_embeddings=self.freeze_embeddings,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            # One fused kernel per step: the embedding tables hold millions
            # of weights, and the unfused update cost 5x the whole forward.
            optimizer__fused=True,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=(
                _LengthSortedValidSplit(
                    self.validation_fraction, stratified=True,
                    random_state=seed,
                ) if validate else None
            ),
            callbacks=callbacks,
            dataset=TokenIdsDataset,
            iterator_train=token_id_batches,
            iterator_valid=token_id_batches,
            iterator_train__shuffle=True,
            classes=np.arange(n_classes),
            device=self.device,
            verbose=self.verbose,
        )

    @staticmethod
    def _best_epoch(history):
        if "valid_loss" not in history[-1]:
            return len(history)
        losses = history[:, "valid_loss"]
        return int(np.argmin(losses)) + 1

    def _check_fitted(self):
        try:
            check_is_fitted(self, "net_")
        except Exception as exc:
            raise NotFittedYetError(
                f"This {type(self).__name__} is not fitted yet; call fit "
                f"with training texts and labels first."
            ) from exc

    def transform_ids(self, X):
        """Token ids of ``X`` as the network sees them."""
        self._check_fitted()
        return self.vectorizer_.token_ids(check_texts(X))

    def predict_proba(self, X):
        """Class probabilities of new raw texts, columns as ``classes_``."""
        ids = self.transform_ids(X)
        # Documents of similar length share batches, so cutting each batch
        # to its longest document pays. Each batch is written straight
        # into one array: keeping a small tensor per batch alive would
        # fragment the heap and grow resident memory by gigabytes.
        # The sorted ids are gathered a slice of whole batches at a time,
        # not copied whole: at 100,000 x 1,000 tokens a copy is 400 MB.
        order = np.argsort(document_lengths(ids), kind="stable")
        proba = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        # Models saved before nets_ existed hold net_ alone.
        nets = getattr(self, "nets_", [self.net_])
        with torch_threads(self.n_threads):
            for net in nets:
                _add_probabilities(net, ids, order, proba)
        proba /= len(nets)
        return proba

    def predict(self, X):
        """Predicted labels of new raw texts, in the type of ``y``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def get_architecture(self):
        """The network's settings as a JSON-ready dict."""
        params = self.get_params(deep=True)
        return SearchSpace(None, params).architecture({})


class _LengthSortedValidSplit(ValidSplit):
    """skorch's validation split with the validation rows sorted by length.

    skorch reads validation batches in order, so without sorting nearly
    every batch of 64 e-mails holds one long one and is padded to it: on
    spam_assassin with ``max_len=2000`` the validation part of a fit held
    5.5 to 6.3 times more positions than tokens, and 1.3 times once
    sorted. Loss and accuracy do not depend on the order.
    """

    def __call__(self, dataset, y=None, groups=None):
        train, valid = super().__call__(dataset, y, groups)
        indices = np.asarray(valid.indices)
        order = np.argsort(dataset_lengths(valid), kind="stable")
        return train, torch.utils.data.Subset(valid.dataset, indices[order])


# Batches whose ids predict_proba gathers at once.
_BATCHES_PER_GATHER = 64


def _add_probabilities(net, ids, order, proba):
    """Add ``net``'s class probabilities of ``ids`` to ``proba``, feeding it
    the rows in ``order`` (by length) a slice of whole batches at a time."""
    step = net.batch_size * _BATCHES_PER_GATHER
    for start in range(0, len(order), step):
        done = start
        for logits in net.forward_iter(ids[order[start:start + step]],
                                       training=False):
            rows = order[done:done + len(logits)]
            proba[rows] += torch.softmax(logits, dim=1).numpy()
            done += len(logits)


def _silent(*args, **kwargs):
    """A sink that drops skorch's messages."""
