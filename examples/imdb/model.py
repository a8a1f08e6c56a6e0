"""The network: a review's token ids -> P(positive) (chapter 004 §5.3.3)."""

import keras

from common.models import output_head, pooled_text_features
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
    features = pooled_text_features(
        token_ids,
        vocab_size,
        embedding_dim=embedding_dim,
        embedding_dropout=embedding_dropout,
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        pooling=pooling,
        word_vectors=word_vectors,
        freeze_embeddings=freeze_embeddings,
    )
    probability = output_head(features, "binary")
    model = keras.Model(token_ids, probability, name=f"imdb_{cell}")
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model
