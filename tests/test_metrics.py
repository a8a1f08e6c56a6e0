"""Unit tests of common/metrics.py: multi-label decisions, thresholds, scores."""

import numpy as np
import pytest

from common.metrics import choose_threshold, multilabel_decisions, multilabel_scores


def test_decisions_threshold_and_at_least_one_topic():
    probabilities = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.1]])
    np.testing.assert_array_equal(multilabel_decisions(probabilities, 0.5), [[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(multilabel_decisions(probabilities, 0.95), [[1, 0, 0], [0, 1, 0]])


def test_threshold_is_the_best_on_the_data_given():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])
    probabilities = np.array([[0.7, 0.1], [0.28, 0.35], [0.8, 0.4], [0.1, 0.3]])
    assert choose_threshold(probabilities, labels) == pytest.approx(0.3)  # every positive is >= 0.3; a negative is 0.28
    assert choose_threshold(probabilities, labels, candidates=np.array([0.5, 0.75])) == 0.5


def test_scores_by_hand():
    labels = np.array([[1, 0, 1], [0, 1, 0]])
    decisions = np.array([[1, 0, 0], [0, 1, 1]])
    scores, per_label = multilabel_scores(labels, decisions, ["a", "b", "c"])
    # micro: tp=2, fp=1, fn=1 -> P=R=F1=2/3; macro F1 = mean(1, 1, 0)
    assert scores["f1_micro"] == pytest.approx(2 / 3) and scores["precision_micro"] == pytest.approx(2 / 3)
    assert scores["f1_macro"] == pytest.approx(2 / 3)
    assert scores["subset_accuracy"] == 0.0
    assert per_label["c"]["f1-score"] == 0.0 and per_label["a"]["support"] == 1
