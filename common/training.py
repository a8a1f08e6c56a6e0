"""Training utilities shared by every example: one `Run` object per training run.

Chapter: 004 §3.4 (the training process) and §9.4 (training faster).

A `Run` does, in order, what every example needs before and after `fit`:
seed everything, choose the precision policy and the distribution strategy,
say what hardware is used, prepare `outputs/NAME/` (resuming an interrupted
run), hand out the standard callbacks, and at the end write `run.json`,
the history plot and the metrics.
"""

import csv
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.data import REPO_ROOT

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi-worker")
BACKUP_DIR = "backup"
HISTORY_FILE = "history.csv"
MEMBER_DIR = "member-{}"  # one folder per ensemble member (see train_ensemble)
RUN_RECORD = "run.json"
PAUSE_AFTER_EPOCH = "RNN_EXAMPLES_PAUSE_AFTER_EPOCH"  # tests only, see PauseForSignal


def set_seed(seed, deterministic=False):
    """Seed Python, NumPy and TensorFlow at once (`keras.utils.set_random_seed`).

    `deterministic=True` also makes TensorFlow ops deterministic (same numbers
    on the same hardware, some ops slower); without it, the seed fixes data
    order and initial weights, and results agree up to float reduction order.
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def set_precision(mixed):
    """Use mixed float16 precision when asked and return the policy name.

    Mixed precision pays off on GPUs with tensor cores (compute in float16,
    variables in float32); on CPU it is slower, so we warn.
    """
    policy = "mixed_float16" if mixed else "float32"
    if mixed and not tf.config.list_physical_devices("GPU"):
        print("warning: --mixed-precision on CPU is slower than float32; it is meant for GPUs")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def make_strategy(name="none"):
    """A `tf.distribute` strategy by name: none, mirrored or multi-worker.

    mirrored: one replica per local GPU (or per logical CPU device when there
    is no GPU), gradients summed across replicas each step.
    multi-worker: the same across machines, described by the TF_CONFIG
    environment variable on every worker (see README, "More than one device").
    The batch size given to `fit` is global: each replica gets batch/replicas.
    """
    if name not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute={name!r} is not one of {', '.join(DISTRIBUTE_CHOICES)}")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.MultiWorkerMirroredStrategy()


def hardware_description():
    """A short description of the machine, e.g. '2 CPU cores (AMD EPYC 7B13)'."""
    cpu_name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{os.cpu_count()} CPU cores ({cpu_name})"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus]
        text += ", " + ", ".join(names)
    return text


def library_versions():
    import matplotlib
    import sklearn

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
    }


def read_history(path):
    """Rows of a CSVLogger file as a dict of lists (floats), {} if it is absent."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


def best_epoch(history, monitor, mode):
    """Index and value of the best epoch in a history dict, or (None, None)."""
    values = history.get(monitor) or []
    if not values:
        return None, None
    index = int(np.argmin(values) if mode == "min" else np.argmax(values))
    return index, values[index]


class _ResumeTrackers(keras.callbacks.Callback):
    """After a resume, give EarlyStopping and ModelCheckpoint back their memory.

    BackupAndRestore restores the weights, optimizer and epoch, but the other
    callbacks start afresh: without this, early stopping would forget the best
    epoch seen before the interruption and the checkpoint would overwrite a
    better model. It must come after them in the callback list, because Keras
    calls `on_train_begin` in list order and they reset themselves there.
    """

    def __init__(self, history_path, checkpoint_path, early_stopping, checkpoint, monitor, mode):
        super().__init__()
        self.history_path, self.checkpoint_path = Path(history_path), Path(checkpoint_path)
        self.early_stopping, self.checkpoint = early_stopping, checkpoint
        self.monitor, self.mode = monitor, mode

    def on_train_begin(self, logs=None):
        history = read_history(self.history_path)
        index, value = best_epoch(history, self.monitor, self.mode)
        if index is None or not self.checkpoint_path.exists():
            return
        try:
            best_weights = keras.models.load_model(self.checkpoint_path, compile=False).get_weights()
        except Exception as error:  # e.g. interrupted while the checkpoint was being written
            print(
                f"warning: the best model saved before the interruption ({self.checkpoint_path}) is unreadable "
                f"({type(error).__name__}); best-epoch tracking starts again from the resumed epoch"
            )
            return
        epochs_done = len(history[self.monitor])
        self.checkpoint.best = value
        self.early_stopping.best = value
        self.early_stopping.best_epoch = index
        self.early_stopping.wait = epochs_done - 1 - index
        self.early_stopping.best_weights = best_weights


class PauseForSignal(keras.callbacks.Callback):
    """For tests of Ctrl-C: after epoch `epoch` (1-based) is on disk, write `marker` and wait for a signal.

    A test that interrupts a real training run from outside must not race it:
    with $RNN_EXAMPLES_PAUSE_AFTER_EPOCH=N the run stops after its Nth epoch
    (history, backup and checkpoint written), says so in OUTPUT_DIR/paused,
    and waits; the test sends SIGINT when the file appears, and Python turns
    it into the KeyboardInterrupt that Ctrl-C gives, wherever the run is.
    After `timeout` seconds with no signal it gives up with an error.
    """

    def __init__(self, epoch, marker, timeout=600):
        super().__init__()
        self.epoch, self.marker, self.timeout = epoch, Path(marker), timeout

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 != self.epoch:
            return
        self.marker.write_text(f"{self.epoch}\n")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)  # a signal's KeyboardInterrupt is raised here
        raise RuntimeError(f"{PAUSE_AFTER_EPOCH}: no signal came within {self.timeout} s of pausing")


class Run:
    """Everything around `model.fit` for one example run (see module docstring)."""

    def __init__(self, example, args, argv=None, resumable=True, name=None):
        self.example = example  # the folder under examples/
        # One example can make several result rows' runs (tagging: pos and chunk); `name` tells them apart.
        self.name = name or example
        self.args = args
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        set_seed(args.seed, getattr(args, "deterministic", False))
        self.precision = set_precision(getattr(args, "mixed_precision", False))
        self.strategy = make_strategy(getattr(args, "distribute", "none"))
        # resumable=False: no Keras training to resume (e.g. the NumPy example), so no backup folder.
        self.output_dir, self.resumed = self._prepare_output_dir() if resumable else (Path(args.output_dir), False)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.device = {
            "hardware": hardware_description(),
            "strategy": type(self.strategy).__name__,
            "replicas": self.strategy.num_replicas_in_sync,
            "precision": self.precision,
        }
        print(
            f"[{example}] {self.device['hardware']}; strategy {self.device['strategy']} "
            f"with {self.device['replicas']} replica(s); precision {self.precision}; "
            f"outputs in {self.output_dir}"
        )

    @property
    def config(self):
        return {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(self.args).items()}

    def _prepare_output_dir(self):
        """Create the output folder; detect and check an interrupted run in it.

        A backup left by an interrupted run is resumed only when the options
        match, so that a changed command never continues someone else's model.
        """
        output_dir = Path(self.args.output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        backup = output_dir / BACKUP_DIR
        saved_config = backup / "config.json"
        if getattr(self.args, "restart", False) and backup.exists():
            shutil.rmtree(backup)
        if backup.exists():
            previous = json.loads(saved_config.read_text()) if saved_config.exists() else None
            if previous != self.config:
                raise SystemExit(
                    f"error: {output_dir} holds an interrupted run with other options.\n"
                    f"Rerun the same command to resume it, or add --restart to start over."
                )
            print(f"Resuming the interrupted run in {output_dir} (add --restart to start over).")
            return output_dir, True
        # A new run: forget the history (and the ensemble members) of the previous one.
        (output_dir / HISTORY_FILE).unlink(missing_ok=True)
        for folder in output_dir.glob(MEMBER_DIR.format("*")):
            shutil.rmtree(folder)
        backup.mkdir()
        saved_config.write_text(json.dumps(self.config, indent=2))
        return output_dir, False

    def scope(self):
        """Build and compile models inside this scope so variables are mirrored."""
        return self.strategy.scope()

    def callbacks(
        self,
        monitor="val_loss",
        mode="min",
        patience=5,
        reduce_lr_patience=None,
        checkpoint_name="model.keras",
        folder=None,
        averaged_weights=None,
    ):
        """The standard callbacks, in the order Keras must call them.

        BackupAndRestore (resume after an interruption), CSVLogger (history,
        appended across resumes), EarlyStopping (restores the best weights),
        ModelCheckpoint (best model on disk), TerminateOnNaN, optionally
        ReduceLROnPlateau (halve the learning rate after `reduce_lr_patience`
        epochs without progress) and TensorBoard, and the resume fix-up for
        the trackers. With `folder` (an ensemble member's), the history, the
        checkpoint and the backup go into that subfolder.

        `averaged_weights=True` (for an optimizer made with `use_ema=True`,
        see `adam`) validates, early-stops and checkpoints the moving average
        of the weights instead of the last step's weights (Polyak averaging):
        the average smooths out the noise of the last updates. The backup
        keeps the raw weights, so a resumed run goes on training them. By
        default it follows the run's --weight-averaging option.
        """
        self.monitor, self.mode = monitor, mode
        if averaged_weights is None:
            averaged_weights = bool(getattr(self.args, "weight_averaging", 0))
        output_dir, backup_dir = self.output_dir, self.output_dir / BACKUP_DIR
        if folder:
            output_dir, backup_dir = output_dir / folder, backup_dir / folder
            output_dir.mkdir(exist_ok=True)
        checkpoint_path = output_dir / checkpoint_name
        early_stopping = keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=patience, restore_best_weights=True, verbose=1
        )
        checkpoint = keras.callbacks.ModelCheckpoint(checkpoint_path, monitor=monitor, mode=mode, save_best_only=True)
        callbacks = [
            keras.callbacks.BackupAndRestore(str(backup_dir)),
            keras.callbacks.CSVLogger(str(output_dir / HISTORY_FILE), append=True),
            # After the backup, before early stopping and the checkpoint: they see the averaged weights.
            *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if averaged_weights else []),
            early_stopping,
            checkpoint,
            keras.callbacks.TerminateOnNaN(),
        ]
        if reduce_lr_patience:
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor, mode=mode, factor=0.5, patience=reduce_lr_patience, min_lr=1e-5, verbose=1
                )
            )
        if getattr(self.args, "tensorboard", False):
            callbacks.append(keras.callbacks.TensorBoard(str(self.output_dir / "tensorboard")))
        callbacks.append(
            _ResumeTrackers(output_dir / HISTORY_FILE, checkpoint_path, early_stopping, checkpoint, monitor, mode)
        )
        if os.environ.get(PAUSE_AFTER_EPOCH):  # last: the epoch's files are written before it pauses
            callbacks.append(PauseForSignal(int(os.environ[PAUSE_AFTER_EPOCH]), self.output_dir / "paused"))
        return callbacks

    def finish(self, metrics, results=(), extra=None):
        """Write run.json and the training-curve plot; return the record.

        `results` are the rows for the README's results table: dicts with
        metric, model, baseline, baseline_name (see common/results.py).
        """
        epochs = self._plot_history(self.output_dir, self.name)
        members = [
            self._plot_history(folder, f"{self.name} {folder.name}")
            for folder in sorted(self.output_dir.glob(MEMBER_DIR.format("*")), key=lambda f: int(f.name.split("-")[1]))
        ]
        shutil.rmtree(self.output_dir / BACKUP_DIR, ignore_errors=True)  # finished: nothing left to resume
        record = {
            "example": self.name,
            "command": " ".join(["python", f"examples/{self.example}/train.py", *self.argv]),
            "argv": self.argv,
            "config": self.config,
            "seed": self.args.seed,
            "quick": bool(getattr(self.args, "quick", False)),
            "started_at": self.started_at,
            "wall_time_s": round(time.perf_counter() - self.started, 1),
            "device": self.device,
            "versions": library_versions(),
            **epochs,
            **({"members": members} if members else {}),
            "metrics": metrics,
            "results": list(results),
            **(extra or {}),
        }
        (self.output_dir / RUN_RECORD).write_text(json.dumps(record, indent=2, default=float))
        print(f"[{self.example}] wrote {self.output_dir / RUN_RECORD} ({record['wall_time_s']} s)")
        return record

    def _plot_history(self, folder, title):
        """Plot `folder`'s history.csv (all resumed parts of one training); return its epochs_run and best_epoch."""
        from common.plots import plot_history

        history = read_history(folder / HISTORY_FILE)
        index, _ = best_epoch(history, getattr(self, "monitor", "val_loss"), getattr(self, "mode", "min"))
        if history:
            plot_history(history, folder / "history.png", title=title)
        return {"epochs_run": len(next(iter(history.values()), [])), "best_epoch": None if index is None else index + 1}

    def trained_member(self, folder):
        """The model of an ensemble member that finished before this resumed run was interrupted, or None.

        A member has finished when its backup is gone (BackupAndRestore deletes
        it at the end of training) and its best checkpoint is there.
        """
        checkpoint = self.output_dir / folder / "model.keras"
        if self.resumed and checkpoint.exists() and not (self.output_dir / BACKUP_DIR / folder).exists():
            return checkpoint
        return None


def adam(args):
    """Adam with the run's --learning-rate and --clipnorm, keeping a moving average of the weights
    when --weight-averaging gives a momentum (then `Run.callbacks` validates and saves that average)."""
    momentum = getattr(args, "weight_averaging", 0)
    averaging = {"use_ema": True, "ema_momentum": momentum} if momentum else {}
    return keras.optimizers.Adam(args.learning_rate, clipnorm=args.clipnorm, **averaging)


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
    models = []
    for index in range(1, count + 1):
        folder = MEMBER_DIR.format(index)
        finished = run.trained_member(folder)
        if finished:
            print(f"{folder}: trained before the interruption, loading {finished}")
            models.append(keras.models.load_model(finished))
            continue
        print(f"--- ensemble {folder} of {count} ---")
        set_seed(run.args.seed + index - 1, getattr(run.args, "deterministic", False))
        with run.scope():
            model = build(index)
        fit(model, folder)
        models.append(model)
    return models


def default_output_dir(example, quick):
    """outputs/NAME for real runs, outputs/NAME-quick so smoke runs never overwrite them."""
    return REPO_ROOT / "outputs" / (f"{example}-quick" if quick else example)
