"""Forecast the next values of a series with a model saved by train.py.

Run: python examples/sine/forecast.py 0.1 0.3 0.5 ...        (values as arguments)
     python examples/sine/forecast.py --file values.txt      (whitespace/comma separated)
     ... | python examples/sine/forecast.py                  (values on standard input)

The model was trained on windows of a fixed length; the last that many values
are used. Normalisation is inside the saved model, so values are raw.
"""

import re
from pathlib import Path

import numpy as np

from common import cli  # (importing common also quiets TensorFlow's start-up notices)
from common.saving import load_for_use
from common.training import default_output_dir


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


def forecast(model, values):
    """The model's next `horizon` values after the last `window` of `values`. (horizon,)"""
    window = model.input_shape[1]
    if len(values) < window:
        raise ValueError(f"the model reads windows of {window} values; got only {len(values)}")
    return model.predict(values[-window:][None, :, None], verbose=0)[0]


def main(argv=None):
    args = parse_args(argv)
    model = load_for_use(args.model, "make example-sine")
    text = " ".join(cli.read_inputs(args.values, args.file, lines=False))
    try:
        predicted = forecast(model, parse_values(text))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    for step, value in enumerate(predicted, start=1):
        print(f"t+{step}\t{value:.5f}")
    return predicted


if __name__ == "__main__":
    cli.run(main)
