"""Weather (examples/weather): reading observations, chronological splits, scaling from training days, window and
target alignment, the persistence and climatology baselines, and the packaged Seattle file."""

import json
import subprocess
import sys
from datetime import date, timedelta

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example

from common.series import Scaler, forecast_origins, split_by_date, windows

seattle = load_example("weather", "seattle")


def csv_text(rows, header="date,precipitation,temp_max,temp_min,wind,weather"):
    return "\n".join([header, *rows]) + "\n"


def days(count, start=date(2012, 1, 1)):
    return [start + timedelta(days=index) for index in range(count)]


GOOD = [f"2012-01-0{day},0.{day},1{day}.0,{day}.0,3.{day},rain" for day in range(1, 4)]


def test_observations_are_read_as_consecutive_days_of_numbers():
    dates, values = seattle.read_observations(csv_text(GOOD), "good.csv")
    assert dates == days(3)
    np.testing.assert_array_equal(values[:, 1], [11.0, 12.0, 13.0])  # temp_max, in COLUMNS order
    assert values.shape == (3, len(seattle.COLUMNS))


@pytest.mark.parametrize(
    "rows,header,message",
    [
        (GOOD, "date,precipitation,temp_max,wind", "no column temp_min"),
        ([GOOD[0], GOOD[0]], None, "row 3: 2012-01-01 repeats the row before"),
        ([GOOD[1], GOOD[0]], None, "row 3: 2012-01-01 comes before the row above"),
        ([GOOD[0], GOOD[2]], None, r"row 3: 2012-01-03 follows 2012-01-01: 1 day\(s\) missing"),
        ([GOOD[0], "2012-01-02,0,warm,1,1,sun"], None, "row 3: temp_max 'warm' is not a number"),
        ([GOOD[0], "2012-01-02,0,nan,1,1,sun"], None, "row 3: temp_max is nan, not a finite number"),
        (["01/02/2012,0,1,1,1,sun"], None, r"row 2: date '01/02/2012' is not YYYY-MM-DD"),
        ([], None, "no rows after the header"),
    ],
)
def test_bad_observations_name_the_row_and_the_problem(rows, header, message):
    text = csv_text(rows) if header is None else csv_text(rows, header)
    with pytest.raises(seattle.ObservationError, match=message):
        seattle.read_observations(text, "bad.csv")


def test_splits_are_chronological_and_scaling_comes_from_training_days_only():
    dates = days(4 * 365 + 1)  # 2012-01-01 ... 2015-12-31
    parts = split_by_date(dates, seattle.SPLITS)
    assert [len(parts[name]) for name in ("train", "validation", "test")] == [731, 365, 365]
    assert dates[parts["train"].max()] < dates[parts["validation"].min()]
    assert dates[parts["validation"].max()] < dates[parts["test"].min()]
    values = np.random.default_rng(0).normal(size=(len(dates), 4)) + np.arange(len(dates))[:, None] / 100
    scaler = Scaler.fit(values[parts["train"]])
    np.testing.assert_allclose(scaler.mean, values[parts["train"]].mean(axis=0))  # the later, warmer days not
    np.testing.assert_allclose(scaler.transform(values[parts["train"]]).std(axis=0), 1.0)
    assert Scaler.from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()


def test_the_window_ending_at_t_is_scored_on_t_plus_1_to_t_plus_horizon():
    values = np.arange(40, dtype="float64")[:, None] * np.ones((1, 4))  # every column: the day's index
    origins = forecast_origins(np.arange(10, 30), window=5, horizon=7)
    assert origins.min() == 10 and origins.max() == 22  # 22 + 7 = 29, the split's last day
    inputs = windows(values, 5, origins)
    assert inputs.shape == (len(origins), 5, 4) and inputs[0, :, 0].tolist() == [6, 7, 8, 9, 10]
    assert seattle.targets(values, origins, 7)[0].tolist() == list(range(11, 18))
    with pytest.raises(ValueError, match="fewer than 5 days"):
        windows(values, 5, [2])


def test_persistence_and_climatology_by_hand():
    values = np.array([[0.0, 10.0, 0.0, 0.0], [0.0, 12.0, 0.0, 0.0], [0.0, 9.0, 0.0, 0.0]])
    np.testing.assert_array_equal(seattle.persistence(values, [0, 1], 2), [[10, 10], [12, 12]])
    dates = days(3 * 365)
    yearly = seattle.Climatology.design(dates)[:, :3] @ np.array([11.0, -2.0, -7.0])  # mean, sin and cos of the year
    climatology = seattle.Climatology.fit(dates, yearly + np.random.default_rng(1).normal(0, 0.01, len(dates)))
    np.testing.assert_allclose(climatology.coefficients[:3], [11.0, -2.0, -7.0], atol=0.01)
    np.testing.assert_allclose(climatology.coefficients[3:], 0.0, atol=0.01)  # no cycle that is not there
    forecast = climatology.forecast(dates, [100], 3)
    np.testing.assert_allclose(forecast[0], yearly[101:104], atol=0.01)


# --- real data ---


def test_packaged_seattle_weather_is_complete():
    pytest.importorskip("vega_datasets", reason="real-data test: vega_datasets is not installed")
    dates, values = seattle.load_seattle()
    assert len(dates) == 1461 and (dates[0], dates[-1]) == (date(2012, 1, 1), date(2015, 12, 31))
    parts = split_by_date(dates, seattle.SPLITS)
    assert {name: len(index) for name, index in parts.items()} == {"train": 731, "validation": 365, "test": 365}
    temp_max = values[:, seattle.COLUMNS.index("temp_max")]
    assert -10 < temp_max.min() and temp_max.max() < 40  # °C, not °F
    assert (values[:, seattle.COLUMNS.index("precipitation")] > 0).mean() == pytest.approx(0.43, abs=0.05)


# --- train.py end to end on a synthetic series with a signal in it, predict.py ---

train = load_example("weather", "train")
predict = load_example("weather", "predict")
PREDICT = REPO_ROOT / "examples" / "weather" / "predict.py"


def synthetic_weather(path, seed=0):
    """Four years of days: a yearly cycle plus weather that lasts a few days (an AR(1) anomaly), rain on days
    whose anomaly is low; what a model can learn from the days before."""
    rng = np.random.default_rng(seed)
    dates = days(4 * 365 + 1)
    anomaly = np.zeros(len(dates))
    for index in range(1, len(dates)):
        anomaly[index] = 0.8 * anomaly[index - 1] + rng.normal(0, 1.5)
    cycle = seattle.Climatology.design(dates)[:, 2] * -8  # colder in January
    temp_max = 16 + cycle + anomaly
    rain = anomaly < -0.5
    rows = [
        f"{day},{3.0 * r:.1f},{t:.1f},{t - 7 + rng.normal(0, 0.5):.1f},{3 + rng.random():.1f},x"
        for day, t, r in zip(dates, temp_max, rain, strict=True)
    ]
    path.write_text(csv_text(rows))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weather")
    data = synthetic_weather(folder / "weather.csv")
    options = ["--quick", "--data-file", str(data), "--epochs", "15", "--patience", "15", "--units", "16"]
    record = train.main([*options, "--output-dir", str(folder / "out")])
    return record, folder / "out", data


def test_quick_run_learns_the_signal_and_writes_its_artifacts(trained):
    record, out, _ = trained
    errors = record["metrics"]["mae_by_lead"]
    model = next(name for name in errors if name.endswith("model"))
    assert errors[model][0] < errors["climatology"][0]  # the days before say where the anomaly is going
    assert errors[model][0] < errors[model][-1]  # tomorrow is easier than a week ahead
    for name in ("model.keras", "preprocessing.json", "error_by_lead.png", "history.png", "run.json"):
        assert (out / name).exists(), name


def run_predict(model_dir, path):
    return subprocess.run(
        [sys.executable, str(PREDICT), "--model-dir", str(model_dir), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_predict_forecasts_from_a_csv_as_the_trained_model_does(trained, tmp_path):
    _, out, data = trained
    lines = data.read_text().splitlines()
    recent = tmp_path / "recent.csv"
    recent.write_text("\n".join([lines[0], *lines[-30:]]) + "\n")
    result = run_predict(out, recent)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = [float(line.split()[-2]) for line in result.stdout.splitlines() if "maximum temperature" in line]
    dates, values = seattle.read_observations(recent.read_text(), "recent.csv")
    saved = json.loads((out / "preprocessing.json").read_text())
    window = saved["window"]
    inputs = seattle.model_inputs(dates[-window:], values[-window:], Scaler.from_dict(saved))
    expected = keras.models.load_model(out / "model.keras").predict(inputs[None], verbose=0)
    np.testing.assert_allclose(printed, expected["temp_max"][0], atol=0.051)  # printed to 0.1 °C
    assert f"after {dates[-1]}: rain tomorrow" in result.stdout


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda lines: lines[:5], "4 day(s); the model reads the last"),
        (lambda lines: [lines[0], *lines[1:10], *lines[11:]], "day(s) missing"),
        (lambda lines: [lines[0].replace("wind", "gusts"), *lines[1:]], "no column wind"),
        (lambda lines: [*lines[:5], lines[5].replace(",", ",oops,", 1), *lines[6:]], "is not a number"),
        (lambda lines: [*lines[:-1], lines[-1].replace(lines[-1].split(",")[2], "85.0", 1)], "far outside"),
    ],
)
def test_predict_refuses_bad_files_with_one_line(trained, tmp_path, edit, message):
    _, out, data = trained
    lines = data.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(edit([lines[0], *lines[-30:]])) + "\n")
    with pytest.raises(SystemExit) as refused:  # in this process (the good file runs in a new one, above)
        predict.main(["--model-dir", str(out), str(bad)])
    assert str(refused.value).startswith("error: ") and message in str(refused.value)
