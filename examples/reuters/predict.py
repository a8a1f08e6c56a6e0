"""Tag news stories with Reuters topics, using the model saved by train.py.

Run: python examples/reuters/predict.py "Wheat and corn exports rose ..." "Oil prices fell ..."
     python examples/reuters/predict.py --file story.txt            (the whole file is one story)
     python examples/reuters/predict.py --file stories.txt --lines  (one story per line)
     cat story.txt | python examples/reuters/predict.py

Prints, for each story, the topics whose score reaches the threshold chosen
on validation data during training (at least the most likely one), with
their scores. A story with no word the model knows (empty, only figures and
punctuation, another language) is reported as such, not given made-up topics.
"""

import json
from pathlib import Path

import numpy as np

from common import cli
from common.data import resolve_data_dir
from common.saving import load_for_use
from common.text import readable_word_counts  # (importing common.text registers the layers the model needs)
from common.training import default_output_dir

from corpus import english_stopwords, tokenize
from scores import multilabel_decisions


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("stories", nargs="*", help="story texts (else --file, else standard input)")
    parser.add_argument("--file", type=Path, help="read the story (or, with --lines, stories) from this file")
    parser.add_argument("--lines", action="store_true", help="one story per line in --file or standard input")
    parser.add_argument("--top", type=cli.positive_int, default=5, help="show at most this many topics per story")
    parser.add_argument("--model-dir", type=Path, default=default_output_dir("reuters", False), help="train.py outputs")
    parser.add_argument("--data-dir", help="data folder (for the stop-word list, if the model used it)")
    return parser.parse_args(argv)


def predict_topics(model, settings, stories, data_dir=None, top=5):
    """[(topic, score), ...] per story, or None for a story with no word the model knows."""
    stopwords = english_stopwords(resolve_data_dir(data_dir)) if settings["remove_stopwords"] else frozenset()
    token_strings = [tokenize(story, stopwords) for story in stories]
    readable = np.flatnonzero(readable_word_counts(model, token_strings)).tolist()
    answers = [None] * len(stories)
    if readable:
        scores = model.predict(np.array([token_strings[i] for i in readable], dtype=object), verbose=0)
        decisions = multilabel_decisions(scores, settings["threshold"])
        for row, index in enumerate(readable):
            chosen = np.flatnonzero(decisions[row])
            ranked = sorted(chosen, key=lambda topic: -scores[row, topic])[:top]
            answers[index] = [(settings["topics"][topic], float(scores[row, topic])) for topic in ranked]
    return answers


def main(argv=None):
    args = parse_args(argv)
    settings_path = args.model_dir / "topics.json"
    model = load_for_use(args.model_dir / "end_to_end.keras", "make example-reuters", settings_path)
    # A whole file (or standard input) is one story, unless --lines.
    stories = [story for story in cli.read_inputs(args.stories, args.file, lines=args.lines) if story.strip()]
    if not stories:
        raise SystemExit("error: no story given: pass stories as arguments, with --file, or on standard input")
    answers = predict_topics(model, json.loads(settings_path.read_text()), stories, args.data_dir, args.top)
    for number, (story, topics) in enumerate(zip(stories, answers, strict=True), start=1):
        heading = " ".join(story.split())[:70]
        if topics is None:
            print(f"[{number}] (no word the model knows) {heading!r}")
        else:
            print(f"[{number}] {', '.join(f'{topic} {score:.2f}' for topic, score in topics)}   | {heading}")
    return answers


if __name__ == "__main__":
    cli.run(main)
