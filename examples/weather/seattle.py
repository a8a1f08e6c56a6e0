"""Seattle's daily weather 2012-2015 (vega_datasets): reading and checking observations, features, splits,
windows, and the forecasts a meteorologist would start from (persistence, climatology).

Chapter: 004 §6.3.2 (weather forecasting).

The same reader checks the packaged file and a user's CSV (predict.py): every
row a day after the one before (no gap, no repeat, no step back), every value
a finite number, each problem named with its row.
"""

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from common.data import DamagedDataError, DataNotFoundError

COLUMNS = ("precipitation", "temp_max", "temp_min", "wind")  # mm, °C, °C, m/s; the model reads them all
TARGET = "temp_max"
TARGET_COLUMN = COLUMNS.index(TARGET)
YEARS = {"train": (2012, 2013), "validation": (2014, 2014), "test": (2015, 2015)}
HARMONICS = 3  # the climatology's yearly cycle: a mean and three pairs of sines and cosines of the day of the year
DAYS_PER_YEAR = 365.25


class ObservationError(ValueError):
    """A CSV of observations that cannot be read as consecutive days of numbers (the message names the row)."""


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
    """(dates, values): the CSV's days (datetime.date, consecutive) and its `columns` as a (days, columns) float
    array. Other columns (e.g. the packaged file's `weather` words) are ignored."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in ("date", *columns) if name not in (reader.fieldnames or ())]
    if missing:
        raise ObservationError(f"{source}: no column {', '.join(missing)} (the header has: {reader.fieldnames})")
    dates, rows = [], []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        day = _parse_date(row["date"], source, number)
        if dates and day != dates[-1] + timedelta(days=1):
            raise ObservationError(f"{source}, row {number}: {day} {_step_problem(dates[-1], day)}")
        dates.append(day)
        rows.append([_parse_number(row[name], name, source, number) for name in columns])
    if not rows:
        raise ObservationError(f"{source}: no observations after the header")
    return dates, np.array(rows, dtype="float64")


def _parse_date(text, source, number):
    try:
        return date.fromisoformat((text or "").strip()[:10].replace("/", "-"))  # the packaged file: 2012/01/01
    except ValueError:
        raise ObservationError(f"{source}, row {number}: date {text!r} is not YYYY-MM-DD (or YYYY/MM/DD)") from None


def _step_problem(previous, day):
    if day == previous:
        return "repeats the row before"
    if day < previous:
        return f"comes before the row above ({previous}): the rows must be in date order"
    return f"follows {previous}: {(day - previous).days - 1} day(s) missing"


def _parse_number(text, name, source, number):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ObservationError(f"{source}, row {number}: {name} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise ObservationError(f"{source}, row {number}: {name} is {text}, not a finite number")
    return value


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


def split_by_year(dates):
    """{"train", "validation", "test": index array} of the days in each part's years (YEARS)."""
    years = np.array([day.year for day in dates])
    return {name: np.flatnonzero((years >= first) & (years <= last)) for name, (first, last) in YEARS.items()}


class Scaler:
    """Each column's mean and standard deviation, from the training days only."""

    def __init__(self, mean, std):
        self.mean, self.std = np.asarray(mean, dtype="float64"), np.asarray(std, dtype="float64")

    @classmethod
    def fit(cls, values):
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values):
        return (values - self.mean) / self.std

    def to_dict(self):
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, record):
        return cls(record["mean"], record["std"])


def windows(inputs, window, origins):
    """(origins, window, features): the `window` days that end at each origin (the origin included)."""
    origins = np.asarray(origins)
    if len(origins) and origins.min() < window - 1:
        raise ValueError(f"origin {origins.min()} has fewer than {window} days before it")
    return np.stack([inputs[origin - window + 1 : origin + 1] for origin in origins])


def targets(values, origins, horizon, column=TARGET_COLUMN):
    """(origins, horizon): the target column on days origin + 1 ... origin + horizon."""
    return np.stack([values[origin + 1 : origin + horizon + 1, column] for origin in np.asarray(origins)])


def forecast_origins(indices, window, horizon):
    """The days of a split from which a forecast can be made and scored inside it: `window` days of history
    (which may reach back into the part before: the past is known) and all `horizon` target days in the split."""
    indices = np.asarray(indices)
    last = indices.max()
    return indices[(indices >= window - 1) & (indices + horizon <= last)]


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
