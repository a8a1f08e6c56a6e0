"""The recurrent blocks every example builds its network from: SimpleRNN / LSTM / GRU layers, stacked,
bidirectional, masked, and the output heads and poolings over time that go on top.

Chapter: 000 §2 (RNN, LSTM, GRU) and 004 §4.3 (bidirectional and deep RNNs).

Each example writes its own network, in a few lines of functional Keras in
its model.py, from these blocks. Their defaults keep LSTM and GRU layers
eligible for the fused cuDNN kernel on GPU (tests/test_models.py checks
Keras' conditions for it).
"""

import keras
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
    return_state=False,
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

    `return_state` also returns the final states (an encoder hands them to a
    decoder, chapter 004 §6.1.2): [outputs, *states], LSTM's states being h
    and c; bidirectional gives the forward layer's states, then the backward's.
    """
    _check_choice("cell", cell, tuple(CELLS))
    _check_positive("units", units)
    _check_fraction("dropout", dropout)
    _check_fraction("recurrent_dropout", recurrent_dropout)
    layer = CELLS[cell](
        units,
        activation=activation,
        return_sequences=return_sequences,
        return_state=return_state,
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
    name=None,
):
    """Apply `num_layers` stacked recurrent layers to tensor `x` (chapter 004 §4.3.2), named `{name}_1`,
    `{name}_2`, ... (`name` defaults to the cell's).

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
            name=f"{name or cell}_{index + 1}",
        )(x)
    return x


def output_head(x, head, num_outputs=1, name="output"):
    """The output layer for a task (named `name`; a model with two heads names them); outputs are float32 even
    under mixed precision.

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
    return layers.Dense(units, activation=activation, dtype="float32", name=name)(x)


def pool_over_time(x, pooling):
    """Summarise a sequence of states (batch, time, features) -> (batch, features) over its real steps.

    Chapter 004 §5.3.3. "last" is for a recurrent layer that returned only its
    final state (the chapters' choice), so `x` is passed through; "mean"
    averages the states of all real (unmasked) steps and "max" takes each
    feature's largest value over them: both let every word of a long text
    reach the output directly instead of through hundreds of recurrent steps.
    """
    _check_choice("pooling", pooling, POOLING)
    if pooling == "mean":
        return layers.GlobalAveragePooling1D(name="mean_over_time")(x)  # honours the mask
    if pooling == "max":
        return MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    return x


def pooled_text_features(
    token_ids,
    vocab_size,
    *,
    embedding_dim,
    embedding_dropout,
    cell,
    units,
    num_layers,
    bidirectional,
    dropout,
    recurrent_dropout,
    pooling,
    word_vectors=None,
    freeze_embeddings=False,
):
    """The text classifiers' body (imdb, reuters): token ids (batch, words), 0-padded on the right -> one
    vector per text, (batch, 2 x units) when bidirectional.

    Embedding(vocab_size, embedding_dim) named "embedding", started from `word_vectors` (vocab_size,
    embedding_dim) when given and then frozen if `freeze_embeddings` -> dropout -> `num_layers` recurrent
    layers -> pooled over the real words (`pool_over_time`). Pretrained language models (common.pretrained)
    and explanations (common.explain) find the layers by these names.
    """
    # mask_zero: the RNN skips padding; with right padding it keeps the fused cuDNN kernel on GPU.
    embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
    x = layers.Dropout(embedding_dropout, name="embedding_dropout")(embedding(token_ids))  # keeps the mask
    if word_vectors is not None:  # the call above built the layer; freezing must come before compile
        embedding.set_weights([word_vectors])
        embedding.trainable = not freeze_embeddings
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        return_sequences=pooling != "last",  # mean or max pooling reads every step's state
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    )
    return pool_over_time(x, pooling)


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
