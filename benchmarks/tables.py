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


def render_table(records):
    """Markdown table: one row per result row of each record, newest library versions noted."""
    lines = [
        "| example | metric | RNN model | baseline | command | hardware | backend "
        "| wall time (RNN / baseline) | seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        for row in record["results"]:
            baseline_time = row.get("baseline_wall_time_s")
            # rnn_wall_time_s: start to test score, without the baseline (recorded by examples that have one)
            rnn_time = record["metrics"].get("rnn_wall_time_s", record["wall_time_s"])
            times = _minutes(rnn_time) + (f" / {_minutes(baseline_time)}" if baseline_time else "")
            lines.append(
                f"| {record['example']} | {row['metric']} | {_number(row['model'])} "
                f"| {_number(row['baseline'])} ({row['baseline_name']}) | `{record['command']}` "
                f"| {record['device']['hardware']} | {backend_of(record)} | {times} | {record['seed']} |"
            )
    if records:
        versions = records[0]["versions"]
        lines.append("")
        lines.append("Library versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".")
    return "\n".join(lines)


def load_records(results_dir):
    return [json.loads(path.read_text()) for path in sorted(Path(results_dir).glob("*.json"))]


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
    table = render_table(load_records(options.results))
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
