"""Text generation that carries the recurrent state: one step per new token (a character or a word).

Chapter: 004 §5.1.4 (generating text) and §9.4 (speeding things up).

The Keras character example re-runs the model over its whole 40-character
window for every character it writes, so each character costs a window's
worth of work. Here the trained layers' own cells run one step at a time and
hand their state (LSTM: h and c; GRU and SimpleRNN: h) to the next step:
the same weights and the same function as the trained model, at a cost per
token that does not grow with the length of the text.

On TensorFlow the whole loop, reading the prompt and then drawing each token
and feeding it back, runs as one compiled graph: a Python loop around a
compiled step pays Python's and TensorFlow's per-call overhead for every
token, which costs more than the step's arithmetic. The random numbers still
come from NumPy, drawn as `choose_next` draws them, so both paths write the
same text for a seed. (XLA, `jit_compile=True`, made the loop slower on the
2-core CPU: 0.96 s against 0.62 s for 2,000 characters of the character model.)

On JAX and PyTorch the step is the same Keras layers called with `keras.ops`
tensors, one call per token from Python (the stepwise path): the layers'
weights change during training, and a compiled JAX function would keep the
weights it was traced with.

Used by examples/char_lm (characters) and examples/word_lm (words).
"""

import keras
import numpy as np
import tensorflow as tf

GRAPH_LOOP = keras.backend.backend() == "tensorflow"  # the whole loop as one TensorFlow graph (see above)

MAX_TEMPERATURE = 10.0


def choose_next(logits, rng, temperature=1.0, top_k=None):
    """Draw one id from (vocab,) logits: divided by `temperature`, optionally only among the `top_k` largest.

    Temperature < 1 sharpens the distribution (safer, more repetitive text),
    > 1 flattens it (more surprising, more misspelt); top-k removes the long
    tail of unlikely tokens whatever the temperature.
    """
    logits = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None and top_k < len(logits):
        cutoff = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cutoff, logits, -np.inf)
    probabilities = np.exp(logits - logits.max())
    return int(rng.choice(len(probabilities), p=probabilities / probabilities.sum()))


def check_sampling(temperature, top_k):
    """ValueError for a temperature or top-k the sampler cannot use."""
    if not 0 < temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in (0, {MAX_TEMPERATURE}], got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")


class RecurrentGenerator:
    """Writes token ids with trained layers, one step at a time: embedding -> recurrent cells -> logits.

    `embedding` maps (1,) ids to (1, features), `cells` are the recurrent
    layers' cells (bottom first), `to_logits` maps the top cell's (1, units)
    output to (1, vocab_size) scores. The generator uses these layers, not
    copies, so during training it samples from the current weights.
    """

    def __init__(self, embedding, cells, to_logits, vocab_size):
        self.embedding, self.cells, self.to_logits, self.vocab_size = embedding, list(cells), to_logits, vocab_size
        if not GRAPH_LOOP:
            self._step = self._step_eagerly
            return
        self._step = tf.function(self._step_eagerly, reduce_retracing=True)
        self._loop = tf.function(
            self._generate_in_graph,
            input_signature=[
                tf.TensorSpec([None], tf.int32),  # prompt ids
                tf.TensorSpec([None], tf.float64),  # one uniform random number per new token
                tf.TensorSpec([], tf.float64),  # temperature
                tf.TensorSpec([], tf.int32),  # top-k (the vocabulary size for no limit)
            ],
        )

    def _step_eagerly(self, token_id, states):
        """(1,) id and per-layer states -> ((vocab,) logits, new states). Dropout is off (training=False)."""
        x = self.embedding(token_id)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            x, state = cell(x, state, training=False)
            new_states.append(state)
        return self.to_logits(x)[0], new_states

    def initial_states(self):
        return [cell.get_initial_state(batch_size=1) for cell in self.cells]

    def next_logits(self, prompt_ids):
        """(vocab,) scores of the token that follows `prompt_ids` (read one step at a time)."""
        states = self.initial_states()
        for token_id in prompt_ids:
            logits, states = self._step(token_tensor(token_id), states)
        return keras.ops.convert_to_numpy(logits)

    def generate_ids(self, prompt_ids, length, temperature=1.0, top_k=None, seed=0):
        """`length` new ids after `prompt_ids`, written by one compiled graph on TensorFlow (stepwise on the other
        backends). Same seed and weights: the same ids as `generate_ids_stepwise`."""
        if not GRAPH_LOOP:
            return self.generate_ids_stepwise(prompt_ids, length, temperature, top_k, seed)
        check_sampling(temperature, top_k)
        # rng.choice(n, p=p) draws one uniform number and looks it up in the cumulative probabilities;
        # drawing those numbers here lets the graph choose exactly as choose_next would.
        uniforms = np.random.default_rng(seed).random(length)
        top_k = self.vocab_size if top_k is None else min(top_k, self.vocab_size)
        written = self._loop(
            tf.constant(prompt_ids, tf.int32),
            tf.constant(uniforms),
            tf.constant(float(temperature), tf.float64),
            tf.constant(top_k, tf.int32),
        )
        return written.numpy().tolist()

    def _generate_in_graph(self, prompt_ids, uniforms, temperature, top_k):
        """The generation loop as graph code (autograph turns the loops over tensors into tf.while_loop)."""
        states = self.initial_states()
        logits = tf.zeros([self.vocab_size])
        for token_id in prompt_ids:  # read the prompt; the last token's logits predict what follows
            logits, states = self._step_eagerly(token_id[None], states)
        written = tf.TensorArray(tf.int32, size=tf.shape(uniforms)[0])
        for index in tf.range(tf.shape(uniforms)[0]):
            next_id = _choose_in_graph(logits, uniforms[index], temperature, top_k)
            written = written.write(index, next_id)
            logits, states = self._step_eagerly(next_id[None], states)
        return written.stack()

    def generate_ids_stepwise(self, prompt_ids, length, temperature=1.0, top_k=None, seed=0):
        """The same ids as `generate_ids`, one compiled step per token called from Python (slower; kept to show the
        idea plainly and to check the compiled loop against)."""
        check_sampling(temperature, top_k)
        rng = np.random.default_rng(seed)
        states = self.initial_states()
        # Read the prompt: each token updates the state; the last one's logits predict what follows.
        for token_id in prompt_ids:
            logits, states = self._step(token_tensor(token_id), states)
        written = []
        for _ in range(length):
            next_id = choose_next(keras.ops.convert_to_numpy(logits), rng, temperature, top_k)
            written.append(next_id)
            logits, states = self._step(token_tensor(next_id), states)
        return written


def token_tensor(token_id):
    """One id as a (1,) int32 tensor of the running backend."""
    return keras.ops.convert_to_tensor(np.array([token_id], dtype="int32"))


def _choose_in_graph(logits, uniform, temperature, top_k):
    """`choose_next` as graph code, given its uniform random number: the same arithmetic, in float64."""
    logits = tf.cast(logits, tf.float64) / temperature
    cutoff = tf.math.top_k(logits, k=top_k).values[-1]
    logits = tf.where(logits >= cutoff, logits, tf.constant(-np.inf, tf.float64))
    probabilities = tf.exp(logits - tf.reduce_max(logits))
    cumulative = tf.cumsum(probabilities / tf.reduce_sum(probabilities))
    cumulative = cumulative / cumulative[-1]
    return tf.cast(tf.searchsorted(cumulative, uniform[None], side="right")[0], tf.int32)
