"""PyTorch text networks built from an architecture description.

Every network takes a batch of left-aligned token ids padded with id 0 and
returns class logits. Padding is masked out of pooling and recurrence, and
each batch is cut to its own longest document before any work is done, so a
document gives the same output however much padding surrounds it.

Cutting only pays when a batch holds no long document, so training draws
its batches from length buckets (:func:`batch_order`): documents of similar
length train together and little padding is left. :class:`TokenIdsDataset`
hands skorch whole batches at once instead of one row at a time.
"""

import numpy as np
import torch
from skorch.dataset import Dataset
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

from ._validation import check_positive_int
from ._vectorizer import PAD_ID

__all__ = [
    "TextNet", "LAYER_TYPES", "ACTIVATIONS", "POOLINGS", "RNN_CELLS",
    "TokenIdsDataset", "batch_order", "dataset_lengths", "token_id_batches",
]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}
LAYER_TYPES = ("bag", "dense", "convolutional", "recurrent")
POOLINGS = ("max", "mean")
RNN_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}

# Multiplier of the bigram hash; any large odd constant spreads pairs well.
_BIGRAM_PRIME = 1_000_003


def masked_pool(h, mask, how):
    """Pool ``h`` (batch, length, channels) over the positions in ``mask``.

    Documents with no tokens pool to zeros.
    """
    lengths = mask.sum(dim=1, keepdim=True)
    if how == "mean":
        summed = (h * mask.unsqueeze(-1)).sum(dim=1)
        return summed / lengths.clamp(min=1)
    filled = h.masked_fill(~mask.unsqueeze(-1), float("-inf"))
    return filled.amax(dim=1).masked_fill(lengths == 0, 0.0)


def _first_occurrences(ids, blank):
    """Each row's ids sorted, with a mask of the first copy of each.

    Positions holding ``blank`` (padding) are never marked. Sorting is
    harmless where order does not matter, as in a bag.
    """
    ids, _ = torch.sort(ids, dim=1)
    first = torch.ones_like(ids, dtype=torch.bool)
    first[:, 1:] = ids[:, 1:] != ids[:, :-1]
    return ids, first & (ids != blank)


class TextNet(nn.Module):
    """A text classifier over token ids.

    Parameters
    ----------
    n_embeddings, embedding_dim : int
        Shape of the embedding table. Its weights are copied in from Gensim
        after construction (see :class:`skgnas.TextNetClassifier`).
    n_classes : int
        Number of output logits.
    layer_type : {'bag', 'dense', 'convolutional', 'recurrent'}
        ``'bag'``: mean of word (and, with ``ngrams=2``, hashed bigram)
        embeddings fed straight to the output layer, as in fastText.
        ``'dense'``: pooled embeddings, then ``num_layers`` fully connected
        layers. ``'convolutional'``: ``num_layers`` 1-d convolutions, then
        global pooling. ``'recurrent'``: ``num_layers`` stacked LSTM or GRU
        layers, then pooling over their outputs.
    num_layers, hidden_units : int
        Depth and width of the hidden layers.
    activation : str
        Non-linearity of dense and convolutional layers.
    dropout : float
        Dropout rate before the output layer and between hidden layers.
    pooling : {'max', 'mean'}
        How positions are pooled into one vector.
    kernel_size : int
        Width of the convolutions.
    rnn_cell : {'lstm', 'gru'}
    bidirectional : bool
    ngrams : {1, 2}
        For ``'bag'``: 2 adds hashed bigram embeddings.
    ngram_buckets : int
        Number of hash buckets for bigrams.
    binary : bool
        For ``'bag'``: count each distinct word (and bigram) of a document
        once, so a word repeated fifty times weighs no more than one said
        once, as in a binary bag of words. ``False`` averages every
        occurrence.
    freeze_embeddings : bool
        Keep the Gensim vectors fixed during training.
    trim_batches : bool
        Cut each batch to its longest document (always gives the same
        outputs; turning it off only exists to prove that).
    max_positions : int
        A batch holding more token positions than this (rows x longest
        document) runs a slice of its rows at a time, with the same
        outputs.
    """

    def __init__(
        self,
        n_embeddings,
        embedding_dim,
        n_classes,
        layer_type="convolutional",
        num_layers=1,
        hidden_units=64,
        activation="relu",
        dropout=0.2,
        pooling="max",
        kernel_size=3,
        rnn_cell="gru",
        bidirectional=False,
        ngrams=1,
        ngram_buckets=2**16,
        binary=False,
        freeze_embeddings=False,
        trim_batches=True,
        max_positions=32_768,
    ):
        super().__init__()
        check_positive_int("TextNet", "max_positions", max_positions)
        self.layer_type = layer_type
        self.binary = binary
        self.max_positions = max_positions
        self.pooling = pooling
        self.trim_batches = trim_batches
        self.embedding = nn.Embedding(
            n_embeddings, embedding_dim, padding_idx=PAD_ID
        )
        self.embedding.weight.requires_grad_(not freeze_embeddings)
        self.dropout = nn.Dropout(dropout)

        if layer_type == "bag":
            self.bigrams = (
                nn.Embedding(ngram_buckets, embedding_dim) if ngrams == 2
                else None
            )
            if self.bigrams is not None:
                nn.init.normal_(self.bigrams.weight, std=0.01)
            out_dim = embedding_dim
        elif layer_type == "dense":
            layers, width = [], embedding_dim
            for _ in range(num_layers):
                layers += [
                    nn.Linear(width, hidden_units),
                    ACTIVATIONS[activation](),
                    nn.Dropout(dropout),
                ]
                width = hidden_units
            self.hidden = nn.Sequential(*layers)
            out_dim = width
        elif layer_type == "convolutional":
            self.convs = nn.ModuleList(
                nn.Conv1d(
                    embedding_dim if i == 0 else hidden_units,
                    hidden_units,
                    kernel_size,
                    padding="same",
                )
                for i in range(num_layers)
            )
            self.act = ACTIVATIONS[activation]()
            out_dim = hidden_units
        elif layer_type == "recurrent":
            self.rnn = RNN_CELLS[rnn_cell](
                embedding_dim,
                hidden_units,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            out_dim = hidden_units * (2 if bidirectional else 1)
        else:
            raise ValueError(
                f"TextNet: layer_type expects one of {list(LAYER_TYPES)}; "
                f"received {layer_type!r}."
            )
        self.output = nn.Linear(out_dim, n_classes)

    def __setstate__(self, state):
        # Networks saved before these settings existed: bags averaged every
        # occurrence; row slices give the same outputs as whole batches.
        state = {"binary": False, "max_positions": 32_768, **state}
        super().__setstate__(state)

    def forward(self, X):
        X = X.long()
        mask = X != PAD_ID
        if self.trim_batches:
            longest = int(mask.sum(dim=1).max().clamp(min=1))
            X, mask = X[:, :longest], mask[:, :longest]
        # Rows are independent, so a batch of long documents runs a few
        # rows at a time: the same outputs and gradients, but each step's
        # activations stay small enough for the CPU caches. 64 rows of
        # 2,000 tokens took twice as long per token as 16.
        rows = max(1, self.max_positions // X.shape[1])
        if rows >= len(X):
            return self._forward_rows(X, mask)
        return torch.cat([
            self._forward_rows(X[start:start + rows], mask[start:start + rows])
            for start in range(0, len(X), rows)
        ])

    def _forward_rows(self, X, mask):
        emb = self.embedding(X)
        features = getattr(self, "_forward_" + self.layer_type)(X, emb, mask)
        return self.output(self.dropout(features))

    def _forward_bag(self, X, emb, mask):
        pairs = None
        if self.bigrams is not None and X.shape[1] > 1:
            buckets = (X[:, :-1] * _BIGRAM_PRIME + X[:, 1:]) % (
                self.bigrams.num_embeddings
            )
            # -1 marks pairs that touch padding.
            pairs = buckets.masked_fill(~(mask[:, 1:] & mask[:, :-1]), -1)
        if self.binary:
            X, mask = _first_occurrences(X, PAD_ID)
            emb = self.embedding(X)
        total = (emb * mask.unsqueeze(-1)).sum(dim=1)
        count = mask.sum(dim=1, keepdim=True)
        if pairs is not None:
            if self.binary:
                pairs, pair_mask = _first_occurrences(pairs, -1)
            else:
                pair_mask = pairs >= 0
            vectors = self.bigrams(pairs.clamp(min=0))
            total = total + (vectors * pair_mask.unsqueeze(-1)).sum(dim=1)
            count = count + pair_mask.sum(dim=1, keepdim=True)
        return total / count.clamp(min=1)

    def _forward_dense(self, X, emb, mask):
        return self.hidden(masked_pool(emb, mask, self.pooling))

    def _forward_convolutional(self, X, emb, mask):
        h = emb.transpose(1, 2)
        channel_mask = mask.unsqueeze(1)
        for conv in self.convs:
            # Zeroing padded positions after each layer makes the next
            # convolution see exactly the zeros of its own "same" padding.
            h = self.act(conv(h)) * channel_mask
        return masked_pool(h.transpose(1, 2), mask, self.pooling)

    def _forward_recurrent(self, X, emb, mask):
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(
            emb, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(
            out, batch_first=True, total_length=X.shape[1]
        )
        return masked_pool(out, mask, self.pooling)


# A shuffled epoch is cut into pools of this many batches; each pool is
# sorted by length before it is split into batches. Larger pools leave less
# padding (16 batches: about 5% more positions than tokens on e-mail), smaller
# ones keep batches more random.
_BUCKET_POOL = 16


def document_lengths(ids):
    """Tokens in each row of left-aligned, padded token ids."""
    return np.count_nonzero(np.asarray(ids) != PAD_ID, axis=1)


def batch_order(lengths, batch_size, *, shuffle, bucket_pool=_BUCKET_POOL):
    """Row indices of each batch of one epoch, as int64 arrays.

    Without ``shuffle`` the rows come in order, ``batch_size`` at a time.
    With it, a random permutation (from torch's random state, so
    ``torch.manual_seed`` fixes it) is cut into pools of ``bucket_pool``
    batches, each pool is sorted by length (ties keep their random order)
    and split into batches, and the batches come in random order. The
    batches and their sizes are those of a plain shuffle except for which
    documents share a batch.
    """
    n_rows = len(lengths)
    if not shuffle:
        for start in range(0, n_rows, batch_size):
            yield np.arange(start, min(start + batch_size, n_rows))
        return
    lengths = np.asarray(lengths)
    permutation = torch.randperm(n_rows).numpy()
    pool_size = batch_size * max(1, bucket_pool)
    batches = []
    for start in range(0, n_rows, pool_size):
        pool = permutation[start:start + pool_size]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        batches += [
            pool[first:first + batch_size]
            for first in range(0, len(pool), batch_size)
        ]
    for index in torch.randperm(len(batches)).tolist():
        yield batches[index]


class _BatchSampler:
    """Gives a DataLoader the batches of :func:`batch_order`."""

    def __init__(self, lengths, batch_size, shuffle):
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __iter__(self):
        return batch_order(
            self.lengths, self.batch_size, shuffle=self.shuffle
        )

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)


class TokenIdsDataset(Dataset):
    """skorch's dataset for token id arrays, read a batch at a time.

    Indexing the id array once per batch replaces skorch's default of one
    call and one tensor per document followed by stacking.
    """

    def __init__(self, X, y=None, length=None):
        super().__init__(X, y, length=length)
        self.lengths = document_lengths(X)

    def __getitems__(self, indices):
        X = torch.as_tensor(self.X[indices])
        if self.y is None:
            return X, torch.zeros(len(X))
        return X, torch.as_tensor(self.y[indices])


def dataset_lengths(dataset):
    if isinstance(dataset, torch.utils.data.Subset):
        return dataset_lengths(dataset.dataset)[np.asarray(dataset.indices)]
    return dataset.lengths


def _already_batched(batch):
    return batch


def token_id_batches(dataset, batch_size, shuffle=False, **kwargs):
    """skorch iterator over a :class:`TokenIdsDataset` (or a subset).

    Training batches are drawn by :func:`batch_order` with length buckets;
    without ``shuffle`` batches keep the rows in order, as prediction needs.
    Other keyword arguments go to ``torch.utils.data.DataLoader``.
    """
    sampler = _BatchSampler(dataset_lengths(dataset), batch_size, shuffle)
    return DataLoader(
        dataset, batch_sampler=sampler, collate_fn=_already_batched,
        **kwargs,
    )
