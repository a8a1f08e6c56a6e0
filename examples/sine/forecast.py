"""Forecast the next values of a series with a model saved by train.py.

Run: python examples/sine/forecast.py 0.1 0.3 0.5 ...        (values as arguments)
     python examples/sine/forecast.py --file values.txt      (whitespace/comma separated)
     ... | python examples/sine/forecast.py                  (values on standard input)

The model was trained on windows of a fixed length; the last that many values
are used. Normalisation is inside the saved model, so values are raw. Values
beyond those the model was trained on (training_range.json beside the model)
make the forecast an extrapolation, marked as such; values more than a whole
training range beyond them get no forecast.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import re
import sys
from pathlib import Path

import numpy as np

from common import cli
from common.ranges import NOTED_EXCESS, REFUSED_EXCESS, range_excess
from common.saving import load_for_use, read_sidecar
from common.training import default_output_dir

from series import RANGE_FILE

HOW_TO_TRAIN = "make example-sine"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("values", nargs="*", help="past values, oldest first")
    parser.add_argument("--file", type=Path, help="read the values from this file instead")
    parser.add_argument(
        "--model", type=Path, default=default_output_dir("sine", False) / "model.keras", help="saved model"
    )
    return parser.parse_args(argv)


def parse_values(text):
    """Numbers separated by spaces, commas or new lines -> float32 array; ValueError if none or not numbers."""
    tokens = [token for token in re.split(r"[\s,]+", text.strip()) if token]
    try:
        values = np.array([float(token) for token in tokens], dtype="float32")
    except ValueError as error:
        raise ValueError(f"values must be numbers: {error}") from None
    if values.size == 0:
        raise ValueError("no values given: pass them as arguments, with --file, or on standard input")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite numbers (no nan or inf)")
    return values


def judge_range(values, window, saved_range):
    """'' when the last `window` values (those the model reads) lie within the training range; else a note saying
    how far out they go, or ValueError when they go more than the range's width beyond it (see common.ranges)."""
    excess = range_excess(values, saved_range["low"], saved_range["high"])
    excess[: len(values) - window] = 0
    worst = int(np.argmax(excess))
    if excess[worst] <= NOTED_EXCESS:
        return ""
    where = (
        f"value {worst + 1} ({values[worst]:g}) lies {excess[worst]:.3g} training-range widths outside "
        f"[{saved_range['low']:.3g}, {saved_range['high']:.3g}], the values the model was trained on"
    )
    if excess[worst] > REFUSED_EXCESS:
        raise ValueError(f"no forecast: {where}")
    return f"extrapolation: {where}"


def forecast(model, values):
    """The model's next `horizon` values after the last `window` of `values`. (horizon,)"""
    window = model.input_shape[1]
    if len(values) < window:
        raise ValueError(f"the model reads windows of {window} values; got only {len(values)}")
    return model.predict(values[-window:][None, :, None], verbose=0)[0]


def main(argv=None):
    args = parse_args(argv)
    range_path = args.model.with_name(RANGE_FILE)
    model = load_for_use(args.model, HOW_TO_TRAIN, range_path)
    saved_range = read_sidecar(range_path, HOW_TO_TRAIN, keys=("low", "high"))
    text = " ".join(cli.read_inputs(args.values, args.file, lines=False))
    try:
        values = parse_values(text)
        note = judge_range(values, model.input_shape[1], saved_range)
        predicted = forecast(model, values)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    if note:
        print(f"warning: {note}", file=sys.stderr)
    for step, value in enumerate(predicted, start=1):
        print(f"t+{step}\t{value:.5f}" + ("   (extrapolation)" if note else ""))
    return predicted


if __name__ == "__main__":
    cli.run(main)
