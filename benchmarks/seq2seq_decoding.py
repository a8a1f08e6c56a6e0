"""Benchmark: how fast the trained spelling-to-pronunciation model decodes, greedy and with beam search.

Run: python benchmarks/seq2seq_decoding.py   (part of `make bench`, after the full runs)

Issue #14's targets: report words per second for greedy search and beam
search on the test words (decoded in batches, as train.py scores them); and,
because the decoder carries its state from step to step, the cost per output
phoneme must not grow with the output's length: words decoded one at a time,
the time per phoneme of long pronunciations (10 or more phonemes) may not
exceed that of short ones (5 or fewer) by more than 25%. Exits 1 when missed.
Times the trained model in outputs/seq2seq-additive (make example-seq2seq).
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

from common.saving import load_for_use, run_record
from common.training import hardware_description

ROOT = Path(__file__).resolve().parents[1]
MAX_GROWTH = 0.25
WORDS_PER_GROUP = 100


def seq2seq_module(name):
    """examples/seq2seq/NAME.py, imported from its file (an example folder is not a package)."""
    folder = ROOT / "examples" / "seq2seq"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # g2p.py imports its sibling lexicon.py
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_time(function, repeats=3):
    """Fastest of `repeats` runs (the least disturbed by other work on the machine) and its result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def seconds_per_phoneme(pronouncer, words):
    """Words decoded one at a time (greedy): total time / output phonemes (END included)."""
    seconds, pronunciations = best_time(lambda: [pronouncer.greedy([word])[0] for word in words])
    return seconds / sum(len(phonemes) + 1 for phonemes in pronunciations)


def measure(pronouncer, test_words, args):
    """The decoding rates of all test words (greedy, beam search) and the cost per phoneme of short and long
    pronunciations decoded one word at a time."""
    pronouncer.greedy(test_words[:600])  # trace the step function for the shapes used below, outside the timing
    pronouncer.beam_search(test_words[:600], args.beam_width)
    greedy_seconds, pronunciations = best_time(lambda: pronouncer.greedy(test_words), repeats=2)
    beam_seconds, _ = best_time(lambda: pronouncer.beam_search(test_words, args.beam_width), repeats=2)

    lengths = dict(zip(test_words, map(len, pronunciations), strict=True))
    short = [word for word in test_words if lengths[word] <= args.short_max][:WORDS_PER_GROUP]
    long = [word for word in test_words if lengths[word] >= args.long_min][:WORDS_PER_GROUP]
    if not short or not long:
        raise SystemExit(
            f"error: the model wrote no pronunciation of <= {args.short_max} or of >= {args.long_min} phonemes"
        )
    pronouncer.greedy([short[0]])
    short_cost, long_cost = seconds_per_phoneme(pronouncer, short), seconds_per_phoneme(pronouncer, long)
    growth = long_cost / short_cost - 1
    return {
        "test_words": len(test_words),
        "greedy_words_per_second": len(test_words) / greedy_seconds,
        f"beam_{args.beam_width}_words_per_second": len(test_words) / beam_seconds,
        "ms_per_phoneme_short_words": 1000 * short_cost,
        "ms_per_phoneme_long_words": 1000 * long_cost,
        "growth": growth,
        "hardware": hardware_description(),
    }


def timed_model(model_dir):
    """Which model was timed: its training command and size from the run's run.json (a record must say, since
    the speeds change with the architecture); the folder alone when run.json is missing or damaged (the
    timings are still worth keeping)."""
    run = run_record(model_dir)
    if not run:
        return {"folder": str(model_dir)}
    return {"command": run.get("command"), "parameters": run.get("parameters")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "outputs" / "seq2seq-additive")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--short-max", type=int, default=5, help="short pronunciations: at most this many phonemes")
    parser.add_argument("--long-min", type=int, default=10, help="long pronunciations: at least this many phonemes")
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "seq2seq_decoding.json")
    args = parser.parse_args(argv)
    lexicon, g2p = seq2seq_module("lexicon"), seq2seq_module("g2p")
    seq2seq_module("model")  # registers the loss of a model trained with --label-smoothing, for loading
    symbols_path = args.model_dir / lexicon.SYMBOLS_FILE
    model = load_for_use(args.model_dir / "model.keras", "make example-seq2seq", symbols_path)
    pronouncer = g2p.Pronouncer(model, lexicon.Symbols.load(symbols_path))
    test_words = (args.model_dir / "split" / "test.txt").read_text(encoding="utf-8").split()

    record = {**measure(pronouncer, test_words, args), "model": timed_model(args.model_dir)}
    print(
        f"{len(test_words):,} test words: greedy {record['greedy_words_per_second']:,.0f} words/s, beam width "
        f"{args.beam_width} {record[f'beam_{args.beam_width}_words_per_second']:,.0f} words/s (batches of "
        f"{pronouncer.batch_size})\none word at a time: {record['ms_per_phoneme_short_words']:.2f} ms per phoneme "
        f"for words of <= {args.short_max} phonemes, {record['ms_per_phoneme_long_words']:.2f} ms for >= "
        f"{args.long_min} (growth {record['growth']:+.0%}, target <= {MAX_GROWTH:+.0%}); {record['hardware']}"
    )
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2) + "\n")
    if record["growth"] > MAX_GROWTH:
        print("FAILED: the cost per phoneme grows with the output length")
        return 1
    print("ok: decoding cost per phoneme does not grow with the output length")
    return 0


if __name__ == "__main__":
    sys.exit(main())
