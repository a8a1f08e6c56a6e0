"""One ensemble member's network: a story's token ids -> each topic's probability (chapter 001 §4, 004 §5.3.3)."""

import keras
import numpy as np
from keras import layers, ops

from common.models import output_head, pooled_text_features
from common.text import TfIdf
from common.training import adam

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] before the logarithm, as Keras' own loss does


@keras.saving.register_keras_serializable(package="rnn_examples")
class TopicWeightedCrossentropy(keras.losses.Loss):
    """Binary cross-entropy of each topic's probability, with the positive stories of topic t weighted w_t:

        loss = mean_t( -(w_t * y_t * log p_t + (1 - y_t) * log(1 - p_t)) )

    With every w_t = 1 this is Keras' binary cross-entropy. Weights above 1 on
    the rare topics (ensemble.rare_topic_weights) make a missed rare topic cost
    more than a missed frequent one, so the model answers "yes" to a rare
    topic more readily: one shared threshold then serves rare and frequent
    topics better (the gap to TF-IDF is in the rare topics' recall).
    """

    def __init__(self, positive_weights, name="topic_weighted_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(weight) for weight in positive_weights]

    def call(self, y_true, y_pred):
        probabilities = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        labels = ops.cast(y_true, probabilities.dtype)
        weights = ops.convert_to_tensor(self.positive_weights, dtype=probabilities.dtype)
        per_topic = weights * labels * ops.log(probabilities) + (1.0 - labels) * ops.log(1.0 - probabilities)
        return -ops.mean(per_topic, axis=-1)

    def get_config(self):
        return {**super().get_config(), "positive_weights": self.positive_weights}


def build_model(
    vocab_size,
    num_topics,
    *,
    embedding_dim=64,
    embedding_dropout=0.3,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=True,
    dropout=0.2,
    recurrent_dropout=0.0,
    pooling="max",
    word_vectors=None,
    freeze_embeddings=False,
    output_biases=None,
    positive_weights=None,
    learning_rate=4e-3,
    clipnorm=None,
    weight_averaging=0.995,
    name="reuters",
):
    """Token ids (batch, words), 0-padded on the right -> (batch, num_topics) probabilities; compiled.

    Embedding(vocab_size, embedding_dim), started from `word_vectors` when given -> `num_layers`
    (bidirectional) recurrent layers of `units`: (batch, words, 2 x units) -> the largest value of each
    feature over the real words: (batch, 2 x units) -> one independent sigmoid per topic, whose biases start
    at `output_biases` (ensemble.base_rate_biases) when given. With `weight_averaging` (a momentum; 0: off),
    validation and checkpoints use a moving average of the weights. `positive_weights` (one per topic; None:
    all 1) weigh each topic's positive stories in the loss (TopicWeightedCrossentropy).
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
    probabilities = output_head(features, "multilabel", num_topics)
    model = keras.Model(token_ids, probabilities, name=name)
    if output_biases is not None:  # each topic starts at its share of training stories, not at 50%
        output = model.get_layer("output")
        output.set_weights([output.get_weights()[0], output_biases])
    model.compile(
        optimizer=adam(learning_rate, clipnorm, weight_averaging),
        # one independent yes/no per topic
        loss="binary_crossentropy" if positive_weights is None else TopicWeightedCrossentropy(positive_weights),
        metrics=[keras.metrics.F1Score(average="micro", threshold=0.5, name="micro_f1")],
    )
    return model


def logistic_regression_model(idf, coefficients, intercepts, name="tf_idf_logistic_regression"):
    """Token ids (batch, words) -> (batch, topics) probabilities of a linear model on the story's TF-IDF vector.

    The weights come from elsewhere (scikit-learn's logistic regression, fitted on common.text.tf_idf_matrix of
    the same ids: `coefficients` (topics, ids), `intercepts` (topics,)), so the baseline becomes a Keras model
    that saves, loads and averages with the recurrent networks; nothing here is trained.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    tf_idf = TfIdf(len(idf), name="tf_idf")
    output = layers.Dense(len(intercepts), activation="sigmoid", dtype="float32", name="output")
    model = keras.Model(token_ids, output(tf_idf(token_ids)), name=name)
    tf_idf.set_weights([np.asarray(idf, dtype="float32")])
    output.set_weights([np.asarray(coefficients, dtype="float32").T, np.asarray(intercepts, dtype="float32")])
    return model
