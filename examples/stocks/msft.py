"""Microsoft's daily prices 1986-2017 (pmdarima): reading and checking OHLCV rows, features from them, splits by
date, and the statistics a return forecast is judged by (direction accuracy with its interval, Diebold-Mariano).

Chapter: 004 §6.3.1 (stock prices).
"""

import math
from datetime import date

import numpy as np

from common.data import DataNotFoundError

COLUMNS = ("Open", "High", "Low", "Close", "Volume")
LONGEST_CLOSURE_DAYS = 5  # calendar days between two trading days: a long weekend with a holiday (and a national
# day of mourning beside it, as on 2 January 2007) is at most 5; more is a gap
MARKET_CLOSURES = {date(2001, 9, 17)}  # the first trading day after the exchanges closed on 11-14 September 2001
SPLITS = {
    "train": ("1986-01-01", "2009-12-31"),
    "validation": ("2010-01-01", "2012-12-31"),
    "test": ("2013-01-01", "2017-12-31"),
}


class PriceError(ValueError):
    """Rows that cannot be read as consecutive trading days of positive prices (the message names the row)."""


def load_msft():
    """(dates, (days, 5) OHLCV) of pmdarima's packaged Microsoft prices, checked."""
    try:
        from pmdarima.datasets import load_msft as packaged
    except ImportError:
        raise DataNotFoundError(
            "Microsoft's prices come with the pmdarima package: pip install -r requirements.txt"
        ) from None
    table = packaged()
    return check_rows(
        [date.fromisoformat(str(day)[:10]) for day in table["Date"]], table[list(COLUMNS)].to_numpy(float), "msft"
    )


def check_rows(dates, values, source, first_row=1):
    """The rows as given, after checking: dates increasing with no gap longer than LONGEST_CLOSURE_DAYS, prices
    positive and High >= Open, Close >= Low, volume not negative, every value finite."""
    values = np.asarray(values, dtype="float64")
    for index in range(len(dates)):
        row = first_row + index
        if not np.isfinite(values[index]).all():
            raise PriceError(f"{source}, row {row}: a value is not a finite number")
        open_, high, low, close, volume = values[index]
        if min(open_, high, low, close) <= 0 or volume < 0:
            raise PriceError(f"{source}, row {row}: prices must be positive and volume not negative")
        if not low <= min(open_, close) <= max(open_, close) <= high:
            raise PriceError(f"{source}, row {row}: Low <= Open, Close <= High does not hold")
        if index:
            step = (dates[index] - dates[index - 1]).days
            if step <= 0:
                raise PriceError(f"{source}, row {row}: {dates[index]} is not after {dates[index - 1]}")
            if step > LONGEST_CLOSURE_DAYS and dates[index] not in MARKET_CLOSURES:
                raise PriceError(f"{source}, row {row}: {step} days after {dates[index - 1]}: a gap in the prices")
    return dates, values


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


def split_by_date(dates):
    """{"train", "validation", "test": index array} of the days in each part's dates (SPLITS)."""
    days = np.array([day.isoformat() for day in dates])
    return {name: np.flatnonzero((days >= first) & (days <= last)) for name, (first, last) in SPLITS.items()}


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
