"""The network: an encoder-decoder with attention, trained with teacher forcing (chapter 004 §6.1.2, §8.2).

The encoder, a bidirectional RNN, reads the letters; its final states start the decoder RNN, which reads
the true previous phonemes (START, p1, p2, ...) and at every step predicts the next (p1, p2, ..., END).
With attention, each decoder output queries all encoder outputs; the weighted sum ("context") joins the
decoder output before the prediction. Without it (`attention="none"`) the decoder knows the word only
through the state it started from, the plain encoder-decoder of §6.1.2. Decoding one phoneme at a time
with these layers: g2p.py.
"""

import keras
from keras import layers

from common.models import output_head, recurrent_layer, recurrent_stack
from common.training import adam

ATTENTION = ("additive", "dot", "none")


@keras.saving.register_keras_serializable(package="rnn_examples")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against an integer target with label smoothing (Szegedy et al. 2016): the
    target is (1 - smoothing) on the true class plus smoothing spread evenly over all K classes, so

        loss = (1 - smoothing) * -log p[true] + smoothing * mean_k(-log p[k]).

    Keras' sparse cross-entropy has no smoothing (the dense one does, but needs one-hot targets). Smoothing
    keeps the model from growing over-confident on the phonemes it gets wrong; masked (padded) steps are
    left out by Keras, as for the built-in losses.
    """

    def __init__(self, smoothing=0.1, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        log_probabilities = keras.ops.log_softmax(y_pred, axis=-1)
        true_class = keras.ops.one_hot(keras.ops.cast(y_true, "int32"), keras.ops.shape(y_pred)[-1])
        true_term = -keras.ops.sum(true_class * log_probabilities, axis=-1)
        uniform_term = -keras.ops.mean(log_probabilities, axis=-1)
        return (1.0 - self.smoothing) * true_term + self.smoothing * uniform_term

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def _loss(label_smoothing):
    if label_smoothing:
        return SmoothedSparseCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _attention_layer(attention):
    # additive: Bahdanau's score v.tanh(W q + U k); dot: Luong's score q.k (both Keras' built-in layers).
    return {"additive": layers.AdditiveAttention, "dot": layers.Attention}[attention](name="attention")


def build_model(
    letters_size,
    phonemes_size,
    *,
    attention="additive",
    cell="gru",
    units=128,
    encoder_layers=2,
    embedding_dim=64,
    dropout=0.3,
    learning_rate=2e-3,
    clipnorm=1.0,
    label_smoothing=0.0,
    weight_averaging=0.0,
):
    """(letters, previous phonemes) -> (batch, phoneme steps, phonemes_size) logits of the next phoneme; compiled
    (its accuracy: of each next phoneme, teacher-forced). `label_smoothing` (0: off) trains against smoothed
    targets (`SmoothedSparseCrossentropy`); `weight_averaging` (a momentum; 0: off) keeps a moving average of the
    weights for `Run.callbacks(averaged_weights=True)` to validate and save. `encoder_layers` stacks that many
    bidirectional layers in the encoder; the last one (named "encoder") gives the memory and the decoder's start.

    Shapes: letters (batch, T) and previous phonemes (batch, S), 0-padded on
    the right; encoder outputs (batch, T, 2 * units); decoder (batch, S, 2 * units).
    """
    if attention not in ATTENTION:
        raise ValueError(f"attention={attention!r} is not one of {', '.join(ATTENTION)}")
    letters = keras.Input((None,), dtype="int32", name="letters")
    previous = keras.Input((None,), dtype="int32", name="previous_phonemes")

    # --- Encoder: letters -> one vector per letter, and final states (forward and backward) ---
    x = layers.Embedding(letters_size, embedding_dim, mask_zero=True, name="letter_embedding")(letters)
    if encoder_layers > 1:  # the lower layers (encoder_1, ...), each reading the one below's per-letter vectors
        x = recurrent_stack(
            x,
            cell,
            units,
            encoder_layers - 1,
            return_sequences=True,
            bidirectional=True,
            dropout=dropout,
            name="encoder",
        )
    encoder = recurrent_layer(
        cell, units, return_sequences=True, return_state=True, bidirectional=True, dropout=dropout, name="encoder"
    )
    memory, *states = encoder(x, training=None)
    half = len(states) // 2  # [h_forward(, c_forward), h_backward(, c_backward)]
    start_state = [layers.Concatenate(name=f"start_state_{i}")([states[i], states[half + i]]) for i in range(half)]

    # --- Decoder: previous phoneme -> next phoneme, starting from the encoder's final state ---
    y = layers.Embedding(phonemes_size, embedding_dim, mask_zero=True, name="phoneme_embedding")(previous)
    decoder = recurrent_layer(
        cell, 2 * units, return_sequences=True, return_state=True, dropout=dropout, name="decoder"
    )
    decoded, *_ = decoder(y, initial_state=start_state)
    if attention != "none":
        # Masks: padded letters get no weight; padded phoneme steps are left out of the loss.
        letter_mask, phoneme_mask = keras.ops.not_equal(letters, 0), keras.ops.not_equal(previous, 0)
        context = _attention_layer(attention)([decoded, memory], mask=[phoneme_mask, letter_mask])
        decoded = layers.Concatenate(name="with_context")([decoded, context])
    # Luong's "attentional hidden state" tanh(W [h; context]), then logits over the phonemes.
    combined = layers.Dense(2 * units, activation="tanh", name="combine")(decoded)
    combined = layers.Dropout(dropout, name="combine_dropout")(combined)
    logits = output_head(combined, "per_step", phonemes_size)
    model = keras.Model([letters, previous], logits, name=f"g2p_{attention}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging),
        loss=_loss(label_smoothing),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model
