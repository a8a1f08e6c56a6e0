"""Continue a movie review with the trained word language model, one word at a time.

Chapter: 004 §5.1.4 (generating text), at the level of words.
Run:     python examples/word_lm/generate.py "this movie was" --length 40 --temperature 0.8
         python examples/word_lm/generate.py "this movie was" --next 10     (the 10 likeliest next words)

Loads `model.keras` and `vocabulary.json` from a training run's folder
(default outputs/word_lm). The prompt is cleaned as in training (lower case,
no punctuation) and read from a zero state, as the start of a review; then
the forward LSTM writes one word per step, carrying its state. It never
writes the unknown-word token.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import sys
from pathlib import Path

import numpy as np
from keras import layers, ops

from common import cli
from common.generation import MAX_TEMPERATURE, RecurrentGenerator, check_sampling
from common.pretrained import SETTINGS_FILE, VOCABULARY_FILE, corpus_of, how_to_make
from common.saving import load_for_use, read_sidecar
from common.text import vectorizer_for
from common.training import default_output_dir

from lm_corpus import CORPORA
from model import UNKNOWN  # importing model registers WordLanguageModel, which model.keras needs

# A folder whose settings are missing or damaged does not say its corpus: name both ways of training one.
HOW_TO_TRAIN = f"{how_to_make('imdb')} (a Reuters model: {how_to_make('reuters')})"
MAX_LENGTH = 10_000  # words per call: a review is a few hundred


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "prompt",
        help="the start of a review, e.g. 'this movie was' (of a story for a --corpus reuters model: "
        "'the company said')",
    )
    parser.add_argument(
        "--model-dir", type=Path, default=default_output_dir("word_lm", quick=False), help="a training run's outputs"
    )
    parser.add_argument("--length", type=cli.positive_int, default=40, help=f"words to write (at most {MAX_LENGTH:,})")
    parser.add_argument(
        "--temperature",
        type=cli.positive_float,
        default=0.8,
        help=f"sampling temperature in (0, {MAX_TEMPERATURE}]: lower is safer, higher more surprising",
    )
    parser.add_argument("--top-k", type=cli.positive_int, default=40, help="sample only among the k likeliest words")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help="random seed: same seed, same text")
    parser.add_argument(
        "--next", type=cli.positive_int, metavar="N", help="print the N likeliest next words with their probabilities"
    )
    args = parser.parse_args(argv)
    if args.length > MAX_LENGTH:
        parser.error(f"--length {args.length:,} is more than {MAX_LENGTH:,} words; ask for less")
    try:
        check_sampling(args.temperature, args.top_k)
    except ValueError as error:
        parser.error(str(error))
    return args


class WordGenerator(RecurrentGenerator):
    """Writes words with a trained WordLanguageModel's forward direction: embedding -> forward cell(s) ->
    projection -> scores over the vocabulary (the unknown-word token excluded)."""

    def __init__(self, model, vocabulary, corpus="imdb"):
        if len(vocabulary) != model.vocab_size:
            raise ValueError(f"the model predicts {model.vocab_size:,} words, the vocabulary has {len(vocabulary):,}")
        self.vocabulary = list(vocabulary)
        self.corpus = CORPORA[corpus]  # how a prompt becomes words: as the model's training text did
        self.vectorizer = vectorizer_for(vocabulary, standardize=self.corpus.standardize)
        cells = [
            (layer.forward_layer if isinstance(layer, layers.Bidirectional) else layer).cell
            for layer in model.recurrent
        ]

        def to_logits(x):  # log P(next word) serve as logits: the sampler normalises them again
            log_probabilities = model.log_probabilities(model.projections[0](x))
            return ops.where(ops.arange(model.vocab_size) == UNKNOWN, -1e9, log_probabilities)

        def embed(ids):  # the embedding's rows without its padding mask, which a single cell has no use for
            return ops.take(model.embedding.embeddings, ids, axis=0)

        super().__init__(embed, cells, to_logits, model.vocab_size)

    def words(self, prompt):
        """The prompt's words as the model reads them (lower case, no punctuation; Reuters: figures as <num>)."""
        return self.corpus.words(prompt)

    def read(self, prompt):
        """(token ids of the cleaned prompt, its words outside the vocabulary); ValueError when no word is known."""
        words = self.words(prompt)
        ids = ops.convert_to_numpy(self.vectorizer([" ".join(words)]))[0]
        ids = ids[ids > 0].astype("int32")
        unknown = [word for word, token in zip(words, ids, strict=True) if token == UNKNOWN]
        if len(ids) == len(unknown):
            raise ValueError(
                "the prompt has no word the model knows"
                + (f" ({', '.join(unknown[:5])} are outside its vocabulary)" if unknown else " (it is empty)")
                + "; give a few English words, e.g. 'this movie was' or 'the company said'"
            )
        return ids, unknown

    def next_words(self, prompt, count):
        """The `count` likeliest next words after `prompt`, with their probabilities."""
        logits = self.next_logits(self.read(prompt)[0]).astype("float64")
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        best = np.argsort(-probabilities)[:count]
        return [(self.vocabulary[i], float(probabilities[i])) for i in best]

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=0):
        """The cleaned prompt followed by `length` new words (one compiled loop; same seed, same text)."""
        ids, _ = self.read(prompt)
        written = self.generate_ids(ids, length, temperature, top_k, seed)
        return " ".join([*self.words(prompt), *(self.vocabulary[i] for i in written)])


def load_generator(model_dir):
    """A WordGenerator from a training run's folder; a clear error when it holds no trained model."""
    vocabulary_path = Path(model_dir) / VOCABULARY_FILE
    model = load_for_use(Path(model_dir) / "model.keras", HOW_TO_TRAIN, vocabulary_path)
    vocabulary = read_sidecar(vocabulary_path, HOW_TO_TRAIN)
    settings = read_sidecar(Path(model_dir) / SETTINGS_FILE, HOW_TO_TRAIN)
    return WordGenerator(model, vocabulary, corpus_of(settings))


def main(argv=None):
    args = parse_args(argv)
    generator = load_generator(args.model_dir)
    try:
        ids, unknown = generator.read(args.prompt)
        if unknown:
            print(f"note: {', '.join(unknown)} outside the vocabulary: read as the unknown word", file=sys.stderr)
        if args.next:
            answer = generator.next_words(args.prompt, args.next)
            for word, probability in answer:
                print(f"{probability:.4f}  {word}")
            return answer
        text = generator.generate(args.prompt, args.length, args.temperature, args.top_k, args.seed)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    print(text)
    return text


if __name__ == "__main__":
    cli.run(main)
