"""Classify raw movie reviews with the end-to-end model saved by train.py.

Run: python examples/imdb/predict.py "A wonderful film." "Two hours I will never get back."
     python examples/imdb/predict.py --file reviews.txt        (one review per line)
     cat reviews.txt | python examples/imdb/predict.py
     python examples/imdb/predict.py --explain "Brilliant acting, but the plot is a mess."

Prints one line per review: label, P(positive), and the start of the review.
With --explain, also the words that raised and lowered P(positive) most, and
an HTML page (and a PNG) per review with every word coloured by its score
(integrated gradients, or --method occlusion; see common/explain.py).
Reviews with no word the model knows (empty, only markup or punctuation, or
only words outside its vocabulary, such as another language) are reported as
such instead of getting a made-up score. A --file that is not UTF-8 text is
refused with an error naming it.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

import numpy as np

from common import cli
from common.explain import TextExplainer, add_explain_args, explain_to_folder, page_name
from common.text import (  # (importing common.text registers the layers the model needs)
    load_text_model,
    readable_word_counts,
    unreadable_note,
)
from common.training import default_output_dir


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("reviews", nargs="*", help="review texts (else --file, else standard input)")
    parser.add_argument("--file", type=Path, help="a file with one review per line")
    parser.add_argument(
        "--model", type=Path, default=default_output_dir("imdb", False) / "end_to_end.keras", help="saved model"
    )
    add_explain_args(parser, default_output_dir("imdb", False) / "explanations")
    return parser.parse_args(argv)


def classify(model, reviews):
    """[(label or None, P(positive) or None)] per review; None where it has no word the model knows."""
    answers = [(None, None)] * len(reviews)
    # One review at a time: a batch would pad all reviews to the longest one.
    for index in np.flatnonzero(readable_word_counts(model, reviews)):
        probability = float(model.predict(np.array([reviews[index]], dtype=object), verbose=0)[0, 0])
        answers[index] = (("negative", "positive")[int(probability >= 0.5)], probability)
    return answers


def preview(text, width=60):
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def main(argv=None):
    args = parse_args(argv)
    model = load_text_model(args.model, "make example-imdb")
    reviews = cli.read_inputs(args.reviews, args.file)
    if not any(review.strip() for review in reviews):
        raise SystemExit("error: no review given: pass reviews as arguments, with --file, or on standard input")
    answers = classify(model, reviews)
    explainer = TextExplainer(model, ["positive"]) if args.explain else None
    for number, (review, (label, probability)) in enumerate(zip(reviews, answers, strict=True), start=1):
        if label is None:
            print(f"{'-':<9}{'-':>7}  {unreadable_note(bool(explainer))} {preview(review)!r}")
            continue
        print(f"{label:<9}{probability:>7.3f}  {preview(review)}")
        if explainer:
            name = page_name(number, review)
            explain_to_folder(explainer, review, 0, args.explain_dir, name, args.method, args.steps)
    return answers


if __name__ == "__main__":
    cli.run(main)
