"""Training utilities shared by every example: one `Run` object per training run.

Chapter: 004 §3.4 (the training process) and §9.4 (training faster).

A `Run` does, in order, what every example needs before and after `fit`:
seed everything, choose the precision policy and the distribution strategy,
say what hardware is used, prepare `outputs/NAME/` (resuming an interrupted
run), hand out the standard callbacks, and at the end write `run.json`,
the history plot and the metrics.
"""

import csv
import fcntl
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.data import REPO_ROOT

# No "multi-worker": Keras 3's Model.fit fails under MultiWorkerMirroredStrategy (keras-team/keras#20585,
# tensorflow/tensorflow#72388). Measured with Keras 3.15.1 / TensorFlow 2.21.0: two workers on localhost
# (TF_CONFIG with two ports) running the sine example both stop in their first step with "ValueError:
# Attempt to convert a value (PerReplica:{...}) ... to a Tensor". An option that cannot work is not offered.
# Several processes (and hosts) train together through Keras 3's own route instead: "data-parallel",
# keras.distribution on the JAX backend (start_data_parallel).
DISTRIBUTE_CHOICES = ("none", "mirrored", "data-parallel")
PROCESS_VARIABLES = (  # what a launcher (or a cluster scheduler's job script) sets for each process
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",  # host:port of process 0, the coordinator
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",  # 0 ... processes - 1
)
BACKUP_DIR = "backup"
HISTORY_FILE = "history.csv"
RUN_RECORD = "run.json"
PAUSE_AFTER_EPOCH = "RNN_EXAMPLES_PAUSE_AFTER_EPOCH"  # tests only, see PauseForSignal
LOCK_FILE = ".lock"  # in the output folder: held by the run writing there (see hold_output_dir)
ELAPSED_FILE = "elapsed.json"  # in the backup: when the run first started, and the seconds of its finished parts
_held_locks = {}  # output folder -> the open lock file of this process's run there


class OutputDirBusy(RuntimeError):
    """Another run is writing to the output folder."""


def hold_output_dir(folder):
    """Take the output folder for this process (an OS lock on OUTPUT_DIR/.lock, holding our process id).

    A second run on the same folder (another terminal, the same command twice) would take the first one's
    live backup for an interrupted run, and the two would write the same files; it stops at once instead,
    naming the other run's process. The OS drops the lock when its process ends, however it ends, so a run
    that was killed never blocks the next. A run of this same process that ended without finishing (an
    exception, in a test or a notebook) is over: its lock is handed on.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    if key in _held_locks:
        _held_locks.pop(key).close()
    handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115  (held open until the run ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise OutputDirBusy(
            f"{folder} is in use by another run (process {holder}); wait for it to end, "
            f"or give this run another folder with --output-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held_locks[key] = handle
    return handle


def release_output_dir(folder):
    """Hand the output folder back (the end of a run)."""
    handle = _held_locks.pop(str(Path(folder).resolve()), None)
    if handle:
        handle.close()


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


def start_data_parallel(environ=os.environ):
    """Data parallelism over every device of every process (keras.distribution.DataParallel, JAX backend):
    (this process's index, the number of processes, the devices). The processes meet through PROCESS_VARIABLES
    (unset: one process, its own devices). Each process reads its share of every global batch (Keras shards
    the tf.data pipeline), gradients are averaged across all devices each step, so every process holds the
    same weights. Must run before anything computes with JAX (seeding included)."""
    if keras.backend.backend() != "jax":
        raise SystemExit(
            f"error: --distribute data-parallel runs on the JAX backend (KERAS_BACKEND=jax), not "
            f"{keras.backend.backend()}; on TensorFlow, --distribute mirrored uses the GPUs of one machine"
        )
    import jax

    processes = int(environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1"))
    if processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices talk across processes
        keras.distribution.initialize()  # reads PROCESS_VARIABLES
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return jax.process_index(), processes, devices


def make_strategy(name="none"):
    """A `tf.distribute` strategy by name: none or mirrored (data-parallel: see start_data_parallel; TensorFlow's
    side then has nothing to do).

    mirrored: one replica per local GPU (or per logical CPU device when there
    is no GPU), gradients summed across replicas each step. The batch size
    given to `fit` is global: each replica gets batch/replicas. (Several
    machines: see DISTRIBUTE_CHOICES for why there is no multi-worker option.)
    """
    if name not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute={name!r} is not one of {', '.join(DISTRIBUTE_CHOICES)}")
    if name in ("none", "data-parallel"):
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def cpu_name(cpuinfo):
    """The CPU's model name from /proc/cpuinfo's text; a bare name gets its family and model numbers.

    Virtual machines often report only 'AMD EPYC', which hides a 3x difference in
    speed between CPU generations; the family and model numbers tell them apart.
    """
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "")
    if name and not any(char.isdigit() for char in name) and "cpu family" in fields:
        name += f", family {fields['cpu family']} model {fields.get('model', '?')}"
    return name


def hardware_description():
    """A short description of the machine, e.g. '2 CPU cores (AMD EPYC 7B13)'."""
    try:
        name = cpu_name(Path("/proc/cpuinfo").read_text())
    except OSError:
        name = ""
    text = f"{os.cpu_count()} CPU cores ({name or platform.processor() or platform.machine()})"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus]
        text += ", " + ", ".join(names)
    return text


def backend_setting():
    """["KERAS_BACKEND=NAME"] for a run on another backend than TensorFlow: part of the command that repeats it."""
    backend = keras.backend.backend()
    return [] if backend == "tensorflow" else [f"KERAS_BACKEND={backend}"]


def library_versions():
    import matplotlib
    import sklearn

    backend = keras.backend.backend()
    return {
        "python": platform.python_version(),
        "keras_backend": backend,
        **({} if backend == "tensorflow" else {backend: importlib.import_module(backend).__version__}),
        "tensorflow": tf.__version__,  # tf.data feeds every backend
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


class BestEpochStopping(keras.callbacks.Callback):
    """Stop when `monitor` has not improved for `patience` epochs, then restore the best epoch's weights.

    Keras' EarlyStopping does the same, but starts afresh at every `fit`: a
    resumed run would forget the best epoch seen before the interruption, and
    setting its private counters from outside breaks silently when Keras
    changes them. This small callback is ours and takes what it remembers
    (`best`, `best_epoch`, `wait`, `best_weights`) when it is made. Its rule
    is Keras': an epoch improves when it is strictly better; training stops
    when `wait`, the epochs since the last improvement, reaches `patience`.
    """

    def __init__(self, monitor, mode, patience, best=None, best_epoch=None, wait=0, best_weights=None):
        super().__init__()
        self.monitor, self.patience = monitor, patience
        self.better = np.less if mode == "min" else np.greater
        self.best = best if best is not None else (np.inf if mode == "min" else -np.inf)
        self.best_epoch, self.wait, self.best_weights = best_epoch, wait, best_weights
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"early stopping watches {self.monitor!r}, which training does not log: {sorted(logs)}")
        if self.best_weights is None:  # the first epoch's weights are the best seen so far
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.better(value, self.best):
            self.best, self.best_epoch, self.best_weights, self.wait = value, epoch, self.model.get_weights(), 0
        elif self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.best_weights is not None:
            print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def resumed_best(history_path, checkpoint_path, monitor, mode):
    """What early stopping and the checkpoint remember of an interrupted run: {best, best_epoch, wait,
    best_weights} from its history and best checkpoint, or {} when there is nothing (or nothing readable)."""
    history = read_history(history_path)
    index, value = best_epoch(history, monitor, mode)
    if index is None or not Path(checkpoint_path).exists():
        return {}
    try:
        best_weights = keras.models.load_model(checkpoint_path, compile=False).get_weights()
    except Exception as error:  # e.g. interrupted while the checkpoint was being written
        print(
            f"warning: the best model saved before the interruption ({checkpoint_path}) is unreadable "
            f"({type(error).__name__}); best-epoch tracking starts again from the resumed epoch"
        )
        return {}
    epochs_done = len(history[monitor])
    return {"best": value, "best_epoch": index, "wait": epochs_done - 1 - index, "best_weights": best_weights}


class PauseForSignal(keras.callbacks.Callback):
    """For tests of Ctrl-C: after epoch `epoch` (1-based) is on disk, or with epoch "training" once training has
    ended (the evaluation that follows has not begun), write `marker` and wait for a signal.

    A test that interrupts a real training run from outside must not race it:
    with $RNN_EXAMPLES_PAUSE_AFTER_EPOCH=N the run stops after its Nth epoch
    (history, backup and checkpoint written), says so in OUTPUT_DIR/paused,
    and waits; the test sends SIGINT when the file appears, and Python turns
    it into the KeyboardInterrupt that Ctrl-C gives, wherever the run is.
    After `timeout` seconds with no signal it gives up with an error.
    """

    def __init__(self, epoch, marker, timeout=600):
        super().__init__()
        self.epoch, self.marker, self.timeout = str(epoch), Path(marker), timeout

    def on_epoch_end(self, epoch, logs=None):
        if str(epoch + 1) == self.epoch:
            self.pause()

    def on_train_end(self, logs=None):
        if self.epoch == "training":
            self.pause()

    def pause(self):
        self.marker.write_text(f"{self.epoch}\n")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)  # a signal's KeyboardInterrupt is raised here
        raise RuntimeError(f"{PAUSE_AFTER_EPOCH}: no signal came within {self.timeout} s of pausing")


class EpochTimer(keras.callbacks.Callback):
    """Adds each epoch's wall time, validation included, to the logs as `epoch_seconds` (so history.csv holds
    it: curves against time, chapter 004 §9.4), and notes the model's parameter count for run.json.

    It must come before CSVLogger in the callback list: Keras hands every callback the same logs. (Its
    on_epoch_begin runs after those of the callbacks before it: BackupAndRestore's, which does nothing, and
    SwapEMAWeights', which swaps the weights back; negligible beside an epoch.)
    """

    parameters = None

    def on_train_begin(self, logs=None):
        self.parameters = self.model.count_params()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = round(time.perf_counter() - self.started, 3)


class Run:
    """Everything around `model.fit` for one example run (see module docstring).

    `config` is the run's resolved options (a dict of plain values: what
    run.json records and what a resumed run must match). `monitor` and
    `mode` name the validation measure that early stopping, the checkpoint
    and run.json's best epoch follow.
    """

    active = None  # the latest Run of this process

    def __init__(
        self,
        example,
        config,
        *,
        output_dir,
        seed,
        monitor="val_loss",
        mode="min",
        quick=False,
        restart=False,
        deterministic=False,
        mixed_precision=False,
        distribute="none",
        tensorboard=False,
        resumable=True,
        argv=None,
        name=None,
    ):
        self.example = example  # the folder under examples/
        # One example can make several result rows' runs (tagging: pos and chunk); `name` tells them apart.
        self.name = name or example
        self.config = {key: (str(value) if isinstance(value, Path) else value) for key, value in config.items()}
        self.seed, self.deterministic, self.quick, self.tensorboard = seed, deterministic, quick, tensorboard
        self.monitor, self.mode = monitor, mode
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.timer = None  # the EpochTimer of the last callbacks() call
        self.parameters = None  # weights of the saved model, when the last timer's model is not all of it
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.seconds_before, self.epochs_finished, self.finished = 0.0, 0, False  # (resumed: set from the backup)
        self.process, self.processes, replicas = 0, 1, None
        if distribute == "data-parallel":
            self.process, self.processes, devices = start_data_parallel()
            replicas = len(devices)
        set_seed(seed, deterministic)
        self.precision = set_precision(mixed_precision)
        self.strategy = make_strategy(distribute)
        if self.process:  # only process 0 writes the output folder; the others write to a scratch folder
            output_dir = tempfile.mkdtemp(prefix=f"{self.name}-process{self.process}-")
        self.output_dir, self.backup_dir = Path(output_dir), Path(output_dir) / BACKUP_DIR
        hold_output_dir(self.output_dir)  # one run per folder: a second one stops here
        Run.active = self  # the run that Ctrl-C interrupts (common.cli.run says what a rerun will do)
        # resumable=False: no Keras training to resume (e.g. the NumPy example), so no backup folder.
        self.resumable = resumable
        self.resumed = self._prepare_output_dir(restart) if resumable else False
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.device = {
            "hardware": hardware_description(),
            "strategy": "DataParallel" if replicas else type(self.strategy).__name__,
            "replicas": replicas or self.strategy.num_replicas_in_sync,
            "processes": self.processes,
            "precision": self.precision,
        }
        print(
            f"[{example}] {self.device['hardware']}; strategy {self.device['strategy']} "
            f"with {self.device['replicas']} replica(s)"
            + (f" in {self.processes} processes (this is process {self.process})" if self.processes > 1 else "")
            + f"; precision {self.precision}; outputs in {self.output_dir}"
        )

    def _prepare_output_dir(self, restart):
        """Create the output folder; detect and check an interrupted run in it; True when resuming.

        A backup is resumed only when at least one epoch finished before the
        interruption (else there is nothing to resume: the run starts again)
        and only when the options match, so that a changed command never
        continues someone else's model.
        """
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if restart and self.backup_dir.exists():
            shutil.rmtree(self.backup_dir)
        if self.backup_dir.exists():
            progress = self._read_progress()
            if progress.get("epochs", 0) >= 1:
                self._check_same_options()
                self.started_at, self.seconds_before = progress["started_at"], progress["seconds"]
                self.epochs_finished = progress["epochs"]
                print(
                    f"Resuming the interrupted run in {self.output_dir}: {self.epochs_finished} epoch(s) had finished "
                    f"(add --restart to start over)."
                )
                return True
            print(f"The run interrupted in {self.output_dir} had finished no epoch: starting it again.")
            shutil.rmtree(self.backup_dir)
        (self.output_dir / HISTORY_FILE).unlink(missing_ok=True)  # a new run: forget the previous one's history
        self.backup_dir.mkdir()
        (self.backup_dir / "config.json").write_text(json.dumps(self.config, indent=2))
        self.save_progress()
        return False

    def _check_same_options(self):
        saved_config = self.backup_dir / "config.json"
        try:
            previous = json.loads(saved_config.read_text())
        except (OSError, ValueError):
            raise SystemExit(
                f"error: {saved_config}, the options of the run interrupted in {self.output_dir}, is missing or "
                f"damaged, so it cannot be resumed safely; add --restart to start over."
            ) from None
        if previous != self.config:
            raise SystemExit(
                f"error: {self.output_dir} holds an interrupted run with other options.\n"
                f"Rerun the same command to resume it, or add --restart to start over."
            )

    def _read_progress(self):
        """{started_at, seconds, epochs} of the interrupted run in the backup, {} when absent or damaged."""
        try:
            progress = json.loads((self.backup_dir / ELAPSED_FILE).read_text())
            return progress if {"started_at", "seconds", "epochs"} <= set(progress) else {}
        except (OSError, ValueError, TypeError):
            return {}

    def elapsed(self):
        """Seconds of this run, every part of a resumed run included (not the pauses between them)."""
        return self.seconds_before + time.perf_counter() - self.started

    def save_progress(self, finished_epoch=False):
        """Record in the backup when the run first started, its seconds so far and its finished epochs (after
        each epoch, and on Ctrl-C), so that a resumed run's run.json covers every part."""
        if finished_epoch:
            self.epochs_finished += 1
        if self.backup_dir.exists():
            progress = {
                "started_at": self.started_at,
                "seconds": round(self.elapsed(), 1),
                "epochs": self.epochs_finished,
            }
            (self.backup_dir / ELAPSED_FILE).write_text(json.dumps(progress))

    def interruption_note(self):
        """What running the same command again will do, said when this run is interrupted."""
        if self.finished:
            return "the run had finished: its outputs are complete"
        if not self.resumable:
            return "this run does not resume: running the same command again starts it from the beginning"
        if self.backup_dir.exists() and self.epochs_finished >= 1:
            return (
                f"run the same command again to resume: the {self.epochs_finished} epoch(s) finished so far are "
                f"kept (or add --restart to start over)"
            )
        if self.backup_dir.exists():
            return "no epoch had finished: running the same command again starts the run from the beginning"
        return (
            "training had ended, but the run had not finished (evaluation, saving): running the same command "
            "again starts the run from the beginning"
        )

    def scope(self):
        """Build and compile models inside this scope so variables are mirrored."""
        return self.strategy.scope()

    def local_model(self, model, checkpoint_name="model.keras"):
        """`model` itself, or after data-parallel training in several processes this process's own copy of it,
        read from the checkpoint: the trained variables then live on the devices of every process, and one
        process cannot compute with them alone (evaluation and prediction run in each process, unshared)."""
        if self.processes == 1:
            return model
        keras.distribution.set_distribution(None)
        return keras.models.load_model(self.output_dir / checkpoint_name)

    def callbacks(
        self,
        patience=5,
        reduce_lr_patience=None,
        checkpoint_name="model.keras",
        folder=None,
        averaged_weights=False,
        evaluators=(),
    ):
        """The standard callbacks, in the order Keras must call them.

        BackupAndRestore (resume after an interruption), CSVLogger (history,
        appended across resumes), BestEpochStopping (early stopping that
        restores the best weights and remembers the best epoch across a
        resume), ModelCheckpoint (best model on disk), TerminateOnNaN,
        optionally ReduceLROnPlateau (halve the learning rate after
        `reduce_lr_patience` epochs without progress) and TensorBoard. With
        `folder` (e.g. an ensemble member's), the history, the checkpoint and
        the backup go into that subfolder.

        `averaged_weights=True` (for an optimizer made with `use_ema=True`,
        see `adam`) validates, early-stops and checkpoints the moving average
        of the weights instead of the last step's weights (Polyak averaging):
        the average smooths out the noise of the last updates. The backup
        keeps the raw weights, so a resumed run goes on training them.

        `evaluators` are callbacks that add a validation metric of their own
        to the epoch's logs (e.g. tagging's F1 over whole entities, which
        Keras cannot compute batch by batch); `monitor` may name it. They run
        after the averaged weights are swapped in and before the callbacks
        that read or write the logs.
        """
        output_dir, backup_dir = self.output_dir, self.backup_dir
        if folder:
            output_dir, backup_dir = output_dir / folder, backup_dir / folder
            output_dir.mkdir(exist_ok=True)
        checkpoint_path = output_dir / checkpoint_name
        remembered = resumed_best(output_dir / HISTORY_FILE, checkpoint_path, self.monitor, self.mode)
        self.timer = EpochTimer()
        callbacks = [
            keras.callbacks.BackupAndRestore(str(backup_dir)),  # first, so that it saves the raw weights
            # After the backup, before the evaluators, early stopping and the checkpoint: they see the averages.
            *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if averaged_weights else []),
            *evaluators,
            self.timer,  # after the evaluators (their time is the epoch's too), before the CSVLogger writes it
            keras.callbacks.CSVLogger(str(output_dir / HISTORY_FILE), append=True),
            BestEpochStopping(self.monitor, self.mode, patience, **remembered),
            keras.callbacks.ModelCheckpoint(
                checkpoint_path,
                monitor=self.monitor,
                mode=self.mode,
                save_best_only=True,
                initial_value_threshold=remembered.get("best"),  # after a resume: beat the best seen before
            ),
            keras.callbacks.TerminateOnNaN(),
        ]
        if reduce_lr_patience:
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=self.monitor,
                    mode=self.mode,
                    factor=0.5,
                    patience=reduce_lr_patience,
                    min_lr=1e-5,
                    verbose=1,
                )
            )
        if self.tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(self.output_dir / "tensorboard")))
        # After the backup, history and checkpoint of the epoch are written: count it as finished.
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: self.save_progress(True)))
        if os.environ.get(PAUSE_AFTER_EPOCH):  # last: the epoch's files are written before it pauses
            callbacks.append(PauseForSignal(os.environ[PAUSE_AFTER_EPOCH], self.output_dir / "paused"))
        return callbacks

    def finish(self, metrics, results=(), extra=None):
        """Write run.json and the training-curve plot; return the record.

        `results` are the rows for the README's results table: dicts with
        metric, model, baseline, baseline_name (see benchmarks/tables.py).
        """
        epochs = self.plot_history(self.output_dir, self.name)
        shutil.rmtree(self.backup_dir, ignore_errors=True)  # finished: nothing left to resume
        record = {
            "example": self.name,
            "command": " ".join([*backend_setting(), "python", f"examples/{self.example}/train.py", *self.argv]),
            "argv": self.argv,
            "config": self.config,
            "seed": self.seed,
            "quick": self.quick,
            "started_at": self.started_at,  # a resumed run: when its first part started
            "wall_time_s": round(self.elapsed(), 1),  # every part's seconds
            "device": self.device,
            "versions": library_versions(),
            **epochs,
            "parameters": self.parameters or (self.timer.parameters if self.timer else None),
            "metrics": metrics,
            "results": list(results),
            **(extra or {}),
        }
        (self.output_dir / RUN_RECORD).write_text(json.dumps(record, indent=2, default=float))
        print(f"[{self.example}] wrote {self.output_dir / RUN_RECORD} ({record['wall_time_s']} s)")
        self.finished = True
        release_output_dir(self.output_dir)
        return record

    def plot_history(self, folder, title):
        """Plot `folder`'s history.csv (all resumed parts of one training); return its epochs_run and best_epoch
        (both None without a history: an ensemble's training is in its members' folders)."""
        from common.plots import plot_history

        history = read_history(Path(folder) / HISTORY_FILE)
        index, _ = best_epoch(history, self.monitor, self.mode)
        if history:
            plot_history(history, Path(folder) / "history.png", title=title)
        epochs = len(next(iter(history.values()), [])) or None
        return {"epochs_run": epochs, "best_epoch": None if index is None else index + 1}


def array_dataset(inputs, targets, batch_size, shuffle, seed, whole_batches=False):
    """Arrays in memory (inputs, targets: NumPy arrays, or a dict of them) as a tf.data pipeline of batches;
    with `shuffle`, the order is drawn anew every epoch from `seed` (so `fit` gets shuffle=False).
    `whole_batches` drops the last, smaller batch: data-parallel processes each take a share of every batch,
    and one left without a share would wait for the others forever."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=whole_batches).prefetch(tf.data.AUTOTUNE)


def fit_arrays(model, data, args, run, folder=None, seed=None, **callback_options):
    """Train on data["train"] and validate on data["validation"] ((inputs, targets) arrays each), with the
    run's callbacks: args.batch_size, args.epochs, args.patience, and the data order of `seed` (default
    args.seed); `folder` (an ensemble member's) and `callback_options` go to Run.callbacks (e.g.
    reduce_lr_patience). Returns the trained model to evaluate (see Run.local_model)."""
    whole, seed = args.distribute == "data-parallel", args.seed if seed is None else seed
    model.fit(
        array_dataset(*data["train"], args.batch_size, True, seed, whole),
        validation_data=array_dataset(*data["validation"], args.batch_size, False, seed, whole),
        epochs=args.epochs,
        shuffle=False,  # the dataset reshuffles itself every epoch
        callbacks=run.callbacks(patience=args.patience, folder=folder, **callback_options),
    )
    return run.local_model(model, f"{folder}/model.keras" if folder else "model.keras")


def adam(learning_rate, clipnorm=None, weight_averaging=0.0):
    """Adam; with `weight_averaging` (a momentum, e.g. 0.995) it also keeps a moving average of the weights,
    which `Run.callbacks(averaged_weights=True)` then validates and saves."""
    averaging = {"use_ema": True, "ema_momentum": weight_averaging} if weight_averaging else {}
    return keras.optimizers.Adam(learning_rate, clipnorm=clipnorm, **averaging)


def default_output_dir(example, quick):
    """outputs/NAME for real runs, outputs/NAME-quick so smoke runs never overwrite them."""
    return REPO_ROOT / "outputs" / (f"{example}-quick" if quick else example)
