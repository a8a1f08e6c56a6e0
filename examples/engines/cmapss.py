"""NASA's C-MAPSS turbofan engine data (subset FD001): reading, remaining-useful-life labels, scaling, windows,
and the PHM08 score.

Each row of a C-MAPSS file is one engine cycle: 26 space-separated numbers,
the engine (unit) number, the cycle, 3 operational settings and 21 sensors.
A training engine runs until it fails; a test engine is cut off some time
before, and RUL_FD001.txt gives, per test engine, the cycles it had left.
"""

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from common.data import DamagedDataError, DataNotFoundError, fetch
from common.ranges import training_range

SETTINGS = [f"setting_{i}" for i in range(1, 4)]
SENSORS = [f"sensor_{i}" for i in range(1, 22)]
COLUMNS = ["unit", "cycle", *SETTINGS, *SENSORS]
FILES = {
    "train_FD001.txt": "963b5e22825b34d8b21c69e1aeb4af3e647050eb672ee8834ba4b5d91d2de0f8",
    "test_FD001.txt": "3cda7109ce17bafb5443f2ac926cfcf88154b941b8c4cf95eb55d1ddd6f52851",
    "RUL_FD001.txt": "a19c8ec94931949d0485bdc35118206e9c81c4547b422efb9cf86f4ceddbceca",
}
# NASA Prognostics Center of Excellence data repository: "Turbofan Engine Degradation Simulation Data Set".
SOURCE_URL = "https://phm-datasets.s3.amazonaws.com/NASA/6.+Turbofan+Engine+Degradation+Simulation+Data+Set.zip"
ARCHIVE = "turbofan_engine_degradation.zip"
PREPROCESSING_FILE = "preprocessing.json"  # the columns, scaling, window, cap and ranges a trained model expects


def parse_cycles(text, source):
    """(cycles, 26) float array from C-MAPSS text; DamagedDataError naming the line of a wrong row.

    Rows end in trailing spaces in NASA's files; blank lines are skipped.
    Units and cycles must be whole numbers; an engine's cycles, consecutive.
    """
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(COLUMNS):
            raise DamagedDataError(
                f"{source}, line {number}: {len(fields)} columns, expected {len(COLUMNS)} "
                f"(unit, cycle, 3 settings, 21 sensors)"
            )
        try:
            rows.append([float(field) for field in fields])
        except ValueError:
            bad = next(field for field in fields if not _is_number(field))
            raise DamagedDataError(f"{source}, line {number}: {bad!r} is not a number") from None
        if not np.all(np.isfinite(rows[-1])):  # float() reads "nan" and "inf": a sensor that gave no reading
            bad = next(field for field, value in zip(fields, rows[-1], strict=True) if not np.isfinite(value))
            raise DamagedDataError(f"{source}, line {number}: {bad!r} is not a finite number (a missing reading?)")
    if not rows:
        raise DamagedDataError(f"{source} holds no engine cycles")
    table = np.array(rows)
    _check_units_and_cycles(table, source)
    return table


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_units_and_cycles(table, source):
    units, cycles = table[:, 0], table[:, 1]
    if not (np.all(units == np.round(units)) and np.all(cycles == np.round(cycles))):
        raise DamagedDataError(f"{source}: the unit and cycle columns must hold whole numbers")
    for unit in np.unique(units):
        unit_cycles = cycles[units == unit]
        if np.any(np.diff(unit_cycles) != 1):  # an engine's rows: consecutive cycles, in order, none missing
            raise DamagedDataError(f"{source}: engine {int(unit)}'s cycles are not consecutive (n, n+1, n+2, ...)")


def engines(table):
    """{unit: (cycles, 26) rows} in unit order."""
    return {int(unit): table[table[:, 0] == unit] for unit in np.unique(table[:, 0])}


def find_files(data_dir, download=True):
    """{name: path} of the three FD001 files in DATA_DIR/cmapss; missing ones are downloaded from NASA and
    checked against their published sha256 (files already there are checked by the parser, line by line)."""
    folder = Path(data_dir) / "cmapss"
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing and download:
        _download(folder, missing)
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        raise DataNotFoundError(
            f"{', '.join(missing)} not found in {folder}. Download the C-MAPSS data "
            f"({SOURCE_URL}, which holds CMAPSSData.zip) and put the FD001 files there."
        )
    return {name: folder / name for name in FILES}


def _download(folder, names):
    """Fetch NASA's archive and extract `names` (it holds CMAPSSData.zip, which holds the FD00x files)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = zipfile.ZipFile(fetch(ARCHIVE, SOURCE_URL, folder))
    inner = next((entry for entry in archive.namelist() if entry.endswith("CMAPSSData.zip")), None)
    if inner is not None:
        archive = zipfile.ZipFile(io.BytesIO(archive.read(inner)))
    for name in names:
        entry = next((entry for entry in archive.namelist() if entry.endswith(name)), None)
        if entry is None:
            raise DamagedDataError(f"{folder / ARCHIVE} has no {name}; delete it and run again")
        content = archive.read(entry)
        if hashlib.sha256(content).hexdigest() != FILES[name]:
            raise DamagedDataError(f"{name} in {folder / ARCHIVE} is not NASA's FD001 file (sha256 differs)")
        (folder / name).write_bytes(content)


def load_fd001(data_dir, download=True):
    """(train table, test table, true RUL per test engine) of FD001."""
    paths = find_files(data_dir, download)
    train = parse_cycles(paths["train_FD001.txt"].read_text(encoding="ascii"), paths["train_FD001.txt"])
    test = parse_cycles(paths["test_FD001.txt"].read_text(encoding="ascii"), paths["test_FD001.txt"])
    rul = np.array([float(line) for line in paths["RUL_FD001.txt"].read_text(encoding="ascii").split()])
    if len(rul) != len(np.unique(test[:, 0])):
        raise DamagedDataError(f"{paths['RUL_FD001.txt']}: {len(rul)} values for {len(np.unique(test[:, 0]))} engines")
    return train, test, rul


def rul_labels(cycles, cap):
    """Remaining useful life at each cycle of an engine run to failure: cycles left, capped at `cap`.

    An engine's last cycle has 0 left. The cap (piecewise-linear target) says
    that early in life the data cannot tell how healthy a new engine is: it
    only shows wear once wear begins.
    """
    cycles = np.asarray(cycles)
    return np.minimum(cycles.max() - cycles, cap).astype("float32")


def constant_columns(table, tolerance=1e-8):
    """Names of the setting and sensor columns that never change in `table` (the training data)."""
    features = table[:, 2:]
    spread = features.max(axis=0) - features.min(axis=0)
    return [name for name, width in zip(COLUMNS[2:], spread, strict=True) if width <= tolerance]


def uncorrelated_columns(table, labels, min_correlation):
    """Names of the varying setting and sensor columns whose |Pearson correlation| with the RUL labels is below
    `min_correlation`: in FD001 the operating settings jitter around one flight condition and follow no wear."""
    features = table[:, 2:]
    varying = np.array([name not in constant_columns(table) for name in COLUMNS[2:]])
    correlation = np.zeros(features.shape[1])
    centred = features[:, varying] - features[:, varying].mean(axis=0)
    labels = np.asarray(labels, dtype=float) - np.mean(labels)
    correlation[varying] = centred.T @ labels / (np.linalg.norm(centred, axis=0) * np.linalg.norm(labels))
    return [
        name
        for name, keep, value in zip(COLUMNS[2:], varying, correlation, strict=True)
        if keep and abs(value) < min_correlation
    ]


class Scaler:
    """Min-max scaling to [0, 1] of the kept columns, fitted on training engines only."""

    def __init__(self, columns, low, high):
        self.columns, self.low, self.high = list(columns), np.asarray(low), np.asarray(high)

    @classmethod
    def fit(cls, table, columns):
        values = table[:, [COLUMNS.index(name) for name in columns]]
        return cls(columns, values.min(axis=0), values.max(axis=0))

    def transform(self, table):
        values = table[:, [COLUMNS.index(name) for name in self.columns]]
        return ((values - self.low) / np.where(self.high > self.low, self.high - self.low, 1.0)).astype("float32")

    def to_dict(self):
        return {"columns": self.columns, "low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_dict(cls, record):
        return cls(record["columns"], record["low"], record["high"])


def setting_and_sensor_range(table):
    """{"low", "high"} of every setting and sensor over `table` (the training engines): what the model has seen,
    saved with it so that predict.py can tell when an engine lies outside (common.ranges). FD001's own test
    engines stay within 0.09 training spreads of it (measured: setting_2 and sensor_12)."""
    return training_range(table[:, 2:])


def describe_excess(rows, excess, high, limit=3):
    """The `limit` columns furthest outside the training range, e.g. 'sensor_9 at cycle 31: 4.2 training
    spreads above its highest', worst first."""
    worst_cycle = excess.argmax(axis=0)
    columns = [column for column in np.argsort(-excess.max(axis=0))[:limit] if excess[worst_cycle[column], column] > 0]
    parts = []
    for column in columns:
        row = worst_cycle[column]
        side = "above its highest" if rows[row, 2 + column] > high[column] else "below its lowest"
        how_far = f"{excess[row, column]:.3g} training-range widths {side}"
        parts.append(f"{COLUMNS[2 + column]} at cycle {int(rows[row, 1])}: {how_far}")
    return "; ".join(parts)


def smooth(features, alpha):
    """Exponential moving average down the cycles: y[t] = alpha * x[t] + (1 - alpha) * y[t-1], y[0] = x[0].

    Causal (cycle t sees only cycles up to t, as a monitoring system would),
    so it applies to a test engine's history exactly as to a training one's.
    alpha = 1 leaves the features as they are.
    """
    smoothed = np.array(features, dtype="float32")
    for t in range(1, len(smoothed)):
        smoothed[t] = alpha * smoothed[t] + (1 - alpha) * smoothed[t - 1]
    return smoothed


def engine_features(rows, scaler, smoothing, baseline=0):
    """One engine's model inputs, cycle by cycle: the kept columns scaled, then smoothed over its history; with
    `baseline` cycles, followed by the same values minus the engine's own starting point (the mean of its first
    `baseline` scaled cycles, or of those it has had so far: causal), i.e. how far it has drifted since new."""
    scaled = scaler.transform(rows)
    smoothed = smooth(scaled, smoothing)
    if not baseline:
        return smoothed
    return np.concatenate([smoothed, smoothed - starting_point(scaled, baseline)], axis=1)


def starting_point(features, cycles):
    """(cycles, features): at each cycle t, the mean of the first min(t, `cycles`) cycles (it sees no later one)."""
    last = np.minimum(np.arange(len(features)), cycles - 1)  # the latest of the first `cycles` seen at each cycle
    return (np.cumsum(features, axis=0)[last] / (last + 1)[:, None]).astype("float32")


def windows(features, window, pad=False):
    """(cycles - window + 1, window, features): every run of `window` consecutive cycles, the i-th ending at
    cycle i + window (1-based), so it is labelled with that last cycle's RUL. With `pad`, an engine younger than
    the window is read as if it had run at its first cycle's values before it (one window, ending at its last)."""
    if pad and len(features) < window:
        features = np.concatenate([np.repeat(features[:1], window - len(features), axis=0), features])
    if len(features) < window:
        raise ValueError(f"{len(features)} cycles is fewer than the window of {window}")
    return np.lib.stride_tricks.sliding_window_view(features, window, axis=0).transpose(0, 2, 1).astype("float32")


def phm08_score(predicted, true):
    """The PHM08 challenge's score, summed over engines (lower is better).

    d = predicted - true. Late predictions (d > 0: the engine fails before
    predicted) cost exp(d / 10) - 1, early ones exp(-d / 13) - 1: a late
    maintenance call risks a failure in service, an early one only wastes
    some life, so lateness is punished more steeply.
    """
    difference = np.asarray(predicted, dtype="float64") - np.asarray(true, dtype="float64")
    return float(np.sum(np.where(difference < 0, np.exp(-difference / 13) - 1, np.exp(difference / 10) - 1)))


def rmse(predicted, true):
    return float(np.sqrt(np.mean((np.asarray(predicted, dtype="float64") - np.asarray(true)) ** 2)))
