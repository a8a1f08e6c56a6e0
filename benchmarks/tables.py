"""Write the README's results table from the run records of full runs.

Chapter: 004 §5 (each project's training and testing). Numbers are never
typed by hand: each full run writes `outputs/NAME/run.json`; this tool keeps
a copy of every full-run record in `results/NAME.json` (committed, so the
table can be traced to its run) and rewrites the table in README.md between
the markers below. Quick (`--quick`) runs are refused: they are smoke tests.

Run: python benchmarks/tables.py            (collect outputs/*/run.json, rewrite README; make results)
     python benchmarks/tables.py --check    (exit 1 if README's table is out of date)

The benchmarks write their own tables into READMEs with `write_table`.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from common.data import REPO_ROOT

START, END = "<!-- results:start -->", "<!-- results:end -->"


def markers(name):
    """The pair of HTML comments between which a generated table lives in a README."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def collect(outputs_dir, results_dir):
    """Copy full-run records from outputs/*/run.json into results/; return the names copied."""
    results_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for record_path in sorted(Path(outputs_dir).glob("*/run.json")):
        record = json.loads(record_path.read_text())
        if record.get("quick"):
            continue
        (results_dir / f"{record['example']}.json").write_text(json.dumps(record, indent=2) + "\n")
        copied.append(record["example"])
    return copied


def _number(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _minutes(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def backend_of(record):
    """The Keras backend of a run (records from before backends were recorded ran on TensorFlow)."""
    return record["versions"].get("keras_backend", "tensorflow")


SEED_OPTIONS = ("seed", "output_dir", "restart")  # what may differ between the runs of one recipe


def _same_option(config, other, key):
    """Equal values; or an option one run predates, set to off (0, False, None) in the other: that run made
    the same choice by not having it."""
    if key in config and key in other:
        return config[key] == other[key]
    return not (config.get(key) or other.get(key))


def seed_runs(results_dir, name, record):
    """The records of `name`'s recipe run again with other seeds: results/variants/NAME-seedN.json, each checked
    to differ from `record` only in its seed (and output folder); ValueError naming a file that differs more."""
    runs = []
    for path in sorted(Path(results_dir, "variants").glob(f"{name}-seed*.json")):
        if not path.stem.removeprefix(f"{name}-seed").isdigit():  # NAME-seed1-dropout0.2: another recipe
            continue
        other = json.loads(path.read_text())
        differing = sorted(
            key
            for key in set(record["config"]) | set(other["config"])
            if key not in SEED_OPTIONS and not _same_option(record["config"], other["config"], key)
        )
        if differing:
            raise ValueError(f"{path} is not {name}'s recipe with another seed: {', '.join(differing)} differ")
        runs.append(other)
    return runs


def _with_seeds(row, seed_records):
    """A result's value, followed by its mean and range over all seeds when the recipe ran with several."""
    values = [row["model"]] + [
        other["model"] for record in seed_records for other in record["results"] if other["metric"] == row["metric"]
    ]
    if len(values) < 2:
        return _number(row["model"])
    spread = f"{_number(float(min(values)))}-{_number(float(max(values)))}"
    return f"{_number(row['model'])}; {len(values)} seeds: mean {_number(float(np.mean(values)))} ({spread})"


def render_table(records, seed_records=None):
    """Markdown table: one row per result row of each record, newest library versions noted. `seed_records`
    (optional, one list per record) are each record's recipe run with other seeds: each value is then followed
    by the mean and range."""
    lines = [
        "| example | metric | RNN model | baseline | command | hardware | backend "
        "| wall time (RNN / baseline) | seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for record, seeds in zip(records, seed_records or [[]] * len(records), strict=True):
        for row in record["results"]:
            baseline_time = row.get("baseline_wall_time_s")
            # rnn_wall_time_s: start to test score, without the baseline (recorded by examples that have one)
            rnn_time = record["metrics"].get("rnn_wall_time_s", record["wall_time_s"])
            times = _minutes(rnn_time) + (f" / {_minutes(baseline_time)}" if baseline_time else "")
            lines.append(
                f"| {record['example']} | {row['metric']} | {_with_seeds(row, seeds)} "
                f"| {_number(row['baseline'])} ({row['baseline_name']}) | `{record['command']}` "
                f"| {record['device']['hardware']} | {backend_of(record)} | {times} | {record['seed']} |"
            )
    if records:
        versions = records[0]["versions"]
        lines.append("")
        lines.append("Library versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".")
    return "\n".join(lines)


def load_records(results_dir):
    """The committed full-run records (results/*.json), and for each record its runs with other seeds."""
    paths = sorted(Path(results_dir).glob("*.json"))
    records = [json.loads(path.read_text()) for path in paths]
    return records, [seed_runs(results_dir, path.stem, record) for path, record in zip(paths, records, strict=True)]


def replace_between_markers(text, table, name="results"):
    """`text` with the table between its `markers(name)` replaced by `table`; ValueError without them."""
    start, end = markers(name)
    if start not in text or end not in text:
        raise ValueError(f"the README has no {start} ... {end} markers for the {name} table")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"


def write_table(readme, table, name):
    """Put a generated table (a benchmark's) between its markers in the README file `readme`."""
    readme = Path(readme)
    readme.write_text(replace_between_markers(readme.read_text(), table, name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outputs", type=Path, default=REPO_ROOT / "outputs", help="where full runs wrote run.json")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results", help="committed copies of run records")
    parser.add_argument("--readme", type=Path, default=REPO_ROOT / "README.md", help="README to update")
    parser.add_argument("--check", action="store_true", help="only check that the README table is up to date")
    options = parser.parse_args(argv)
    if not options.check:
        copied = collect(options.outputs, options.results)
        print(f"collected full-run records: {', '.join(copied) or 'none'}")
    table = render_table(*load_records(options.results))
    old = options.readme.read_text()
    new = replace_between_markers(old, table)
    if options.check:
        if new != old:
            print("README results table is out of date: run python benchmarks/tables.py", file=sys.stderr)
            return 1
        return 0
    options.readme.write_text(new)
    print(f"updated the results table in {options.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
