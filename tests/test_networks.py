import pytest
import torch

from skgnas import TextNet
from skgnas._networks import ACTIVATIONS

ARCHITECTURES = [
    dict(layer_type="bag", ngrams=1),
    dict(layer_type="bag", ngrams=2),
    dict(layer_type="bag", ngrams=1, binary=True),
    dict(layer_type="bag", ngrams=2, binary=True),
    dict(layer_type="dense", num_layers=2, pooling="mean"),
    dict(layer_type="dense", num_layers=1, pooling="max"),
    dict(layer_type="convolutional", num_layers=3, kernel_size=3),
    dict(layer_type="convolutional", num_layers=2, kernel_size=4,
         pooling="mean"),
    dict(layer_type="recurrent", rnn_cell="lstm", bidirectional=True),
    dict(layer_type="recurrent", rnn_cell="gru", num_layers=2,
         pooling="mean"),
]


def _net(**arch):
    torch.manual_seed(0)
    net = TextNet(50, 8, 3, hidden_units=6, dropout=0.0, **arch)
    return net.eval()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_padding_does_not_change_the_output(arch):
    net = _net(**arch, trim_batches=False)
    doc = torch.tensor([[5, 9, 2, 17, 3, 3, 8]])
    padded = torch.cat([doc, torch.zeros(1, 13, dtype=torch.long)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(net(doc), net(padded))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_batch_mates_do_not_change_a_document_output(arch):
    net = _net(**arch)
    short = torch.tensor([[4, 7, 9, 0, 0, 0, 0, 0]])
    batch = torch.tensor([[4, 7, 9, 0, 0, 0, 0, 0],
                          [1, 2, 3, 4, 5, 6, 7, 8]])
    with torch.no_grad():
        torch.testing.assert_close(net(short)[0], net(batch)[0])


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_empty_documents_give_finite_logits(arch):
    net = _net(**arch)
    with torch.no_grad():
        out = net(torch.zeros(2, 5, dtype=torch.long))
    assert out.shape == (2, 3) and torch.isfinite(out).all()


@pytest.mark.parametrize("ngrams", [1, 2])
def test_binary_bag_counts_each_word_and_bigram_once(ngrams):
    binary = _net(layer_type="bag", ngrams=ngrams, binary=True)
    averaging = _net(layer_type="bag", ngrams=ngrams, binary=False)
    # Same distinct words (5, 9) and bigrams ((5, 5), (5, 9)); different
    # counts of each.
    once = torch.tensor([[5, 5, 9, 0, 0, 0]])
    often = torch.tensor([[5, 5, 5, 5, 5, 9]])
    with torch.no_grad():
        torch.testing.assert_close(binary(once), binary(often))
        assert not torch.allclose(averaging(once), averaging(often))


def test_binary_unigram_bag_ignores_word_order():
    net = _net(layer_type="bag", ngrams=1, binary=True)
    with torch.no_grad():
        torch.testing.assert_close(net(torch.tensor([[2, 5, 9]])),
                                   net(torch.tensor([[9, 9, 2, 5, 2]])))


def test_binary_bag_matches_the_mean_of_distinct_embeddings():
    net = _net(layer_type="bag", ngrams=1, binary=True)
    doc = torch.tensor([[7, 3, 7, 7, 11, 3, 0, 0]])
    distinct = net.embedding.weight[[3, 7, 11]].mean(dim=0)
    with torch.no_grad():
        torch.testing.assert_close(net(doc)[0], net.output(distinct))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(activation):
    net = _net(layer_type="convolutional", activation=activation)
    assert isinstance(net.act, ACTIVATIONS[activation])
    with torch.no_grad():
        assert torch.isfinite(net(torch.tensor([[3, 4, 5]]))).all()


def test_depth_and_width_follow_the_description():
    net = _net(layer_type="convolutional", num_layers=3, kernel_size=5)
    assert len(net.convs) == 3
    assert net.convs[0].kernel_size == (5,)
    assert net.convs[1].in_channels == 6
    rnn = _net(layer_type="recurrent", num_layers=2, bidirectional=True)
    assert rnn.rnn.num_layers == 2 and rnn.output.in_features == 12


def test_frozen_embeddings_get_no_gradient():
    net = _net(layer_type="dense", freeze_embeddings=True)
    net(torch.tensor([[3, 4, 5]])).sum().backward()
    assert net.embedding.weight.grad is None
    assert net.output.weight.grad is not None


def test_unknown_layer_type_is_rejected():
    with pytest.raises(ValueError, match="layer_type expects one of"):
        TextNet(10, 4, 2, layer_type="transformer")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_long_batches_run_in_row_slices_with_the_same_outputs_and_grads(
    arch
):
    ids = torch.randint(1, 50, (7, 12))
    ids[2, 5:] = 0
    ids[6, 1:] = 0
    outputs, grads = [], []
    for max_positions in (10**6, 25):  # 25 positions: 2 rows at a time
        net = _net(**arch, max_positions=max_positions)
        out = net(ids)
        out.sum().backward()
        outputs.append(out.detach())
        grads.append(net.output.weight.grad.clone())
    torch.testing.assert_close(outputs[0], outputs[1])
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("value", [100.0, None, 0, -5, True])
def test_bad_max_positions_is_named_when_the_network_is_built(value):
    with pytest.raises(ValueError, match=r"TextNet: max_positions expects a "
                       rf"positive int; received {value!r}"):
        TextNet(10, 4, 2, max_positions=value)
