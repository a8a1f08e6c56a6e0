"""Estimate the remaining useful life of turbofan engines from their recorded cycles (C-MAPSS text format).

Chapter: 004 §6.3.3 (equipment health monitoring: using the trained model).
Run:     python examples/engines/predict.py data/cmapss/test_FD001.txt
         python examples/engines/predict.py my_engines.txt --model-dir outputs/engines

Each file holds one or more engines' cycles, one cycle per line: unit,
cycle, 3 operational settings, 21 sensors (26 numbers, space-separated, as
NASA's files). Each engine is judged at its last cycle from its last
`window` cycles (the window the model was trained with, 30 by default).
Loads `model.keras` and `preprocessing.json` from a training run's folder.

Inputs it cannot judge are not given a confident number: a value that is not
finite is refused with its line; an engine whose settings or sensors go far
beyond the training engines' (another fleet, another fault, a broken sensor)
gets no estimate, one somewhat beyond them an estimate marked as an
extrapolation, naming the sensors; an estimate outside 0 .. the RUL cap (what
the model was trained to say) is clipped, and says so.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import sys
from pathlib import Path

import numpy as np

from common import cli
from common.data import read_utf8
from common.ranges import NOTED_EXCESS, REFUSED_EXCESS, range_excess
from common.saving import load_for_use, read_sidecar
from common.training import default_output_dir

from cmapss import PREPROCESSING_FILE, Scaler, describe_excess, engine_features, engines, parse_cycles, windows
from model import SensorOffsetNoise  # noqa: F401  (registered for loading a model trained with --sensor-noise)

HOW_TO_TRAIN = "make example-engines"
SAVED_KEYS = ("columns", "low", "high", "smoothing", "window", "rul_cap", "training_range")


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="C-MAPSS text files of engine cycles")
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("engines", quick=False), help="a training run's outputs"
    )
    return parser.parse_args(argv)


def judge_range(rows, training_range):
    """(worst excess, description) of an engine's cycles against the training range (see common.ranges)."""
    excess = range_excess(rows[:, 2:], training_range["low"], training_range["high"])
    return float(excess.max()), describe_excess(rows, excess, training_range["high"])


def clipped(rul, cap):
    """The estimate within 0 .. cap, the values the model was trained on, and a note when it had to be moved
    (by more than the 0.1 cycle that the printed answer rounds away)."""
    bound = min(max(rul, 0.0), cap)
    if abs(rul - bound) < 0.05:
        return bound, ""
    return bound, f"   (the model said {rul:.1f}; clipped to {bound:g}: it was trained on 0 .. {cap:g} cycles)"


def main(argv=None):
    args = parse_args(argv)
    preprocessing_path = args.model_dir / PREPROCESSING_FILE
    model = load_for_use(args.model_dir / "model.keras", HOW_TO_TRAIN, preprocessing_path)
    preprocessing = read_sidecar(preprocessing_path, HOW_TO_TRAIN, keys=SAVED_KEYS)
    scaler, smoothing, window = Scaler.from_dict(preprocessing), preprocessing["smoothing"], preprocessing["window"]
    cap = preprocessing["rul_cap"]
    engines_read = []  # (key, label, refusal or None, note, inputs or None), in the files' order
    for path in args.files:
        for unit, rows in engines(parse_cycles(read_utf8(path), path)).items():
            excess, where = judge_range(rows, preprocessing["training_range"])
            label = f"{path}\tengine {unit}\tcycle {int(rows[-1, 1])}"
            refusal = None
            if len(rows) < window:
                refusal = f"{len(rows)} cycles; the model reads the last {window}, so it needs at least {window}"
            elif excess > REFUSED_EXCESS:
                refusal = f"unlike every training engine ({where})"
            if refusal:
                engines_read.append(((str(path), unit), label, refusal, "", None))
                continue
            note = f"   extrapolation, outside the training engines' range: {where}" if excess > NOTED_EXCESS else ""
            features = engine_features(rows, scaler, smoothing, preprocessing.get("engine_baseline", 0))
            inputs = windows(features, window)[-1]  # its last `window` cycles
            engines_read.append(((str(path), unit), label, None, note, inputs))
    judged = [inputs for *_, inputs in engines_read if inputs is not None]
    predicted = iter(model.predict(np.stack(judged), verbose=0)[:, 0] if judged else [])
    estimates = {}
    for key, label, refusal, note, _ in engines_read:
        if refusal:
            print(f"{label}\tno estimate: {refusal}")
            continue
        estimates[key], clip_note = clipped(float(next(predicted)), cap)
        print(f"{label}\tremaining useful life {estimates[key]:.1f} cycles{clip_note}{note}")
    if len(estimates) < len(engines_read):
        sys.exit(1)
    return estimates


if __name__ == "__main__":
    cli.run(main)
