"""Tag sentences with a trained tagger: word/TAG pairs, or the named entities in brackets, one sentence per line.

Chapter: 004 §5.2.4 (using the trained labeller), §6.1.4 (named entities).
Run:     python examples/tagging/predict.py "The pound fell sharply against the dollar ."
         python examples/tagging/predict.py --task chunk --file sentences.txt
         python examples/tagging/predict.py --task ner --language es "El presidente Felipe González visitó Bruselas ."
         echo "Stocks rose ." | python examples/tagging/predict.py

A chunker trained with POS input (the default for --task chunk) gets its POS
tags from the trained POS tagger (--pos-model-dir) and prints word/POS/CHUNK.
The entity tagger prints each sentence with its entities as spans:
"El presidente [PER Felipe González] visitó [LOC Bruselas] .".

Sentences come from the arguments, else --file, else standard input (one per
line; a blank line gives a blank output line, so output line n answers input
line n), and are split into words with NLTK's Treebank-style word tokenizer,
the tokenisation of the Wall Street Journal text CoNLL-2000 comes from; it
also splits the CoNLL-2002 texts much as they were split (Spanish opening
"¿" and "¡" are split off as there).
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

from nltk.tokenize import NLTKWordTokenizer

from common import cli
from common.saving import load_for_use
from common.training import default_output_dir

from conll import LANGUAGES, TASK_COLUMN, VOCABULARIES_FILE, Vocabularies, spans, task_name
from tagger import tag_sentences

EXAMPLE = "tagging"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("sentences", nargs="*", help="sentences to tag (default: --file, else standard input)")
    parser.add_argument("--file", type=Path, help="a UTF-8 text file, one sentence per line")
    parser.add_argument("--task", choices=tuple(TASK_COLUMN), default="pos", help="which trained tagger to use")
    parser.add_argument(
        "--language", choices=tuple(LANGUAGES), default="es", help="the language of the --task ner tagger"
    )
    parser.add_argument(
        "--tags", action="store_true", help="--task ner: print word/TAG pairs instead of the entities in brackets"
    )
    parser.add_argument(
        "--model-dir", type=Path, help="a training run's outputs (default: outputs/tagging-TASK, tagging-ner-LANGUAGE)"
    )
    parser.add_argument(
        "--pos-model-dir",
        type=Path,
        default=default_output_dir(f"{EXAMPLE}-pos", quick=False),
        help="the POS tagger that feeds a chunker trained with --pos-input",
    )
    args = parser.parse_args(argv)
    args.model_dir = args.model_dir or default_output_dir(f"{EXAMPLE}-{task_name(args.task, args.language)}", False)
    return args


TOKENIZER = NLTKWordTokenizer()  # rules only: no tokenizer model to download


def tokenize(text):
    """The words of one line of text; Spanish "¿" and "¡" are words of their own, as in CoNLL-2002."""
    words = []
    for token in TOKENIZER.tokenize(text):
        while len(token) > 1 and token[0] in "¿¡":
            words.append(token[0])
            token = token[1:]
        words.append(token)
    return words


def training_command(task, language):
    """The command that trains the tagger of `task` (and `language`, for ner) into its default folder."""
    options = f" --task {task}" + (f" --language {language}" if task == "ner" else "")
    return "make example-tagging" if task == "pos" else f"python examples/tagging/train.py{options}"


def load_tagger(model_dir, how_to_train="make example-tagging"):
    """(model, vocabularies) from a training run's folder; a clear error when it holds no trained model."""
    vocabularies_path = Path(model_dir) / VOCABULARIES_FILE
    model = load_for_use(Path(model_dir) / "model.keras", how_to_train, vocabularies_path)
    return model, Vocabularies.load(vocabularies_path)


def main(argv=None):
    args = parse_args(argv)
    lines = [tokenize(text) for text in cli.read_inputs(args.sentences, args.file)]
    sentences = [words for words in lines if words]
    if not sentences:
        raise SystemExit("error: no sentence to tag; give one as an argument, with --file, or on standard input")
    model, vocabularies = load_tagger(args.model_dir, training_command(args.task, args.language))
    columns = [sentences]
    if len(model.inputs) == 3:  # a chunker that reads POS tags: tag them first with the POS tagger
        columns.append(tag_sentences(*load_tagger(args.pos_model_dir), sentences))
    tagged = tag_sentences(model, vocabularies, *columns)
    rows = iter(zip(*columns, tagged, strict=True))
    as_spans = args.task == "ner" and not args.tags
    for words in lines:  # a blank line stays a blank line, so that output line n answers input line n
        print(format_row(next(rows), as_spans) if words else "")
    return tagged


def format_row(row, as_spans):
    """One tagged sentence as text: entities in brackets, or word/TAG (word/POS/CHUNK) pairs."""
    return spans(*row) if as_spans else " ".join("/".join(parts) for parts in zip(*row, strict=True))


if __name__ == "__main__":
    cli.run(main)
