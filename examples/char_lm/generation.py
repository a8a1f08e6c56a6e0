"""Text generation with a trained character model, one step per character, carrying the state.

The loop itself (one compiled graph, the same text as a plain Python loop for
a seed) is shared with the word language model: common/generation.py. Here
the character model's layers are found and characters mapped to ids and back.
"""

from keras import layers

from common.generation import MAX_TEMPERATURE, RecurrentGenerator, check_sampling, choose_next

__all__ = ["MAX_TEMPERATURE", "CharGenerator", "check_sampling", "choose_next"]


class CharGenerator(RecurrentGenerator):
    """Writes text with a trained character model: embedding -> recurrent cells -> logits, one step at a time.

    `model` is the training model (Embedding, LSTM/GRU/SimpleRNN layers,
    Dropout, Dense); the generator uses its layers, not copies, so during
    training it always samples from the current weights.
    """

    def __init__(self, model, vocabulary):
        self.vocabulary = vocabulary
        embedding, cells, output = None, [], None
        for layer in model.layers:
            if isinstance(layer, layers.Embedding):
                embedding = layer
            elif isinstance(layer, layers.RNN):
                cells.append(layer.cell)
            elif isinstance(layer, layers.Dense):
                output = layer
            elif not isinstance(layer, (layers.InputLayer, layers.Dropout)):
                raise ValueError(f"cannot generate one step at a time through layer {layer.name!r}")
        if embedding is None or not cells or output is None:
            raise ValueError("expected a model of Embedding -> recurrent layers -> Dense")
        if output.units != len(vocabulary):
            raise ValueError(f"the model predicts {output.units} characters, the vocabulary has {len(vocabulary)}")
        super().__init__(embedding, cells, output, output.units)

    def _check(self, prompt, temperature, top_k):
        check_sampling(temperature, top_k)
        if not prompt:
            raise ValueError("the prompt is empty; give at least one character to start from")
        return self.vocabulary.encode(prompt)  # clear error for characters the model never saw

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=0):
        """`prompt` followed by `length` new characters, written by one compiled graph. Same seed and weights:
        same text, the text of `generate_stepwise`."""
        prompt_ids = self._check(prompt, temperature, top_k)
        return prompt + self.vocabulary.decode(self.generate_ids(prompt_ids, length, temperature, top_k, seed))

    def generate_stepwise(self, prompt, length, temperature=1.0, top_k=None, seed=0):
        """The same text as `generate`, one compiled step per character called from Python (slower; kept to
        show the idea plainly and to check the compiled loop against)."""
        prompt_ids = self._check(prompt, temperature, top_k)
        return prompt + self.vocabulary.decode(self.generate_ids_stepwise(prompt_ids, length, temperature, top_k, seed))
