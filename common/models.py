"""Recurrent model builders shared by every example.

Chapter: 000 §2 (RNN, LSTM, GRU) and 004 §4.3 (bidirectional and deep RNNs).

One function, `build_rnn_model`, covers every example: an optional embedding
front end, a stack of SimpleRNN / LSTM / GRU layers (optionally bidirectional)
and one of a few output heads. Its defaults keep LSTM and GRU layers eligible
for the fused cuDNN kernel on GPU (see `cudnn_eligible`).
"""

import keras
import numpy as np
from keras import layers

CELLS = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}
HEADS = ("binary", "multiclass", "multilabel", "regression", "per_step")
POOLING = ("last", "mean", "max")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")


def _check_positive(name, value):
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_fraction(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def recurrent_layer(
    cell="lstm",
    units=64,
    *,
    return_sequences=False,
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    activation="tanh",
    name=None,
):
    """One recurrent layer (chapter 000 §2.1-2.2), wrapped in `Bidirectional` if asked.

    Keep `activation="tanh"` and `recurrent_dropout=0` for LSTM/GRU: any other
    value makes Keras fall back from the fused cuDNN kernel to a step-by-step
    loop that is several times slower on GPU. SimpleRNN has no cuDNN kernel.
    """
    _check_choice("cell", cell, tuple(CELLS))
    _check_positive("units", units)
    _check_fraction("dropout", dropout)
    _check_fraction("recurrent_dropout", recurrent_dropout)
    layer = CELLS[cell](
        units,
        activation=activation,
        return_sequences=return_sequences,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=None if bidirectional else name,
    )
    # Bidirectional (chapter 004 §4.3.1) runs a second copy on the reversed
    # sequence and concatenates both states: 2 * units features.
    return layers.Bidirectional(layer, name=name) if bidirectional else layer


def recurrent_stack(
    x,
    cell="lstm",
    units=64,
    num_layers=1,
    *,
    return_sequences=False,
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    activation="tanh",
):
    """Apply `num_layers` stacked recurrent layers to tensor `x` (chapter 004 §4.3.2).

    Every layer but the last returns the whole sequence (batch, time, features)
    so the next layer has a sequence to read; the last one returns sequences
    only when `return_sequences` is set (per-step heads), else its final state.
    """
    _check_positive("num_layers", num_layers)
    for index in range(num_layers):
        is_last = index == num_layers - 1
        x = recurrent_layer(
            cell,
            units,
            return_sequences=return_sequences or not is_last,
            bidirectional=bidirectional,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            activation=activation,
            name=f"{cell}_{index + 1}",
        )(x)
    return x


def output_head(x, head, num_outputs=1):
    """The output layer for a task; outputs are float32 even under mixed precision.

    binary      -> (batch, 1) sigmoid probability
    multiclass  -> (batch, num_outputs) softmax probabilities
    multilabel  -> (batch, num_outputs) independent sigmoid probabilities
    regression  -> (batch, num_outputs) linear values (num_outputs = horizon)
    per_step    -> (batch, time, num_outputs) logits, one vector per time step
                   (language models and taggers train on logits for stability)
    """
    _check_choice("head", head, HEADS)
    _check_positive("num_outputs", num_outputs)
    units, activation = {
        "binary": (1, "sigmoid"),
        "multiclass": (num_outputs, "softmax"),
        "multilabel": (num_outputs, "sigmoid"),
        "regression": (num_outputs, None),
        "per_step": (num_outputs, None),
    }[head]
    # dtype float32: under mixed_float16 a softmax/sigmoid in half precision
    # saturates and the loss loses precision; Keras' mixed-precision guide
    # keeps the last layer in float32.
    return layers.Dense(units, activation=activation, dtype="float32", name="output")(x)


def base_rate_biases(labels):
    """Output biases under which an untrained sigmoid head predicts each label's training frequency.

    `labels` is the (examples, outputs) 0/1 training matrix. The default bias
    0 says "50%" for every output; for a topic that one story in a thousand
    has, the first epochs then go on unlearning that, and the topic's few
    positive stories are drowned before the model has learned anything else.
    Starting from the log-odds of each base rate ("init well", Karpathy's
    recipe) removes that phase. A label with no (or only) positives gets the
    log-odds of half an example, a finite value.
    """
    labels = np.asarray(labels, dtype="float64")
    if labels.ndim != 2 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty (examples, outputs) matrix, got shape {labels.shape}")
    half_example = 0.5 / len(labels)
    rates = np.clip(labels.mean(axis=0), half_example, 1 - half_example)
    return np.log(rates / (1 - rates)).astype("float32")


def build_rnn_model(
    *,
    head,
    num_outputs=1,
    input_shape=None,
    vocab_size=None,
    embedding_dim=64,
    mask_zero=True,
    embedding_dropout=0.0,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    activation="tanh",
    pooling="last",
    name="rnn_model",
):
    """Build (not compile) a recurrent model for one of the `HEADS`.

    Give either `input_shape` (time, features) for real-valued sequences, or
    `vocab_size` for integer token ids, which go through an `Embedding` of
    `embedding_dim`. With `mask_zero=True` id 0 is padding: the mask tells the
    RNN to skip it, which keeps cuDNN usable only with right ("post") padding.

    `embedding_dropout` drops embedding values in training: with a large
    vocabulary and few examples, the embedding is where a text model overfits.

    `pooling` summarises a sequence for the whole-sequence heads: "last" is
    the final state (the chapters' choice); "mean" averages the states of all
    real (unmasked) steps and "max" takes each feature's largest value over
    them; both let every word of a long text reach the output directly
    instead of through hundreds of recurrent steps.
    """
    _check_choice("pooling", pooling, POOLING)
    if pooling != "last" and head == "per_step":
        raise ValueError("pooling applies to whole-sequence heads, not head='per_step'")
    if (input_shape is None) == (vocab_size is None):
        raise ValueError("give exactly one of input_shape (real values) or vocab_size (token ids)")
    if vocab_size is not None:
        _check_positive("vocab_size", vocab_size)
        _check_positive("embedding_dim", embedding_dim)
        inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        x = layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, name="embedding")(inputs)
        if embedding_dropout:
            _check_fraction("embedding_dropout", embedding_dropout)
            x = layers.Dropout(embedding_dropout, name="embedding_dropout")(x)  # passes the mask on
    else:
        inputs = keras.Input(shape=tuple(input_shape), name="sequence")
        x = inputs
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        return_sequences=head == "per_step" or pooling != "last",
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        activation=activation,
    )
    if pooling == "mean":
        x = layers.GlobalAveragePooling1D(name="mean_over_time")(x)  # honours the mask
    elif pooling == "max":
        x = MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    outputs = output_head(x, head, num_outputs)
    return keras.Model(inputs, outputs, name=name)


def average_models(models, name="ensemble"):
    """One model whose output is the mean of `models`' outputs on the same input (an ensemble).

    The members keep their own layers (and masks); the result saves and
    loads as one `.keras` file and predicts like a single model. One member
    is returned as it is.
    """
    if not models:
        raise ValueError("average_models needs at least one model")
    if len(models) == 1:
        return models[0]
    first = models[0].inputs[0]
    inputs = keras.Input(shape=first.shape[1:], dtype=first.dtype, name=first.name)
    outputs = layers.Average(name="average")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="rnn_examples")
class MaskedGlobalMaxPooling1D(layers.Layer):
    """Max over time of the real (unmasked) steps: (batch, time, features) -> (batch, features).

    Keras' GlobalMaxPooling1D ignores masks, so padding (whose outputs the RNN
    sets to zero) could win the max and make a prediction depend on how much
    padding a batch has. Here padded steps are -inf before the max.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = keras.ops.where(keras.ops.expand_dims(mask, -1), inputs, float("-inf"))
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="rnn_examples")
class CharacterWordEncoder(layers.Layer):
    """Each word from its characters: (batch, words, chars) ids -> (batch, words, 2 * units).

    Chapter 004 §5.2.2 (word representations). A bidirectional `cell` reads
    the characters of every word (0 is padding) and its two final states are
    the word's vector, so a word never seen in training still gets one from
    its spelling, capitals, digits and suffix ("-ly", "-ed").

    Every word is one row of a (batch * words, chars) batch. The first
    character step is never masked: padding words would otherwise be empty
    sequences, which the cuDNN kernel refuses; their vectors are masked
    later by the word mask.
    """

    def __init__(self, num_chars, embedding_dim=25, units=25, cell="lstm", **kwargs):
        super().__init__(**kwargs)
        _check_choice("cell", cell, tuple(CELLS))
        self.num_chars, self.embedding_dim, self.units, self.cell = num_chars, embedding_dim, units, cell
        self.embedding = layers.Embedding(num_chars, embedding_dim, name="char_embedding")
        self.rnn = layers.Bidirectional(CELLS[cell](units), name=f"char_{cell}")

    def build(self, input_shape):
        self.embedding.build((None, input_shape[-1]))
        self.rnn.build((None, input_shape[-1], self.embedding_dim))

    def call(self, char_ids):
        shape = keras.ops.shape(char_ids)
        rows = keras.ops.reshape(char_ids, (-1, shape[2]))  # (batch * words, chars)
        first_step = keras.ops.expand_dims(keras.ops.arange(shape[2]) == 0, 0)
        mask = keras.ops.logical_or(keras.ops.not_equal(rows, 0), first_step)
        vectors = self.rnn(self.embedding(rows), mask=mask)  # (batch * words, 2 * units)
        return keras.ops.reshape(vectors, (shape[0], shape[1], 2 * self.units))

    def compute_mask(self, char_ids, mask=None):
        # A word is real when it has a character. Without a mask here, Concatenate would
        # treat these vectors as all-real and erase the word mask of the word embedding.
        return keras.ops.any(keras.ops.not_equal(char_ids, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], 2 * self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "num_chars": self.num_chars,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "cell": self.cell,
        }


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
