"""The word-level language model: embedding -> recurrent layer(s) -> the next (and previous) word.

Chapter: 004 §6.1.1 (language models) at the level of words, and §7.3 (ELMo: a
bidirectional LSTM language model whose layers a task model starts from).

The output layer is what makes a word model expensive on a CPU: a softmax over
20,000 words costs 20,000 x embedding_dim multiply-adds per word, ten times the
recurrent layer here. So the model uses an *adaptive softmax* (Grave et al.
2017): the `head_size` most frequent words (85% of the words of the reviews
for 2,000) and one "rare word" cluster are scored against every prediction;
the other words are scored in a smaller space (`tail_dim`), and only for the
words that are rare. Probabilities stay exact and sum to one over the whole
vocabulary: P(rare word) = P(cluster) x P(word | cluster). The head's output
weights are the input embedding itself (tied: Press & Wolf 2017), reached from
each direction's states through a small projection. Everything is `keras.ops`.

(A sampled softmax, scoring each word against 512 words drawn from a Zipf law,
was tried first: its loss fell, but after a quarter of the reviews its full-
softmax perplexity was 1,891, worse than the unigram model's 868: the rare words,
rarely drawn, are rarely pushed down, and take the probability mass.)
"""

import keras
import numpy as np
from keras import layers, ops

from common.gradients import compiled
from common.models import recurrent_layer

PADDING, UNKNOWN = 0, 1  # TextVectorization's ids; every id from 2 on is a word
# On JAX, the share of a batch's predicted words scored against the rare words (see rare_log_likelihood): about
# 15% of the reviews' words are outside a 2,000-word head, so a quarter covers nearly every batch.
RARE_ROW_SHARE = 0.25


@keras.saving.register_keras_serializable(package="rnn_examples")
class WordLanguageModel(keras.Model):
    """Token ids (batch, time), 0-padded on the right -> prediction vectors (batch, time, directions, embedding_dim).

    Direction 0 (forward) reads the words before position t and predicts
    word t + 1; direction 1 (backward, with `bidirectional`) reads the words
    after t and predicts word t - 1. Each review starts from a zero state,
    as the classifier that is fine-tuned from this model reads it.
    `log_probabilities(vectors)` turns prediction vectors into log P over the
    vocabulary; `sum_log_likelihood` scores given words without it.
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim=128,
        units=128,
        cell="lstm",
        num_layers=1,
        bidirectional=True,
        dropout=0.1,
        head_size=2000,
        tail_dim=32,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if bidirectional and num_layers != 1:
            # A second layer over a bidirectional one would let the forward half see the word it predicts.
            raise ValueError(
                "a bidirectional language model has one recurrent layer; use --layers 1 or --no-bidirectional"
            )
        if head_size < 2:
            raise ValueError(f"head_size must be at least 2 (padding and the unknown word), got {head_size}")
        self.vocab_size, self.embedding_dim, self.units, self.cell = vocab_size, embedding_dim, units, cell
        self.num_layers, self.bidirectional, self.dropout_rate = num_layers, bidirectional, dropout
        self.head_size, self.tail_dim = min(head_size, vocab_size), tail_dim
        self.tail_size = vocab_size - self.head_size
        self.directions = 2 if bidirectional else 1
        # mask_zero: the recurrent layer skips padding; with right padding it keeps the fused cuDNN kernel on GPU.
        self.embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
        self.input_dropout = layers.Dropout(dropout, name="embedding_dropout")
        # The same layers, with the same names, as the classifier that starts from this model (examples/imdb).
        self.recurrent = [
            recurrent_layer(cell, units, return_sequences=True, bidirectional=bidirectional, name=f"{cell}_{index + 1}")
            for index in range(num_layers)
        ]
        self.output_dropout = layers.Dropout(dropout, name="output_dropout")
        self.projections = [
            layers.Dense(embedding_dim, name=f"projection_{direction}")
            for direction in ("forward", "backward")[: self.directions]
        ]
        self.output_bias = self.add_weight(shape=(vocab_size,), initializer="zeros", name="output_bias")
        self.cluster = layers.Dense(1, name="rare_word_cluster")  # the score of "a rare word comes next"
        self.tail_projection = layers.Dense(tail_dim, use_bias=False, name="tail_projection")
        self.tail_embeddings = self.add_weight(
            shape=(self.tail_size, tail_dim), initializer="random_uniform", name="tail_embeddings"
        )

    def build(self, input_shape=None):
        """Create every layer's weights, those used outside `call` (the output layers) included, so that a saved
        model loads its weights into a model built the same way."""
        self.embedding.build((None, None))
        width = self.embedding_dim
        for layer in self.recurrent:
            layer.build((None, None, width))
            width = self.units * self.directions
        for projection in self.projections:
            projection.build((None, self.units))
        self.cluster.build((None, self.embedding_dim))
        self.tail_projection.build((None, self.embedding_dim))
        self.built = True

    def states(self, token_ids, training=False):
        """(batch, time) ids -> (batch, time, directions * units) states of the top recurrent layer."""
        x = self.input_dropout(self.embedding(token_ids), training=training)
        for layer in self.recurrent:
            x = layer(x, training=training)
        return x

    def call(self, token_ids, training=False):
        states = self.output_dropout(self.states(token_ids, training), training=training)
        halves = ops.split(states, self.directions, axis=-1)  # forward states first, then backward (Bidirectional)
        return ops.stack([project(half) for project, half in zip(self.projections, halves, strict=True)], axis=2)

    def head_scores(self, vectors):
        """(n, embedding_dim) -> (n, head_size) scores of the frequent words (ids 1 .. head_size - 1: padding is
        never the answer), then of the rare-word cluster."""
        head = ops.matmul(vectors, ops.transpose(self.embedding.embeddings[1 : self.head_size]))
        head = head + self.output_bias[1 : self.head_size]
        return ops.concatenate([head, self.cluster(vectors)], axis=-1) if self.tail_size else head

    def tail_scores(self, vectors):
        """(n, embedding_dim) -> ((n, tail_size) scores of the rare words, (n, tail_dim) projected vectors)."""
        projected = self.tail_projection(vectors)
        return ops.matmul(projected, ops.transpose(self.tail_embeddings)) + self.output_bias[
            self.head_size :
        ], projected

    def log_probabilities(self, vectors):
        """(n, embedding_dim) -> (n, vocab_size) log P of every word (the whole distribution: for generation)."""
        head = ops.log_softmax(self.head_scores(vectors), axis=-1)
        padding = ops.full((ops.shape(vectors)[0], 1), -1e9)  # log P(padding): never
        if not self.tail_size:  # no rare words, no cluster column
            return ops.concatenate([padding, head], axis=-1)
        tail = head[:, -1:] + ops.log_softmax(self.tail_scores(vectors)[0], axis=-1)
        return ops.concatenate([padding, head[:, :-1], tail], axis=-1)

    def sum_log_likelihood(self, vectors, targets):
        """Summed log P(target) over the (n,) targets that are not padding, exactly, and how many were scored.

        A target's own score is computed from its own output row (a gather), not picked out of the (n, words)
        score matrix: indexing that matrix costs more on a CPU than computing it. Rare words are scored in the
        small space, and only for the targets that are rare.
        """
        weights = ops.cast(targets != PADDING, "float32")
        in_head = targets < self.head_size
        head_ids = ops.where(in_head, targets, 0)
        word_score = ops.sum(vectors * ops.take(self.embedding.embeddings, head_ids, axis=0), axis=-1)
        word_score = word_score + ops.take(self.output_bias, head_ids)
        target_score = ops.where(in_head, word_score, ops.squeeze(self.cluster(vectors), -1))
        total = ops.sum((target_score - ops.logsumexp(self.head_scores(vectors), axis=-1)) * weights)
        if self.tail_size:
            total = total + self.rare_log_likelihood(vectors, targets, ops.logical_not(in_head))
        return total, ops.sum(weights)

    def rare_log_likelihood(self, vectors, targets, is_rare):
        """Summed log P(word | rare-word cluster) of the rare targets (padding, 0, is in the head).

        Only the rare rows are scored against the tail. On TensorFlow and PyTorch they are picked with
        `ops.nonzero`, whose result has as many rows as there are rare words. JAX compiles for fixed shapes, so
        there a fixed `RARE_ROW_SHARE` of the rows is picked (the rare ones first, the others weighted 0), and a
        batch with more rare words than that falls back to scoring every row: exact either way.
        """
        if keras.backend.backend() != "jax":
            rows = ops.nonzero(is_rare)[0]
            return self.tail_log_likelihood(vectors, targets, rows, 1.0)
        count = vectors.shape[0]  # a number: JAX traces with fixed shapes
        picked = min(count, max(1, int(count * RARE_ROW_SHARE)))
        weights = ops.cast(is_rare, "float32")
        rows = ops.top_k(weights, picked, sorted=False)[1]
        return ops.cond(
            ops.sum(weights) <= picked,
            lambda: self.tail_log_likelihood(vectors, targets, rows, ops.take(weights, rows)),
            lambda: self.tail_log_likelihood(vectors, targets, ops.arange(count), weights),
        )

    def tail_log_likelihood(self, vectors, targets, rows, weights):
        """Summed log P(word | cluster) over `rows` of (vectors, targets), each weighted (0: not a rare word)."""
        rare_ids = ops.maximum(ops.take(targets, rows) - self.head_size, 0)  # a head word's row: any id, weight 0
        scores, projected = self.tail_scores(ops.take(vectors, rows, axis=0))
        rare_score = ops.sum(projected * ops.take(self.tail_embeddings, rare_ids, axis=0), axis=-1)
        rare_score = rare_score + ops.take(self.output_bias[self.head_size :], rare_ids)
        return ops.sum((rare_score - ops.logsumexp(scores, axis=-1)) * weights)

    def batch_log_likelihood(self, token_ids):
        """(directions, 2): each direction's summed log P of the words it predicts in one batch, and their
        number (see log_likelihood)."""
        vectors = self(token_ids, training=False)
        targets = direction_targets(token_ids, self.directions)
        scores = [
            ops.stack(
                self.sum_log_likelihood(
                    ops.reshape(vectors[:, :, direction], (-1, self.embedding_dim)),
                    ops.reshape(targets[:, :, direction], (-1,)),
                )
            )
            for direction in range(self.directions)
        ]
        return ops.stack(scores)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean cross-entropy per predicted word, both directions (exact: the adaptive softmax is a true softmax)."""
        targets = ops.reshape(direction_targets(x, self.directions), (-1,))  # 0 where nothing is predicted
        total, count = self.sum_log_likelihood(ops.reshape(y_pred, (-1, self.embedding_dim)), targets)
        return -total / ops.maximum(count, 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout_rate,
            "head_size": self.head_size,
            "tail_dim": self.tail_dim,
        }


def direction_targets(token_ids, directions):
    """(batch, time) ids -> (batch, time, directions) targets: the next word (forward), the previous word
    (backward); 0 (padding) where there is none, e.g. after a review's last word."""
    next_words = ops.pad(token_ids[:, 1:], [[0, 0], [0, 1]])  # right padding: 0 after the last word, and after 0
    previous_words = ops.pad(token_ids[:, :-1], [[0, 0], [1, 0]])
    previous_words = ops.where(token_ids == PADDING, PADDING, previous_words)  # a padded step predicts nothing
    return ops.stack([next_words, previous_words][:directions], axis=2)


def log_likelihood(model, batches):
    """Summed log P(word) and the number of predicted words, per direction, over `batches` of token ids:
    ((directions,) sums, (directions,) counts). Padding is never counted.

    Each batch is scored by one compiled function (TensorFlow, JAX): run step by step in eager mode, a
    recurrent layer over a 1,000-word review costs seconds per batch. PyTorch runs it eagerly.
    """
    score = compiled(model.batch_log_likelihood, model.variables)
    sums, counts = np.zeros(model.directions), np.zeros(model.directions, dtype="int64")
    for token_ids in batches:
        scores = ops.convert_to_numpy(score(token_ids))  # (directions, 2): sum, count
        sums += scores[:, 0]
        counts += scores[:, 1].astype("int64")
    return sums, counts


def perplexity(log_likelihood_sum, count):
    """exp(-mean log-likelihood per predicted word)."""
    return float(np.exp(-log_likelihood_sum / max(count, 1)))


def build_model(
    vocab_size,
    embedding_dim=128,
    units=128,
    cell="lstm",
    num_layers=1,
    bidirectional=True,
    dropout=0.1,
    head_size=2000,
    tail_dim=32,
    learning_rate=4e-3,
    clipnorm=1.0,
    decay_steps=None,
):
    """Token ids (batch, time), 0-padded on the right -> prediction vectors (batch, time, directions,
    embedding_dim): Embedding(vocab_size, embedding_dim) -> `num_layers` (bidirectional) recurrent layers of
    `units` -> each direction's projection; an adaptive softmax (`head_size` frequent words, the rest in
    `tail_dim`) turns them into log P(next word) and, backward, log P(previous word). See WordLanguageModel.

    Compiled, and built so that its weights exist. With `decay_steps`,
    the learning rate falls from `learning_rate` to 5 % of it over that many steps (cosine): large steps while
    the model is far from good, small ones to settle at the end."""
    model = WordLanguageModel(
        vocab_size, embedding_dim, units, cell, num_layers, bidirectional, dropout, head_size, tail_dim
    )
    model.build((None, None))
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm))
    return model


def encoder(model):
    """token ids (batch, time) -> the top layer's states (batch, time, directions * units), as a functional model
    of plain Keras layers (Embedding, the recurrent layers): what a classifier starts from (examples/imdb)."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = model.embedding(token_ids)
    for layer in model.recurrent:
        x = layer(x)
    return keras.Model(token_ids, x, name="language_model_encoder")
