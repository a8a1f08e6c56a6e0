"""Gradients, and compiled functions, outside `fit`, on whichever backend Keras runs: one function each for
TensorFlow, JAX and PyTorch.

Chapter: 000 §3 (back-propagation through time), 004 §9.2 (vanishing and exploding gradients) and §9.5
(explanations by gradients).

`fit` takes its gradients itself; measuring one by hand (how fast it vanishes
with distance, which words an output depends on) needs each framework's own
machinery: TensorFlow records a tape, PyTorch marks tensors that need
gradients, JAX transforms a pure function (so a layer's weights are passed
in through `keras.StatelessScope` instead of being read from its variables).
Compiling a function that reads a model's weights (`compiled`) needs the
same care under JAX: a compiled function would keep the weights it was
traced with.
"""

import keras
import numpy as np


def value_and_gradients(function, tensors, variables=()):
    """(value, gradients): `function(*tensors)` returns (scalar, extra), and the scalar's gradient with respect
    to each of `tensors` and then each of `variables` (Keras variables the function reads, e.g. a layer's
    trainable weights), as backend tensors; `value` is the pair (scalar, extra). Build layers before calling:
    under JAX a layer must not create its weights inside the function."""
    tensors = [keras.ops.convert_to_tensor(tensor) for tensor in tensors]
    variables = list(variables)
    differentiate = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[keras.backend.backend()]
    return differentiate(function, tensors, variables)


def _tensorflow(function, tensors, variables):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = function(*tensors)
    return value, tape.gradient(value[0], [*tensors, *variables])


def _pure(function, variables):
    """`function(*tensors)`, which reads `variables`, as pure(tensors, values) reading `values` instead."""

    def pure(tensors, values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return function(*tensors)

    return pure


def _jax(function, tensors, variables):
    import jax

    value, (tensor_gradients, variable_gradients) = jax.value_and_grad(
        _pure(function, variables), argnums=(0, 1), has_aux=True
    )(tensors, [variable.value for variable in variables])
    return value, [*tensor_gradients, *variable_gradients]


def compiled(function, variables):
    """`function` (of tensors, reading the Keras `variables`, e.g. a model's `variables`) compiled once per input
    shape where the backend compiles: a `tf.function` on TensorFlow; on JAX a `jax.jit` that is handed the
    variables' current values at every call, so that it follows training; on PyTorch the function itself, run
    eagerly. For functions called many times, such as scoring batch after batch."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend != "jax":
        return function
    import jax

    variables = list(variables)
    jitted = jax.jit(_pure(function, variables))
    return lambda *tensors: jitted([keras.ops.convert_to_tensor(t) for t in tensors], [v.value for v in variables])


def _torch(function, tensors, variables):
    import torch

    tensors = [tensor.detach().requires_grad_(True) for tensor in tensors]
    value = function(*tensors)
    return value, list(torch.autograd.grad(value[0], [*tensors, *[variable.value for variable in variables]]))


def global_norm(arrays):
    """The length of all `arrays` taken together as one vector (what gradient clipping by norm measures)."""
    return float(np.sqrt(sum(np.sum(np.square(keras.ops.convert_to_numpy(array))) for array in arrays)))
