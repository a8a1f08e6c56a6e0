"""Stocks (examples/stocks): checking price rows, features from them, splits by date, and the statistics."""

import json
import subprocess
import sys
from datetime import date, timedelta

import keras
import numpy as np
import pytest
from conftest import REPO_ROOT, load_example

from common.series import Scaler, split_by_date

msft = load_example("stocks", "msft")


def test_diebold_mariano_by_hand():
    # d = e_a^2 - e_b^2 = [0, 3, 8, 15]: mean 6.5, variance (6.5^2 + 3.5^2 + 1.5^2 + 8.5^2) / 4 = 32.25
    statistic, p_value = msft.diebold_mariano([1, 2, 3, 4], [1, 1, 1, 1])
    assert statistic == pytest.approx(6.5 / np.sqrt(32.25 / 4))  # 2.289
    assert p_value == pytest.approx(0.0221, abs=1e-4)  # two-sided, normal
    assert msft.diebold_mariano([1, 1, 1, 1], [1, 2, 3, 4])[0] == pytest.approx(-statistic)


def test_direction_accuracy_and_its_interval():
    share, (low, high) = msft.direction_accuracy([1, 1, -1, -1, 1], [0.5, -0.2, -0.1, 0.3, 0.0])
    assert share == 0.5  # the zero-return day is left out: 2 right of 4
    assert low < 0.5 < high and high - low > 0.5  # four days say little
    assert msft.direction_accuracy(np.ones(10_000), np.ones(10_000))[1][0] > 0.999


HEADER = "Date,Open,High,Low,Close,Volume"
GOOD = ["2017-01-03,10,11,9.5,10.5,1000", "2017-01-04,10.5,11,10,10.8,1200", "2017-01-05,10.8,11,10.1,10.2,900"]


def test_prices_are_read_as_trading_days_of_consistent_prices():
    dates, values = msft.read_prices("\n".join([HEADER, *GOOD]), "good.csv")
    assert dates == [date(2017, 1, 3), date(2017, 1, 4), date(2017, 1, 5)]
    np.testing.assert_array_equal(values[:, 3], [10.5, 10.8, 10.2])  # Close, in COLUMNS order
    weekend = ["2017-01-06,10,11,9.5,10.5,1000", "2017-01-09,10,11,9.5,10.5,1000"]  # Friday, Monday
    assert len(msft.read_prices("\n".join([HEADER, *weekend]), "weekend.csv")[0]) == 2


@pytest.mark.parametrize(
    "rows,message",
    [
        ([GOOD[0], "2017-01-04,10,11,9.5,nan,1000"], "row 3: Close is nan, not a finite number"),
        ([GOOD[0], "2017-01-04,10,11,9.5,ten,1000"], "row 3: Close 'ten' is not a number"),
        ([GOOD[0], "2017-01-04,10,10,9.5,10.5,1000"], r"row 3: Low <= Open, Close <= High"),
        ([GOOD[0], "2017-01-04,-1,11,9.5,10.5,1000"], "row 3: prices must be positive"),
        ([GOOD[0], GOOD[0]], "row 3: 2017-01-03 repeats the row before"),
        ([GOOD[1], GOOD[0]], "row 3: 2017-01-03 comes before the row above"),
        ([GOOD[0], "2017-01-12,10,11,9.5,10.5,1000"], r"row 3: 2017-01-12 follows 2017-01-03: 8 day\(s\) missing"),
        ([], "no rows after the header"),
    ],
)
def test_bad_rows_are_named(rows, message):
    with pytest.raises(msft.PriceError, match=message):
        msft.read_prices("\n".join([HEADER, *rows]), "prices.csv")


def test_no_column_is_named():
    with pytest.raises(msft.PriceError, match="no column Volume"):
        msft.read_prices("Date,Open,High,Low,Close\n2017-01-03,10,11,9.5,10.5", "prices.csv")


def test_features_are_returns_not_prices():
    values = np.array([[10.0, 11.0, 9.0, 10.0, 100.0], [10.0, 12.0, 10.0, 11.0, 200.0]])
    (row,) = msft.features(values)
    np.testing.assert_allclose(row, [np.log(1.1), np.log(1.2), np.log(2.0), np.log(1.1)])


def test_packaged_prices_are_complete_and_split_in_time():
    pytest.importorskip("pmdarima", reason="real-data test: pmdarima is not installed")
    dates, values = msft.load_msft()
    assert len(dates) == 7983 and (dates[0], dates[-1]) == (date(1986, 3, 13), date(2017, 11, 10))
    parts = split_by_date(dates, msft.SPLITS)
    assert dates[parts["train"][-1]] < dates[parts["validation"][0]] < dates[parts["test"][0]]
    assert sum(len(index) for index in parts.values()) == len(dates)


def test_equity_curve_by_hand():
    returns = np.log([1.1, 0.9, 1.2])
    np.testing.assert_allclose(msft.equity_curve([1, -1, 0], returns), [1.1, 1.1 / 0.9, 1.1 / 0.9])


# --- train.py end to end on a synthetic series with a signal in it, predict.py ---

train = load_example("stocks", "train")
predict = load_example("stocks", "predict")
PREDICT = REPO_ROOT / "examples" / "stocks" / "predict.py"


def synthetic_prices(path, seed=0):
    """Trading days (weekdays) 2005-2015 whose log returns follow an AR(1): half of each day's move carries on
    the next day, which a model can learn from the days before (real returns may hold no such thing)."""
    rng = np.random.default_rng(seed)
    dates = [day for day in (date(2005, 1, 3) + timedelta(days=n) for n in range(11 * 365)) if day.weekday() < 5]
    returns = np.zeros(len(dates))
    for index in range(1, len(dates)):
        returns[index] = 0.5 * returns[index - 1] + rng.normal(0, 0.01)
    close = 50 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, len(dates)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, len(dates)))
    volume = rng.integers(1_000_000, 2_000_000, len(dates))
    rows = [
        f"{day},{o:.4f},{h:.4f},{lo:.4f},{c:.4f},{v}"
        for day, o, h, lo, c, v in zip(dates, open_, high, low, close, volume, strict=True)
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stocks")
    data = synthetic_prices(folder / "prices.csv")
    options = ["--quick", "--data-file", str(data), "--epochs", "10", "--patience", "10", "--window", "10"]
    record = train.main([*options, "--output-dir", str(folder / "out")])
    return record, folder / "out", data


def test_quick_run_learns_the_signal_and_writes_its_artifacts(trained):
    record, out, _ = trained
    metrics = record["metrics"]
    assert metrics["dm"] < 0 and metrics["dm_p"] < 0.01  # beats the random walk where there is something to learn
    assert metrics["direction"] > 0.6 and metrics["direction_low"] > 0.55  # a coin: 0.5
    assert metrics["rmse"] < metrics["scores"]["training mean"]["rmse"]
    for name in ("model.keras", "preprocessing.json", "equity.png", "price_level.png", "history.png", "run.json"):
        assert (out / name).exists(), name


def test_windows_end_at_the_forecast_day_and_scaling_comes_from_training_days(trained):
    _, out, data = trained
    args = train.parse_args(["--quick", "--data-file", str(data), "--window", "10"])
    parts, origins, (dates, values), rows, train_days, scaler = train.load_data(args)
    x_test, y_test = parts["test"]
    first = origins["test"][0]
    assert dates[first + 1].year == 2013  # feature row k is trading day k + 1
    np.testing.assert_allclose(x_test[0, -1], scaler.transform(rows[first]), rtol=1e-5)  # reads up to its day
    np.testing.assert_allclose(y_test[0, 0], rows[first + 1, 0], rtol=1e-5)  # and answers the next day's return
    assert dates[train_days[-1] + 1] < date(2010, 1, 1)
    saved = json.loads((out / "preprocessing.json").read_text())
    np.testing.assert_allclose(saved["mean"], rows[train_days].mean(axis=0))  # not the later days'
    assert not np.allclose(saved["mean"], rows.mean(axis=0))


def test_predict_forecasts_from_a_csv_as_the_trained_model_does(trained, tmp_path):
    _, out, data = trained
    lines = data.read_text().splitlines()
    recent = tmp_path / "recent.csv"
    recent.write_text("\n".join([lines[0], *lines[-15:]]) + "\n")
    command = [sys.executable, str(PREDICT), "--model-dir", str(out), str(recent)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = float(result.stdout.split("next day's log return ")[1].split()[0])
    dates, values = msft.read_prices(recent.read_text(), "recent.csv")
    saved = json.loads((out / "preprocessing.json").read_text())
    inputs = msft.model_inputs(values[-saved["window"] - 1 :], Scaler.from_dict(saved))
    expected = keras.models.load_model(out / "model.keras").predict(inputs[None], verbose=0)[0, 0]
    assert printed == pytest.approx(expected, abs=5e-6)  # printed to 5 decimals
    assert f"after {dates[-1]}" in result.stdout and "direction was right" in result.stdout


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda lines: lines[:6], "5 row(s); the model reads the returns of the last 10"),
        (lambda lines: [lines[0], *lines[1:5], *lines[9:]], "day(s) missing"),
        (lambda lines: [lines[0], *lines[1:5], lines[4], *lines[5:]], "repeats the row before"),
        (lambda lines: [lines[0].replace("Volume", "Shares"), *lines[1:]], "no column Volume"),
        (lambda lines: [*lines[:5], lines[5].replace(",", ",oops,", 1), *lines[6:]], "is not a number"),
        (lambda lines: [*lines[:-1], ",".join(lines[-1].split(",")[:5] + ["99999999999"])], "far outside"),
    ],
)
def test_predict_refuses_bad_files_with_one_line(trained, tmp_path, edit, message):
    _, out, data = trained
    lines = data.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(edit([lines[0], *lines[-15:]])) + "\n")
    with pytest.raises(SystemExit) as refused:  # in this process (the good file runs in a new one, above)
        predict.main(["--model-dir", str(out), str(bad)])
    assert str(refused.value).startswith("error: ") and message in str(refused.value)
