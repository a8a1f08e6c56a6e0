"""Microsoft's daily prices 1986-2017 (pmdarima): reading and checking OHLCV rows, features from them, splits by
date, and the statistics a return forecast is judged by (direction accuracy with its interval, Diebold-Mariano).

Chapter: 004 §6.3.1 (stock prices).
"""

import math
from datetime import date
from pathlib import Path

import numpy as np

from common.data import DamagedDataError, DataNotFoundError
from common.series import SeriesError, read_dated_rows

COLUMNS = ("Open", "High", "Low", "Close", "Volume")
FEATURES = ("log return", "log high/low", "log volume change", "log close/open")  # features()' columns
LONGEST_CLOSURE_DAYS = 5  # calendar days between two trading days: a long weekend with a holiday (and a national
# day of mourning beside it, as on 2 January 2007) is at most 5; more is a gap
MARKET_CLOSURES = {date(2001, 9, 17)}  # the first trading day after the exchanges closed on 11-14 September 2001
SPLITS = {
    "train": ("1986-01-01", "2009-12-31"),
    "validation": ("2010-01-01", "2012-12-31"),
    "test": ("2013-01-01", "2017-12-31"),
}


PriceError = SeriesError  # rows that cannot be read as consecutive trading days of positive prices


def read_prices(text, source):
    """(dates, (days, 5) OHLCV) of a CSV with a Date column and COLUMNS, checked: trading days in order with no
    gap longer than LONGEST_CLOSURE_DAYS (but MARKET_CLOSURES), prices positive with Low <= Open, Close <= High,
    volume not negative, every value finite. Each problem is named with its row."""
    dates, values = read_dated_rows(
        text, source, COLUMNS, date_column="Date", longest_step=LONGEST_CLOSURE_DAYS, allowed_after=MARKET_CLOSURES
    )
    for index, (open_, high, low, close, volume) in enumerate(values):
        row = index + 2  # row 1 is the header
        if min(open_, high, low, close) <= 0 or volume < 0:
            raise PriceError(f"{source}, row {row}: prices must be positive and volume not negative")
        if not low <= min(open_, close) <= max(open_, close) <= high:
            raise PriceError(f"{source}, row {row}: Low <= Open, Close <= High does not hold")
    return dates, values


def load_msft(path=None):
    """The packaged Microsoft prices (or the OHLCV CSV at `path`), checked: (dates, values)."""
    if path:
        return read_prices(Path(path).read_text(encoding="utf-8"), Path(path).name)
    try:
        from pmdarima.datasets import load_msft as packaged
    except ImportError:
        raise DataNotFoundError(
            "Microsoft's prices come with the pmdarima package: pip install -r requirements.txt"
        ) from None
    try:
        return read_prices(packaged().to_csv(index=False), "pmdarima's msft.csv")
    except PriceError as error:
        raise DamagedDataError(f"{error}; reinstall pmdarima (pip install -r requirements.txt)") from None


def features(values):
    """(days - 1, 4): each day's log return (close to close), log range (high / low), log volume change and
    log(close / open); the first day has no return. Returns, not prices: a price level only says "near
    yesterday's", which a network learns at once and a plot mistakes for skill."""
    open_, high, low, close, volume = (values[:, index] for index in range(5))
    return np.stack(
        [
            np.diff(np.log(close)),
            np.log(high / low)[1:],
            np.diff(np.log(np.maximum(volume, 1.0))),
            np.log(close / open_)[1:],
        ],
        axis=1,
    )


def direction_accuracy(predicted, actual, z=1.96):
    """(share of days whose sign was right, (low, high) Wilson 95 % interval); days of zero return are left out."""
    predicted, actual = np.asarray(predicted), np.asarray(actual)
    moved = actual != 0
    right, n = int((np.sign(predicted[moved]) == np.sign(actual[moved])).sum()), int(moved.sum())
    share = right / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return share, (centre - half, centre + half)


def diebold_mariano(errors_a, errors_b):
    """(statistic, two-sided p-value) of the Diebold-Mariano test that forecasts a and b (one step ahead) have
    the same mean squared error; a negative statistic: a's errors are smaller. The variance of the loss
    differences is their sample variance over n (one-step forecasts: no autocovariance terms)."""
    differences = np.asarray(errors_a, dtype="float64") ** 2 - np.asarray(errors_b, dtype="float64") ** 2
    n = len(differences)
    variance = float(np.mean((differences - differences.mean()) ** 2))
    statistic = float(differences.mean() / math.sqrt(variance / n))
    return statistic, float(math.erfc(abs(statistic) / math.sqrt(2)))


def model_inputs(values, scaler):
    """(days - 1, 4) float32: the features of each day after the first, scaled (what the model reads, in training
    and in predict.py alike)."""
    return scaler.transform(features(values)).astype("float32")


def equity_curve(positions, returns):
    """Growth of 1 invested on the first day, trading `positions` (+1 long, -1 short, 0 out) at each day's close,
    without costs: exp of the cumulative position-weighted log returns."""
    return np.exp(np.cumsum(np.asarray(positions) * np.asarray(returns)))
