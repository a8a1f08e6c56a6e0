"""Unit tests of common/models.py: every builder option, shapes, parameter counts, cuDNN."""

import itertools

import keras
import numpy as np
import pytest
from keras import layers

from common.models import (
    CELLS,
    HEADS,
    average_models,
    base_rate_biases,
    build_rnn_model,
    cudnn_eligible,
    output_head,
    recurrent_layer,
)

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def expected_recurrent_params(cell, units, input_dim, num_layers, bidirectional):
    """Parameter count from the cell equations (chapter 000 / 001).

    SimpleRNN: W_x (in x u) + W_h (u x u) + b (u); LSTM has 4 such gates;
    GRU with reset_after=True has 3 gates and two bias vectors per gate.
    """
    total, features = 0, input_dim
    for _ in range(num_layers):
        biases = 2 if cell == "gru" else 1
        per_direction = GATES[cell] * units * (features + units + biases)
        total += per_direction * (2 if bidirectional else 1)
        features = units * (2 if bidirectional else 1)
    return total, features


@pytest.mark.parametrize("cell,bidirectional,num_layers", list(itertools.product(CELLS, (False, True), (1, 2))))
def test_stack_shapes_and_parameter_counts(cell, bidirectional, num_layers):
    units, input_dim, horizon = 8, 3, 4
    model = build_rnn_model(
        head="regression",
        num_outputs=horizon,
        input_shape=(7, input_dim),
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
    )
    recurrent, features = expected_recurrent_params(cell, units, input_dim, num_layers, bidirectional)
    assert model.count_params() == recurrent + features * horizon + horizon
    assert model(np.zeros((5, 7, input_dim), "float32")).shape == (5, horizon)
    # All but the last recurrent layer must pass the whole sequence on.
    recurrent_layers = [layer for layer in model.layers if isinstance(layer, (layers.RNN, layers.Bidirectional))]
    assert len(recurrent_layers) == num_layers
    for layer in recurrent_layers[:-1]:
        assert layer.output.shape[1] == 7


@pytest.mark.parametrize(
    "head,num_outputs,expected_shape,activation",
    [
        ("binary", 1, (2, 1), "sigmoid"),
        ("multiclass", 5, (2, 5), "softmax"),
        ("multilabel", 5, (2, 5), "sigmoid"),
        ("regression", 3, (2, 3), "linear"),
        ("per_step", 6, (2, 9, 6), "linear"),
    ],
)
@pytest.mark.parametrize("cell", list(CELLS))
def test_heads_on_token_input(head, num_outputs, expected_shape, activation, cell):
    model = build_rnn_model(head=head, num_outputs=num_outputs, vocab_size=20, embedding_dim=4, cell=cell, units=6)
    tokens = np.array([[3, 4, 5, 6, 7, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9]])
    output = model(tokens)
    assert output.shape == expected_shape
    assert model.get_layer("output").get_config()["activation"] == activation
    assert model.get_layer("output").dtype_policy.compute_dtype == "float32"
    if head in ("multiclass",):
        np.testing.assert_allclose(np.sum(output, axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_masking_ignores_post_padding(pooling, bidirectional):
    """With mask_zero, padding after the text must not change the output."""
    keras.utils.set_random_seed(0)
    model = build_rnn_model(
        head="binary", vocab_size=30, embedding_dim=4, cell="gru", units=5, pooling=pooling, bidirectional=bidirectional
    )
    short = model(np.array([[4, 8, 15]]))
    padded = model(np.array([[4, 8, 15, 0, 0, 0, 0]]))
    np.testing.assert_allclose(short, padded, rtol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_defaults_are_cudnn_eligible(cell, bidirectional):
    model = build_rnn_model(head="binary", vocab_size=10, cell=cell, units=4, num_layers=2, bidirectional=bidirectional)
    recurrent = [layer for layer in model.layers if isinstance(layer, (layers.RNN, layers.Bidirectional))]
    assert recurrent and all(cudnn_eligible(layer) for layer in recurrent)


@pytest.mark.parametrize(
    "options",
    [{"recurrent_dropout": 0.2}, {"activation": "relu"}],
)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_options_that_give_up_cudnn_are_detected(cell, options):
    assert not cudnn_eligible(recurrent_layer(cell, 4, **options))


def test_gru_reset_before_and_simple_rnn_are_not_cudnn():
    assert not cudnn_eligible(layers.GRU(4, reset_after=False))
    assert not cudnn_eligible(layers.LSTM(4, unroll=True))
    assert not cudnn_eligible(recurrent_layer("simple_rnn", 4))


def test_dropout_is_passed_to_every_layer():
    model = build_rnn_model(head="binary", input_shape=(5, 2), cell="lstm", units=4, num_layers=2, dropout=0.3)
    assert [layer.dropout for layer in model.layers if isinstance(layer, layers.LSTM)] == [0.3, 0.3]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cell": "transformer"}, "cell='transformer' is not one of 'simple_rnn', 'lstm', 'gru'"),
        ({"head": "ranking"}, "head='ranking' is not one of"),
        ({"units": 0}, "units must be a positive integer"),
        ({"num_layers": 0}, "num_layers must be a positive integer"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"vocab_size": 10}, "exactly one of input_shape"),
        ({"pooling": "attention"}, "pooling='attention' is not one of"),
        ({"pooling": "mean", "head": "per_step"}, "whole-sequence heads"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    options = {"head": "binary", "input_shape": (4, 1), **kwargs}
    with pytest.raises(ValueError, match=message):
        build_rnn_model(**options)


def test_every_head_is_covered():
    assert set(HEADS) == {"binary", "multiclass", "multilabel", "regression", "per_step"}
    with pytest.raises(ValueError, match="num_outputs"):
        output_head(keras.Input((3,)), "multiclass", 0)


def test_max_pooling_model_saves_and_loads(tmp_path):
    model = build_rnn_model(head="binary", vocab_size=30, embedding_dim=4, cell="lstm", units=3, pooling="max")
    tokens = np.array([[5, 6, 7, 0, 0]])
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(tokens), model(tokens), rtol=1e-6)


def test_base_rate_biases_make_the_untrained_head_predict_label_frequencies():
    labels = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    biases = base_rate_biases(labels)
    sigmoid = 1 / (1 + np.exp(-biases))
    np.testing.assert_allclose(sigmoid[1], 0.25, rtol=1e-6)
    np.testing.assert_allclose(sigmoid[0], 0.75, rtol=1e-6)
    np.testing.assert_allclose(sigmoid[2], 0.5 / 4, rtol=1e-6)  # never positive: half an example, finite
    model = build_rnn_model(head="multilabel", num_outputs=3, vocab_size=20, embedding_dim=4, units=3)
    kernel, _ = model.get_layer("output").get_weights()
    model.get_layer("output").set_weights([np.zeros_like(kernel), biases])
    np.testing.assert_allclose(model(np.array([[3, 4, 0]]))[0], sigmoid, rtol=1e-5)
    with pytest.raises(ValueError, match="non-empty"):
        base_rate_biases(np.zeros((0, 3)))


def test_average_models_is_the_mean_of_its_members_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    members = [
        build_rnn_model(head="multilabel", num_outputs=4, vocab_size=30, embedding_dim=4, units=3, name=f"m{index}")
        for index in range(3)
    ]
    ensemble = average_models(members)
    tokens = np.array([[5, 6, 7, 0, 0], [9, 0, 0, 0, 0]])
    expected = np.mean([member(tokens) for member in members], axis=0)
    np.testing.assert_allclose(ensemble(tokens), expected, rtol=1e-6)
    ensemble.save(tmp_path / "e.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "e.keras")(tokens), expected, rtol=1e-6)
    assert average_models(members[:1]) is members[0]
    with pytest.raises(ValueError, match="at least one"):
        average_models([])
