"""Benchmark: which cell should I use? SimpleRNN, LSTM and GRU on four tasks, same code, same budget.

Run: python benchmarks/cells.py                  (make compare; about 45 minutes on 2 CPU cores)
     python benchmarks/cells.py --tasks sine      (one task)

Chapter 004 §9.1 (which RNN variant to choose). Each task is trained by its
example's own train.py, once per cell (`--cell`), with the same units, the
same seed and the same number of epochs: equal passes over the data, so the
metric compares what each cell learns from the same data, and the seconds
per epoch show what that costs. (An equal wall-clock budget is read off the
plot of validation loss against time.) Budgets are reduced from the
examples' defaults to keep the suite under an hour; the table says how.
IMDB runs with two seeds, so the reader sees how large the noise is.

Writes results/benchmarks/cells.json (every run's metric, parameter count,
seconds per epoch and validation curve), the plot examples/cells.png, and the
table in README.md between its cells markers. Records of --quick runs (the
test suite's tiny configuration) are never put in the table.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.plots import plt, save_figure
from common.training import hardware_description, library_versions, read_history

from tables import write_table

ROOT = Path(__file__).resolve().parents[1]
CELLS = ("simple_rnn", "lstm", "gru")
TABLE = "cells"  # the README's markers for the table (tables.markers)


@dataclass
class Task:
    example: str
    arguments: list
    budget: str  # how the budget differs from the example's default run
    seeds: tuple = (42,)


TASKS = {
    "imdb": Task(
        "imdb",
        ["--epochs", "3", "--max-length", "200"],
        "3 epochs (default 7), reviews cut to 200 words (default 600)",
        seeds=(42, 1),
    ),
    "tagging-pos": Task("tagging", ["--task", "pos", "--epochs", "4"], "4 epochs (default 10)"),
    # Pinned to the recipe measured here: the example's default reads both ways with sensor noise since #35.
    "engines": Task(
        "engines",
        ["--no-bidirectional", "--sensor-noise", "0"],
        "one direction, no sensor noise (the default run before #35), early stopping",
    ),
    "sine": Task("sine", ["--epochs", "10"], "10 epochs (default 40)"),
}


def run_example(task_name, task, cell, seed, output_dir, quick=False):
    """Train one cell on one task in a new process (a clean TensorFlow each time); return its run record."""
    command = [
        sys.executable,
        str(ROOT / "examples" / task.example / "train.py"),
        *task.arguments,
        *("--cell", cell, "--seed", str(seed), "--output-dir", str(output_dir), "--restart"),
        *(["--quick"] if quick else []),
    ]
    print(f"--- {task_name}, {cell}, seed {seed}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)
    return json.loads((output_dir / "run.json").read_text())


def summarise_run(record, history):
    """What the table and plot need from one run: metric, size, time per epoch, validation curve over time."""
    row = record["results"][0]
    seconds = history.get("epoch_seconds", [])
    return {
        "metric_name": row["metric"],
        "metric": row["model"],
        "parameters": record["parameters"],
        "epochs": record["epochs_run"],
        "seconds_per_epoch": float(np.median(seconds)) if seconds else None,
        "wall_time_s": record["wall_time_s"],
        "elapsed_s": np.cumsum(seconds).tolist(),
        "val_loss": history.get("val_loss", []),
        "quick": record["quick"],
    }


def render_table(record):
    """Markdown, one row per task and cell; ValueError for records of --quick runs (smoke tests, not results)."""
    if any(run["quick"] for runs in record["runs"].values() for run in runs):
        raise ValueError("the record holds --quick runs: smoke tests are never published in the table")
    lines = [
        "| task (budget) | cell | test metric | parameters | s per epoch | epochs |",
        "|---|---|---|---|---|---|",
    ]
    for key, runs in record["runs"].items():
        task_name, cell = key.split("/")
        metrics = [run["metric"] for run in runs]
        shown = " / ".join(f"{value:.4f}" for value in metrics)
        if len(metrics) > 1:
            shown += f" (seeds {', '.join(str(run['seed']) for run in runs)}; mean {np.mean(metrics):.4f})"
        first = runs[0]
        lines.append(
            f"| {task_name} ({record['budgets'][task_name]}) | {cell} | {first['metric_name']}: {shown} "
            f"| {first['parameters']:,} | {first['seconds_per_epoch']:.1f} | {first['epochs']} |"
        )
    lines += ["", f"Measured by `{record['command']}` on {record['hardware']} in {record['wall_time_s'] / 60:.0f} min."]
    return "\n".join(lines)


def plot_curves(record, path):
    """Validation loss against training time, one panel per task, one line per cell (first seed)."""
    tasks = list(record["budgets"])
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.6), squeeze=False)
    for axis, task_name in zip(axes[0], tasks, strict=True):
        for cell in CELLS:
            runs = record["runs"].get(f"{task_name}/{cell}")
            if runs:
                axis.plot(runs[0]["elapsed_s"], runs[0]["val_loss"], marker="o", label=cell)
        axis.set_title(task_name)
        axis.set_xlabel("training time (s)")
        axis.set_ylabel("validation loss (log scale)")
        axis.set_yscale("log")  # the first epochs' losses would flatten the rest
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    figure.suptitle("Which cell? Validation loss against wall-clock time")
    return save_figure(figure, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS), help="tasks to compare")
    parser.add_argument("--quick", action="store_true", help="tiny runs to check the pipeline (never published)")
    parser.add_argument("--outputs", type=Path, default=ROOT / "outputs" / "cells", help="one folder per run")
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "cells.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "examples" / "cells.png")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    record = {
        "benchmark": "cells",
        "command": "python benchmarks/cells.py"
        + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:])),
        "hardware": hardware_description(),
        "versions": library_versions(),
        "budgets": {name: TASKS[name].budget for name in args.tasks},
        "runs": {},
    }
    for task_name in args.tasks:
        task = TASKS[task_name]
        for cell in CELLS:
            for seed in task.seeds:
                output_dir = args.outputs / f"{task_name}-{cell}-seed{seed}"
                run = run_example(task_name, task, cell, seed, output_dir, args.quick)
                summary = summarise_run(run, read_history(output_dir / "history.csv"))
                record["runs"].setdefault(f"{task_name}/{cell}", []).append({"seed": seed, **summary})
    record["wall_time_s"] = time.perf_counter() - started
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2) + "\n")
    plot_curves(record, args.plot)
    if args.quick:
        print(f"wrote {args.record} and {args.plot}; --quick runs are not put in the README's table")
        return record
    table = render_table(record)
    write_table(args.readme, table, TABLE)
    print(table)
    print(f"wrote {args.record}, {args.plot} and the table in {args.readme}")
    return record


if __name__ == "__main__":
    main()
