"""The network: characters -> the next character's scores at every position (chapter 004 §5.1.2)."""

import keras
from keras import layers

from common.models import output_head, recurrent_stack
from common.training import adam


def build_model(
    vocab_size,
    *,
    embedding_dim=64,
    cell="gru",
    units=384,
    num_layers=2,
    dropout=0.2,
    recurrent_dropout=0.0,
    learning_rate=2e-3,
    clipnorm=5.0,
):
    """Character ids (batch, time) -> next-character logits at every step (batch, time, vocab_size); compiled.

    Embedding(vocab_size, embedding_dim) -> `num_layers` recurrent layers of `units`, each returning every
    step's state (batch, time, units) -> Dense(vocab_size) at every step.
    """
    char_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(char_ids)  # no padding: every id is a char
    x = recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        return_sequences=True,  # a prediction at every position, not only the last
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
    )
    logits = output_head(x, "per_step", vocab_size)
    model = keras.Model(char_ids, logits, name=f"char_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm),
        # from_logits: the softmax is folded into the loss, which is more stable than softmax then log.
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model
