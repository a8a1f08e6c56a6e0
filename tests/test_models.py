"""Unit tests of common/models.py: every block's options, shapes, parameter counts, masking, cuDNN."""

import itertools

import keras
import numpy as np
import pytest
from keras import layers

from common.models import (
    CELLS,
    output_head,
    pool_over_time,
    pooled_text_features,
    recurrent_layer,
    recurrent_stack,
)

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def cudnn_eligible(layer):
    """Whether a recurrent layer meets Keras' conditions for the fused cuDNN kernel.

    The conditions are those Keras checks before using cuDNN for LSTM and GRU
    (keras/src/backend/tensorflow/rnn.py): tanh activation, sigmoid recurrent
    activation, no recurrent dropout, not unrolled, with bias, and for GRU
    `reset_after=True`. SimpleRNN never has a cuDNN kernel.
    """
    if isinstance(layer, layers.Bidirectional):
        return cudnn_eligible(layer.forward_layer) and cudnn_eligible(layer.backward_layer)
    if not isinstance(layer, (layers.LSTM, layers.GRU)):
        return False
    config = layer.get_config()
    ok = (
        config["activation"] == "tanh"
        and config["recurrent_activation"] == "sigmoid"
        and config["recurrent_dropout"] == 0
        and not config["unroll"]
        and config["use_bias"]
        and config.get("use_cudnn", "auto") in ("auto", True)
    )
    if isinstance(layer, layers.GRU):
        ok = ok and config["reset_after"]
    return ok


def sequence_model(cell, units, num_layers=1, bidirectional=False, steps=7, input_dim=3, horizon=4, **options):
    """Real-valued sequences (batch, steps, input_dim) -> (batch, horizon), as the sine example builds it."""
    inputs = keras.Input((steps, input_dim))
    x = recurrent_stack(inputs, cell, units, num_layers, bidirectional=bidirectional, **options)
    return keras.Model(inputs, output_head(x, "regression", horizon))


def token_model(head, num_outputs=1, cell="lstm", units=6, pooling="last", bidirectional=False, num_layers=1):
    """Token ids (batch, time), 0 = padding -> the head, as the text examples build it."""
    token_ids = keras.Input((None,), dtype="int32")
    x = layers.Embedding(30, 4, mask_zero=True)(token_ids)
    sequences = head == "per_step" or pooling != "last"
    x = recurrent_stack(x, cell, units, num_layers, return_sequences=sequences, bidirectional=bidirectional)
    if head != "per_step":
        x = pool_over_time(x, pooling)
    return keras.Model(token_ids, output_head(x, head, num_outputs))


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
    model = sequence_model(cell, units, num_layers, bidirectional, input_dim=input_dim, horizon=horizon)
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
    model = token_model(head, num_outputs, cell=cell)
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
    model = token_model("binary", cell="gru", units=5, pooling=pooling, bidirectional=bidirectional)
    short = model(np.array([[4, 8, 15]]))
    padded = model(np.array([[4, 8, 15, 0, 0, 0, 0]]))
    np.testing.assert_allclose(short, padded, rtol=1e-5)


@pytest.mark.parametrize("freeze", [False, True])
def test_pooled_text_features_start_from_word_vectors_and_ignore_padding(freeze):
    """The text classifiers' body (imdb, reuters): its embedding holds the given word vectors (frozen if asked),
    its output is one vector per text, and padding after the text changes nothing."""
    keras.utils.set_random_seed(0)
    word_vectors = np.arange(20 * 3, dtype="float32").reshape(20, 3) / 60
    token_ids = keras.Input((None,), dtype="int32")
    features = pooled_text_features(
        token_ids,
        20,
        embedding_dim=3,
        embedding_dropout=0.5,
        cell="gru",
        units=4,
        num_layers=2,
        bidirectional=True,
        dropout=0.1,
        recurrent_dropout=0.0,
        pooling="max",
        word_vectors=word_vectors,
        freeze_embeddings=freeze,
    )
    model = keras.Model(token_ids, features)
    embedding = model.get_layer("embedding")
    np.testing.assert_array_equal(embedding.get_weights()[0], word_vectors)
    assert embedding.trainable is not freeze
    assert len(model.trainable_weights) == len(model.weights) - freeze
    short, padded = model(np.array([[4, 8, 15]])), model(np.array([[4, 8, 15, 0, 0, 0]]))
    assert short.shape == (1, 8)
    np.testing.assert_allclose(short, padded, rtol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_defaults_are_cudnn_eligible(cell, bidirectional):
    model = token_model("binary", cell=cell, units=4, num_layers=2, bidirectional=bidirectional)
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
    model = sequence_model("lstm", 4, num_layers=2, dropout=0.3)
    assert [layer.dropout for layer in model.layers if isinstance(layer, layers.LSTM)] == [0.3, 0.3]


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda x: recurrent_layer("transformer"), "cell='transformer' is not one of 'simple_rnn', 'lstm', 'gru'"),
        (lambda x: recurrent_layer("lstm", 0), "units must be a positive integer"),
        (lambda x: recurrent_layer("lstm", 4, dropout=1.0), r"dropout must be in \[0, 1\)"),
        (lambda x: recurrent_layer("lstm", 4, recurrent_dropout=-0.1), r"recurrent_dropout must be in \[0, 1\)"),
        (lambda x: recurrent_stack(x, "lstm", 4, num_layers=0), "num_layers must be a positive integer"),
        (lambda x: output_head(x, "ranking"), "head='ranking' is not one of"),
        (lambda x: output_head(x, "multiclass", 0), "num_outputs must be a positive integer"),
        (lambda x: pool_over_time(x, "attention"), "pooling='attention' is not one of"),
    ],
)
def test_bad_arguments_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build(keras.Input((4, 1)))


def test_max_pooling_model_saves_and_loads(tmp_path):
    model = token_model("binary", cell="lstm", units=3, pooling="max")
    tokens = np.array([[5, 6, 7, 0, 0]])
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(tokens), model(tokens), rtol=1e-6)
