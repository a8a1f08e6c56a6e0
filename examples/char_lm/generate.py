"""Write text with a trained character model, one step per character.

Chapter: 004 §5.1.4 (generating text).
Run:     python examples/char_lm/generate.py --prompt "ROMEO:" --length 500 --temperature 0.8

Loads `model.keras` and `vocabulary.json` from a training run's output folder
(default outputs/char_lm) and carries the recurrent state from character to
character (see generation.py), so 2,000 characters cost ten times what 200 do.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

from common import cli
from common.chars import VOCABULARY_FILE, CharVocabulary
from common.saving import load_for_use
from common.training import default_output_dir

from generation import MAX_TEMPERATURE, CharGenerator, check_sampling


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("char_lm", quick=False), help="a training run's outputs"
    )
    parser.add_argument("--prompt", default="ROMEO:", help="text to start from (characters the model knows)")
    parser.add_argument("--length", type=cli.positive_int, default=500, help="characters to write after the prompt")
    parser.add_argument(
        "--temperature",
        type=cli.positive_float,
        default=0.8,
        help=f"sampling temperature in (0, {MAX_TEMPERATURE}]: lower is safer, higher more surprising",
    )
    parser.add_argument("--top-k", type=cli.positive_int, help="sample only among the k likeliest characters")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help="random seed: same seed, same text")
    args = parser.parse_args(argv)
    try:
        check_sampling(args.temperature, args.top_k)
    except ValueError as error:
        parser.error(str(error))
    return args


def load_generator(model_dir):
    """A CharGenerator from a training run's folder; a clear error when it holds no trained model."""
    vocabulary_path = Path(model_dir) / VOCABULARY_FILE
    model = load_for_use(Path(model_dir) / "model.keras", "make example-char_lm", vocabulary_path)
    return CharGenerator(model, CharVocabulary.load(vocabulary_path))


def main(argv=None):
    args = parse_args(argv)
    generator = load_generator(args.model_dir)
    try:
        text = generator.generate(args.prompt, args.length, args.temperature, args.top_k, args.seed)
    except ValueError as error:  # an empty prompt or characters the model never saw
        raise SystemExit(f"error: {error}") from None
    print(text)
    return text


if __name__ == "__main__":
    cli.run(main)
