"""Text generation that carries the recurrent state: one step per new character.

The Keras character example re-runs the model over its whole 40-character
window for every character it writes, so each character costs a window's
worth of work. Here the trained layers' own cells run one step at a time and
hand their state (LSTM: h and c; GRU and SimpleRNN: h) to the next step:
the same weights and the same function as the trained model, at a cost per
character that does not grow with the length of the text.
"""

import numpy as np
import tensorflow as tf
from keras import layers

MAX_TEMPERATURE = 10.0


def choose_next(logits, rng, temperature=1.0, top_k=None):
    """Draw one id from (vocab,) logits: divided by `temperature`, optionally only among the `top_k` largest.

    Temperature < 1 sharpens the distribution (safer, more repetitive text),
    > 1 flattens it (more surprising, more misspelt); top-k removes the long
    tail of unlikely characters whatever the temperature.
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


class CharGenerator:
    """Writes text with a trained character model: embedding -> recurrent cells -> logits, one step at a time.

    `model` is the training model (Embedding, LSTM/GRU/SimpleRNN layers,
    Dropout, Dense); the generator uses its layers, not copies, so during
    training it always samples from the current weights.
    """

    def __init__(self, model, vocabulary):
        self.vocabulary = vocabulary
        self.embedding, self.cells, self.output = None, [], None
        for layer in model.layers:
            if isinstance(layer, layers.Embedding):
                self.embedding = layer
            elif isinstance(layer, layers.RNN):
                self.cells.append(layer.cell)
            elif isinstance(layer, layers.Dense):
                self.output = layer
            elif not isinstance(layer, (layers.InputLayer, layers.Dropout)):
                raise ValueError(f"cannot generate one step at a time through layer {layer.name!r}")
        if self.embedding is None or not self.cells or self.output is None:
            raise ValueError("expected a model of Embedding -> recurrent layers -> Dense")
        if self.output.units != len(vocabulary):
            raise ValueError(f"the model predicts {self.output.units} characters, the vocabulary has {len(vocabulary)}")
        self._step = tf.function(self._step_eagerly, reduce_retracing=True)

    def _step_eagerly(self, char_id, states):
        """(1,) id and per-layer states -> ((vocab,) logits, new states). Dropout is off (training=False)."""
        x = self.embedding(char_id)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            x, state = cell(x, state, training=False)
            new_states.append(state)
        return self.output(x)[0], new_states

    def initial_states(self):
        return [cell.get_initial_state(batch_size=1) for cell in self.cells]

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=0):
        """`prompt` followed by `length` new characters. Same seed and weights: same text."""
        check_sampling(temperature, top_k)
        if not prompt:
            raise ValueError("the prompt is empty; give at least one character to start from")
        prompt_ids = self.vocabulary.encode(prompt)  # clear error for characters the model never saw
        rng = np.random.default_rng(seed)
        states = self.initial_states()
        # Read the prompt: each character updates the state; the last one's logits predict what follows.
        for char_id in prompt_ids:
            logits, states = self._step(tf.constant([char_id]), states)
        written = []
        for _ in range(length):
            next_id = choose_next(logits.numpy(), rng, temperature, top_k)
            written.append(next_id)
            logits, states = self._step(tf.constant([next_id]), states)
        return prompt + self.vocabulary.decode(written)
