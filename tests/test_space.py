import json

import pytest
from scipy.stats import loguniform, randint

from skgnas import DEFAULT_SEARCH_SPACE, SEARCH_KEYS, SearchSpace, TextNetClassifier

EXACT = {
    "num_layers": [1, 2, 3],
    "layer_type": ["convolutional", "recurrent"],
    "activation": ["relu", "sigmoid"],
}
DEFAULTS = TextNetClassifier().get_params()


def test_exact_dict_gives_nine_distinct_architectures():
    grid = SearchSpace(EXACT, DEFAULTS).grid()
    # convolutional: 3 depths x 2 activations; recurrent layers have no
    # activation setting, so its 3 depths are not doubled.
    assert len(grid) == 9
    recurrent = [c for c in grid if c["layer_type"] == "recurrent"]
    assert len(recurrent) == 3
    assert all("activation" not in c for c in recurrent)


def test_settings_that_do_not_apply_never_multiply_candidates():
    space = SearchSpace(
        {"layer_type": ["recurrent"], "kernel_size": [3, 5, 7],
         "activation": ["relu", "tanh"], "rnn_cell": ["gru", "lstm"]},
        DEFAULTS,
    )
    assert len(space.grid()) == 2


def test_default_space_is_valid_and_documented_keys_cover_it():
    space = SearchSpace(None, DEFAULTS)
    for subspace in DEFAULT_SEARCH_SPACE:
        assert set(subspace) <= set(SEARCH_KEYS)
    drawn = [c["layer_type"] for c in space.sample(40, 0)]
    assert set(drawn) == {"bag", "dense", "convolutional"}
    # Bags are one subspace of two, so about half the draws.
    assert 12 <= drawn.count("bag") <= 28


def test_random_sampling_is_distinct_and_seeded():
    space = SearchSpace(
        {"layer_type": ["dense", "bag"], "lr": loguniform(1e-4, 1e-1),
         "hidden_units": randint(8, 64)},
        DEFAULTS,
    )
    a, b = space.sample(12, 7), space.sample(12, 7)
    assert a == b
    assert len({json.dumps(c, sort_keys=True) for c in a}) == 12
    assert all(1e-4 <= c["lr"] <= 1e-1 for c in a)


def test_random_sampling_stops_when_a_small_space_is_exhausted():
    space = SearchSpace({"layer_type": ["bag", "dense"]}, DEFAULTS)
    assert len(space.sample(10, 0)) == 2


def test_architecture_is_complete_and_json_ready():
    space = SearchSpace(EXACT, DEFAULTS)
    arch = space.architecture({"layer_type": "recurrent", "num_layers": 2})
    assert arch["num_layers"] == 2 and arch["rnn_cell"] == "gru"
    assert "kernel_size" not in arch and "activation" not in arch
    json.dumps(arch)


@pytest.mark.parametrize(
    "space, message",
    [
        ({"num_layer": [1]}, r"unknown key 'num_layer'.*Did you mean "
                             r"'num_layers'"),
        ({"activation": []}, r"search_space\['activation'\] is an empty"),
        ({"activation": ["relu", "swish"]},
         r"invalid value 'swish' at position 1.*one of \["),
        ({"num_layers": [1, 0]}, r"invalid value 0 at position 1.*an int"),
        ({"num_layers": [1.5]}, r"invalid value 1.5 at position 0"),
        ({"dropout": [1.0]}, r"'dropout'.*invalid value 1.0"),
        ({"bidirectional": [1]}, r"invalid value 1 .*\[False, True\]"),
        ({"layer_type": "dense"}, r"must be a list.*\['dense'\]"),
        ({"activation": randint(0, 3)}, r"is a distribution.*categorical"),
        ("dense", r"search_space expects a dict"),
    ],
)
def test_bad_spaces_name_key_value_and_choices(space, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace(space, DEFAULTS)


def test_a_list_of_dicts_is_their_union():
    space = SearchSpace(
        [{"layer_type": ["bag"], "ngrams": [1, 2]},
         {"layer_type": ["convolutional"], "kernel_size": [3, 5]}],
        DEFAULTS,
    )
    assert len(space.grid()) == 4


def test_grid_rejects_distributions():
    space = SearchSpace({"lr": loguniform(1e-4, 1e-2)}, DEFAULTS)
    with pytest.raises(ValueError, match="strategy='grid' needs lists"):
        space.grid()


class _Sampler:
    """A custom sampler: it has ``rvs`` but no range to check up front."""

    def __init__(self, value):
        self.value = value

    def rvs(self, random_state=None):
        return self.value


def test_a_sampler_drawing_invalid_values_is_named():
    space = SearchSpace({"dropout": _Sampler(1.5)}, DEFAULTS)
    with pytest.raises(ValueError, match=r"'dropout'\] drew 1.5.*< 1.0"):
        space.sample(3, 0)


def test_floats_drawn_for_an_integer_setting_are_rounded():
    from scipy.stats import uniform

    space = SearchSpace({"layer_type": ["dense"],
                         "num_layers": uniform(1, 3)}, DEFAULTS)
    layers = [c["num_layers"] for c in space.sample(4, 0)]
    assert all(type(n) is int and 1 <= n <= 4 for n in layers)
    assert len(set(layers)) > 1
