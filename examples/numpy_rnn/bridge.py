"""From the chapter's formulas to Keras layers: the NumPy RNN's weights in SimpleRNN + Dense,
and the gradient measurements that show why LSTMs were needed.
"""

import keras
import numpy as np
from keras import layers

from common.gradients import global_norm, value_and_gradients

from rnn import forward


def keras_twin(params):
    """A Keras SimpleRNN + Dense model computing exactly the NumPy RNN's scores y_t.

    Keras multiplies row vectors from the right (x @ kernel), the chapter
    column vectors from the left (W x), so every matrix goes in transposed:
    SimpleRNN kernel = W_xh^T (V, H), recurrent kernel = W_hh^T (H, H),
    Dense kernel = W_hy^T (H, V). Input: one-hot (batch, T, V).
    """
    hidden_size, vocab_size = params["Wxh"].shape
    model = keras.Sequential(
        [
            keras.Input((None, vocab_size)),
            layers.SimpleRNN(hidden_size, activation="tanh", return_sequences=True, name="rnn"),
            layers.Dense(vocab_size, name="scores"),
        ]
    )
    model.get_layer("rnn").set_weights([params["Wxh"].T, params["Whh"].T, params["bh"].ravel()])
    model.get_layer("scores").set_weights([params["Why"].T, params["by"].ravel()])
    return model


def numpy_scores(params, inputs, h_prev):
    """(T, V) scores y_t of the NumPy RNN (the log of softmax numerators)."""
    _, (_, _, ps) = forward(params, inputs, inputs, h_prev)  # targets do not change the scores
    return np.stack([np.log(ps[t].ravel()) for t in range(len(inputs))])


def largest_disagreement(params, inputs):
    """Max |NumPy - Keras| over the log-probabilities of a sequence, from a zero state."""
    vocab_size = params["Why"].shape[0]
    h0 = np.zeros((params["Whh"].shape[0], 1))
    one_hot = np.eye(vocab_size, dtype="float32")[np.asarray(inputs)][None]  # (1, T, V)
    keras_scores = keras_twin(params).predict(one_hot, verbose=0)[0]
    keras_log_probabilities = keras_scores - np.log(np.exp(keras_scores).sum(axis=1, keepdims=True))
    return float(np.abs(numpy_scores(params, inputs, h0) - keras_log_probabilities).max())


def summed_output(layer):
    """The loss both measurements differentiate: the sum of the layer's output (for value_and_gradients)."""
    return lambda inputs: (keras.ops.sum(layer(inputs)), None)


def gradient_by_distance(cell, steps=100, units=32, features=8, trials=8, seed=0, **layer_options):
    """Mean norm of d(loss at the last step)/d(input k steps back), for k = 0 .. steps-1.

    The loss is the sum of the last output; each trial draws new weights and
    a new random input sequence. A SimpleRNN's norms fall geometrically with
    k (vanishing gradients); an LSTM's cell state carries them much further.
    """
    rng = np.random.default_rng(seed)
    layer_class = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM}[cell]
    norms = np.zeros(steps)
    for trial in range(trials):
        keras.utils.set_random_seed(seed + trial)
        layer = layer_class(units, **layer_options)
        layer.build((1, steps, features))
        inputs = rng.standard_normal((1, steps, features)).astype("float32")
        _, (gradient,) = value_and_gradients(summed_output(layer), [inputs])
        gradient = keras.ops.convert_to_numpy(gradient)[0]  # (steps, features)
        norms += np.linalg.norm(gradient, axis=1)[::-1] / trials  # index k = k steps back from the last
    return norms


def exploding_gradient_norms(steps=100, units=32, features=8, seed=0, gain=1.5, clipnorm=1.0):
    """Weight-gradient norm of a relu SimpleRNN whose recurrent weights have gain > 1, before and after clipping.

    With relu (chapter 003's choice) nothing squashes the state, so a
    recurrent matrix that stretches vectors makes the gradient grow with the
    sequence length. Returns {length: (norm, norm after clip_by_global_norm)}.
    """
    keras.utils.set_random_seed(seed)
    layer = layers.SimpleRNN(
        units, activation="relu", recurrent_initializer=keras.initializers.Orthogonal(gain=gain, seed=seed)
    )
    rng = np.random.default_rng(seed)
    sequence = rng.standard_normal((1, steps, features)).astype("float32")
    layer.build(sequence.shape)
    norms = {}
    for length in range(10, steps + 1, 10):
        _, grads = value_and_gradients(summed_output(layer), [sequence[:, :length]], layer.trainable_weights)
        norm = global_norm(grads[1:])  # grads[0] is the input's
        norms[length] = (norm, norm * min(1.0, clipnorm / norm))  # clipping by global norm rescales all of them
    return norms
