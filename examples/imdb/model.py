"""The network: a review's token ids -> P(positive) (chapter 004 §5.3.3)."""

import keras
from keras import layers

from common.models import output_head, pool_over_time, recurrent_stack
from common.training import adam


def build_model(
    vocab_size,
    *,
    embedding_dim=64,
    embedding_dropout=0.5,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=True,
    dropout=0.3,
    recurrent_dropout=0.0,
    pooling="max",
    word_vectors=None,
    freeze_embeddings=False,
    learning_rate=1e-3,
    clipnorm=None,
    weight_averaging=0.995,
):
    """Token ids (batch, words), 0-padded on the right -> P(positive) (batch, 1); compiled.

    Embedding(vocab_size, embedding_dim), started from `word_vectors` (vocab_size, embedding_dim) when given
    -> `num_layers` (bidirectional) recurrent layers of `units`: (batch, words, 2 x units) -> the largest
    value of each feature over the real words (`pooling`): (batch, 2 x units) -> sigmoid. With
    `weight_averaging` (a momentum; 0: off), validation and checkpoints use a moving average of the weights.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # mask_zero: the LSTM skips padding; with right padding it keeps the fused cuDNN kernel on GPU.
    embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
    x = layers.Dropout(embedding_dropout, name="embedding_dropout")(embedding(token_ids))  # keeps the mask
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
    probability = output_head(pool_over_time(x, pooling), "binary")
    model = keras.Model(token_ids, probability, name=f"imdb_{cell}")
    if word_vectors is not None:  # start from the word vectors; freezing must come before compile
        embedding.set_weights([word_vectors])
        embedding.trainable = not freeze_embeddings
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model
