"""Benchmark: are the IMDB model's word-by-word explanations true, and what do they cost?

Run: python benchmarks/explanations.py   (part of `make bench`, after the full runs)

Issue #17 (chapter 004 §9.5). On test reviews drawn at random (seeded), each
method (integrated gradients, occlusion) ranks the words by how much they
support the predicted class; deleting its top k words (k = 1, 5, 10, 20)
should lower that class's probability far more than deleting k random words
(mean of a few random draws). Also: integrated gradients' completeness error
(the scores should add up to f(review) - f(baseline)) and the time to explain
one 600-word review. Writes results/benchmarks/explanations-imdb.json, the
deletion-curve plot and the table in examples/imdb/README.md (between its
explanations markers). Explains the trained model of `make example-imdb`.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from common import cli, reviews
from common.data import resolve_data_dir
from common.explain import TextExplainer, faithfulness
from common.plots import plt, save_figure
from common.saving import load_for_use
from common.training import hardware_description, library_versions

from tables import write_table

ROOT = Path(__file__).resolve().parents[1]
COUNTS = (1, 5, 10, 20)
METHODS = ("integrated_gradients", "occlusion")
MIN_CHANGE = 0.01  # completeness is compared relative to |f(review) - f(baseline)| where it is at least this
TABLE = "explanations"  # the README's markers for the table (tables.markers)


def imdb_test_reviews(data_dir):
    """The 25,000 IMDB test reviews, read by the example's own loader."""
    return reviews.load_reviews(resolve_data_dir(data_dir))["test"][0]


def long_review_seconds(explainer, texts, method, steps, count=3):
    """Median seconds to explain `count` reviews the model reads to its full length (600 words by default)."""
    long = list(itertools.islice((t for t in texts if len(explainer.read(t)[0]) == explainer.max_length), count))
    if not long:
        return None, explainer.max_length
    explainer.explain(long[0], 0, method, steps)  # the first call traces the graph for this length
    return float(np.median([explainer.explain(text, 0, method, steps).seconds for text in long])), explainer.max_length


def summarise(measured, counts):
    """The numbers of the table: mean drop per k, AOPC, ratio to random at k=10, cost, completeness."""
    random = measured["random"].mean(axis=0)
    rows = {}
    for method, values in measured["methods"].items():
        drops = values["drops"].mean(axis=0)
        rows[method] = {
            "mean_drop": drops.tolist(),
            "aopc": float(drops.mean()),
            "ratio_to_random": {
                str(k): float(d / r) if r > 0 else None for k, d, r in zip(counts, drops, random, strict=True)
            },
            "median_seconds": float(np.median(values["seconds"])),
        }
    errors, changes = measured["completeness"].T
    # Relative to |f(review) - f(baseline)|: meaningless where the baseline answers as the review does.
    relative = errors[changes >= MIN_CHANGE] / changes[changes >= MIN_CHANGE]
    return {
        "methods": rows,
        "random": {"mean_drop": random.tolist(), "aopc": float(random.mean())},
        "completeness": {
            "absolute_median": float(np.median(errors)),
            "absolute_max": float(errors.max()),
            "reviews_compared": int(len(relative)),
            "median": float(np.median(relative)),
            "p90": float(np.percentile(relative, 90)),
            "p99": float(np.percentile(relative, 99)),
            "max": float(relative.max()),
            "share_below_5_percent": float(np.mean(relative < 0.05)),
        },
        "reviews": int(len(measured["random"])),
    }


def render_table(record):
    """Markdown: one row per method and one for random words, then the completeness and timing lines."""
    counts = record["counts"]
    header = " | ".join(f"k = {k}" for k in counts)
    lines = [
        f"| words deleted | {header} | AOPC | top-10 / random-10 | median s per review "
        f"| one {record['long_words']}-word review |",
        "|---" * (len(counts) + 5) + "|",
    ]
    names = {"integrated_gradients": "integrated gradients", "occlusion": "occlusion"}
    for method, row in record["summary"]["methods"].items():
        drops = " | ".join(f"{value:.3f}" for value in row["mean_drop"])
        ratio = row["ratio_to_random"].get("10")
        long = record["long_review_seconds"][method]
        lines.append(
            f"| top k by {names[method]} | {drops} | {row['aopc']:.3f} | "
            f"{'-' if ratio is None else f'{ratio:.1f}x'} | {row['median_seconds']:.2f} "
            f"| {'-' if long is None else f'{long:.2f} s'} |"
        )
    random = record["summary"]["random"]
    drops = " | ".join(f"{value:.3f}" for value in random["mean_drop"])
    lines.append(
        f"| k random words (mean of {record['random_draws']} draws) | {drops} | {random['aopc']:.3f} | 1x | - | - |"
    )
    completeness = record["summary"]["completeness"]
    lines += [
        "",
        f"Mean fall of the predicted class's probability on {record['summary']['reviews']} test reviews drawn at "
        f"random (seed {record['seed']}); AOPC is the mean over k. Integrated gradients with {record['steps']} steps: "
        f"completeness error relative to |f(review) - f(baseline)| (on the {completeness['reviews_compared']} reviews "
        f"where that is at least {MIN_CHANGE}): median {completeness['median']:.2%}, 90th percentile "
        f"{completeness['p90']:.2%}, 99th {completeness['p99']:.2%}, largest {completeness['max']:.2%}; "
        f"{completeness['share_below_5_percent']:.1%} of them below 5%. Absolute error: median "
        f"{completeness['absolute_median']:.5f}, largest {completeness['absolute_max']:.5f}.",
        "",
        f"Measured by `{record['command']}` on {record['hardware']} in {record['wall_time_s'] / 60:.1f} min.",
    ]
    return "\n".join(lines)


def plot_deletion(record, path):
    """Deletion curves: mean fall of the predicted class's probability against words deleted."""
    figure, axis = plt.subplots(figsize=(6.4, 4))
    counts = record["counts"]
    for method, row in record["summary"]["methods"].items():
        axis.plot(counts, row["mean_drop"], marker="o", label=method.replace("_", " "))
    axis.plot(counts, record["summary"]["random"]["mean_drop"], marker="o", linestyle="--", label="random words")
    axis.set_xlabel("words deleted (k)")
    axis.set_ylabel("fall of P(predicted class)")
    axis.set_title(f"Deleting the words an explanation ranks first ({record['summary']['reviews']} IMDB test reviews)")
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "outputs" / "imdb" / "end_to_end.keras")
    parser.add_argument("--data-dir", help="data folder (default: data/)")
    parser.add_argument("--reviews", type=int, default=500, help="test reviews drawn at random (default: 500)")
    parser.add_argument("--steps", type=int, default=64, help="integrated gradients' steps (default: 64)")
    parser.add_argument("--draws", type=int, default=3, help="random deletions per review and k (default: 3)")
    parser.add_argument("--seed", type=cli.non_negative_int, default=42)
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "explanations-imdb.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "examples" / "imdb" / "explanations_deletion.png")
    parser.add_argument("--readme", type=Path, default=ROOT / "examples" / "imdb" / "README.md")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    explainer = TextExplainer(load_for_use(args.model, "make example-imdb"), ["positive"])
    texts = imdb_test_reviews(args.data_dir)
    chosen = np.random.default_rng(args.seed).choice(len(texts), size=min(args.reviews, len(texts)), replace=False)
    measured = faithfulness(
        explainer, [texts[i] for i in chosen], METHODS, COUNTS, args.draws, steps=args.steps, seed=args.seed
    )
    long_seconds = {}
    for method in METHODS:
        long_seconds[method], long_words = long_review_seconds(explainer, texts, method, args.steps)
    record = {
        "benchmark": "explanations-imdb",
        "command": "python benchmarks/explanations.py" + "".join(f" {a}" for a in (argv or sys.argv[1:])),
        "hardware": hardware_description(),
        "versions": library_versions(),
        "seed": args.seed,
        "steps": args.steps,
        "random_draws": args.draws,
        "counts": list(COUNTS),
        "long_words": long_words,
        "long_review_seconds": long_seconds,
        "summary": summarise(measured, COUNTS),
        "wall_time_s": time.perf_counter() - started,
    }
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2) + "\n")
    plot_deletion(record, args.plot)
    table = render_table(record)
    write_table(args.readme, table, TABLE)
    print(table)
    print(f"wrote {args.record}, {args.plot} and the table in {args.readme}")
    return record


if __name__ == "__main__":
    main()
