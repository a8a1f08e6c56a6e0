"""Pronounce words with a trained spelling-to-pronunciation model: ARPAbet phonemes, one line per word.

Chapter: 004 §6.1.2 and §8.2 (using the trained encoder-decoder: decoding).
Run:     python examples/seq2seq/pronounce.py through phoenix knight
         python examples/seq2seq/pronounce.py --top 3 read        (the 3 best beams, with log-probabilities)
         python examples/seq2seq/pronounce.py --file words.txt     (or words on standard input)

Loads `model.keras` and `symbols.json` from a training run's folder
(default outputs/seq2seq-additive). Words are lower-cased (the dictionary
is); a word with a character the model never saw (a digit, a hyphen, an
accent) or with no letter at all (only apostrophes) is reported and
skipped, and the exit status is then 1; where the word without its accents is readable,
the report names it.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import sys
from pathlib import Path

from common import cli
from common.saving import load_for_use
from common.training import default_output_dir

from g2p import Pronouncer
from lexicon import SYMBOLS_FILE, Symbols
from model import SmoothedSparseCrossentropy  # noqa: F401  (registered: models trained with --label-smoothing load)


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("words", nargs="*", help="words to pronounce (default: --file, else standard input)")
    parser.add_argument("--file", type=Path, help="a UTF-8 text file of words (whitespace-separated)")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=default_output_dir("seq2seq-additive", quick=False),
        help="a training run's outputs",
    )
    parser.add_argument("--beam-width", type=cli.positive_int, default=4, help="beams kept while decoding (1: greedy)")
    parser.add_argument(
        "--top",
        type=cli.positive_int,
        help="also show the K best pronunciations with their log-probabilities (searches with at least K beams)",
    )
    return parser.parse_args(argv)


def load_pronouncer(model_dir):
    """A Pronouncer from a training run's folder; a clear error when it holds no trained model."""
    symbols_path = Path(model_dir) / SYMBOLS_FILE
    model = load_for_use(Path(model_dir) / "model.keras", "make example-seq2seq", symbols_path)
    return Pronouncer(model, Symbols.load(symbols_path))


def words_to_pronounce(texts):
    """Every whitespace-separated word of `texts`, lower-cased; SystemExit when there is none."""
    words = [word.lower() for text in texts for word in text.split()]
    if not words:
        raise SystemExit("error: no words to pronounce (give words as arguments, with --file, or on standard input)")
    return words


def main(argv=None):
    args = parse_args(argv)
    words = words_to_pronounce(cli.read_inputs(args.words, args.file))
    pronouncer = load_pronouncer(args.model_dir)
    symbols = pronouncer.symbols
    unreadable = {word: symbols.why_unreadable(word) for word in dict.fromkeys(words)}
    for word, reason in unreadable.items():
        if reason:
            print(f"error: cannot pronounce {word!r}: {reason}", file=sys.stderr)
    known = [word for word in words if not unreadable[word]]
    width = max(args.beam_width, args.top or 1)
    beams = pronouncer.beam_search(known, width) if known else []
    answers = {}
    for word, candidates in zip(known, beams, strict=True):
        best = answers[word] = candidates[0][0]  # width 1 is greedy search
        note = ""
        if len(word) > symbols.longest_word:
            note = f"   (longer than any training word, {symbols.longest_word} letters: a guess)"
        print(f"{word}\t{' '.join(best)}{note}")
        for phonemes, log_probability in candidates[: args.top or 0]:
            print(f"\t{log_probability:8.3f}  {' '.join(phonemes)}")
    if len(known) < len(words):
        sys.exit(1)
    return answers


if __name__ == "__main__":
    cli.run(main)
