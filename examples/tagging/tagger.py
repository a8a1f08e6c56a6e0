"""The tagger's own layers (the character word encoder, word dropout), and tagging sentences with it.

Chapter: 004 §5.2.2 (word representations). The network that uses these
layers: model.py. Used by train.py, which trains it, and predict.py, which
loads it.
"""

import keras
import numpy as np
from keras import layers

from common.models import CELLS
from common.text import padded_length

CHAR_ENCODERS = ("rnn", "cnn")
CHAR_WINDOW = 3  # characters the convolution reads at a time (Ma and Hovy 2016)


@keras.saving.register_keras_serializable(package="rnn_examples")
class CharacterWordEncoder(layers.Layer):
    """Each word from its characters: (batch, words, chars) ids -> (batch, words, 2 * units).

    Chapter 004 §5.2.2 (word representations). With `encoder="rnn"` a
    bidirectional `cell` reads the characters of every word (0 is padding)
    and its two final states are the word's vector, so a word never seen in
    training still gets one from its spelling, capitals, digits and suffix
    ("-ly", "-ed"). With `encoder="cnn"` a convolution reads every window of
    CHAR_WINDOW characters with 2 * units filters, and each filter keeps its
    largest response over the word (max-pooling): it finds the same
    capitals and suffixes without a step-by-step loop over the characters
    (the LSTM encoder is about a third of a training step on a CPU; README).

    Every word is one row of a (batch * words, chars) batch. For the RNN the
    first character step is never masked: padding words would otherwise be
    empty sequences, which the cuDNN kernel refuses; their vectors are
    masked later by the word mask.
    """

    def __init__(self, num_chars, embedding_dim=25, units=25, cell="lstm", encoder="rnn", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell={cell!r} is not one of {', '.join(map(repr, CELLS))}")
        if encoder not in CHAR_ENCODERS:
            raise ValueError(f"encoder={encoder!r} is not one of {', '.join(map(repr, CHAR_ENCODERS))}")
        self.num_chars, self.embedding_dim, self.units = num_chars, embedding_dim, units
        self.cell, self.encoder = cell, encoder
        self.embedding = layers.Embedding(num_chars, embedding_dim, name="char_embedding")
        if encoder == "cnn":
            self.conv = layers.Conv1D(2 * units, CHAR_WINDOW, padding="same", activation="relu", name="char_cnn")
        else:
            self.rnn = layers.Bidirectional(CELLS[cell](units), name=f"char_{cell}")

    def build(self, input_shape):
        self.embedding.build((None, input_shape[-1]))
        (self.conv if self.encoder == "cnn" else self.rnn).build((None, input_shape[-1], self.embedding_dim))

    def call(self, char_ids):
        shape = keras.ops.shape(char_ids)
        rows = keras.ops.reshape(char_ids, (-1, shape[2]))  # (batch * words, chars)
        vectors = self._convolve(rows) if self.encoder == "cnn" else self._read(rows)  # (batch * words, 2 * units)
        return keras.ops.reshape(vectors, (shape[0], shape[1], 2 * self.units))

    def _read(self, rows):
        first_step = keras.ops.expand_dims(keras.ops.arange(keras.ops.shape(rows)[1]) == 0, 0)
        mask = keras.ops.logical_or(keras.ops.not_equal(rows, 0), first_step)
        return self.rnn(self.embedding(rows), mask=mask)

    def _convolve(self, rows):
        real = keras.ops.cast(keras.ops.not_equal(rows, 0), self.compute_dtype)[..., None]
        # Padding characters read as zeros, as the convolution's own padding at the word's start does, so a
        # word's vector does not depend on how wide its batch is padded; the ReLU responses are >= 0, so
        # zeroing them at padding leaves each filter's maximum over the real characters as it was.
        responses = self.conv(self.embedding(rows) * real)
        return keras.ops.max(responses * real, axis=1)

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
            "encoder": self.encoder,
        }


@keras.saving.register_keras_serializable(package="rnn_examples")
class WordDropout(layers.Layer):
    """In training, each real word id becomes the unknown word's id with probability `rate`; padding stays 0.

    Chapter 004 §5.2.2 (word representations). An entity never seen in
    training reaches the tagger as the unknown word, whose vector is trained
    only on the rare words; the tagger must then go by its spelling and its
    neighbours. Reading a share of the known words as unknown trains exactly
    that (Lample et al. 2016 do it to singletons). At prediction time it
    does nothing.
    """

    def __init__(self, rate, unknown_id, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.unknown_id, self.seed = rate, unknown_id, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, word_ids, training=False):
        if not training or not self.rate:
            return word_ids
        dropped = keras.random.uniform(keras.ops.shape(word_ids), seed=self.seed_generator) < self.rate
        dropped = keras.ops.logical_and(dropped, keras.ops.not_equal(word_ids, 0))
        return keras.ops.where(dropped, keras.ops.full_like(word_ids, self.unknown_id), word_ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "unknown_id": self.unknown_id, "seed": self.seed}


def pad_batch(arrays):
    """Same-rank int arrays of different shapes -> one 0-padded (right) array with a leading batch axis (on JAX
    padded further, to one of a few shapes: common.text.FEW_SHAPES)."""
    shape = [padded_length(int(longest)) for longest in np.max([a.shape for a in arrays], axis=0)]
    batch = np.zeros((len(arrays), *shape), dtype=np.int32)
    for row, array in enumerate(arrays):
        batch[(row, *(slice(0, n) for n in array.shape))] = array
    return batch


def tag_sentences(model, vocabularies, sentences, pos_sentences=None, batch_size=64):
    """The predicted tags (strings; IOB2 for chunks and entities) of each sentence (a list of words), in order.

    A model that reads POS tags (chunking) needs `pos_sentences`, one tag per word.
    """
    if len(model.inputs) == 3 and pos_sentences is None:
        raise ValueError("this model reads POS tags: give pos_sentences (e.g. from the POS tagger)")
    pos_sentences = pos_sentences if len(model.inputs) == 3 else [None] * len(sentences)
    # Shortest first, so that each batch is padded only to sentences of about its own length.
    order = sorted(range(len(sentences)), key=lambda index: len(sentences[index]))
    predictions = [None] * len(sentences)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = [vocabularies.encode_inputs(sentences[i], pos_sentences[i]) for i in batch]
        inputs = tuple(pad_batch(list(parts)) for parts in zip(*encoded, strict=True))
        best = np.asarray(model.predict_on_batch(inputs))
        best = best if best.ndim == 2 else best.argmax(-1)  # a CRF tagger gives the Viterbi path's tag ids
        for row, index in enumerate(batch):
            predictions[index] = vocabularies.decode_tags(best[row, : len(sentences[index])])
    return predictions
