"""Forecast the next trading day's log return (and direction) from a CSV of recent daily prices.

Run: python examples/stocks/predict.py recent.csv
     (columns Date, Open, High, Low, Close, Volume, one row a trading day, oldest first, as in pmdarima's
     msft data or a broker's daily export; the last WINDOW + 1 rows are read: a return needs the day before)

Days whose returns, ranges or volume changes lie outside what the model was
trained on (preprocessing.json beside the model) make the forecast an
extrapolation, said so; beyond a whole training range, no forecast. A gap
longer than a long weekend, a repeated or out-of-order date, a missing
column, a price that is not a positive number or breaks Low <= Open, Close
<= High is an error naming its row. The forecast is printed with the test
days' record of the trained model (run.json): on Microsoft 2013-2017 it did
not beat the random walk. Not advice to trade.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import json
import math
from pathlib import Path

import numpy as np

from common import cli
from common.ranges import NOTED_EXCESS, REFUSED_EXCESS, range_excess
from common.saving import load_for_use, read_sidecar
from common.series import Scaler
from common.training import RUN_RECORD, default_output_dir

from msft import FEATURES, PriceError, features, model_inputs, read_prices

HOW_TO_TRAIN = "make example-stocks"
SAVED_KEYS = ("mean", "std", "window", "training_range")


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="CSV of daily OHLCV rows, oldest first")
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("stocks", False), help="folder of a trained run"
    )
    return parser.parse_args(argv)


def recent_days(path, window):
    """(dates, values) of the file's last `window` + 1 trading days; SystemExit naming the problem otherwise."""
    try:
        dates, values = read_prices(cli.read_inputs(None, path, lines=False)[0], path.name)
    except PriceError as error:
        raise SystemExit(f"error: {error}") from None
    if len(dates) < window + 1:
        raise SystemExit(f"error: {path.name}: {len(dates)} row(s); the model reads the returns of the last {window}")
    return dates[-window - 1 :], values[-window - 1 :]


def judge_range(dates, values, saved_range):
    """(worst excess, where) of the days' features against the training range (see common.ranges)."""
    rows = features(values)
    excess = range_excess(rows, saved_range["low"], saved_range["high"])
    row, column = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return float(excess[row, column]), f"{FEATURES[column]} {rows[row, column]:.4g} on {dates[row + 1]}"


def test_record(model_dir):
    """One line of the trained run's test scores, or "" when run.json is not there."""
    path = model_dir / RUN_RECORD
    if not path.exists():
        return ""
    metrics = json.loads(path.read_text())["metrics"]
    return (
        f"on its test days this model's direction was right {metrics['direction']:.1%} of the time "
        f"(95 % interval {metrics['direction_low']:.1%} to {metrics['direction_high']:.1%}; up days "
        f"{metrics['up_share']:.1%}), Diebold-Mariano against the random walk p = {metrics['dm_p']:.2f}"
    )


def main(argv=None):
    args = parse_args(argv)
    model_path, settings_path = args.model_dir / "model.keras", args.model_dir / "preprocessing.json"
    saved = read_sidecar(settings_path, HOW_TO_TRAIN, SAVED_KEYS)
    dates, values = recent_days(args.file, saved["window"])
    worst, where = judge_range(dates, values, saved["training_range"])
    if worst > REFUSED_EXCESS:
        raise SystemExit(f"error: {where} is far outside the training days' values; no forecast")
    model = load_for_use(model_path, HOW_TO_TRAIN, settings_path)
    log_return = float(model.predict(model_inputs(values, Scaler.from_dict(saved))[None], verbose=0)[0, 0])
    if worst > NOTED_EXCESS:
        print(f"note: {where} lies outside the training days' values: the forecast is an extrapolation")
    close = values[-1, 3]
    print(
        f"after {dates[-1]} (close {close:g}): next day's log return {log_return:+.5f} "
        f"({math.expm1(log_return):+.3%}), close about {close * math.exp(log_return):.4g}: "
        f"{'up' if log_return > 0 else 'down'}"
    )
    record = test_record(args.model_dir)
    if record:
        print(record)
    print("a forecast, not advice: the sign of a daily return is close to a coin toss (README)")
    return log_return


if __name__ == "__main__":
    cli.run(main)
