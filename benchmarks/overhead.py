"""Benchmark 1: what skgnas costs on top of a bare PyTorch training loop.

Both sides do the same work on the same data: for each of 3 stratified
folds, learn Gensim vectors from the training part, train one fixed network
(``TextNet``, convolutional, 1 layer) for a fixed number of epochs with
Adam, then predict the held-out part; finally learn vectors from all the
data and train once more (the refit). Vector training and text-to-id
conversion are on both sides, so the ratio measures skgnas, skorch and
scikit-learn's search machinery, not Gensim.

- skgnas side: ``GensimNASClassifier`` with a one-candidate search space,
  ``cv`` set to the folds and ``patience=None`` (no early stopping, so no
  validation part is held out).
- bare side: ``GensimVectorizer`` for the ids, then a hand-written loop over
  shuffled batches: ``zero_grad``, forward, cross-entropy, ``backward``,
  ``step``. It draws its batches with the same ``skgnas`` batch sampler
  and the same seed, and predicts in order of length as skgnas does, so
  both sides compute the same networks (their CV accuracies are equal).

Both use one torch thread (the machine is shared). The two sides alternate
for several rounds and the fastest round of each is compared. Target: ratio
at most 1.15.

The second part times one training epoch of the same network on short
texts with padding to ``max_len`` (no trimming), each batch cut to its own
longest document, and that plus length bucketing.

Run from the repository root::

    python benchmarks/overhead.py
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _corpora import load_spam  # noqa: E402
from skgnas import GensimNASClassifier, GensimVectorizer, TextNet  # noqa
from skgnas._networks import batch_order, document_lengths  # noqa

N_DOCS = 1500
ROUNDS = 3
SEED = 0
VECTORIZER = dict(vector_size=50, epochs=2, max_len=400, min_count=2,
                  seed=SEED)
NET = dict(layer_type="convolutional", num_layers=1, hidden_units=64,
           kernel_size=3, activation="relu", dropout=0.2, pooling="max")
EPOCHS = 3
BATCH_SIZE = 64
LR = 3e-3


def folds():
    return StratifiedKFold(3, shuffle=True, random_state=SEED)


def run_skgnas(X, y):
    nas = GensimNASClassifier(
        {**{key: [value] for key, value in NET.items()}, "lr": [LR]},
        strategy="grid",
        cv=folds(),
        vectorizer=GensimVectorizer(**VECTORIZER),
        max_epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        patience=None,
        n_threads=1,
        refit_networks=1,  # the bare loop refits one network too
        random_state=SEED,
    )
    nas.fit(X, y)
    return float(nas.best_score_)


def net_seed():
    """The torch seed GensimNASClassifier(random_state=SEED) gives its nets.

    It is the third of three seeds drawn from ``random_state``; using it
    here makes both sides train identical networks.
    """
    return int(np.random.RandomState(SEED).randint(2**31 - 1, size=3)[2])


def bare_network(ids, targets, embedding, seed, **extra):
    """The benchmark network, optimizer and tensors, set up as skgnas does."""
    torch.manual_seed(seed)
    module = TextNet(embedding.shape[0], embedding.shape[1],
                     int(targets.max()) + 1, **extra, **NET)
    with torch.no_grad():
        module.embedding.weight.copy_(torch.from_numpy(embedding))
    # TextNetClassifier uses fused Adam; the bare loop must too.
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, fused=True)
    X, y = torch.from_numpy(ids), torch.from_numpy(targets)
    return module, optimizer, X, y


def train_bare(ids, targets, embedding, seed):
    module, optimizer, X, y = bare_network(ids, targets, embedding, seed)
    criterion = torch.nn.CrossEntropyLoss()
    lengths = document_lengths(ids)
    module.train()
    for _ in range(EPOCHS):
        # A DataLoader draws one seed from torch per epoch; drawing it too
        # keeps both sides' random streams, so their networks, identical.
        torch.empty((), dtype=torch.int64).random_()
        for batch in batch_order(lengths, BATCH_SIZE, shuffle=True):
            batch = torch.from_numpy(batch)
            optimizer.zero_grad()
            loss = criterion(module(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return module


def predict_bare(module, ids):
    """Predicted class ids, batches taken in order of document length."""
    module.eval()
    X = torch.from_numpy(ids)
    order = torch.from_numpy(np.argsort(document_lengths(ids), kind="stable"))
    out = np.empty(len(ids), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, len(ids), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            out[rows.numpy()] = module(X[rows]).argmax(dim=1).numpy()
    return out


def run_bare(X, y):
    targets = np.unique(y, return_inverse=True)[1].astype(np.int64)
    texts = np.asarray(X, dtype=object)
    scores = []
    for train, test in folds().split(texts, y):
        vectorizer = GensimVectorizer(**VECTORIZER)
        ids = vectorizer.fit_transform(texts[train].tolist())
        module = train_bare(ids, targets[train], vectorizer.embedding_,
                            net_seed())
        predicted = predict_bare(
            module, vectorizer.transform(texts[test].tolist())
        )
        scores.append(float(np.mean(predicted == targets[test])))
    vectorizer = GensimVectorizer(**VECTORIZER)
    ids = vectorizer.fit_transform(X)
    train_bare(ids, targets, vectorizer.embedding_, net_seed())
    return float(np.mean(scores))


def timed(fn, *args):
    """Wall and CPU seconds of ``fn(*args)``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def overhead(X, y):
    print(f"Part 1: {len(X)} spam_assassin documents, 3 folds + refit, "
          f"{EPOCHS} epochs, batch {BATCH_SIZE}, 1 torch thread")
    print(f"  network: {NET}")
    print(f"  vectorizer: {VECTORIZER}")
    # One untimed round on a few documents loads what both sides import
    # lazily (torch's optimizer machinery alone takes seconds).
    run_skgnas(X[:150], y[:150])
    run_bare(X[:150], y[:150])
    times = {"skgnas": [], "bare": []}
    for round_ in range(ROUNDS):
        for side, fn in (("skgnas", run_skgnas), ("bare", run_bare)):
            wall, cpu, score = timed(fn, X, y)
            times[side].append((wall, cpu))
            print(f"  round {round_ + 1}  {side:<6}  wall {wall:6.2f} s  "
                  f"cpu {cpu:6.2f} s  (mean CV accuracy {score:.4f})",
                  flush=True)
    ratios = {}
    for column, name in ((0, "wall"), (1, "cpu")):
        best = {side: min(t[column] for t in v) for side, v in times.items()}
        ratios[name] = best["skgnas"] / best["bare"]
        print(f"  fastest {name:<4}: skgnas {best['skgnas']:6.2f} s, bare "
              f"{best['bare']:6.2f} s -> ratio {ratios[name]:.3f}")
    print(f"  target: ratio <= 1.15 -> cpu "
          f"{'met' if ratios['cpu'] <= 1.15 else 'MISSED'}, wall "
          f"{'met' if ratios['wall'] <= 1.15 else 'MISSED'}")


def epoch_seconds(ids, targets, embedding, trim, bucket_pool):
    """Fastest of two training epochs of the benchmark network."""
    module, optimizer, X, y = bare_network(ids, targets, embedding, SEED,
                                           trim_batches=trim)
    criterion = torch.nn.CrossEntropyLoss()
    lengths = document_lengths(ids)
    module.train()
    seconds = []
    for _ in range(2):
        started = time.process_time()
        for batch in batch_order(lengths, BATCH_SIZE, shuffle=True,
                                 bucket_pool=bucket_pool):
            batch = torch.from_numpy(batch)
            optimizer.zero_grad()
            criterion(module(X[batch]), y[batch]).backward()
            optimizer.step()
        seconds.append(time.process_time() - started)
    return min(seconds), module


def padding(X, y):
    print(f"Part 2: one training epoch (cpu seconds, fastest of 2) of the "
          f"same network, max_len={VECTORIZER['max_len']}, batch "
          f"{BATCH_SIZE}")
    targets = np.unique(y, return_inverse=True)[1].astype(np.int64)
    short = [" ".join(text.split()[:30]) for text in X]
    print(f"  {'corpus':<28} {'tokens/doc':>10} {'padded':>8} "
          f"{'trimmed':>8} {'+buckets':>8}  {'max |p_trim - p_full|':>21}")
    for name, texts in (("spam, first 30 words", short),
                        ("spam, whole e-mails", X)):
        vectorizer = GensimVectorizer(**VECTORIZER)
        ids = vectorizer.fit_transform(texts)
        mean_tokens = document_lengths(ids).mean()
        full, _ = epoch_seconds(ids, targets, vectorizer.embedding_,
                                trim=False, bucket_pool=1)
        trimmed, module = epoch_seconds(ids, targets, vectorizer.embedding_,
                                        trim=True, bucket_pool=1)
        bucketed, _ = epoch_seconds(ids, targets, vectorizer.embedding_,
                                    trim=True, bucket_pool=16)
        module.eval()
        with torch.no_grad():
            p_trim = torch.softmax(module(torch.from_numpy(ids)), dim=1)
            module.trim_batches = False
            p_full = torch.softmax(module(torch.from_numpy(ids)), dim=1)
        gap = float((p_trim - p_full).abs().max())
        print(f"  {name:<28} {mean_tokens:>10.1f} {full:>7.2f}s "
              f"{trimmed:>7.2f}s {bucketed:>7.2f}s  {gap:>21.2e}")


def main():
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores)")
    X, y = load_spam(N_DOCS)
    overhead(X, y)
    padding(X, y)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
