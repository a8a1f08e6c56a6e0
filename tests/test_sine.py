"""The sine forecasting example: series and baselines, end to end, forecast CLI, resume, two devices."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example

from common.training import PAUSE_AFTER_EPOCH, read_history

series = load_example("sine", "series")
train = load_example("sine", "train")
forecast = load_example("sine", "forecast")
TRAIN_SCRIPT = REPO_ROOT / "examples" / "sine" / "train.py"


def test_windows_pair_each_input_with_the_values_that_follow():
    segment = np.arange(10, dtype="float32")
    inputs, targets = series.windows(segment, window=4, horizon=2)
    assert inputs.shape == (5, 4) and targets.shape == (5, 2)
    np.testing.assert_array_equal(inputs[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(targets[0], [4, 5])
    np.testing.assert_array_equal(targets[-1], [8, 9])
    with pytest.raises(ValueError, match="too short"):
        series.windows(segment, window=8, horizon=4)


def test_baselines_on_a_noiseless_sine():
    clean = series.noisy_sine(400, period=20, noise=1e-9, seed=0)
    inputs, targets = series.windows(clean, window=20, horizon=25)
    np.testing.assert_allclose(series.seasonal_naive_forecast(inputs, 25, 20), targets, atol=1e-5)
    np.testing.assert_array_equal(series.persistence_forecast(inputs, 3)[:, 0], inputs[:, -1])
    with pytest.raises(ValueError, match="window >= period"):
        series.seasonal_naive_forecast(inputs[:, :10], 3, 20)


def test_splits_keep_time_order():
    values = np.arange(100)
    train_part, val_part, test_part = series.split_in_time(values)
    assert (len(train_part), len(val_part), len(test_part)) == (70, 15, 15)
    assert train_part[-1] < val_part[0] < test_part[0]


def quick(tmp_path, *extra):
    return ["--quick", "--output-dir", str(tmp_path), *extra]


def test_quick_run_learns_and_writes_artifacts(tmp_path):
    record = train.main(quick(tmp_path, "--epochs", "6"))
    assert record["epochs_run"] == 6  # --epochs 6; the patience (8) cannot stop it sooner
    assert keras.models.load_model(tmp_path / "model.keras").input_shape == (None, 50, 1)  # --quick's window
    losses = read_history(tmp_path / "history.csv")["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    for name in ("model.keras", "history.csv", "history.png", "forecast.png", "run.json"):
        assert (tmp_path / name).exists(), name
    metrics = record["metrics"]
    # It learns: clearly better than repeating the last value, and within reach of the floor.
    assert metrics["one_step_ratio"] < 0.8 * metrics["persistence/one_step_ratio"]
    assert metrics["multi_step_ratio"] < 2.0


@pytest.mark.parametrize(
    "flags",
    [
        ["--cell", "simple_rnn", "--units", "32", "--optimizer", "rmsprop"],  # chapter 000's set-up
        ["--cell", "simple_rnn", "--units", "128", "--activation", "relu"],  # chapter 003's set-up
        ["--cell", "gru", "--layers", "2", "--bidirectional", "--epochs", "1"],
    ],
)
def test_chapter_setups_and_options_run(tmp_path, flags):
    record = train.main(quick(tmp_path, "--epochs", "1", *flags))
    assert np.isfinite(record["metrics"]["one_step_ratio"])
    saved = keras.models.load_model(tmp_path / "model.keras")  # the network really is built from those options
    recurrent = [layer for layer in saved.layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    cell = {"simple_rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU}[flags[1]]
    inner = [getattr(layer, "forward_layer", layer) for layer in recurrent]
    assert all(isinstance(layer, cell) for layer in inner) and len(recurrent) == record["config"]["layers"]
    config = record["config"]
    assert inner[0].units == config["units"] and inner[0].activation.__name__ == config["activation"]


def test_forecast_command_uses_the_saved_model(tmp_path, capsys):
    train.main(quick(tmp_path, "--epochs", "2"))
    capsys.readouterr()  # drop the training output
    values = series.noisy_sine(60, 50, 0.1, seed=3)
    predicted = forecast.main(["--model", str(tmp_path / "model.keras"), *map(str, values)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert predicted.shape == (10,) and lines[0].startswith("t+1\t") and len(lines) == 10
    with pytest.raises(SystemExit, match="reads windows of 50 values; got only 3"):
        forecast.main(["--model", str(tmp_path / "model.keras"), "1", "2", "3"])
    with pytest.raises(SystemExit, match="values must be numbers"):
        forecast.main(["--model", str(tmp_path / "model.keras"), "1", "two"])
    with pytest.raises(SystemExit, match="absent.keras not found; train first with: make example-sine"):
        forecast.main(["--model", str(tmp_path / "absent.keras"), "1"])
    (tmp_path / "values.bin").write_bytes(b"0.1 0.2 \x80\x81")
    with pytest.raises(SystemExit, match=r"values.bin is not UTF-8 text \(byte 8"):
        forecast.main(["--model", str(tmp_path / "model.keras"), "--file", str(tmp_path / "values.bin")])

    # values beyond the training range: a forecast marked as an extrapolation, or none at all
    saved = json.loads((tmp_path / series.RANGE_FILE).read_text())
    width = saved["high"] - saved["low"]
    beyond = [*values[:-1], saved["high"] + 0.5 * width]
    capsys.readouterr()
    forecast.main(["--model", str(tmp_path / "model.keras"), *map(str, beyond)])
    captured = capsys.readouterr()
    assert "extrapolation: value 60 " in captured.err and "0.5 training-range widths outside" in captured.err
    assert all(line.endswith("(extrapolation)") for line in captured.out.strip().splitlines())
    with pytest.raises(SystemExit, match=r"no forecast: value 60 \(1e\+30\) lies .* training-range widths outside"):
        forecast.main(["--model", str(tmp_path / "model.keras"), *map(str, values[:-1]), "1e30"])
    (tmp_path / series.RANGE_FILE).unlink()  # a model folder saved before the range was
    with pytest.raises(SystemExit, match="training_range.json not found; train first with: make example-sine"):
        forecast.main(["--model", str(tmp_path / "model.keras"), *map(str, values)])


def test_parse_values_rejects_empty_and_non_finite():
    np.testing.assert_array_equal(forecast.parse_values("1, 2\n-3"), [1, 2, -3])
    for text, message in (("", "no values"), ("1 nan", "finite")):
        with pytest.raises(ValueError, match=message):
            forecast.parse_values(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["--units", "0"],
        ["--cell", "transformer"],
        ["--dropout", "1.5"],
        ["--epochs", "ten"],
        ["--length", "300", "--window", "100"],
        ["--window", "20", "--period", "50"],
        ["--seed", "-1"],
    ],
)
def test_bad_command_line_values_exit_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def start_paused(command, log, pause_at):
    """Start `command` with the deterministic pause hook (common.training.PauseForSignal) and return once it
    waits at `pause_at` (an epoch, or "training": after training, before evaluation)."""
    paused = Path(command[command.index("--output-dir") + 1]) / "paused"
    with open(log, "wb") as stderr:  # a file, not a pipe: a full pipe would block the run
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, PAUSE_AFTER_EPOCH: pause_at},
            # A shell starts background jobs (CI's, nohup's) with SIGINT ignored, and a Python started so
            # never turns it into KeyboardInterrupt: give the run the default, as a terminal would.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    while not paused.exists():
        assert process.poll() is None, f"the run ended before pausing: {log.read_text()[-2000:]}"
        time.sleep(0.05)  # polls for an event the run is guaranteed to reach and then wait in
    return process


def test_interrupted_command_resumes_when_run_again(tmp_path):
    """Ctrl-C (a real SIGINT from outside) during training, then the same command: it continues, it does not
    start over. The run pauses after its second epoch until the signal comes, so nothing here races it.
    Meanwhile a second run of the same command, on the same folder, stops at once naming the first."""
    command = [sys.executable, str(TRAIN_SCRIPT), *quick(tmp_path, "--epochs", "12", "--patience", "12")]
    history, log = tmp_path / "history.csv", tmp_path / "stderr.txt"
    process = start_paused(command, log, "2")
    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 1 and f"in use by another run (process {process.pid})" in second.stderr
    process.send_signal(signal.SIGINT)
    process.wait(timeout=600)
    note = "interrupted: run the same command again to resume: the 2 epoch(s) finished so far are kept"
    assert process.returncode == 130 and note in log.read_text()
    assert len(history.read_text().splitlines()) - 1 == 2  # (the resumed command below continues from them)

    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Resuming the interrupted run" in finished.stdout
    epochs = [int(epoch) for epoch in read_history(history)["epoch"]]
    assert epochs == list(range(12))  # every epoch exactly once
    assert not (tmp_path / "backup").exists()


def test_interrupted_evaluation_says_a_rerun_starts_over(tmp_path):
    """Ctrl-C after training, before the run is finished: Keras has dropped its backup, so the truth is that
    running the command again trains again; the message says so, not "resume"."""
    command = [sys.executable, str(TRAIN_SCRIPT), *quick(tmp_path, "--epochs", "2")]
    process = start_paused(command, tmp_path / "stderr.txt", "training")
    process.send_signal(signal.SIGINT)
    process.wait(timeout=600)
    log = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 130 and "training had ended, but the run had not finished" in log
    assert "starts the run from the beginning" in log and "resume" not in log
    assert not (tmp_path / "run.json").exists()


MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests!r})
from conftest import load_example
record = load_example("sine").main({argv!r})
print("RESULT", json.dumps(record["metrics"] | {{"replicas": record["device"]["replicas"]}}))
"""


def run_in_subprocess(tmp_path, distribute):
    argv = quick(tmp_path / distribute, "--epochs", "4", "--distribute", distribute, "--deterministic")
    code = MIRRORED.format(tests=str(REPO_ROOT / "tests"), argv=argv)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("RESULT ", 1)[1])


def test_mirrored_strategy_on_two_cpu_devices_matches_one_device(tmp_path):
    single = run_in_subprocess(tmp_path, "none")
    mirrored = run_in_subprocess(tmp_path, "mirrored")
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    # Same global batch, same data order: the same training up to float summation order.
    assert mirrored["one_step_ratio"] == pytest.approx(single["one_step_ratio"], rel=0.1)
    assert mirrored["multi_step_ratio"] == pytest.approx(single["multi_step_ratio"], rel=0.1)
