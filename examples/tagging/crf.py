"""A linear-chain conditional random field (CRF): the output layer of the field's reference tagger (BiLSTM-CRF).

Chapter: 004 §6.1.4 (named-entity recognition) and §5.2.3 (the tagger's
output layer). A softmax per word chooses each tag on its own, so nothing
stops it from writing `O I-PER` (an entity that continues without having
started) or `B-PER I-ORG`. A CRF scores whole tag sequences instead:

    score(y) = start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_t, y_t+1] + end[y_n]

where the emissions are the network's per-word tag scores and the
transition, start and end scores are learned. Training maximises the
probability of the true sequence, exp(score(y)) / Z, where the partition
function Z sums over every possible sequence (the forward algorithm, in log
space); prediction is the best-scoring sequence (the Viterbi algorithm).
Both are dynamic programmes over time, written with `keras.ops.scan` so
that they run on any Keras backend.

Masks are (batch, words) booleans with the real words first (right padding)
and at least one real word per sentence; padded positions change neither
the likelihood nor the decoded tags of the real words.
"""

import itertools

import keras
import numpy as np
from keras import layers, ops

from conll import breaks_iob

FORBIDDEN = -1e4  # added to the score of a forbidden move: exp(-1e4) is 0, and float32 sums stay exact enough


def _time_major(emissions, mask):
    """(words + 1, batch, tags + 1): each word's tag scores and, last, 1.0 for a real word, 0.0 for padding.

    `ops.scan` walks the first axis. Scores and mask travel as one tensor
    because Keras 3.15's TensorFlow `scan` fails on several inputs of
    unknown length (AttributeError on a None static shape). One padded word
    is added at the end: a batch of one-word sentences would otherwise
    leave the scans nothing to walk, which TensorFlow's graph mode refuses.
    """
    joined = ops.concatenate([emissions, ops.cast(mask, emissions.dtype)[..., None]], axis=-1)
    joined = ops.pad(joined, ((0, 0), (0, 1), (0, 0)))  # the extra word: scores 0, not real
    return ops.transpose(joined, (1, 0, 2))


def _split(step):
    """One word of `_time_major`: (batch, tags) scores and (batch, 1) "is real" booleans."""
    return step[:, :-1], step[:, -1:] > 0.5


def sequence_score(emissions, tags, mask, transitions, start, end):
    """(batch,) score of the given tag sequences: emissions of their tags plus their transition scores."""
    real = ops.cast(mask, emissions.dtype)
    tags = ops.cast(tags, "int32")
    emitted = ops.sum(ops.squeeze(ops.take_along_axis(emissions, tags[..., None], axis=-1), -1) * real, axis=1)
    num_tags = ops.shape(transitions)[0]
    # transitions[y_t, y_t+1], counted where the word y_t+1 is real (then y_t is real too)
    moves = ops.take(ops.reshape(transitions, (-1,)), tags[:, :-1] * num_tags + tags[:, 1:])
    moved = ops.sum(moves * real[:, 1:], axis=1)
    last_word = ops.sum(ops.cast(mask, "int32"), axis=1) - 1
    last_tags = ops.squeeze(ops.take_along_axis(tags, last_word[:, None], axis=1), 1)
    return emitted + moved + ops.take(start, tags[:, 0]) + ops.take(end, last_tags)


def log_partition(emissions, mask, transitions, start, end):
    """(batch,) log Z: the log of the summed exp(score) of every tag sequence (the forward algorithm)."""
    steps = _time_major(emissions, mask)

    def forward(alpha, step):
        # alpha[b, j]: log of the summed scores of every sequence so far that ends in tag j
        scores, is_real = _split(step)
        moved = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + scores
        alpha = ops.where(is_real, moved, alpha)  # a padded word leaves alpha as it was
        return alpha, alpha  # (keras' scan wants outputs shaped like the carry; they are not used)

    alpha, _ = ops.scan(forward, start + _split(steps[0])[0], steps[1:])
    return ops.logsumexp(alpha + end, axis=1)


def log_likelihood(emissions, tags, mask, transitions, start, end):
    """(batch,) log p(tags | words) under the CRF: score(tags) - log Z."""
    return sequence_score(emissions, tags, mask, transitions, start, end) - log_partition(
        emissions, mask, transitions, start, end
    )


def viterbi_decode(emissions, mask, transitions, start, end):
    """((batch, words) int32 best tag sequences, (batch,) their scores); padded positions repeat the last tag."""
    steps = _time_major(emissions, mask)
    first = start + _split(steps[0])[0]
    stay = ops.broadcast_to(ops.arange(ops.shape(transitions)[0], dtype="int32")[None], ops.shape(first))

    def forward(carry, step):
        best, _ = carry  # best[b, j]: the score of the best sequence so far that ends in tag j
        scores, is_real = _split(step)
        candidates = best[:, :, None] + transitions[None]  # (batch, from tag, to tag)
        came_from = ops.cast(ops.argmax(candidates, axis=1), "int32")
        best = ops.where(is_real, ops.max(candidates, axis=1) + scores, best)
        came_from = ops.where(is_real, came_from, stay)  # a padded word keeps the tag it was given
        return (best, came_from), (best, came_from)

    (best, _), (_, came_from) = ops.scan(forward, (first, stay), steps[1:])
    final = best + end
    last = ops.cast(ops.argmax(final, axis=1), "int32")

    def backward(tag, pointers):
        previous = ops.squeeze(ops.take_along_axis(pointers, tag[:, None], axis=1), 1)
        return previous, previous

    _, earlier = ops.scan(backward, last, came_from, reverse=True)  # earlier[t]: the tag of word t
    path = ops.concatenate([earlier, last[None]], axis=0)[:-1]  # without the added padded word
    return ops.transpose(path, (1, 0)), ops.max(final, axis=1)


def iob_constraints(tags, sequences=()):
    """(forbidden moves, forbidden first tags) of IOB2 or IOBES tags, as lists of index pairs and of indices.

    An I-X tag continues an entity or chunk of type X, so it may follow only
    B-X or I-X, and no sentence starts with it; in IOBES (tags with S- or E-)
    E-X too, and B-X or I-X must be followed by I-X or E-X (`breaks_iob`). What the training tag
    `sequences` do stays allowed even where the rule forbids it (CoNLL-2002
    Spanish has one `B-X I-Y` and one sentence opening with I-X in each
    file), so that no training sentence is impossible for the CRF: its
    loss would hold the fixed penalty. Tags without an I- prefix (part of
    speech) give no constraint.
    """
    index = {tag: i for i, tag in enumerate(tags)}
    iobes = any(tag[:2] in ("S-", "E-") for tag in tags)
    seen_moves = {move for sequence in sequences for move in itertools.pairwise(sequence)}
    seen_starts = {sequence[0] for sequence in sequences if len(sequence)}
    moves = [
        [index[previous], index[tag]]
        for previous in tags
        for tag in tags
        if breaks_iob(previous, tag, iobes) and (previous, tag) not in seen_moves
    ]
    return moves, [index[tag] for tag in tags if breaks_iob("O", tag, iobes) and tag not in seen_starts]


@keras.saving.register_keras_serializable(package="rnn_examples")
class CRF(layers.Layer):
    """The CRF's learned scores: transitions[i, j] for tag i followed by tag j, start[j] and end[j].

    The layer passes the per-word tag scores (emissions) through unchanged,
    mask included: the network stays an ordinary Keras model whose output
    is the emissions, and `CRFTagger` turns them into a loss (the negative
    log-likelihood) and into predictions (Viterbi) with these scores.

    `forbidden_moves` ([from, to] tag index pairs) and `forbidden_starts`
    (tag indices), e.g. from `iob_constraints`, get a score of FORBIDDEN
    added, fixed rather than learned: the CRF never decodes `O I-PER`, and
    training spends nothing on learning that it should not.
    """

    def __init__(self, num_tags, forbidden_moves=(), forbidden_starts=(), **kwargs):
        super().__init__(**kwargs)
        self.num_tags = num_tags
        self.forbidden_moves = [list(map(int, move)) for move in forbidden_moves]
        self.forbidden_starts = [int(tag) for tag in forbidden_starts]
        self.move_penalty = np.zeros((num_tags, num_tags), dtype="float32")
        for previous, tag in self.forbidden_moves:
            self.move_penalty[previous, tag] = FORBIDDEN
        self.start_penalty = np.zeros(num_tags, dtype="float32")
        self.start_penalty[self.forbidden_starts] = FORBIDDEN
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] != self.num_tags:
            raise ValueError(f"the CRF has {self.num_tags} tags but receives {input_shape[-1]} scores per word")
        # Zeros: an untrained CRF then decodes each word's best emission, as a softmax tagger would. Random
        # transitions (glorot) outweigh the small emissions of the first steps, and on a small corpus the
        # validation F1 stood still for the epochs that early stopping waits (measured in tests/test_tagging.py).
        for name, shape in (
            ("transitions", (self.num_tags, self.num_tags)),
            ("start", (self.num_tags,)),
            ("end", (self.num_tags,)),
        ):
            setattr(self, name, self.add_weight(shape=shape, initializer="zeros", name=name))

    def call(self, emissions):
        return emissions

    def scores(self):
        """(transitions, start, end) as decoding and the likelihood use them: learned, plus the fixed penalties."""
        return self.transitions + self.move_penalty, self.start + self.start_penalty, self.end

    def log_likelihood(self, emissions, tags, mask):
        return log_likelihood(emissions, tags, mask, *self.scores())

    def decode(self, emissions, mask):
        return viterbi_decode(emissions, mask, *self.scores())[0]

    def get_config(self):
        return {
            **super().get_config(),
            "num_tags": self.num_tags,
            "forbidden_moves": self.forbidden_moves,
            "forbidden_starts": self.forbidden_starts,
        }


@keras.saving.register_keras_serializable(package="rnn_examples")
class CRFTagger(keras.Model):
    """A tagger whose last layer is a `CRF` named "crf": trained on the CRF's negative log-likelihood, and
    `predict` gives each word's tag id from the Viterbi path (batch, words) instead of per-word scores.

    Built like a functional model, `CRFTagger(inputs, emissions)`. The first
    input is the word ids, 0 for padding: the mask of real words comes
    from it.
    """

    def word_mask(self, x):
        word_ids = x[0] if isinstance(x, (list, tuple)) else x
        return ops.not_equal(word_ids, 0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The negative log-likelihood per word (summed over sentences, divided by their words), so that
        # its scale, and with it the learning rate and gradient clipping, match the per-word softmax loss.
        mask = self.word_mask(x)
        log_likelihood = self.get_layer("crf").log_likelihood(y_pred, y, mask)
        words = ops.sum(ops.cast(mask, y_pred.dtype))
        loss = -ops.sum(log_likelihood) / ops.maximum(words, 1.0)
        return loss + ops.sum(self.losses) if self.losses else loss

    def predict_step(self, *arguments):
        """The Viterbi path's tag ids. JAX's trainer passes the weights in (state, data) and expects them back:
        its compiled step must not read the variables, which would be frozen at their values when traced."""
        if keras.backend.backend() != "jax":
            (data,) = arguments
            x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            return self.get_layer("crf").decode(self(x, training=False), self.word_mask(x))
        state, data = arguments
        emissions, non_trainable = super().predict_step(state, data)
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = [*self.trainable_variables, *self.non_trainable_variables]
        weights = list(zip(variables, [*state[0], *state[1]], strict=True))
        with keras.StatelessScope(state_mapping=weights):
            return self.get_layer("crf").decode(emissions, self.word_mask(x)), non_trainable
