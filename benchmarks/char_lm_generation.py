"""Benchmark: characters per second of char_lm's generate(), for 200 and 2,000 characters.

Run: python benchmarks/char_lm_generation.py   (part of `make bench`, after the full runs)

Issue #5's target: carrying the recurrent state makes the cost per character
flat, so the two rates agree within 25%. Issue #18's: with the whole sampling
loop in one compiled graph, 2,000 characters take under 1 second on the
2-core development CPU. The step-by-step path (one compiled call per
character, from Python) is timed beside it. Exits 1 when a target is missed.
Times the trained model in outputs/char_lm (make example-char_lm trains it).
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

from common.chars import VOCABULARY_FILE, CharVocabulary
from common.saving import load_for_use
from common.training import hardware_description

ROOT = Path(__file__).resolve().parents[1]

MAX_RATE_GAP = 0.25
MAX_SECONDS_FOR_2000 = 1.0


def char_lm_module(name):
    """examples/char_lm/NAME.py, imported from its file (an example folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"char_lm_{name}", ROOT / "examples" / "char_lm" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def characters_per_second(generate, length, repeats=3):
    """Best of `repeats` timed runs of generate("A", length, ...) (the least disturbed by other work)."""
    best = float("inf")
    for repeat in range(repeats):
        start = time.perf_counter()
        generate("A", length, temperature=0.8, seed=repeat)
        best = min(best, time.perf_counter() - start)
    return length / best, best


def measure(generator):
    """Characters per second of 200 and 2,000 characters written by one compiled loop, and of 2,000 written one
    compiled step per character; how far the loop's two rates are apart."""
    generator.generate("A", 5, seed=0)  # trace the graphs once, outside the timing
    generator.generate_stepwise("A", 5, seed=0)
    rate_200, _ = characters_per_second(generator.generate, 200)
    rate_2000, seconds_2000 = characters_per_second(generator.generate, 2000)
    stepwise_rate, stepwise_seconds = characters_per_second(generator.generate_stepwise, 2000)
    return {
        "rate_200": rate_200,
        "rate_2000": rate_2000,
        "seconds_2000": seconds_2000,
        "stepwise_rate_2000": stepwise_rate,
        "stepwise_seconds_2000": stepwise_seconds,
        "rate_gap": abs(rate_200 - rate_2000) / max(rate_200, rate_2000),
        "hardware": hardware_description(),
    }


def print_rates(record):
    print(
        f"one compiled loop: 200 chars {record['rate_200']:,.0f} chars/s; "
        f"2,000 chars {record['rate_2000']:,.0f} chars/s ({record['seconds_2000']:.2f} s)"
    )
    print(
        f"one compiled step per character: 2,000 chars {record['stepwise_rate_2000']:,.0f} chars/s "
        f"({record['stepwise_seconds_2000']:.2f} s)"
    )
    print(
        f"rate gap {record['rate_gap']:.1%} (target <= {MAX_RATE_GAP:.0%}); 2,000 chars in "
        f"{record['seconds_2000']:.2f} s (target < {MAX_SECONDS_FOR_2000:.0f} s); {record['hardware']}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "outputs" / "char_lm")
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "char_lm_generation.json")
    args = parser.parse_args(argv)
    model = load_for_use(args.model_dir / "model.keras", "make example-char_lm", args.model_dir / VOCABULARY_FILE)
    vocabulary = CharVocabulary.load(args.model_dir / VOCABULARY_FILE)
    if "A" not in vocabulary.index:
        raise SystemExit("error: the benchmark's prompt 'A' is not in the model's vocabulary")
    record = measure(char_lm_module("generation").CharGenerator(model, vocabulary))
    print_rates(record)
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2) + "\n")
    if record["rate_gap"] > MAX_RATE_GAP or record["seconds_2000"] >= MAX_SECONDS_FOR_2000:
        print("FAILED: generation speed target missed")
        return 1
    print("ok: generation speed targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
