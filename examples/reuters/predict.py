"""Tag news stories with Reuters topics, using the model saved by train.py.

Run: python examples/reuters/predict.py "Wheat and corn exports rose ..." "Oil prices fell ..."
     python examples/reuters/predict.py --file story.txt            (the whole file is one story)
     python examples/reuters/predict.py --file stories.txt --lines  (one story per line)
     cat story.txt | python examples/reuters/predict.py
     python examples/reuters/predict.py --explain --file story.txt  [--topic crude]

Prints, for each story, the topics whose score reaches the threshold chosen
on validation data during training, with their scores; a story where none
does gets its most likely topic, marked "(below the threshold ...: a
guess)". A story with no word the model knows (empty, only figures and
punctuation, another language) is reported as such, not given made-up topics.
With --explain, also which words raised and lowered the score of the story's
top topic (or --topic) most, and an HTML page and a PNG per story with every
word coloured by its score (see common/explain.py).
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

import numpy as np

from common import cli
from common.data import resolve_data_dir
from common.explain import TextExplainer, add_explain_args, explain_to_folder, page_name
from common.reuters import NUMBER_TOKEN, english_stopwords, tokenize
from common.saving import read_sidecar
from common.text import (  # (importing common.text registers the layers the model needs)
    load_text_model,
    readable_word_counts,
    unreadable_note,
)
from common.training import default_output_dir

from model import TopicWeightedCrossentropy  # noqa: F401  (registered: --rare-topic-weight models need it)
from scores import multilabel_decisions


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("stories", nargs="*", help="story texts (else --file, else standard input)")
    parser.add_argument("--file", type=Path, help="read the story (or, with --lines, stories) from this file")
    parser.add_argument("--lines", action="store_true", help="one story per line in --file or standard input")
    parser.add_argument("--top", type=cli.positive_int, default=5, help="show at most this many topics per story")
    parser.add_argument("--model-dir", type=Path, default=default_output_dir("reuters", False), help="train.py outputs")
    parser.add_argument("--data-dir", help="data folder (for the stop-word list, if the model used it)")
    add_explain_args(parser, default_output_dir("reuters", False) / "explanations")
    parser.add_argument("--topic", help="with --explain: the topic to explain (default: each story's top topic)")
    return parser.parse_args(argv)


def story_tokens(settings, stories, data_dir=None):
    """Each story as the model reads it: its tokens, one string, stop words dropped if training dropped them."""
    stopwords = english_stopwords(resolve_data_dir(data_dir)) if settings["remove_stopwords"] else frozenset()
    return [tokenize(story, stopwords) for story in stories]


def predict_topics(model, settings, token_strings, top=5):
    """[(topic, score), ...] per story (its `story_tokens`), or None for a story with no word the model knows
    (figures alone do not count: they would make a guess at earnings look like an answer)."""
    readable = np.flatnonzero(readable_word_counts(model, token_strings, not_words=[NUMBER_TOKEN])).tolist()
    answers = [None] * len(token_strings)
    if readable:
        scores = model.predict(np.array([token_strings[i] for i in readable], dtype=object), verbose=0)
        decisions = multilabel_decisions(scores, settings["threshold"])
        for row, index in enumerate(readable):
            chosen = np.flatnonzero(decisions[row])
            ranked = sorted(chosen, key=lambda topic: -scores[row, topic])[:top]
            answers[index] = [(settings["topics"][topic], float(scores[row, topic])) for topic in ranked]
    return answers


def guess_mark(topics, threshold):
    """What to add to a story's answer when no topic reached the threshold (it got its most likely one)."""
    return f" (below the threshold {threshold:.2f}: a guess)" if topics[0][1] < threshold else ""


def main(argv=None):
    args = parse_args(argv)
    settings_path = args.model_dir / "topics.json"
    model = load_text_model(args.model_dir / "end_to_end.keras", "make example-reuters", settings_path)
    # A whole file (or standard input) is one story, unless --lines.
    stories = [story for story in cli.read_inputs(args.stories, args.file, lines=args.lines) if story.strip()]
    if not stories:
        raise SystemExit("error: no story given: pass stories as arguments, with --file, or on standard input")
    settings = read_sidecar(settings_path, "make example-reuters", keys=("topics", "threshold", "remove_stopwords"))
    if args.topic is not None and args.topic not in settings["topics"]:
        raise SystemExit(
            f"error: --topic {args.topic!r} is not one of the model's topics: {', '.join(settings['topics'])}"
        )
    token_strings = story_tokens(settings, stories, args.data_dir)
    answers = predict_topics(model, settings, token_strings, args.top)
    explainer = TextExplainer(model, settings["topics"]) if args.explain else None
    if explainer:  # refused before any answer: a --tf-idf model is explained by occlusion only
        try:
            explainer.check_method(args.method)
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
    for number, (story, tokens, topics) in enumerate(zip(stories, token_strings, answers, strict=True), start=1):
        heading = " ".join(story.split())[:70]
        if topics is None:
            print(f"[{number}] {unreadable_note(bool(explainer))} {heading!r}")
            continue
        listed = ", ".join(f"{topic} {score:.2f}" for topic, score in topics)
        print(f"[{number}] {listed}{guess_mark(topics, settings['threshold'])}   | {heading}")
        if explainer:
            topic = settings["topics"].index(args.topic or topics[0][0])
            explain_to_folder(
                explainer, tokens, topic, args.explain_dir, page_name(number, story), args.method, args.steps
            )
    return answers


if __name__ == "__main__":
    cli.run(main)
