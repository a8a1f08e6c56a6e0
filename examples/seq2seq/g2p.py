"""Decoding with the trained encoder-decoder (model.py) one phoneme at a time: greedy and beam search.

Chapter 004 §6.1.2 (encoder-decoder) and §8.2 (attention).

The encoder runs once per word; then the same trained decoder layers take
one step per output phoneme, carrying their state, so a phoneme costs the
same whatever its position (nothing is re-run over the prefix). Teacher
forcing's inputs and targets for training are here too.

The step is written with `keras.ops`, so it runs on every backend. On
TensorFlow it is compiled, and greedy search runs as one graph; on JAX and
PyTorch the step is called from Python, one call per phoneme (a compiled JAX
function would keep the weights it was traced with, and the pronouncer also
decodes during training, while the weights change).
"""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from lexicon import END, PAD, START


def decoder_inputs_and_targets(pronunciation_ids):
    """Teacher forcing: the decoder reads START p1 ... pn and must predict p1 ... pn END."""
    return [START, *pronunciation_ids], [*pronunciation_ids, END]


def output_limit(word_length):
    """Most phonemes decoded for a word: CMUdict has 7 for the one letter "w" (D AH1 B AH0 L Y UW0)."""
    return 2 * word_length + 10


class Pronouncer:
    """Pronounces words with a trained model (from `build_model`, or loaded from model.keras).

    It uses the model's own layers: the encoder as a sub-model of the trained
    graph, and the decoder's layers one step at a time in a compiled function.
    On TensorFlow greedy search runs its whole loop over the steps as one
    compiled graph (tf.while_loop; chapter 004 §9.4): a Python loop around the
    compiled step pays a call into TensorFlow per phoneme, which for one word
    costs more than the step's arithmetic. Beam search keeps its loop in Python
    (NumPy picks the beams), one step per phoneme.
    """

    def __init__(self, model, symbols, batch_size=512):
        if model.get_layer("output").units != symbols.phonemes_size:
            raise ValueError(
                f"the model predicts {model.get_layer('output').units} phoneme ids, "
                f"the symbol table has {symbols.phonemes_size}"
            )
        self.symbols, self.batch_size = symbols, batch_size
        self.attention = next((layer for layer in model.layers if layer.name == "attention"), None)
        memory, *_ = model.get_layer("encoder").output
        start_state = [layer.output for layer in model.layers if layer.name.startswith("start_state_")]
        self.encoder = keras.Model(model.inputs[0], [memory, *start_state])
        self.embedding = model.get_layer("phoneme_embedding")
        self.cell = model.get_layer("decoder").cell
        self.combine, self.output = model.get_layer("combine"), model.get_layer("output")
        self._never = ops.convert_to_tensor([-1e9 if i in (PAD, START) else 0.0 for i in range(symbols.phonemes_size)])
        self._step, self._encode = self._step_eagerly, lambda letters: self.encoder(letters, training=False)
        self._greedy_loop = None  # on TensorFlow, the whole greedy search as one graph
        if keras.backend.backend() == "tensorflow":
            # autograph=False: plain Python control flow only; and no re-reading of this file while it runs.
            self._step = tf.function(self._step_eagerly, reduce_retracing=True, autograph=False)
            self._greedy_loop = tf.function(self._greedy_in_graph, reduce_retracing=True, autograph=False)
            # The encoder compiled too: called eagerly, its GRU runs one Python-level step per letter.
            self._encode = tf.function(self._encode, reduce_retracing=True, autograph=False)
        # Keras warns of a softmax over one position for a one-letter word: all weight on that letter is right.
        warnings.filterwarnings("ignore", message="You are using a softmax over axis -1 of a tensor of shape .*, 1\\)")

    def _step_eagerly(self, tokens, states, memory, memory_mask):
        """One decoder step for N sequences: (N,) previous ids -> (N, phonemes) log-probabilities, new states,
        and (N, letters) attention weights (empty without attention). Dropout is off."""
        x = ops.take(self.embedding.embeddings, tokens, axis=0)  # (N, embedding_dim), the embedding's lookup
        decoded, states = self.cell(x, states, training=False)
        weights = ops.zeros([ops.shape(tokens)[0], 0])
        if self.attention is not None:
            context, weights = self.attention(
                [decoded[:, None], memory], mask=[None, memory_mask], return_attention_scores=True
            )
            decoded = ops.concatenate([decoded, context[:, 0]], axis=-1)
            weights = weights[:, 0]
        logits = self.output(self.combine(decoded)) + self._never  # PAD and START are never written
        return ops.log_softmax(logits), states, weights

    def encode_words(self, words):
        """(N, longest) letter ids, 0-padded on the right; ValueError for a word the model cannot read (a character
        it never saw, no letter at all)."""
        ids = [self.symbols.encode_word(word) for word in words]
        letters = np.zeros((len(ids), max(map(len, ids))), dtype="int32")
        for row, word_ids in enumerate(ids):
            letters[row, : len(word_ids)] = word_ids
        return letters

    def _start(self, words, copies=1):
        """Encode a batch: memory (N*copies, T, D), its mask, the decoder's first states, per-word step limits."""
        letters = self.encode_words(words)
        memory, *states = self._encode(ops.convert_to_tensor(letters))
        repeat = lambda tensor: ops.repeat(tensor, copies, axis=0)  # noqa: E731 (beam search: one copy per beam)
        mask = ops.convert_to_tensor(letters != 0)
        limits = np.array([output_limit(len(word)) for word in words])
        return repeat(memory), repeat(mask), [repeat(state) for state in states], limits

    def greedy(self, words, with_attention=False):
        """The most likely phoneme at every step, for each word: [phonemes, ...] (and [(steps, letters) weights])."""
        pronunciations, attention = [], []
        for start in range(0, len(words), self.batch_size):
            batch = words[start : start + self.batch_size]
            ids, weights = self._greedy_batch(batch)
            for row, word in enumerate(batch):
                phonemes = self.symbols.decode_pronunciation(ids[row])
                pronunciations.append(phonemes)
                # the weights of the steps that wrote each phoneme and the END, over the word's letters
                attention.append(weights[row, : len(phonemes) + 1, : len(word)])
        return (pronunciations, attention) if with_attention else pronunciations

    def _greedy_batch(self, words):
        """(N, steps) phoneme ids and (N, steps, letters) attention weights, by the compiled loop on TensorFlow."""
        memory, mask, states, limits = self._start(words)
        if self._greedy_loop is None:
            return self._greedy_stepwise(memory, mask, states, limits)
        ids, weights = self._greedy_loop(memory, mask, states, tf.constant(limits, tf.int32))
        return ids.numpy(), weights.numpy()

    def _greedy_stepwise(self, memory, mask, states, limits):
        """What `_greedy_in_graph` computes, one step per call from Python (JAX and PyTorch)."""
        tokens = np.full(len(limits), START, dtype="int32")
        finished = np.zeros(len(limits), dtype=bool)
        ids, weights = [], []
        for step in range(int(limits.max())):
            log_probs, states, step_weights = self._step(ops.convert_to_tensor(tokens), states, memory, mask)
            tokens = ops.convert_to_numpy(log_probs).argmax(axis=-1).astype("int32")
            tokens = np.where(finished | (step >= limits), END, tokens)  # ended words stay ended; long ones cut
            finished |= tokens == END
            ids.append(tokens)
            weights.append(ops.convert_to_numpy(step_weights))
            if finished.all():
                break
        return np.stack(ids, axis=1), np.stack(weights, axis=1)

    def _greedy_in_graph(self, memory, mask, states, limits):
        """Greedy search as one tf.while_loop, until every word has written END or reached its step limit."""
        count = tf.shape(memory)[0]

        def going_on(step, tokens, finished, states, ids, weights):
            return (step < tf.reduce_max(limits)) & ~tf.reduce_all(finished)

        def one_step(step, tokens, finished, states, ids, weights):
            log_probs, states, step_weights = self._step_eagerly(tokens, states, memory, mask)
            tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
            tokens = tf.where(finished | (step >= limits), END, tokens)  # ended words stay ended; long ones cut
            return (
                step + 1,
                tokens,
                finished | (tokens == END),
                states,
                ids.write(step, tokens),
                weights.write(step, step_weights),
            )

        start = (
            tf.constant(0),
            tf.fill([count], START),
            tf.zeros([count], tf.bool),
            states,
            tf.TensorArray(tf.int32, size=0, dynamic_size=True),
            tf.TensorArray(tf.float32, size=0, dynamic_size=True),
        )
        *_, ids, weights = tf.while_loop(going_on, one_step, start)
        return tf.transpose(ids.stack()), tf.transpose(weights.stack(), [1, 0, 2])

    def beam_search(self, words, width):
        """The `width` most likely pronunciations of each word: [[(phonemes, log-probability), ...], ...], best first.

        Every step extends each kept beam by every phoneme and keeps the
        `width` best sums of log-probabilities; a beam that wrote END stays as
        it is. Width 1 keeps only the best phoneme at each step: greedy search.
        """
        if width < 1:
            raise ValueError(f"beam width must be at least 1, got {width}")
        results = []
        for start in range(0, len(words), self.batch_size):
            results += self._beam_batch(words[start : start + self.batch_size], width)
        return results

    def _beam_batch(self, words, width):
        count = len(words)
        memory, mask, states, limits = self._start(words, copies=width)
        scores = np.full((count, width), -np.inf)
        scores[:, 0] = 0.0  # one live beam to begin with; the others join as the first step branches
        sequences = np.zeros((count, width, 0), dtype="int32")
        finished = np.zeros((count, width), dtype=bool)
        tokens = np.full(count * width, START, dtype="int32")
        for step in range(int(limits.max())):
            log_probs, states, _ = self._step(ops.convert_to_tensor(tokens), states, memory, mask)
            log_probs = ops.convert_to_numpy(log_probs).reshape(count, width, -1).astype("float64")
            stop = finished | (step >= limits)[:, None]
            log_probs[stop] = -np.inf
            log_probs[stop, END] = 0.0  # a finished (or cut) beam only "writes" END again, at no cost
            candidates = (scores[:, :, None] + log_probs).reshape(count, -1)
            best = np.argsort(-candidates, axis=1, kind="stable")[:, :width]  # stable: ties go as argmax's do
            beam, tokens = np.divmod(best, log_probs.shape[-1])
            scores = np.take_along_axis(candidates, best, axis=1)
            rows = np.arange(count)[:, None]
            sequences = np.concatenate([sequences[rows, beam], tokens[:, :, None]], axis=2)
            finished = finished[rows, beam] | (tokens == END)
            states = [ops.take(state, (rows * width + beam).ravel(), axis=0) for state in states]
            tokens = tokens.ravel().astype("int32")
            if finished.all():
                break
        return [
            [
                (self.symbols.decode_pronunciation(sequences[row, k]), float(scores[row, k]))
                for k in range(width)
                if np.isfinite(scores[row, k])
            ]
            for row in range(count)
        ]

    def pronounce(self, words, beam_width=1):
        """The best pronunciation of each word: greedy search for width 1, else the best beam."""
        if beam_width == 1:
            return self.greedy(words)
        return [beams[0][0] for beams in self.beam_search(words, beam_width)]
