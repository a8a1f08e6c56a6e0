"""Stocks (examples/stocks): checking price rows, features from them, splits by date, and the statistics."""

from datetime import date, timedelta

import numpy as np
import pytest
from conftest import load_example

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


def rows(count=5):
    dates = [date(2017, 1, 2) + timedelta(days=index) for index in range(count)]
    values = np.array([[10.0, 11.0, 9.5, 10.5, 1000.0]] * count)
    return dates, values


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d, v: v.__setitem__((2, 3), np.nan), "row 3: a value is not a finite number"),
        (lambda d, v: v.__setitem__((2, 1), 10.0), r"row 3: Low <= Open, Close <= High"),
        (lambda d, v: v.__setitem__((1, 0), -1.0), "row 2: prices must be positive"),
        (lambda d, v: d.__setitem__(3, d[2]), "row 4: 2017-01-04 is not after 2017-01-04"),
        (lambda d, v: d.__setitem__(4, d[3] + timedelta(days=9)), "row 5: 9 days after 2017-01-05: a gap"),
    ],
)
def test_bad_rows_are_named(change, message):
    dates, values = rows()
    change(dates, values)
    with pytest.raises(msft.PriceError, match=message):
        msft.check_rows(dates, values, "prices.csv")


def test_features_are_returns_not_prices():
    values = np.array([[10.0, 11.0, 9.0, 10.0, 100.0], [10.0, 12.0, 10.0, 11.0, 200.0]])
    (row,) = msft.features(values)
    np.testing.assert_allclose(row, [np.log(1.1), np.log(1.2), np.log(2.0), np.log(1.1)])


def test_packaged_prices_are_complete_and_split_in_time():
    pytest.importorskip("pmdarima", reason="real-data test: pmdarima is not installed")
    dates, values = msft.load_msft()
    assert len(dates) == 7983 and (dates[0], dates[-1]) == (date(1986, 3, 13), date(2017, 11, 10))
    parts = msft.split_by_date(dates)
    assert dates[parts["train"][-1]] < dates[parts["validation"][0]] < dates[parts["test"][0]]
    assert sum(len(index) for index in parts.values()) == len(dates)
