"""Estimate the remaining useful life of turbofan engines from their recorded cycles (C-MAPSS text format).

Chapter: 004 §6.3.3 (equipment health monitoring: using the trained model).
Run:     python examples/engines/predict.py data/cmapss/test_FD001.txt
         python examples/engines/predict.py my_engines.txt --model-dir outputs/engines

Each file holds one or more engines' cycles, one cycle per line: unit,
cycle, 3 operational settings, 21 sensors (26 numbers, space-separated, as
NASA's files). Each engine is judged at its last cycle from its last
`window` cycles (the window the model was trained with, 30 by default).
Loads `model.keras` and `preprocessing.json` from a training run's folder.
"""

import json
from pathlib import Path

import numpy as np

from common import cli
from common.data import read_utf8
from common.saving import load_for_use
from common.training import default_output_dir

from cmapss import PREPROCESSING_FILE, Scaler, engine_features, engines, parse_cycles, windows


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="C-MAPSS text files of engine cycles")
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("engines", quick=False), help="a training run's outputs"
    )
    return parser.parse_args(argv)


def last_window(rows, scaler, smoothing, window, source):
    """The engine's last `window` cycles, scaled and smoothed over its whole history; SystemExit naming the
    engine when it has fewer."""
    if len(rows) < window:
        unit = int(rows[0, 0])
        raise SystemExit(
            f"error: {source}: engine {unit} has {len(rows)} cycles; the model reads the last {window}, "
            f"so it needs at least {window}"
        )
    return windows(engine_features(rows, scaler, smoothing), window)[-1]


def main(argv=None):
    args = parse_args(argv)
    preprocessing_path = args.model_dir / PREPROCESSING_FILE
    model = load_for_use(args.model_dir / "model.keras", "make example-engines", preprocessing_path)
    preprocessing = json.loads(preprocessing_path.read_text())
    scaler, smoothing, window = Scaler.from_dict(preprocessing), preprocessing["smoothing"], preprocessing["window"]
    estimates = []
    for path in args.files:
        for unit, rows in engines(parse_cycles(read_utf8(path), path)).items():
            estimates.append((path, unit, int(rows[-1, 1]), last_window(rows, scaler, smoothing, window, path)))
    predicted = model.predict(np.stack([inputs for *_, inputs in estimates]), verbose=0)[:, 0]
    for (path, unit, last_cycle, _), rul in zip(estimates, predicted, strict=True):
        print(f"{path}\tengine {unit}\tcycle {last_cycle}\tremaining useful life {rul:.1f} cycles")
    return {(str(path), unit): float(rul) for (path, unit, _, _), rul in zip(estimates, predicted, strict=True)}


if __name__ == "__main__":
    cli.run(main)
