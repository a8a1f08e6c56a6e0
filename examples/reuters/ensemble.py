"""The Reuters ensemble's outputs: each starts at its topic's base rate; rare topics' positives can weigh more.
(Training the members and averaging them is common.ensemble's.)"""

import numpy as np


def base_rate_biases(labels):
    """Output biases under which an untrained sigmoid head predicts each label's training frequency.

    `labels` is the (examples, outputs) 0/1 training matrix. The default bias
    0 says "50%" for every output; for a topic that one story in a thousand
    has, the first epochs then go on unlearning that, and the topic's few
    positive stories are drowned before the model has learned anything else.
    Starting from the log-odds of each base rate ("init well", Karpathy's
    recipe) removes that phase. A label with no (or only) positives gets the
    log-odds of half an example, a finite value.
    """
    labels = np.asarray(labels, dtype="float64")
    if labels.ndim != 2 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty (examples, outputs) matrix, got shape {labels.shape}")
    half_example = 0.5 / len(labels)
    rates = np.clip(labels.mean(axis=0), half_example, 1 - half_example)
    return np.log(rates / (1 - rates)).astype("float32")


def rare_topic_weights(labels, power):
    """Each label's weight for its positive examples: (positives of the most frequent label / its own) ** power.

    `labels` is the (examples, outputs) 0/1 training matrix. Power 0 gives
    every label 1 (plain cross-entropy); 0.5 gives a label with a hundredth of
    the top label's examples 10. A label with no positive example counts as
    having one (its weight is finite, and unused: it has no positive to weigh).
    """
    if power < 0:
        raise ValueError(f"power must be 0 or more, got {power}")
    counts = np.maximum(np.asarray(labels, dtype="float64").sum(axis=0), 1.0)
    return ((counts.max() / counts) ** power).astype("float32")
