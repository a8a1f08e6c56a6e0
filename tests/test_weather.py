"""Weather (examples/weather): reading observations, chronological splits, scaling from training days, window and
target alignment, the persistence and climatology baselines, and the packaged Seattle file."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import load_example

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
        ([], None, "no observations after the header"),
    ],
)
def test_bad_observations_name_the_row_and_the_problem(rows, header, message):
    text = csv_text(rows) if header is None else csv_text(rows, header)
    with pytest.raises(seattle.ObservationError, match=message):
        seattle.read_observations(text, "bad.csv")


def test_splits_are_chronological_and_scaling_comes_from_training_days_only():
    dates = days(4 * 365 + 1)  # 2012-01-01 ... 2015-12-31
    parts = seattle.split_by_year(dates)
    assert [len(parts[name]) for name in ("train", "validation", "test")] == [731, 365, 365]
    assert dates[parts["train"].max()] < dates[parts["validation"].min()]
    assert dates[parts["validation"].max()] < dates[parts["test"].min()]
    values = np.random.default_rng(0).normal(size=(len(dates), 4)) + np.arange(len(dates))[:, None] / 100
    scaler = seattle.Scaler.fit(values[parts["train"]])
    np.testing.assert_allclose(scaler.mean, values[parts["train"]].mean(axis=0))  # the later, warmer days not
    np.testing.assert_allclose(scaler.transform(values[parts["train"]]).std(axis=0), 1.0)
    assert seattle.Scaler.from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()


def test_the_window_ending_at_t_is_scored_on_t_plus_1_to_t_plus_horizon():
    values = np.arange(40, dtype="float64")[:, None] * np.ones((1, 4))  # every column: the day's index
    origins = seattle.forecast_origins(np.arange(10, 30), window=5, horizon=7)
    assert origins.min() == 10 and origins.max() == 22  # 22 + 7 = 29, the split's last day
    inputs = seattle.windows(values, 5, origins)
    assert inputs.shape == (len(origins), 5, 4) and inputs[0, :, 0].tolist() == [6, 7, 8, 9, 10]
    assert seattle.targets(values, origins, 7)[0].tolist() == list(range(11, 18))
    with pytest.raises(ValueError, match="fewer than 5 days"):
        seattle.windows(values, 5, [2])


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
    parts = seattle.split_by_year(dates)
    assert {name: len(index) for name, index in parts.items()} == {"train": 731, "validation": 365, "test": 365}
    temp_max = values[:, seattle.COLUMNS.index("temp_max")]
    assert -10 < temp_max.min() and temp_max.max() < 40  # °C, not °F
    assert (values[:, seattle.COLUMNS.index("precipitation")] > 0).mean() == pytest.approx(0.43, abs=0.05)
