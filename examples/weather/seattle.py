"""Seattle's daily weather 2012-2015 (vega_datasets): reading and checking observations, features, splits,
windows, and the forecasts a meteorologist would start from (persistence, climatology).

Chapter: 004 §6.3.2 (weather forecasting).

The same reader checks the packaged file and a user's CSV (predict.py): every
row a day after the one before (no gap, no repeat, no step back), every value
a finite number, each problem named with its row.
"""

from pathlib import Path

import numpy as np

from common.data import DamagedDataError, DataNotFoundError
from common.series import SeriesError, read_dated_rows

COLUMNS = ("precipitation", "temp_max", "temp_min", "wind")  # mm, °C, °C, m/s; the model reads them all
TARGET = "temp_max"
TARGET_COLUMN = COLUMNS.index(TARGET)
SPLITS = {  # by year, first and last day of each part
    "train": ("2012-01-01", "2013-12-31"),
    "validation": ("2014-01-01", "2014-12-31"),
    "test": ("2015-01-01", "2015-12-31"),
}
HARMONICS = 3  # the climatology's yearly cycle: a mean and three pairs of sines and cosines of the day of the year
DAYS_PER_YEAR = 365.25


ObservationError = SeriesError  # a CSV of observations that cannot be read as consecutive days of numbers


def packaged_file():
    """vega_datasets' seattle-weather.csv (inside the installed wheel), or a clear error when it is not installed."""
    try:
        from vega_datasets import data
    except ImportError:
        raise DataNotFoundError(
            "the Seattle weather data comes with the vega_datasets package: pip install -r requirements.txt"
        ) from None
    return Path(data.seattle_weather.filepath)


def read_observations(text, source, columns=COLUMNS):
    """(dates, values): the CSV's days (datetime.date, consecutive: no gap, no repeat, no step back) and its
    `columns` as a (days, columns) float array. Other columns (e.g. the packaged file's `weather` words) are
    ignored."""
    return read_dated_rows(text, source, columns)


def load_seattle(path=None):
    """The packaged observations (or the CSV at `path`), checked: (dates, values)."""
    path = Path(path) if path else packaged_file()
    try:
        return read_observations(path.read_text(encoding="utf-8"), path.name)
    except ObservationError as error:
        raise DamagedDataError(f"{error}; reinstall vega_datasets (pip install -r requirements.txt)") from None


def day_of_year_features(dates):
    """(days, 2): where each day lies in the year, as a point on a circle (31 December sits beside 1 January)."""
    angle = 2 * np.pi * np.array([day.timetuple().tm_yday for day in dates]) / DAYS_PER_YEAR
    return np.stack([np.sin(angle), np.cos(angle)], axis=1)


def model_inputs(dates, values, scaler):
    """(days, columns + 2) float32: each day's scaled observations and its place in the year (what the model
    reads, in training and in predict.py alike)."""
    return np.concatenate([scaler.transform(values), day_of_year_features(dates)], axis=1).astype("float32")


def targets(values, origins, horizon, column=TARGET_COLUMN):
    """(origins, horizon): the target column on days origin + 1 ... origin + horizon."""
    return np.stack([values[origin + 1 : origin + horizon + 1, column] for origin in np.asarray(origins)])


def persistence(values, origins, horizon, column=TARGET_COLUMN):
    """Tomorrow and every later day like today: (origins, horizon)."""
    return np.repeat(values[np.asarray(origins), column][:, None], horizon, axis=1)


class Climatology:
    """The training years' value for each day of the year, smoothed: a least-squares fit of a mean and HARMONICS
    yearly sines and cosines (a daily mean of two years would be mostly weather, not climate)."""

    def __init__(self, coefficients):
        self.coefficients = np.asarray(coefficients, dtype="float64")

    @staticmethod
    def design(dates):
        angle = 2 * np.pi * np.array([day.timetuple().tm_yday for day in dates]) / DAYS_PER_YEAR
        columns = [np.ones_like(angle)]
        for k in range(1, HARMONICS + 1):
            columns += [np.sin(k * angle), np.cos(k * angle)]
        return np.stack(columns, axis=1)

    @classmethod
    def fit(cls, dates, series):
        coefficients, *_ = np.linalg.lstsq(cls.design(dates), np.asarray(series, dtype="float64"), rcond=None)
        return cls(coefficients)

    def predict(self, dates):
        return self.design(dates) @ self.coefficients

    def forecast(self, dates, origins, horizon):
        """(origins, horizon): the climatological value of each target day."""
        return np.stack([self.predict(dates[origin + 1 : origin + horizon + 1]) for origin in np.asarray(origins)])
