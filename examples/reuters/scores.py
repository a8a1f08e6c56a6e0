"""Multi-label decisions and scores for the Reuters topics: a threshold chosen on validation, micro/macro F1.

Chapter: 004 §4.2 (losses) and §5 (evaluating the projects). Scores come
from scikit-learn, as the literature computes them.
"""

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score

THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def multilabel_decisions(probabilities, threshold):
    """Topics whose probability reaches `threshold`; a document with none gets its most likely one.

    (n, topics) probabilities -> (n, topics) 0/1. Every Reuters story has at
    least one topic, so "no topic" is never a right answer.
    """
    probabilities = np.asarray(probabilities)
    decisions = (probabilities >= threshold).astype(int)
    empty = decisions.sum(axis=1) == 0
    decisions[empty, probabilities[empty].argmax(axis=1)] = 1
    return decisions


def choose_threshold(probabilities, labels, candidates=THRESHOLDS):
    """The decision threshold with the best micro-F1 on held-out (validation) data.

    Call it with validation predictions only: a threshold tuned on the test
    set would make the test score optimistic.
    """
    scores = [f1_score(labels, multilabel_decisions(probabilities, t), average="micro") for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def multilabel_scores(labels, decisions, names):
    """Micro/macro F1, precision, recall, subset accuracy, and a per-label report."""
    scores = {
        f"{name}_{average}": float(function(labels, decisions, average=average, zero_division=0))
        for average in ("micro", "macro")
        for name, function in (("f1", f1_score), ("precision", precision_score), ("recall", recall_score))
    }
    scores["subset_accuracy"] = float(accuracy_score(labels, decisions))
    report = classification_report(labels, decisions, target_names=names, zero_division=0, output_dict=True)
    return scores, {name: report[name] for name in names}
