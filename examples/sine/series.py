"""The noisy sine series, its time-ordered splits and its forecasting windows.

Kept apart from train.py so that forecast.py and the tests build exactly the
same windows and baselines.
"""

import numpy as np

RANGE_FILE = "training_range.json"  # beside model.keras: the lowest and highest training value


def noisy_sine(length, period, noise, seed, amplitude=1.0):
    """x_t = amplitude * sin(2 pi t / period) + e_t, e_t ~ N(0, noise^2) i.i.d.

    Returns float32 (length,). Because e_t is independent of the past, no
    forecaster can beat an MSE of noise^2: that is the noise floor.
    """
    time = np.arange(length)
    rng = np.random.default_rng(seed)
    clean = amplitude * np.sin(2 * np.pi * time / period)
    return (clean + rng.normal(0.0, noise, size=length)).astype("float32")


def split_in_time(series, validation_fraction=0.15, test_fraction=0.15):
    """Train / validation / test segments in time order: the future is never seen in training."""
    n = len(series)
    train_end = int(n * (1 - validation_fraction - test_fraction))
    val_end = int(n * (1 - test_fraction))
    return series[:train_end], series[train_end:val_end], series[val_end:]


def windows(segment, window, horizon):
    """All (input window, next `horizon` values) pairs inside one segment.

    inputs: (N, window), targets: (N, horizon) with
    N = len(segment) - window - horizon + 1; pair i reads segment[i : i+window]
    and must predict segment[i+window : i+window+horizon].
    """
    count = len(segment) - window - horizon + 1
    if count < 1:
        raise ValueError(
            f"a segment of {len(segment)} values is too short for window={window} + horizon={horizon}; "
            "use a longer --length or a shorter --window/--horizon"
        )
    inputs = np.lib.stride_tricks.sliding_window_view(segment[: window + count - 1], window)
    targets = np.lib.stride_tricks.sliding_window_view(segment[window:], horizon)[:count]
    return inputs, targets


def persistence_forecast(inputs, horizon):
    """Naive baseline: every future value equals the last value seen. (N, horizon)"""
    return np.repeat(inputs[:, -1:], horizon, axis=1)


def seasonal_naive_forecast(inputs, horizon, period):
    """Seasonal baseline: x_{t+h} is forecast by the value whole periods earlier. (N, horizon)

    Step h (1-based) copies the input ceil(h / period) periods back, so every
    step reads a value that was seen. `period` is rounded to whole steps.
    """
    window, period = inputs.shape[1], int(round(period))
    steps = np.arange(1, horizon + 1)
    source = window - 1 + steps - period * np.ceil(steps / period).astype(int)
    if source.min() < 0:
        raise ValueError(f"seasonal naive needs window >= period ({window} < {period})")
    return inputs[:, source]
