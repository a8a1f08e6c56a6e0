"""Evaluation helpers beyond Keras' metrics: multi-label decisions and scores.

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


def iob_chunks(tags):
    """The chunks of one sentence's IOB tags, as a set of (start, end, type) with `end` exclusive.

    Chapter 004 §5.2 (sequence labelling). As the CoNLL evaluation script
    (conlleval) reads tags: a chunk starts at B-X, or at I-X that does not
    continue a chunk of type X; it ends before O, B-*, or a tag of another type.
    """
    chunks, start, kind = set(), None, None
    for position, tag in enumerate([*tags, "O"]):  # the sentinel "O" closes a chunk at the end
        prefix, _, tag_type = tag.partition("-")
        continues = prefix == "I" and tag_type == kind
        if kind is not None and not continues:
            chunks.add((start, position, kind))
            kind = None
        if prefix in ("B", "I") and not continues:
            start, kind = position, tag_type
    return chunks


def chunk_scores(true_sentences, predicted_sentences):
    """Chunk-level precision, recall and F1, overall and per chunk type (conlleval's numbers).

    A predicted chunk counts only when its span and its type both match a
    true chunk; token accuracy would reward getting most of a chunk right.
    """
    if len(true_sentences) != len(predicted_sentences):
        raise ValueError(f"{len(true_sentences)} true sentences but {len(predicted_sentences)} predicted")
    true_chunks, predicted_chunks = set(), set()
    for index, (true_tags, predicted_tags) in enumerate(zip(true_sentences, predicted_sentences, strict=True)):
        if len(true_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(true_tags)} true tags but {len(predicted_tags)} predicted")
        true_chunks |= {(index, *chunk) for chunk in iob_chunks(true_tags)}
        predicted_chunks |= {(index, *chunk) for chunk in iob_chunks(predicted_tags)}

    def prf(true, predicted):
        correct = len(true & predicted)
        precision = correct / len(predicted) if predicted else 0.0
        recall = correct / len(true) if true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": len(true)}

    types = sorted({chunk[3] for chunk in true_chunks | predicted_chunks})
    per_type = {
        kind: prf({c for c in true_chunks if c[3] == kind}, {c for c in predicted_chunks if c[3] == kind})
        for kind in types
    }
    return prf(true_chunks, predicted_chunks), per_type
