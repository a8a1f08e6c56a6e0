"""Unit tests of common/training.py: seeding, strategies, the run folder, resume."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from common import training
from common.training import BestEpochStopping, Run, adam, best_epoch, make_strategy, read_history, set_seed


def tiny_run(output_dir, restart=False, **config):
    """A Run as an example makes one; `config` stands for the example's options (resuming compares them)."""
    return Run("tiny", {"units": 4, **config}, output_dir=output_dir, seed=1, quick=True, restart=restart, argv=[])


def tiny_model():
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.GRU(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 5, 1)).astype("float32")
    return x, x.sum(axis=(1, 2))[:, None]


class InterruptAt(keras.callbacks.Callback):
    """Simulates Ctrl-C at the start of one epoch, remembering the weights the run had then."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.weights = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.weights = self.model.get_weights()
            raise KeyboardInterrupt


class WeightsAtStart(keras.callbacks.Callback):
    """The weights training starts from (after the run's callbacks restored a backup, if any)."""

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_same_seed_gives_same_weights_and_numbers():
    set_seed(3)
    first = (tiny_model().get_weights(), np.random.rand(), tf.random.uniform(()).numpy())
    set_seed(3)
    second = (tiny_model().get_weights(), np.random.rand(), tf.random.uniform(()).numpy())
    for a, b in zip(first[0], second[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[1:] == second[1:]


def test_make_strategy_names():
    assert make_strategy("none").num_replicas_in_sync == 1
    # One replica per GPU, or per logical CPU device on a machine without GPUs.
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    assert make_strategy("mirrored").num_replicas_in_sync == len(devices)
    with pytest.raises(ValueError, match="distribute='horovod' is not one of none, mirrored"):
        make_strategy("horovod")


def test_best_epoch_and_history(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,0.9\n1,0.5,0.4\n2,0.4,0.6\n")
    history = read_history(path)
    assert history["val_loss"] == [0.9, 0.4, 0.6]
    assert best_epoch(history, "val_loss", "min") == (1, 0.4)
    assert best_epoch(history, "loss", "max") == (0, 1.0)
    assert best_epoch({}, "val_loss", "min") == (None, None)
    assert read_history(tmp_path / "absent.csv") == {}


def fit(run, epochs, extra=()):
    x, y = tiny_data()
    model = tiny_model()
    recorder = RecordEpochs()
    model.fit(
        x, y, validation_split=0.25, epochs=epochs, verbose=0, callbacks=[*run.callbacks(patience=50), recorder, *extra]
    )
    return model, recorder.epochs


def test_interrupted_training_resumes_where_it_stopped(tmp_path, capsys):
    run, interrupt = tiny_run(tmp_path), InterruptAt(3)
    with pytest.raises(KeyboardInterrupt):
        fit(run, epochs=6, extra=[interrupt])
    assert len(read_history(tmp_path / "history.csv")["loss"]) == 3

    resumed, start = tiny_run(tmp_path), WeightsAtStart()
    assert resumed.resumed and "Resuming the interrupted run" in capsys.readouterr().out
    _, epochs = fit(resumed, epochs=6, extra=[start])
    assert epochs == [3, 4, 5]  # only the epochs that had not run
    for resumed_from, stopped_at in zip(start.weights, interrupt.weights, strict=True):  # not a fresh start
        np.testing.assert_array_equal(resumed_from, stopped_at)
    history = read_history(tmp_path / "history.csv")
    assert history["epoch"] == [0, 1, 2, 3, 4, 5]  # one history across both parts
    assert not (tmp_path / "backup").exists()  # a finished run leaves no backup

    record = resumed.finish({"loss": history["loss"][-1]})
    assert record["epochs_run"] == 6
    assert record["best_epoch"] == 1 + int(np.argmin(history["val_loss"]))  # counted from 1, over both parts
    # each epoch's wall time is in the history (curves against time), the parameter count in the record
    seconds = read_history(tmp_path / "history.csv")["epoch_seconds"]
    assert len(seconds) == 6 and all(value > 0 for value in seconds)
    assert record["parameters"] == tiny_model().count_params()


def test_resume_keeps_the_best_epoch_from_before_the_interruption(tmp_path):
    """Early stopping and the checkpoint must remember the best epoch seen before the interruption."""
    run = tiny_run(tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n0,1.0,0.5\n1,0.9,0.7\n")
    model = tiny_model()
    model.save(tmp_path / "model.keras")
    callbacks = run.callbacks(patience=5)
    early_stopping = next(c for c in callbacks if isinstance(c, BestEpochStopping))
    checkpoint = next(c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint))
    assert early_stopping.best == checkpoint.best == 0.5
    assert early_stopping.wait == 1 and early_stopping.best_epoch == 0
    for restored, saved in zip(early_stopping.best_weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(restored, saved)


@pytest.mark.parametrize(
    "values,mode,patience",
    [
        ([0.9, 0.8, 0.85, 0.84, 0.83, 0.7, 0.75], "min", 3),  # stops after 3 epochs without a new best
        ([0.9, 0.8, 0.85, 0.84, 0.7, 0.75, 0.76], "min", 3),  # a late best resets the count
        ([0.5, 0.5, 0.6, 0.55, 0.58], "max", 2),  # a tie is no improvement
        ([0.5, 0.4, 0.3], "max", 1),
    ],
)
def test_best_epoch_stopping_stops_and_restores_as_keras_early_stopping(values, mode, patience):
    """Our callback (which can start from a resumed best) must behave as Keras' EarlyStopping does."""

    def run_with(callback):
        model = tiny_model()
        logs_by_epoch = iter(values)

        class FeedValue(keras.callbacks.Callback):  # puts the scripted value in the logs before the others read it
            def on_epoch_end(self, epoch, logs=None):
                logs["val_score"] = next(logs_by_epoch)

        x, y = tiny_data()
        history = model.fit(x, y, epochs=len(values), verbose=0, callbacks=[FeedValue(), callback])
        return len(history.history["loss"]), model.get_weights()

    set_seed(0)
    ours = run_with(BestEpochStopping("val_score", mode, patience))
    set_seed(0)
    keras_early_stopping = keras.callbacks.EarlyStopping(
        "val_score", mode=mode, patience=patience, restore_best_weights=True
    )
    theirs = run_with(keras_early_stopping)
    assert ours[0] == theirs[0]  # stopped after the same epoch
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_array_equal(a, b)  # and restored the same epoch's weights


def test_adam_keeps_a_moving_average_only_when_asked():
    assert not adam(1e-3).use_ema
    averaging = adam(2e-3, clipnorm=5.0, weight_averaging=0.99)
    assert averaging.use_ema and averaging.ema_momentum == 0.99 and averaging.clipnorm == 5.0


def test_resume_survives_a_half_written_checkpoint(tmp_path, capsys):
    """Ctrl-C can land while model.keras is being written; the resumed run must go on."""
    run = tiny_run(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        fit(run, epochs=5, extra=[InterruptAt(2)])
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    resumed = tiny_run(tmp_path)
    model, epochs = fit(resumed, epochs=5)
    assert epochs == [2, 3, 4] and "is unreadable" in capsys.readouterr().out
    assert len(read_history(tmp_path / "history.csv")["epoch"]) == 5
    x, _ = tiny_data()  # rewritten: it loads, and holds the weights training ended with (the best epoch's)
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "model.keras").predict(x, verbose=0), model(x))


def interrupted_after_two_epochs(output_dir):
    run = tiny_run(output_dir)
    with pytest.raises(KeyboardInterrupt):
        fit(run, epochs=5, extra=[InterruptAt(2)])
    return run


def test_changed_options_do_not_resume_someone_elses_run(tmp_path):
    interrupted_after_two_epochs(tmp_path)
    with pytest.raises(SystemExit, match="interrupted run with other options"):
        tiny_run(tmp_path, units=8)
    fresh = tiny_run(tmp_path, restart=True, units=8)
    assert not fresh.resumed


def test_a_backup_without_a_finished_epoch_is_not_resumed(tmp_path, capsys):
    """Interrupted before its first epoch ended, a run has nothing to resume: the next one starts afresh (even
    with other options), and says so instead of claiming to resume."""
    run = tiny_run(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        fit(run, epochs=3, extra=[InterruptAt(0)])
    assert "no epoch had finished" in run.interruption_note()
    again = tiny_run(tmp_path, units=8)
    assert not again.resumed and "had finished no epoch: starting it again" in capsys.readouterr().out


def test_a_damaged_backup_config_is_one_clear_line(tmp_path):
    interrupted_after_two_epochs(tmp_path)
    (tmp_path / "backup" / "config.json").write_text('{"units": ')  # cut short
    with pytest.raises(SystemExit, match=r"config.json, the options of the run .* is missing or damaged.*--restart"):
        tiny_run(tmp_path)
    assert not tiny_run(tmp_path, restart=True).resumed


def test_a_resumed_run_records_its_first_start_and_every_part(tmp_path):
    run = interrupted_after_two_epochs(tmp_path)
    assert "resume: the 2 epoch(s) finished so far are kept" in run.interruption_note()
    progress_file = tmp_path / "backup" / training.ELAPSED_FILE
    progress = json.loads(progress_file.read_text())
    assert progress["epochs"] == 2 and progress["started_at"] == run.started_at
    progress["seconds"] = 1000.0  # as if the first part had taken 1000 s
    progress["started_at"] = "2026-01-01T00:00:00+00:00"
    progress_file.write_text(json.dumps(progress))
    resumed = tiny_run(tmp_path)
    assert resumed.resumed
    fit(resumed, epochs=5)
    record = resumed.finish({})
    assert record["started_at"] == "2026-01-01T00:00:00+00:00"
    assert 1000 < record["wall_time_s"] < 1000 + 600
    assert "its outputs are complete" in resumed.interruption_note()


def test_training_ended_but_unfinished_says_a_rerun_starts_over(tmp_path):
    """Ctrl-C during evaluation: BackupAndRestore has deleted its backup, so a rerun trains again."""
    run = tiny_run(tmp_path)
    fit(run, epochs=2)
    assert not (tmp_path / "backup").exists()
    assert "training had ended" in run.interruption_note() and "from the beginning" in run.interruption_note()


HOLDER = """
import sys
from common.training import hold_output_dir
hold_output_dir(sys.argv[1])
print("held", flush=True)
sys.stdin.read()  # holds the folder until the test closes our standard input (or kills us)
"""


def hold_in_another_process(folder):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"  # waits until the folder is held: no race
    return process


@pytest.mark.parametrize("ending", ["finishes", "is killed"])
def test_one_run_per_output_folder(tmp_path, ending):
    """A second run on a folder in use stops at once, naming the other run's process; once that process has
    ended, however it ended, the folder is free again (a stale lock never blocks)."""
    other = hold_in_another_process(tmp_path)
    with pytest.raises(training.OutputDirBusy, match=rf"in use by another run \(process {other.pid}\).*--output-dir"):
        tiny_run(tmp_path)
    assert not (tmp_path / "backup").exists()  # it touched nothing
    if ending == "finishes":
        other.stdin.close()
    else:
        other.kill()
    other.wait(timeout=60)
    assert not tiny_run(tmp_path).resumed


def test_run_record_contents(tmp_path):
    run = tiny_run(tmp_path)
    fit(run, epochs=2)
    record = run.finish({"mse": 0.5}, results=[{"metric": "m", "model": 1.0, "baseline": 2.0, "baseline_name": "b"}])
    for key in ("argv", "config", "seed", "versions", "device", "metrics", "best_epoch", "wall_time_s", "command"):
        assert key in record
    assert record["versions"]["tensorflow"] == tf.__version__
    assert record["device"]["replicas"] == 1
    assert (tmp_path / "history.png").stat().st_size > 1000


def test_averaged_weights_are_validated_checkpointed_and_resumed(tmp_path):
    """With an EMA optimizer, early stopping and the checkpoint see the averaged weights; resume still works."""
    x, y = tiny_data()

    def ema_model():
        model = keras.Sequential([keras.Input((5, 1)), keras.layers.GRU(4), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9), loss="mse")
        return model

    run = tiny_run(tmp_path)
    names = [type(callback).__name__ for callback in run.callbacks(averaged_weights=True)]
    assert names.index("BackupAndRestore") < names.index("SwapEMAWeights") < names.index("BestEpochStopping")
    assert names.index("SwapEMAWeights") < names.index("ModelCheckpoint")
    with pytest.raises(KeyboardInterrupt):
        ema_model().fit(
            x,
            y,
            validation_split=0.25,
            epochs=4,
            verbose=0,
            callbacks=[*run.callbacks(patience=50, averaged_weights=True), InterruptAt(2)],
        )
    resumed = tiny_run(tmp_path)
    recorder = RecordEpochs()
    model = ema_model()
    model.fit(
        x,
        y,
        validation_split=0.25,
        epochs=4,
        verbose=0,
        callbacks=[*resumed.callbacks(patience=50, averaged_weights=True), recorder],
    )
    assert recorder.epochs == [2, 3]
    # The model ends with the best epoch's averaged weights, the ones the checkpoint holds.
    saved = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(saved.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_validation_sees_the_averaged_weights(tmp_path):
    """An average that barely moves (momentum ~1) stays at the first step's weights: validation must show it."""
    x, y = tiny_data()
    val_x, val_y = x[48:], y[48:]

    def val_losses(averaged):
        set_seed(5)
        model = keras.Sequential([keras.Input((5, 1)), keras.layers.GRU(4), keras.layers.Dense(1)])
        optimizer = keras.optimizers.Adam(0.05, use_ema=averaged, ema_momentum=0.999999)
        model.compile(optimizer=optimizer, loss="mse")
        run = tiny_run(tmp_path / str(averaged))
        callbacks = run.callbacks(patience=50, averaged_weights=averaged)
        history = model.fit(x[:48], y[:48], validation_data=(val_x, val_y), epochs=3, verbose=0, callbacks=callbacks)
        return history.history["val_loss"]

    averaged, raw = val_losses(True), val_losses(False)
    np.testing.assert_allclose(averaged, averaged[0], rtol=1e-4)  # Keras starts the average after step one
    assert raw[-1] < 0.9 * raw[0]  # the raw weights, meanwhile, learned


class ValidationByHand(keras.callbacks.Callback):
    """An evaluator: adds `val_by_hand`, the validation MSE computed outside Keras, to the epoch's logs."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.values = x, y, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_by_hand"] = float(np.mean((self.model.predict_on_batch(self.x) - self.y) ** 2))
        self.values.append(logs["val_by_hand"])


def test_an_evaluator_sees_the_averaged_weights_and_its_metric_is_logged_and_monitored(tmp_path):
    """The metric of an evaluator (e.g. tagging's entity F1) equals Keras' own validation loss on the averaged
    weights, reaches history.csv, and drives early stopping and the checkpoint."""
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.GRU(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9), loss="mse")
    run = Run("tiny", {}, output_dir=tmp_path, seed=1, quick=True, monitor="val_by_hand", mode="min", argv=[])
    evaluator = ValidationByHand(x[48:], y[48:])
    callbacks = run.callbacks(patience=50, averaged_weights=True, evaluators=[evaluator])
    names = [type(callback).__name__ for callback in callbacks]
    assert names.index("SwapEMAWeights") < names.index("ValidationByHand") < names.index("CSVLogger")
    history = model.fit(x[:48], y[:48], validation_data=(x[48:], y[48:]), epochs=4, verbose=0, callbacks=callbacks)
    np.testing.assert_allclose(evaluator.values, history.history["val_loss"], rtol=1e-4)
    np.testing.assert_allclose(read_history(tmp_path / "history.csv")["val_by_hand"], evaluator.values, rtol=1e-6)
    saved = keras.models.load_model(tmp_path / "model.keras")  # the best epoch by val_by_hand
    best = float(np.mean((saved.predict(x[48:], verbose=0) - y[48:]) ** 2))
    assert best == pytest.approx(min(evaluator.values), rel=1e-4)


@pytest.mark.parametrize(
    "cpuinfo,name",
    [
        ("processor\t: 0\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n", "AMD EPYC, family 26 model 2"),
        ("cpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13\n", "AMD EPYC 7B13"),
        ("processor\t: 0\n", ""),
    ],
)
def test_cpu_name_tells_bare_virtual_cpus_apart(cpuinfo, name):
    assert training.cpu_name(cpuinfo) == name


def test_default_output_dir_separates_quick_runs():
    assert training.default_output_dir("sine", False).name == "sine"
    assert training.default_output_dir("sine", True).name == "sine-quick"
