"""Saved models: prove, at the end of every full run, that what was saved loads again and answers the same.

Chapter: 004 §5 (each project ends with a model used on new input: predict,
generate, forecast). A model can train well and still be unusable: a custom
layer that is not registered, a vocabulary file that does not read back
(issue 12: one token holding the line separator U+0085). Tests on small data
do not see what only the real data brings, so each example reloads its saved
files from disk, as its predict / generate / forecast script will, and
compares the answers with those of the model in memory before `run.json`
claims success.
"""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np


def load_for_use(path, how_to_train, *companions):
    """The model saved at `path`, for a predict / generate / forecast script; a clear SystemExit instead of a
    traceback when it (or a `companions` file saved beside it, e.g. a vocabulary) is missing or unreadable.

    `how_to_train` is the command that makes it, e.g. "make example-imdb"; a damaged file names the command of
    the run that saved it instead, when its run.json tells (a variant's options included).
    """
    for needed in (path, *companions):
        if not Path(needed).exists():
            raise SystemExit(f"error: {needed} not found; train first with: {how_to_train} (or point to a trained run)")
    if str(path).endswith(".keras") and not zipfile.is_zipfile(path):
        # Keras would say "File not found" of a file that is there: a .keras file is a zip archive, and a cut
        # one (a full disk, an interrupted copy) has lost the directory at its end.
        raise SystemExit(
            f"error: {path} is damaged (not a complete .keras archive); {_train_again(path, how_to_train)}"
        )
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a damaged or half-written file, or a model from an incompatible version
        raise SystemExit(
            f"error: {path} cannot be loaded ({type(error).__name__}: {str(error)[:300]}); "
            f"{_train_again(path, how_to_train)}"
        ) from None


def run_record(run_dir):
    """The record (run.json) of the run that wrote `run_dir`, or {} when there is none, it is damaged, or it is
    not a JSON object: callers read what it tells and fall back on their own."""
    try:
        record = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no record, or a damaged one
        return {}
    return record if isinstance(record, dict) else {}


def retrain_command(run_dir, usual):
    """The command recorded in `run_dir`/run.json by the run that saved the files there (e.g. "python
    examples/reuters/train.py --tf-idf"), else `usual`: what to run again when one of those files is damaged.
    (Only for damaged files: a missing one may be missing because the folder is another example's.)"""
    command = run_record(run_dir).get("command")
    return command if isinstance(command, str) and command.strip() else usual


def _train_again(damaged_file, usual):
    """The hint for a damaged file (its run's record is read only then, never on a load that succeeds)."""
    return f"train again with: {retrain_command(Path(damaged_file).parent, usual)}"


class SavedModelError(RuntimeError):
    """A model saved by a training run does not load again, or answers differently once loaded, or a file
    saved beside it (vocabulary, settings) is missing or damaged."""


def read_sidecar(path, how_to_train, keys=()):
    """The JSON saved beside a model (vocabulary, topics, preprocessing settings); SavedModelError, one line
    naming the file and what to do, when it is missing, damaged (cut short, edited), or lacks one of `keys`
    (a file written by an older version of the example)."""
    path = Path(path)
    if not path.exists():
        raise SavedModelError(f"{path} not found; train first with: {how_to_train} (or point to a trained run)")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise SavedModelError(f"{path} is damaged ({error}); {_train_again(path, how_to_train)}") from None
    missing = [key for key in keys if not isinstance(saved, dict) or key not in saved]
    if missing:
        raise SavedModelError(
            f"{path} lacks {', '.join(missing)} (saved by an older version of this example?); "
            f"{_train_again(path, how_to_train)}"
        )
    return saved


def _largest_difference(expected, reloaded):
    """Largest absolute difference of two numeric answers, or None when they are not numbers (text, tags)."""
    try:
        expected, reloaded = np.asarray(expected, dtype="float64"), np.asarray(reloaded, dtype="float64")
    except (TypeError, ValueError):
        return None
    if expected.shape != reloaded.shape:
        return float("inf")
    return float(np.max(np.abs(expected - reloaded), initial=0.0))


def check_round_trip(path, expected, answer=None, inputs=None, tolerance=1e-5):
    """Load `path` from disk and check that it answers as the model in memory did; return the loaded model.

    `expected` is what the model in memory gave. The loaded model answers
    through `answer(model)` (e.g. generate text, tag sentences: the script's
    own use), or else `model.predict(inputs)`. Numbers may differ by
    `tolerance` (float summation order); text and labels must be equal.
    Raises SavedModelError, naming the file, when it does not load or differs.
    """
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # anything: the run must not report success with an unusable model
        raise SavedModelError(f"{path} was saved but does not load again: {type(error).__name__}: {error}") from error
    reloaded = answer(model) if answer is not None else model.predict(inputs, verbose=0)
    difference = _largest_difference(expected, reloaded)
    same = reloaded == expected if difference is None else difference <= tolerance
    detail = "text or labels compared" if difference is None else f"largest difference {difference:.1e}"
    if not same:
        raise SavedModelError(
            f"{path} loads, but answers differently from the model in memory ({detail}); "
            f"in memory: {str(expected)[:200]}, loaded: {str(reloaded)[:200]}"
        )
    print(f"checked {path}: loads again and gives the same answers ({detail})")
    return model
