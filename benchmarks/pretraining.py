"""Benchmark: what does starting from the word language model do for the IMDB classifier, over seeds?

Run: python benchmarks/pretraining.py                     (after make example-word_lm; about 15 min a seed)
     python benchmarks/pretraining.py --seeds 42 1 2 --scratch-seeds 42

Chapter 004 §7.3 (pretrained models). Fine-tunes `examples/imdb/train.py
--pretrained DIR` once per seed (the language model is the same; the
classifier's split, order, dropout and new output layer change with the
seed), and trains the from-scratch classifier for `--scratch-seeds`, each in
a new process, each beside the TF-IDF baseline of its own run. Writes
results/benchmarks/pretraining.json, the plot of validation accuracy per
epoch (examples/imdb/pretraining.png) and the table in examples/imdb/README.md
between its pretraining markers: each run, then the mean and range.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from common.plots import plt, save_figure
from common.training import hardware_description, read_history

from tables import write_table

ROOT = Path(__file__).resolve().parents[1]
TABLE = "pretraining"  # the README's markers for the table (tables.markers)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--language-model", type=Path, default=ROOT / "outputs" / "word_lm", help="its folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2], help="fine-tuning seeds")
    parser.add_argument("--scratch-seeds", type=int, nargs="*", default=[42], help="from-scratch seeds")
    parser.add_argument("--output-root", type=Path, default=ROOT / "outputs" / "pretraining", help="runs go here")
    parser.add_argument("--data-dir", help="data folder (default: the examples' own)")
    parser.add_argument("--quick", action="store_true", help="tiny runs (tests); never written to the README")
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "pretraining.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "examples" / "imdb" / "pretraining.png")
    parser.add_argument("--readme", type=Path, default=ROOT / "examples" / "imdb" / "README.md")
    return parser.parse_args(argv)


def run_imdb(name, seed, arguments, args):
    """One IMDB run in a new process (a clean TensorFlow each time); its run record."""
    output_dir = args.output_root / f"{name}-{seed}"
    command = [
        *(sys.executable, str(ROOT / "examples" / "imdb" / "train.py"), *arguments),
        *("--seed", str(seed), "--output-dir", str(output_dir), "--restart"),
        *(["--data-dir", args.data_dir] if args.data_dir else []),
        *(["--quick"] if args.quick else []),
    ]
    print(f"--- {name}, seed {seed}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)
    record = json.loads((output_dir / "run.json").read_text())
    metrics = record["metrics"]
    return {
        "name": name,
        "seed": seed,
        "command": record["command"],
        "test_accuracy": metrics["test_accuracy"],
        "baseline_test_accuracy": metrics["baseline_test_accuracy"],
        "rnn_wall_time_s": metrics["rnn_wall_time_s"],
        "epochs_run": record["epochs_run"],
        "best_epoch": record["best_epoch"],
        "val_accuracy": read_history(output_dir / "history.csv").get("val_accuracy", []),
    }


def render(runs, hardware):
    """Markdown: one row per run, then per kind the mean and range of the test accuracy."""
    lines = [
        "| run | seed | test accuracy | TF-IDF, same run | best epoch / run | RNN wall time |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['name']} | {run['seed']} | {run['test_accuracy']:.4f} | {run['baseline_test_accuracy']:.4f} | "
            f"{run['best_epoch']} / {run['epochs_run']} | {run['rnn_wall_time_s'] / 60:.1f} min |"
        )
    for name in dict.fromkeys(run["name"] for run in runs):
        scores = [run["test_accuracy"] for run in runs if run["name"] == name]
        if len(scores) > 1:
            lines.append(
                f"| {name}, mean of {len(scores)} | | **{np.mean(scores):.4f}** ({min(scores):.4f}-{max(scores):.4f}) "
                "| | | |"
            )
    lines.append("")
    lines.append(f"Measured by `python benchmarks/pretraining.py` on {hardware}; seeds as shown.")
    return "\n".join(lines)


def plot(runs, path):
    """Validation accuracy per epoch: fine-tuned runs solid, from-scratch runs dashed."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for run in runs:
        style = "-" if run["name"] == "pretrained" else "--"
        epochs = range(1, len(run["val_accuracy"]) + 1)
        axis.plot(epochs, run["val_accuracy"], style, marker="o", label=f"{run['name']}, seed {run['seed']}")
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation accuracy (held-out movies)")
    axis.set_title("IMDB: from the language model vs from scratch")
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    runs = [run_imdb("pretrained", seed, ["--pretrained", str(args.language_model)], args) for seed in args.seeds]
    runs += [run_imdb("from scratch", seed, [], args) for seed in args.scratch_seeds]
    hardware = hardware_description()
    record = {"quick": args.quick, "hardware": hardware, "runs": runs}
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2))
    plot(runs, args.plot)
    table = render(runs, hardware)
    print(table)
    if not args.quick:  # quick runs are smoke tests, never results
        write_table(args.readme, table, TABLE)
    return record


if __name__ == "__main__":
    main()
