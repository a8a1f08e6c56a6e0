"""How far an input lies outside the values a model was trained on, so that a script can flag or refuse it.

Chapter: 004 §6.3 (time-series prediction: a model only knows the range of
values it has seen). A network answers anything it is given, and far outside
its training data its answer is a guess said with the same confidence. The
training run saves each input's lowest and highest training value; a predict
or forecast script measures how far a new input goes beyond them, in training
spreads (highest - lowest), and marks its answer as an extrapolation beyond
NOTED_EXCESS, or gives none beyond REFUSED_EXCESS.
"""

import numpy as np

NOTED_EXCESS = 0.25  # beyond a quarter of the training spread: the answer is an extrapolation, and says so
REFUSED_EXCESS = 1.0  # beyond a whole training spread: not data like the training data; no answer


def training_range(values, axis=0):
    """{"low", "high"} of `values` along `axis` (lists, or numbers for 1-D values): what a model has seen."""
    values = np.asarray(values, dtype="float64")
    return {"low": values.min(axis=axis).tolist(), "high": values.max(axis=axis).tolist()}


def range_excess(values, low, high):
    """How far each of `values` lies outside [low, high] (broadcast along the last axis): 0 inside, else the
    distance in training spreads (high - low; 1 % of the value for an input that never changed in training)."""
    values, low, high = np.asarray(values, dtype="float64"), np.asarray(low), np.asarray(high)
    spread = np.where(high > low, high - low, np.maximum(np.abs(low) * 0.01, 1e-6))
    with np.errstate(over="ignore"):  # a value like 1e308 is infinitely far: inf, and refused as such
        return np.maximum(np.maximum(low - values, values - high), 0.0) / spread
