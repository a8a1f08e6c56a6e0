"""A vanilla RNN in NumPy, written the way chapter 002 writes it.

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)        (hidden state)
    y_t = W_hy h_t + b_y                             (output scores, one per character)
    p_t = softmax(y_t),  loss = -mean_t log p_t[target_t]

Vectors are columns, as in the chapter: x_t is a one-hot (V, 1), h_t is
(H, 1), y_t is (V, 1); V is the vocabulary size, H the hidden size, T the
number of time steps.
"""

import numpy as np

PARAMETERS = ("Wxh", "Whh", "Why", "bh", "by")


def init_params(vocab_size, hidden_size, seed=0, scale=0.01):
    """Small random weights and zero biases (the chapter's initialisation), float64."""
    rng = np.random.default_rng(seed)
    return {
        "Wxh": rng.standard_normal((hidden_size, vocab_size)) * scale,  # (H, V)
        "Whh": rng.standard_normal((hidden_size, hidden_size)) * scale,  # (H, H)
        "Why": rng.standard_normal((vocab_size, hidden_size)) * scale,  # (V, H)
        "bh": np.zeros((hidden_size, 1)),  # (H, 1)
        "by": np.zeros((vocab_size, 1)),  # (V, 1)
    }


def rnn_step_forward(x, h_prev, Wxh, Whh, Why, bh, by):  # noqa: N803  (the chapter's names)
    """One time step, exactly the chapter's function: (V,1), (H,1) -> h_next (H,1), y (V,1)."""
    h_next = np.tanh(np.dot(Wxh, x) + np.dot(Whh, h_prev) + bh)
    y = np.dot(Why, h_next) + by
    return h_next, y


def softmax(scores):
    """Column softmax, shifted by the maximum so exp never overflows."""
    exps = np.exp(scores - scores.max(axis=0, keepdims=True))
    return exps / exps.sum(axis=0, keepdims=True)


def one_hot(index, size):
    vector = np.zeros((size, 1))
    vector[index] = 1.0
    return vector


def forward(params, inputs, targets, h_prev):
    """Run the sequence; return the mean cross-entropy (nats per character) and what BPTT needs.

    inputs, targets: T character ids each; h_prev: (H, 1) state carried in.
    """
    vocab_size = params["Why"].shape[0]
    xs, hs, ps = {}, {-1: h_prev}, {}
    loss = 0.0
    for t, (index, target) in enumerate(zip(inputs, targets, strict=True)):
        xs[t] = one_hot(index, vocab_size)
        hs[t], y = rnn_step_forward(xs[t], hs[t - 1], **params)
        ps[t] = softmax(y)
        loss -= np.log(ps[t][target, 0])
    return loss / len(inputs), (xs, hs, ps)


def backward(params, cache, targets):
    """Backpropagation through time: the gradient of the mean loss for every parameter.

    Walking back from the last step, each step adds its share and hands
    dL/dh_{t-1} = W_hh^T ((1 - h_t^2) * dL/dh_t) to the step before: the
    product of these factors over many steps is what vanishes or explodes.
    """
    xs, hs, ps = cache
    steps = len(targets)
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dh_next = np.zeros_like(hs[0])  # (H, 1): gradient arriving from step t+1
    for t in reversed(range(steps)):
        dy = ps[t].copy()
        dy[targets[t]] -= 1.0  # d(-log softmax)/dy = p - one_hot(target)
        dy /= steps  # the loss is a mean over steps
        grads["Why"] += dy @ hs[t].T
        grads["by"] += dy
        dh = params["Why"].T @ dy + dh_next  # (H, 1)
        draw = (1.0 - hs[t] ** 2) * dh  # through tanh: d tanh(a)/da = 1 - tanh(a)^2
        grads["bh"] += draw
        grads["Wxh"] += draw @ xs[t].T
        grads["Whh"] += draw @ hs[t - 1].T
        dh_next = params["Whh"].T @ draw
    return grads


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients together so their joint norm is at most `max_norm`; return them and the norm before.

    Rescaling keeps the direction of the step and only bounds its length,
    the usual cure for exploding gradients (chapter 004 §9.2).
    """
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-12))
    return {name: g * scale for name, g in grads.items()}, norm


class Adam:
    """Adam (chapter 004 §4.2.3): per-parameter steps from running means of g and g^2."""

    def __init__(self, params, learning_rate=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}
        self.steps = 0

    def update(self, params, grads):
        self.steps += 1
        for name in params:
            self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * grads[name]
            self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * grads[name] ** 2
            m_hat = self.m[name] / (1 - self.beta1**self.steps)
            v_hat = self.v[name] / (1 - self.beta2**self.steps)
            params[name] -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


def sample(params, h, first_index, length, rng, temperature=1.0):
    """Generate `length` character ids, feeding each back in, starting after `first_index`."""
    vocab_size = params["Why"].shape[0]
    index, generated = first_index, []
    for _ in range(length):
        h, y = rnn_step_forward(one_hot(index, vocab_size), h, **params)
        index = int(rng.choice(vocab_size, p=softmax(y / temperature).ravel()))
        generated.append(index)
    return generated


def gradient_check(params, inputs, targets, h_prev, epsilon=1e-5, backward_fn=backward):
    """Largest relative error, per parameter, between BPTT and centred finite differences.

    relative error = |analytic - numeric| / max(|analytic| + |numeric|, 1e-12),
    numeric = (L(w + eps) - L(w - eps)) / (2 eps), for every entry, in float64.
    """
    params = {name: value.astype("float64").copy() for name, value in params.items()}
    _, cache = forward(params, inputs, targets, h_prev)
    analytic = backward_fn(params, cache, targets)
    errors = {}
    for name in PARAMETERS:
        worst = 0.0
        for position in np.ndindex(params[name].shape):
            original = params[name][position]
            params[name][position] = original + epsilon
            loss_plus, _ = forward(params, inputs, targets, h_prev)
            params[name][position] = original - epsilon
            loss_minus, _ = forward(params, inputs, targets, h_prev)
            params[name][position] = original
            numeric = (loss_plus - loss_minus) / (2 * epsilon)
            exact = analytic[name][position]
            worst = max(worst, abs(exact - numeric) / max(abs(exact) + abs(numeric), 1e-12))
        errors[name] = worst
    return errors
