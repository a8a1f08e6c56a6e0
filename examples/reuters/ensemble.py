"""The Reuters ensemble: outputs that start at each topic's base rate, and members (model.py's network)
trained one after another and averaged."""

import shutil

import keras
import numpy as np
from keras import layers

from common.training import set_seed

MEMBER_DIR = "member-{}"  # one folder per ensemble member: history, best checkpoint, backup


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


def average_models(models, name="ensemble"):
    """One model whose output is the mean of `models`' outputs on the same input (an ensemble).

    The members keep their own layers (and masks); the result saves and
    loads as one `.keras` file and predicts like a single model. One member
    is returned as it is.
    """
    if not models:
        raise ValueError("average_models needs at least one model")
    if len(models) == 1:
        return models[0]
    first = models[0].inputs[0]
    inputs = keras.Input(shape=first.shape[1:], dtype=first.dtype, name=first.name)
    outputs = layers.Average(name="average")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)


def finished_member(run, folder):
    """The checkpoint of an ensemble member that finished before this resumed run was interrupted, or None.

    A member has finished when its backup is gone (BackupAndRestore deletes
    it at the end of training) and its best checkpoint is there.
    """
    checkpoint = run.output_dir / folder / "model.keras"
    if run.resumed and checkpoint.exists() and not (run.backup_dir / folder).exists():
        return checkpoint
    return None


def train_ensemble(run, count, build, fit):
    """`count` models trained one after another, from seeds seed, seed + 1, ...; returns them.

    `build(index)` returns a compiled model (index 1..count), `fit(model,
    folder)` trains it with `run.callbacks(..., folder=folder)`. Each member
    has its own folder (member-1/, ...) for history, best checkpoint and
    backup, so an interrupted run resumes inside the member it was training
    and loads the members it had finished instead of training them again.
    Different seeds give different initial weights and dropout masks: the
    members' errors differ, so the average of their probabilities is better
    than the typical member.
    """
    if not run.resumed:  # a new run: the previous run's members are not ours
        for folder in run.output_dir.glob(MEMBER_DIR.format("*")):
            shutil.rmtree(folder)
    models = []
    for index in range(1, count + 1):
        folder = MEMBER_DIR.format(index)
        finished = finished_member(run, folder)
        if finished:
            print(f"{folder}: trained before the interruption, loading {finished}")
            models.append(keras.models.load_model(finished))
            continue
        print(f"--- ensemble {folder} of {count} ---")
        set_seed(run.seed + index - 1, run.deterministic)
        with run.scope():
            model = build(index)
        fit(model, folder)
        models.append(model)
    return models


def member_histories(run, count):
    """Each member's epochs_run and best_epoch for run.json, with its history plot (member-N/history.png)."""
    return [
        run.plot_history(run.output_dir / MEMBER_DIR.format(index), f"{run.name} member-{index}")
        for index in range(1, count + 1)
    ]
