"""Daily series from CSV files: reading dated rows (each problem named with its row), scaling from the training
days, and the windows a forecast reads.

Chapter: 004 §6.3 (time-series prediction). The same reader checks a packaged
file and a user's CSV (a predict.py): dates in order with no repeat and no
gap longer than the series allows (a day for weather; a long weekend for
trading days), every value a finite number.
"""

import csv
import io
from datetime import date

import numpy as np


class SeriesError(ValueError):
    """A CSV that cannot be read as dated rows of numbers (the message names the row and the problem)."""


def read_dated_rows(text, source, columns, *, date_column="date", longest_step=1, allowed_after=()):
    """(dates, values): the CSV's dates (datetime.date) and its `columns` as a (rows, columns) float array.

    Each date must follow the one before by 1 to `longest_step` days, except a date in `allowed_after` (the
    first day after a known closure). Other columns are ignored."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in (date_column, *columns) if name not in (reader.fieldnames or ())]
    if missing:
        raise SeriesError(f"{source}: no column {', '.join(missing)} (the header has: {reader.fieldnames})")
    dates, rows = [], []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        day = _parse_date(row[date_column], date_column, source, number)
        if dates and not 0 < (day - dates[-1]).days <= longest_step and day not in allowed_after:
            raise SeriesError(f"{source}, row {number}: {day} {_step_problem(dates[-1], day, longest_step)}")
        dates.append(day)
        rows.append([_parse_number(row[name], name, source, number) for name in columns])
    if not rows:
        raise SeriesError(f"{source}: no rows after the header")
    return dates, np.array(rows, dtype="float64")


def _parse_date(text, name, source, number):
    try:
        return date.fromisoformat((text or "").strip()[:10].replace("/", "-"))  # also 2012/01/01
    except ValueError:
        raise SeriesError(f"{source}, row {number}: {name} {text!r} is not YYYY-MM-DD (or YYYY/MM/DD)") from None


def _step_problem(previous, day, longest_step):
    if day == previous:
        return "repeats the row before"
    if day < previous:
        return f"comes before the row above ({previous}): the rows must be in date order"
    missing = (day - previous).days - 1
    allowed = "" if longest_step == 1 else f" (at most {longest_step - 1} may lie between two rows)"
    return f"follows {previous}: {missing} day(s) missing{allowed}"


def _parse_number(text, name, source, number):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise SeriesError(f"{source}, row {number}: {name} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise SeriesError(f"{source}, row {number}: {name} is {text}, not a finite number")
    return value


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
    """(origins, window, features): the `window` rows that end at each origin (the origin included)."""
    origins = np.asarray(origins)
    if len(origins) and origins.min() < window - 1:
        raise ValueError(f"origin {origins.min()} has fewer than {window} days before it")
    return np.stack([inputs[origin - window + 1 : origin + 1] for origin in origins])


def forecast_origins(indices, window, horizon):
    """The rows of a split from which a forecast can be made and scored inside it: `window` rows of history
    (which may reach back into the part before: the past is known) and all `horizon` target rows in the split."""
    indices = np.asarray(indices)
    last = indices.max()
    return indices[(indices >= window - 1) & (indices + horizon <= last)]


def split_by_date(dates, parts):
    """{name: index array} of the rows whose date lies in each part's (first, last) ISO dates, both included."""
    days = np.array([day.isoformat() for day in dates])
    return {name: np.flatnonzero((days >= first) & (days <= last)) for name, (first, last) in parts.items()}
