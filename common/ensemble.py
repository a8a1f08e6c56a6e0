"""Ensembles of one example's network: members trained one after another from their own seeds, each in its own
folder (so an interrupted run resumes inside the member it was training), and averaged into one model.

Chapter: 004 §3.4 (the training process). Different seeds give different initial weights, data orders and
dropout masks: the members' errors differ, so the average of their outputs is better than the typical member
(measured in the Reuters and engines READMEs).
"""

import shutil

import keras
from keras import layers

from common.training import set_seed

MEMBER_DIR = "member-{}"  # one folder per ensemble member: history, best checkpoint, backup


def member_seed(seed, index):
    """The seed of member `index` (1, 2, ...) of a run seeded `seed`: member 1 is the run's own seed, so a
    one-member ensemble is the single model."""
    return seed + index - 1


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
    """`count` models trained one after another, from seeds seed, seed + 1, ... (member_seed); returns them.

    `build(index)` returns a compiled model (index 1..count), built after
    the member's seed is set; `fit(model, folder, seed)` trains it with
    `run.callbacks(..., folder=folder)` (`seed`: the member's, e.g. for its
    data order) and may return the model to use instead (e.g.
    Run.local_model's). Each member has its own folder (member-1/, ...) for
    history, best checkpoint and backup, so an interrupted run resumes inside
    the member it was training and loads the members it had finished instead
    of training them again. Several members in several data-parallel
    processes are refused (one line).
    """
    if count > 1 and run.processes > 1:  # Run.local_model gives each process its copy and ends the distribution
        raise SystemExit("error: --members trains in one process; with several processes train one network per run")
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
        seed = member_seed(run.seed, index)
        set_seed(seed, run.deterministic)
        with run.scope():
            model = build(index)
        trained = fit(model, folder, seed)  # None: `model` itself was trained
        models.append(model if trained is None else trained)
    run.parameters = sum(model.count_params() for model in models)  # run.json counts every member's weights
    return models


def member_histories(run, count):
    """Each member's epochs_run and best_epoch for run.json, with its history plot (member-N/history.png)."""
    return [
        run.plot_history(run.output_dir / MEMBER_DIR.format(index), f"{run.name} member-{index}")
        for index in range(1, count + 1)
    ]
