"""Turbofan remaining useful life (examples/engines): parsing, labels, windows, scaling, the PHM08 score, a quick
run on files in NASA's format, predict.py on good and bad files, and the real FD001 files."""

import json
import shutil

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example, run_predict

from common.data import DamagedDataError
from common.saving import SavedModelError

cmapss = load_example("engines", "cmapss")
train = load_example("engines", "train")
predict_script = load_example("engines", "predict")
model_module = load_example("engines", "model")

PREDICT = REPO_ROOT / "examples" / "engines" / "predict.py"


def engine_rows(unit, cycles, life, rng, first_cycle=1):
    """C-MAPSS rows of one engine: 3 settings (one constant), 21 sensors; sensors 2-4 drift up as it wears
    (from mid-life on), sensor 1 never changes."""
    rows = []
    for cycle in range(first_cycle, first_cycle + cycles):
        wear = max(0.0, cycle / life - 0.5) * 2  # 0 until half-life, then up to 1 at failure
        settings = [rng.normal(0, 0.002), rng.normal(0, 0.0003), 100.0]
        sensors = [518.67] + [640 + 10 * wear * k + rng.normal(0, 0.3) for k in (1, 2, 3)]
        sensors += [20 + rng.normal(0, 0.1) for _ in range(17)]
        rows.append([unit, cycle, *settings, *sensors])
    return rows


def format_rows(rows):
    return "".join(
        " ".join(f"{value:.4f}" if i > 1 else str(int(value)) for i, value in enumerate(row)) + "  \n" for row in rows
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """DATA_DIR/cmapss with 40 training engines run to failure and 20 test engines cut before it."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "cmapss").mkdir()
    rng = np.random.default_rng(0)
    train_rows, test_rows, truth = [], [], []
    for unit in range(1, 41):
        life = int(rng.integers(120, 220))
        train_rows += engine_rows(unit, life, life, rng)
    for unit in range(1, 21):
        life = int(rng.integers(120, 220))
        seen = int(rng.integers(40, life - 5))
        test_rows += engine_rows(unit, seen, life, rng)
        truth.append(life - seen)
    (folder / "cmapss" / "train_FD001.txt").write_text(format_rows(train_rows))
    (folder / "cmapss" / "test_FD001.txt").write_text(format_rows(test_rows))
    (folder / "cmapss" / "RUL_FD001.txt").write_text("".join(f"{value} \n" for value in truth))
    return folder


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("engines") / "out"
    options = ["--quick", "--epochs", "12", "--units", "32", "--validation-engines", "8"]
    record = train.main([*options, "--data-dir", str(data_dir), "--output-dir", str(output_dir)])
    return record, output_dir


# --- cmapss.py ---


def test_parsing_reads_26_named_columns_and_names_the_bad_line():
    rows = engine_rows(1, 3, 10, np.random.default_rng(0)) + engine_rows(2, 2, 10, np.random.default_rng(1))
    table = cmapss.parse_cycles("\n" + format_rows(rows), "f.txt")
    assert table.shape == (5, 26) and len(cmapss.COLUMNS) == 26 and cmapss.COLUMNS[:3] == ["unit", "cycle", "setting_1"]
    assert list(cmapss.engines(table)) == [1, 2] and len(cmapss.engines(table)[1]) == 3
    lines = format_rows(rows).splitlines()
    with pytest.raises(DamagedDataError, match="f.txt, line 2: 25 columns, expected 26"):
        cmapss.parse_cycles("\n".join([lines[0], lines[1].rsplit(" ", 3)[0], *lines[2:]]), "f.txt")
    with pytest.raises(DamagedDataError, match="f.txt, line 3: 'n/a' is not a number"):
        cmapss.parse_cycles("\n".join([lines[0], lines[1], lines[2].replace("518.6700", "n/a"), *lines[3:]]), "f.txt")
    with pytest.raises(DamagedDataError, match="engine 1's cycles are not consecutive"):
        cmapss.parse_cycles("\n".join([lines[0], lines[2]]), "f.txt")
    with pytest.raises(DamagedDataError, match="no engine cycles"):
        cmapss.parse_cycles(" \n\n", "f.txt")


def test_rul_labels_count_cycles_left_capped():
    assert cmapss.rul_labels([1, 2, 3, 4, 5], cap=125).tolist() == [4, 3, 2, 1, 0]
    assert cmapss.rul_labels(np.arange(1, 201), cap=125)[:3].tolist() == [125, 125, 125]
    assert cmapss.rul_labels(np.arange(1, 201), cap=125)[-126:].tolist() == list(range(125, -1, -1))


def test_windows_end_at_the_labelled_cycle():
    rows = np.array(engine_rows(7, 40, 40, np.random.default_rng(0)))
    scaler = cmapss.Scaler(["cycle"], [0.0], [1.0])  # the feature is the cycle number itself
    inputs, labels = train.labelled_windows([rows], scaler, smoothing=1.0, window=10, cap=25)
    assert inputs.shape == (31, 10, 1) and labels.shape == (31,)
    last_cycles = inputs[:, -1, 0]
    assert last_cycles.tolist() == list(range(10, 41))  # the i-th window ends at cycle 10 + i
    assert labels.tolist() == [min(40 - cycle, 25) for cycle in range(10, 41)]
    assert train.last_windows([rows], scaler, 1.0, 10)[0, :, 0].tolist() == list(range(31, 41))
    with pytest.raises(ValueError, match="fewer than the window"):
        cmapss.windows(np.zeros((5, 2)), 10)


def test_an_engine_younger_than_the_window_repeats_its_first_cycle_before_it():
    features = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    padded = cmapss.windows(features, 5, pad=True)
    assert padded.shape == (1, 5, 2) and padded[0, :, 0].tolist() == [1, 1, 1, 2, 3]
    assert cmapss.windows(features, 2, pad=True)[:, -1, 0].tolist() == [2, 3]  # long enough: as without pad
    rows = np.array(engine_rows(7, 12, 40, np.random.default_rng(0)))
    scaler = cmapss.Scaler(["cycle"], [0.0], [1.0])
    assert train.last_windows([rows], scaler, 1.0, 15)[0, :, 0].tolist() == [1, 1, 1, *range(1, 13)]


def test_the_engine_baseline_is_the_drift_from_its_own_first_cycles():
    """--engine-baseline 2: each cycle's features, then the same minus the mean of the engine's first 2 cycles,
    or of the one it has had at cycle 1 (causal)."""
    values = np.array([[4.0], [6.0], [8.0], [11.0]])
    np.testing.assert_allclose(cmapss.starting_point(values, 2)[:, 0], [4, 5, 5, 5])
    np.testing.assert_allclose(cmapss.starting_point(values, 9)[:, 0], [4, 5, 6, 7.25])
    rows = np.array(engine_rows(7, 4, 40, np.random.default_rng(0)))
    rows[:, 6] = values[:, 0]  # sensor_2
    scaler = cmapss.Scaler(["sensor_2"], [0.0], [1.0])
    features = cmapss.engine_features(rows, scaler, smoothing=1.0, baseline=2)
    np.testing.assert_allclose(features, [[4, 0], [6, 1], [8, 3], [11, 6]])
    assert cmapss.engine_features(rows, scaler, smoothing=1.0).shape == (4, 1)
    cut = cmapss.engine_features(rows[:3], scaler, smoothing=0.5, baseline=3)  # a test engine cut off sooner
    np.testing.assert_allclose(cut, cmapss.engine_features(rows, scaler, smoothing=0.5, baseline=3)[:3])


def test_smoothing_is_a_causal_moving_average():
    values = np.array([[0.0], [1.0], [1.0], [1.0]])
    np.testing.assert_allclose(cmapss.smooth(values, 0.5)[:, 0], [0.0, 0.5, 0.75, 0.875])
    np.testing.assert_array_equal(cmapss.smooth(values, 1.0), values)
    noisy = np.random.default_rng(0).normal(size=(50, 3))
    # cycle t sees only cycles up to t: a test engine cut off at t gets the inputs a full engine had at t
    np.testing.assert_allclose(cmapss.smooth(noisy[:20], 0.1), cmapss.smooth(noisy, 0.1)[:20], rtol=1e-6)
    rows = np.array(engine_rows(7, 40, 40, np.random.default_rng(0)))
    scaler = cmapss.Scaler(["sensor_2"], [600.0], [700.0])
    last = train.last_windows([rows], scaler, 0.1, 10)[0]
    np.testing.assert_allclose(last, cmapss.smooth(scaler.transform(rows), 0.1)[-10:], rtol=1e-6)


def test_scaling_is_fitted_on_training_engines_only():
    rng = np.random.default_rng(0)
    training = np.array(engine_rows(1, 50, 50, rng))
    other = np.array(engine_rows(2, 50, 30, rng))  # wears out sooner: higher sensor values
    scaler = cmapss.Scaler.fit(training, ["sensor_2", "sensor_3"])
    assert scaler.low.tolist() == training[:, [6, 7]].min(axis=0).tolist()
    assert scaler.high.tolist() == training[:, [6, 7]].max(axis=0).tolist()
    scaled = scaler.transform(training)
    assert scaled.min() == 0 and scaled.max() == pytest.approx(1)
    assert scaler.transform(other).max() > 1  # not refitted on other engines
    restored = cmapss.Scaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(restored.transform(other), scaler.transform(other))


def test_constant_columns_are_found_in_the_data():
    table = np.array(engine_rows(1, 30, 30, np.random.default_rng(0)))
    assert cmapss.constant_columns(table) == ["setting_3", "sensor_1"]


def test_uncorrelated_columns_follow_no_wear():
    rng = np.random.default_rng(0)
    table = np.array(engine_rows(1, 200, 200, rng))
    labels = cmapss.rul_labels(table[:, 1], 125)
    uncorrelated = cmapss.uncorrelated_columns(table, labels, 0.2)
    # the settings and the 17 noise sensors follow no wear; sensors 2-4 drift; constant columns are not listed
    assert uncorrelated == ["setting_1", "setting_2", *(f"sensor_{k}" for k in range(5, 22))]
    assert cmapss.uncorrelated_columns(table, labels, 0.0) == []


def test_validation_holds_out_whole_engines():
    train_units, validation_units = train.split_engines(range(1, 101), 20, seed=42)
    assert len(validation_units) == 20 and len(train_units) == 80
    assert not set(train_units) & set(validation_units)
    assert train.split_engines(range(1, 101), 20, seed=42) == (train_units, validation_units)
    with pytest.raises(SystemExit, match="between 1 and 99"):
        train.split_engines(range(1, 101), 100, seed=0)


def test_phm08_score_punishes_late_more_than_early():
    assert cmapss.phm08_score([0], [13]) == pytest.approx(np.e - 1)  # 13 cycles early: exp(13/13) - 1
    assert cmapss.phm08_score([23], [13]) == pytest.approx(np.e - 1)  # 10 cycles late: exp(10/10) - 1
    assert cmapss.phm08_score([26], [13]) > cmapss.phm08_score([0], [13])  # 13 late costs more than 13 early
    assert cmapss.phm08_score([5, 10], [5, 10]) == 0
    assert cmapss.rmse([3, 5], [0, 1]) == pytest.approx(np.sqrt((9 + 16) / 2))


# --- train.py end to end, predict.py ---


@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_model_option_reaches_the_network(bidirectional):
    """--bidirectional and --recurrent-dropout change the network (they were once accepted and ignored)."""
    model = model_module.build_model(30, 9, units=4, num_layers=2, bidirectional=bidirectional, recurrent_dropout=0.1)
    recurrent = [layer for layer in model.layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    assert len(recurrent) == 2 and all(
        isinstance(layer, keras.layers.Bidirectional) == bidirectional for layer in recurrent
    )
    inner = [getattr(layer, "forward_layer", layer) for layer in recurrent]
    assert all(layer.recurrent_dropout == 0.1 for layer in inner)
    assert model.get_layer("hidden").input.shape[-1] == 4 * (2 if bidirectional else 1)


def test_a_convolution_reads_the_window_before_the_recurrent_layers(tmp_path):
    """--conv-filters puts a Conv1D over --conv-kernel cycles between the window and the first recurrent layer,
    keeping the window's length; the model saves and loads with it."""
    model = model_module.build_model(30, 9, units=4, num_layers=1, conv_filters=6, conv_kernel=3)
    convolve = model.get_layer("convolve")
    assert convolve.kernel.shape == (3, 9, 6) and convolve.output.shape == (None, 30, 6)
    assert isinstance(model.layers[model.layers.index(convolve) + 1], keras.layers.RNN)
    windows = np.random.default_rng(0).random((2, 30, 9)).astype("float32")
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(windows), model(windows), rtol=1e-6)
    assert "convolve" not in [layer.name for layer in model_module.build_model(30, 9, units=4, conv_filters=0).layers]


def test_sensor_offsets_shift_whole_windows_in_training_only(tmp_path):
    """--sensor-noise: in training each window's sensors move by one amount each, the same at every cycle and
    different between windows and sensors; at inference the layer passes the window through; the model saves,
    loads and answers the same with it."""
    noise = model_module.SensorOffsetNoise(0.5, seed=0)
    windows = np.zeros((64, 30, 3), dtype="float32")
    shifted = keras.ops.convert_to_numpy(noise(windows, training=True))
    np.testing.assert_allclose(shifted, np.repeat(shifted[:, :1], 30, axis=1))  # one offset per window and sensor
    offsets = shifted[:, 0]
    assert len(np.unique(offsets)) == offsets.size and 0.35 < offsets.std() < 0.65
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(noise(windows + 1, training=False)), windows + 1)
    model = model_module.build_model(30, 3, units=4, num_layers=1, sensor_noise=0.1, seed=3)
    assert model.get_layer("sensor_offsets").stddev == 0.1
    model.save(tmp_path / "m.keras")
    reading = np.random.default_rng(0).random((2, 30, 3)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(reading), model(reading), rtol=1e-6)
    assert "sensor_offsets" not in [layer.name for layer in model_module.build_model(30, 3, units=4).layers]


def test_quick_run_learns_and_writes_its_artifacts(trained):
    record, output_dir = trained
    for name in (
        "model.keras",
        "preprocessing.json",
        "history.csv",
        "history.png",
        "test_engines.png",
        "engine_life.png",
    ):
        assert (output_dir / name).exists(), name
    metrics = record["metrics"]
    assert metrics["rmse"] < metrics["mean_rmse"] and np.isfinite(metrics["phm08_score"])
    assert record["data"]["constant_columns"] == ["setting_3", "sensor_1"]
    assert not set(record["data"]["validation_engines"]) - set(range(1, 41))


def test_same_seed_same_numbers(data_dir, tmp_path):
    options = ["--quick", "--epochs", "2", "--data-dir", str(data_dir)]
    first = train.main([*options, "--output-dir", str(tmp_path / "a")])["metrics"]
    second = train.main([*options, "--output-dir", str(tmp_path / "b")])["metrics"]
    assert first["rmse"] == second["rmse"] and first["phm08_score"] == second["phm08_score"]


def test_a_model_with_the_engine_baseline_a_longer_window_and_noise_answers_in_a_new_process(data_dir, tmp_path):
    """--engine-baseline doubles the inputs and --window 45 is longer than some test engines (40 cycles and up):
    both reach preprocessing.json, and predict.py reads an engine the way training did; a model trained with
    --sensor-noise (a layer of this example's own) loads there."""
    options = ["--quick", "--epochs", "2", "--engine-baseline", "10", "--window", "45", "--sensor-noise", "0.05"]
    options += ["--data-dir", str(data_dir)]
    record = train.main([*options, "--output-dir", str(tmp_path / "out")])
    assert np.isfinite(record["metrics"]["rmse"])
    saved = json.loads((tmp_path / "out" / "preprocessing.json").read_text())
    assert saved["engine_baseline"] == 10 and saved["window"] == 45
    assert keras.models.load_model(tmp_path / "out" / "model.keras").input_shape == (None, 45, 6)
    rows = engine_rows(3, 60, 120, np.random.default_rng(1))
    (tmp_path / "engine.txt").write_text(format_rows(rows))
    answer = predict(tmp_path / "out", tmp_path / "engine.txt")
    assert answer.returncode == 0 and "engine 3\tcycle 60\tremaining useful life" in answer.stdout, answer.stderr


def test_an_ensemble_is_its_members_average_and_answers_in_a_new_process(data_dir, tmp_path):
    """--members 2: member 1 is the single network of the same seed, member 2 another (seed + 1); the saved model
    is their average, and predict.py loads it in a new process."""
    options = ["--quick", "--epochs", "2", "--data-dir", str(data_dir)]
    train.main([*options, "--output-dir", str(tmp_path / "single")])
    record = train.main([*options, "--members", "2", "--output-dir", str(tmp_path / "out")])
    assert [member["epochs_run"] for member in record["members"]] == [2, 2]
    first, second = (keras.models.load_model(tmp_path / "out" / f"member-{i}" / "model.keras") for i in (1, 2))
    alone = keras.models.load_model(tmp_path / "single" / "model.keras")
    for ours, its in zip(first.get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, its)
    assert not np.allclose(first.get_weights()[0], second.get_weights()[0])
    windows = np.random.default_rng(0).uniform(size=(4, *first.input_shape[1:])).astype("float32")
    averaged = keras.models.load_model(tmp_path / "out" / "model.keras")
    np.testing.assert_allclose(averaged(windows), (first(windows) + second(windows)) / 2, rtol=1e-5, atol=1e-4)
    assert record["parameters"] == averaged.count_params() == first.count_params() + second.count_params()
    answer = predict(tmp_path / "out", data_dir / "cmapss" / "test_FD001.txt")
    assert answer.returncode == 0 and len(answer.stdout.splitlines()) == 20, answer.stderr


def test_an_ensemble_is_refused_across_processes():
    """Data-parallel training in several processes hands each process its copy after training (Run.local_model),
    which leaves the next member without the distribution: one line instead (common.ensemble.train_ensemble)."""
    args = train.parse_args(["--quick", "--members", "2"])
    several = type("Run", (), {"processes": 2})()
    with pytest.raises(SystemExit, match="--members trains in one process"):
        train.train({"train": (np.zeros((1, 30, 6)), np.zeros(1))}, args, several)


def predict(output_dir, *files):
    return run_predict(PREDICT, output_dir, *files)


def test_predict_reads_engines_and_rejects_bad_files(trained, data_dir, tmp_path):
    _, output_dir = trained
    result = predict(output_dir, data_dir / "cmapss" / "test_FD001.txt")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 20 and "engine 1\t" in lines[0] and "remaining useful life" in lines[0]
    rows = engine_rows(5, 12, 100, np.random.default_rng(0))
    (tmp_path / "short.txt").write_text(format_rows(rows))
    short = predict(output_dir, tmp_path / "short.txt")
    assert short.returncode == 1 and "engine 5\tcycle 12\tno estimate: 12 cycles; the model reads the last 30" in (
        short.stdout
    )
    assert "Traceback" not in short.stderr
    text = format_rows(engine_rows(5, 40, 100, np.random.default_rng(0))).splitlines()
    (tmp_path / "columns.txt").write_text("\n".join([*text[:3], text[3] + " 1.0", *text[4:]]))
    columns = predict(output_dir, tmp_path / "columns.txt")
    assert columns.returncode == 1 and "line 4: 27 columns, expected 26" in columns.stderr
    (tmp_path / "words.txt").write_text("\n".join([*text[:6], text[6].replace("518.6700", "high"), *text[7:]]))
    words = predict(output_dir, tmp_path / "words.txt")
    assert words.returncode == 1 and "line 7: 'high' is not a number" in words.stderr
    missing = predict(tmp_path / "no-model", tmp_path / "words.txt")
    assert missing.returncode == 1 and "make example-engines" in missing.stderr


def test_predict_flags_or_refuses_engines_outside_the_training_range(trained, tmp_path):
    """An engine unlike the training engines gets no number; one somewhat beyond them a number marked as an
    extrapolation, naming the sensor; the others are answered as usual, in the files' order."""
    _, output_dir = trained
    saved = json.loads((output_dir / "preprocessing.json").read_text())["training_range"]
    low, high = saved["low"][4], saved["high"][4]  # sensor_2 (column 6 of a row), which drifts with wear
    engines = {unit: engine_rows(unit, 40, 100, np.random.default_rng(unit)) for unit in (1, 2, 3)}
    engines[2][20][6] *= 1000  # a broken sensor, or another fleet's units
    engines[3][39][6] = high + 0.5 * (high - low)  # half the training spread beyond its highest value
    for unit, rows in engines.items():
        (tmp_path / f"engine{unit}.txt").write_text(format_rows(rows))
    result = predict(output_dir, *(tmp_path / f"engine{unit}.txt" for unit in (1, 2, 3)))
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and len(lines) == 3, result.stderr
    assert "remaining useful life" in lines[0] and "extrapolation" not in lines[0]
    assert "no estimate: unlike every training engine (sensor_2 at cycle 21: " in lines[1]
    assert "remaining useful life" in lines[2] and "extrapolation, outside the training engines' range: " in lines[2]
    assert "sensor_2 at cycle 40: 0.5 training-range widths above its highest" in lines[2]
    # the first lines a user sees are the example's own: no TensorFlow start-up logs, no traceback
    assert "E0000" not in result.stderr and "I0000" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_values_are_refused_with_their_line(value):
    text = format_rows(engine_rows(1, 5, 100, np.random.default_rng(0))).splitlines()
    text[3] = text[3].replace("518.6700", value)
    with pytest.raises(DamagedDataError, match=rf"f, line 4: '{value}' is not a finite number"):
        cmapss.parse_cycles("\n".join(text), "f")


def test_answers_are_clipped_to_what_the_model_was_trained_to_say():
    assert predict_script.clipped(80.0, 125) == (80.0, "")
    value, note = predict_script.clipped(176.3, 125)
    assert value == 125 and "the model said 176.3; clipped to 125" in note
    assert predict_script.clipped(-3.0, 125)[0] == 0
    assert predict_script.clipped(125.03, 125) == (125, "")  # rounding, not an answer the model could not mean


def test_damaged_or_old_files_beside_the_model_are_one_clear_line(trained, tmp_path):
    _, output_dir = trained
    copy = tmp_path / "copy"
    shutil.copytree(output_dir, copy)
    engine = tmp_path / "engine.txt"
    engine.write_text(format_rows(engine_rows(1, 40, 100, np.random.default_rng(0))))
    preprocessing = copy / "preprocessing.json"
    saved = json.loads(preprocessing.read_text())
    preprocessing.write_text(json.dumps({key: value for key, value in saved.items() if key != "training_range"}))
    with pytest.raises(SavedModelError, match="lacks training_range .*with: python examples/engines/train.py --quick"):
        predict_script.main([str(engine), "--model-dir", str(copy)])
    preprocessing.write_text(json.dumps(saved)[:100])  # cut short
    with pytest.raises(SavedModelError, match="preprocessing.json is damaged"):
        predict_script.main([str(engine), "--model-dir", str(copy)])
    model = copy / "model.keras"
    model.write_bytes(model.read_bytes()[:5000])
    with pytest.raises(SystemExit, match=r"model.keras is damaged \(not a complete .keras archive\)"):
        predict_script.main([str(engine), "--model-dir", str(copy)])


def test_missing_files_name_what_to_get(tmp_path):
    with pytest.raises(Exception, match="train_FD001.txt, test_FD001.txt, RUL_FD001.txt not found"):
        cmapss.find_files(tmp_path, download=False)


# --- the real FD001 files ---


def test_real_fd001_counts(shared_data):
    train_table, test_table, rul = cmapss.load_fd001(shared_data, download=False)
    assert train_table.shape == (20_631, 26) and test_table.shape == (13_096, 26) and rul.shape == (100,)
    assert len(cmapss.engines(train_table)) == 100 and len(cmapss.engines(test_table)) == 100
    assert cmapss.constant_columns(train_table) == [
        "setting_3",
        "sensor_1",
        "sensor_5",
        "sensor_10",
        "sensor_16",
        "sensor_18",
        "sensor_19",
    ]
    labels = np.concatenate([cmapss.rul_labels(rows[:, 1], 125) for rows in cmapss.engines(train_table).values()])
    assert cmapss.uncorrelated_columns(train_table, labels, 0.2) == ["setting_1", "setting_2", "sensor_6"]
