"""Forecast the next days' maximum temperature, and rain tomorrow, from a CSV of recent daily weather.

Run: python examples/weather/predict.py recent.csv
     (columns date, precipitation, temp_max, temp_min, wind, as in vega_datasets' seattle-weather.csv:
     mm, °C, °C, m/s; one row a day, oldest first; the last WINDOW days are read)

Days outside what the model was trained on (preprocessing.json beside the
model: the training days' lowest and highest values) make the forecast an
extrapolation, said so; days more than a whole training range beyond them
get no forecast. A gap, a repeated or out-of-order date, a missing column or
a value that is not a number is an error naming its row.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from datetime import timedelta
from pathlib import Path

import numpy as np

from common import cli
from common.ranges import NOTED_EXCESS, REFUSED_EXCESS, range_excess
from common.saving import load_for_use, read_sidecar
from common.series import Scaler
from common.training import default_output_dir

from seattle import ObservationError, model_inputs, read_observations

HOW_TO_TRAIN = "make example-weather"
SAVED_KEYS = ("mean", "std", "columns", "window", "horizon", "training_range")


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="CSV of daily observations, oldest first")
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("weather", False), help="folder of a trained run"
    )
    return parser.parse_args(argv)


def recent_days(path, columns, window):
    """(dates, values) of the file's last `window` days; SystemExit naming the problem otherwise."""
    try:
        dates, values = read_observations(cli.read_inputs(None, path, lines=False)[0], path.name, columns)
    except ObservationError as error:
        raise SystemExit(f"error: {error}") from None
    if len(dates) < window:
        raise SystemExit(f"error: {path.name}: {len(dates)} day(s); the model reads the last {window}")
    return dates[-window:], values[-window:]


def judge_range(dates, values, saved_range, columns):
    """(worst excess, where) of the days against the training range (see common.ranges)."""
    excess = range_excess(values, saved_range["low"], saved_range["high"])
    row, column = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return float(excess[row, column]), f"{columns[column]} {values[row, column]:g} on {dates[row]}"


def main(argv=None):
    args = parse_args(argv)
    model_path, settings_path = args.model_dir / "model.keras", args.model_dir / "preprocessing.json"
    saved = read_sidecar(settings_path, HOW_TO_TRAIN, SAVED_KEYS)
    dates, values = recent_days(args.file, saved["columns"], saved["window"])
    worst, where = judge_range(dates, values, saved["training_range"], saved["columns"])
    if worst > REFUSED_EXCESS:
        raise SystemExit(f"error: {where} is far outside the training days' values; no forecast")
    model = load_for_use(model_path, HOW_TO_TRAIN, settings_path)
    answer = model.predict(model_inputs(dates, values, Scaler.from_dict(saved))[None], verbose=0)
    if worst > NOTED_EXCESS:
        print(f"note: {where} lies outside the training days' values: the forecast is an extrapolation")
    print(f"after {dates[-1]}: rain tomorrow, probability {float(answer['rain'][0, 0]):.2f}")
    for lead, temperature in enumerate(answer["temp_max"][0], start=1):
        print(f"{dates[-1] + timedelta(days=lead)}\tmaximum temperature {temperature:.1f} °C")
    return answer


if __name__ == "__main__":
    cli.run(main)
