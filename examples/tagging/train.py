"""Sequence labelling: part of speech and chunks (CoNLL-2000), named entities (CoNLL-2002), with a bidirectional RNN.

Chapter: 004 §5.2 (sequence labelling: 5.2.1 data, 5.2.2 word embeddings,
         5.2.3 the model, 5.2.4 training and evaluation), sketched there in
         PyTorch; here in Keras, many-to-many beside the examples' many-to-one.
         004 §6.1.4 (named-entity recognition): --task ner.
Run:     make example-tagging                       (--task pos, the default)
         python examples/tagging/train.py --task chunk
         python examples/tagging/train.py --task ner --language es   (or nl)
         (quick check: make smoke-tagging)
Results: see README.md (measured, with hardware and wall time)

Each word is its (lower-cased) word vector joined with a vector read from its
characters; a bidirectional stack reads the sentence both ways, so every
word's label sees its left and right context; a softmax per word, or a CRF
over the whole sentence (--crf), gives the labels. Padding is masked out of
the loss and the metrics. Part of speech is scored by token accuracy, chunks
and entities as the CoNLL evaluation does (a chunk counts only when its span
and type are both right), each beside the most-frequent-tag baseline on the
same test sentences.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import time
from collections import Counter

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import precision_recall_fscore_support

from common import cli
from common.data import resolve_data_dir
from common.plots import plot_score_by_frequency
from common.saving import check_round_trip
from common.text import FEW_SHAPES, batch_by_length
from common.training import Run

from conll import (
    LANGUAGES,
    MAX_WORD_CHARS,
    TAG_SCHEMES,
    TASK_COLUMN,
    VOCABULARIES_FILE,
    MostFrequentTagger,
    Vocabularies,
    chunk_scores,
    corpus_title,
    invalid_transitions,
    iob_chunks,
    load_splits,
    task_name,
)
from features import FeatureTagger
from model import build_model
from tagger import CHAR_ENCODERS, tag_sentences

EXAMPLE = "tagging"
TASKS = tuple(TASK_COLUMN)
# Each task's defaults where they differ, chosen by the measurements in README.md. Chunks and entities
# are scored by whole spans, which a CRF over the sentence gets right more often than a softmax per word;
# word dropout with the weights' moving average raised both tasks' F1 again (measured together).
# Entities, 38% of them unseen in training (Spanish test), gained from twice the word dropout
# (Spanish test F1 0.7957 -> 0.8007, mean of 3 seeds).
SPAN_RECIPE = {"crf": True, "dropout": 0.5, "word_dropout": 0.1, "weight_averaging": 0.995}
TASK_DEFAULTS = {
    "pos": {"pos_input": False, "crf": False},
    "chunk": {**SPAN_RECIPE, "pos_input": True, "epochs": 20},
    "ner": {**SPAN_RECIPE, "word_dropout": 0.2, "pos_input": False, "epochs": 12, "language": "es"},
}


def add_word_representation_args(parser):
    """5.2.2's options: what each word is made of (its vector, its spelling's, its POS tag's)."""
    words = parser.add_argument_group("word representation")
    words.add_argument(
        "--pos-input",
        action=argparse.BooleanOptionalAction,
        help="chunking also reads each word's POS tag, the CoNLL-2000 input column",
    )
    words.add_argument("--pos-embedding-dim", type=cli.positive_int, default=16, help="POS tag vector size")
    words.add_argument("--embedding-dim", type=cli.positive_int, default=100, help="word vector size")
    words.add_argument(
        "--word-dropout",
        type=cli.fraction,
        default=0.0,
        help="share of training words read as the unknown word (the spelling encoder still sees them)",
    )
    words.add_argument(
        "--char-encoder",
        choices=CHAR_ENCODERS,
        default="rnn",
        help="read each word's characters with a bidirectional --cell, or a convolution with max-pooling",
    )
    words.add_argument("--char-embedding-dim", type=cli.positive_int, default=25, help="character vector size")
    words.add_argument(
        "--char-units",
        type=cli.positive_int,
        default=25,
        help="units of the character RNN, each direction (a CNN has twice as many filters)",
    )


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument(
        "--task",
        choices=TASKS,
        default="pos",
        help="label each word with its part of speech or chunk (CoNLL-2000), or named entity (CoNLL-2002)",
    )
    data.add_argument("--language", choices=tuple(LANGUAGES), help="the CoNLL-2002 language of --task ner")
    data.add_argument(
        "--validation-fraction",
        type=cli.fraction,
        default=0.1,
        help="share of CoNLL-2000 training sentences held out (CoNLL-2002 has its own validation file, testa)",
    )
    data.add_argument("--min-count", type=cli.positive_int, default=2, help="rarer words share the unknown vector")
    model = cli.add_model_args(parser, cell="lstm", units=128, layers=1, dropout=0.3, bidirectional=True)
    model.add_argument(
        "--tag-scheme",
        choices=TAG_SCHEMES,
        default="iob",
        help="chunks and entities: train on the corpus' IOB2 tags, or on IOBES (S- one-word, E- last word);"
        " scores and output are IOB2 either way",
    )
    model.add_argument(
        "--crf",
        action=argparse.BooleanOptionalAction,
        help="a CRF output layer that scores whole tag sequences (crf.py), instead of a softmax per word",
    )
    add_word_representation_args(parser)
    cli.add_training_args(
        parser, epochs=10, batch_size=32, learning_rate=2e-3, patience=3, clipnorm=5.0, weight_averaging=0.0
    )
    cli.show_defaults_by(parser, "--task", TASK_DEFAULTS)
    args = cli.parse(
        parser,
        argv,
        lambda options: f"{EXAMPLE}-{task_name(options.task, options.language)}",
        # (a quick run has a few dozen steps: an average of them would be mostly the untrained start, and
        # while its validation F1 stays put the learning rate is halved away)
        quick={"units": 32, "embedding_dim": 32, "epochs": 2, "min_count": 1, "weight_averaging": 0.0},
        defaults=lambda options: TASK_DEFAULTS[options.task],
    )
    if args.language and args.task != "ner":
        parser.error("--language chooses the CoNLL-2002 language of --task ner; CoNLL-2000 is English")
    if args.tag_scheme != "iob" and args.task == "pos":
        parser.error("--tag-scheme rewrites chunk and entity tags; part-of-speech tags have no spans")
    if args.pos_input and args.task == "pos":
        parser.error("--pos-input reads POS tags, which are what --task pos predicts; use it with --task chunk")
    if args.pos_input and args.task == "ner":
        parser.error("--pos-input needs a POS tagger of the language for new text, which only English has here")
    if not args.quick and args.validation_fraction == 0:
        parser.error("--validation-fraction must be above 0: early stopping needs validation sentences")
    return args


def split_validation(sentences, fraction, seed):
    """(train, validation): a seeded random `fraction` of the training sentences is held out."""
    order = np.random.default_rng(seed).permutation(len(sentences))
    held_out = max(1, int(len(sentences) * fraction))
    return [sentences[i] for i in order[held_out:]], [sentences[i] for i in order[:held_out]]


def encode(sentences, vocabularies, column, pos_input):
    """[(inputs, tag ids)] for tf.data; inputs are (word ids, char ids[, POS ids])."""
    return [
        (vocabularies.encode_inputs(s[0], s[1] if pos_input else None), vocabularies.encode_tags(s[column]))
        for s in sentences
    ]


def training_dataset(examples, batch_size, shuffle, seed):
    """Batches of sentences of similar length, words and characters 0-padded on the right.

    Bucketing by length keeps a batch of 10-word sentences from being padded
    to 78 words; right padding with masking keeps cuDNN usable on GPU. The
    buckets go on past 60 words because CoNLL-2002 Spanish has 628 training
    sentences that long (the longest 1,238 words), which a last bucket at 60
    padded to the longest of each batch: an epoch took 93 s instead of 71 s.
    CoNLL-2000's longest sentence has 78 words, so its batches are the same
    as with the last bucket at 60.
    """
    inputs = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32)]
    inputs += [tf.TensorSpec([None], tf.int32)] * (len(examples[0][0]) - 2)  # POS ids, when given
    signature = (tuple(inputs), tf.TensorSpec([None], tf.int32))
    dataset = tf.data.Dataset.from_generator(lambda: iter(examples), output_signature=signature).cache()
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    lengths = [len(tags) for _, tags in examples]
    boundaries = [10, 20, 30, 40, 60, 80, 120]
    padded_shapes = None
    if FEW_SHAPES:  # JAX: every word padded to the same number of characters, fewer shapes to compile
        padded_shapes = ([None], [None, MAX_WORD_CHARS], *[[None]] * (len(inputs) - 2)), [None]
    return batch_by_length(
        dataset, lengths, boundaries, batch_size, lambda inputs, tags: tf.shape(tags)[0], padded_shapes
    )


def tag_corpus_sentences(model, vocabularies, sentences):
    """The predicted tags of (words, POS tags, labels) sentences; the POS column is read only by a chunker
    trained with --pos-input (the corpus' POS tags, as in the CoNLL-2000 shared task: a tagger's, not gold)."""
    return tag_sentences(model, vocabularies, *zip(*[sentence[:2] for sentence in sentences], strict=True))


class ValidationF1(keras.callbacks.Callback):
    """After each epoch, the validation sentences' chunk or entity F1 (conlleval's) as `val_f1`.

    Chunks and entities are judged by this F1, so early stopping, the best
    checkpoint and the learning-rate schedule follow it rather than the
    validation loss. With a CRF the two part ways: the loss (the negative
    log-likelihood) rises again as the model grows confident while the F1
    still climbs. `Run.callbacks(evaluators=...)` puts it where it must be:
    after the averaged weights are swapped in, before the callbacks that
    read `val_f1`.
    """

    def __init__(self, vocabularies, sentences, column):
        super().__init__()
        self.vocabularies, self.sentences = vocabularies, sentences
        self.true_tags = [sentence[column] for sentence in sentences]

    def on_epoch_end(self, epoch, logs=None):
        predicted = tag_corpus_sentences(self.model, self.vocabularies, self.sentences)
        logs["val_f1"] = chunk_scores(self.true_tags, predicted)[0]["f1"]  # the progress bar shows it


def check_saved_tagger(output_dir, predicted, sentences):
    """The saved model and vocabularies load again, as predict.py loads them, and tag `sentences` as the
    model in memory did (`predicted`)."""

    def tag_with(loaded_model):
        return tag_corpus_sentences(loaded_model, Vocabularies.load(output_dir / VOCABULARIES_FILE), sentences)

    check_round_trip(output_dir / "model.keras", predicted, answer=tag_with)


SPANS = {"chunk": "chunk", "ner": "entity"}  # tasks scored by their spans, and what a span is called
HEADLINE = {"pos": "token_accuracy", "chunk": "chunk_f1", "ner": "entity_f1"}


def score(task, true_tags, predicted_tags):
    """Token accuracy, and a per-label report: per POS tag (scikit-learn), or per chunk / entity type
    (conlleval's way)."""
    true_flat, predicted_flat = np.concatenate(true_tags), np.concatenate(predicted_tags)
    scores = {"token_accuracy": float((true_flat == predicted_flat).mean())}
    if task in SPANS:
        overall, per_label = chunk_scores(true_tags, predicted_tags)
        scores.update({f"{SPANS[task]}_{key}": value for key, value in overall.items() if key != "support"})
        scores["invalid_transitions"] = sum(invalid_transitions(list(tags)) for tags in predicted_tags)
        return scores, per_label
    tags = sorted(set(true_flat))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_flat, predicted_flat, labels=tags, zero_division=0
    )
    per_label = {
        tag: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, tag in enumerate(tags)
    }
    return scores, per_label


def label_counts(task, sentences, column):
    """Training frequency of each scored label: words per POS tag, chunks (entities) per type."""
    if task in SPANS:
        return Counter(kind for sentence in sentences for *_, kind in iob_chunks(sentence[column]))
    return Counter(tag for sentence in sentences for tag in sentence[column])


def load_data(args):
    """5.2.1 Sentences of the corpus: {"train", "validation", "test": sentences} (CoNLL-2000's validation is held
    out of training), and the training file (whose tag sequences the CRF may follow)."""
    splits = load_splits(resolve_data_dir(args.data_dir), args.task, args.language)
    training_file = splits["train"]
    if args.quick:
        splits = {split: sentences[: 600 if split == "train" else 200] for split, sentences in splits.items()}
    if "validation" not in splits:
        splits["train"], splits["validation"] = split_validation(splits["train"], args.validation_fraction, args.seed)
    splits = {name: splits[name] for name in ("train", "validation", "test")}
    print("sentences: " + ", ".join(f"{name} {len(sentences):,}" for name, sentences in splits.items()))
    return splits, training_file


def build(args, vocabularies, training_tags):
    """5.2.3 The model."""
    return build_model(
        vocabularies,
        training_tags=training_tags,
        embedding_dim=args.embedding_dim,
        word_dropout=args.word_dropout,
        char_encoder=args.char_encoder,
        char_embedding_dim=args.char_embedding_dim,
        char_units=args.char_units,
        pos_input=args.pos_input,
        pos_embedding_dim=args.pos_embedding_dim,
        **cli.model_options(args),
        crf=args.crf,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        weight_averaging=args.weight_averaging,
        name=f"tagger_{args.task}",
    )


def train(model, vocabularies, splits, column, args, run):
    """5.2.4 Training (chunks and entities judged by their F1 on validation)."""
    train_ds, val_ds = (
        training_dataset(
            encode(splits[name], vocabularies, column, args.pos_input), args.batch_size, shuffle, args.seed
        )
        for name, shuffle in (("train", True), ("validation", False))
    )
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # the dataset reshuffles itself every epoch
        callbacks=run.callbacks(
            patience=args.patience,
            reduce_lr_patience=1,
            averaged_weights=bool(args.weight_averaging),
            evaluators=[ValidationF1(vocabularies, splits["validation"], column)] if args.task in SPANS else [],
        ),
    )


def baselines(splits, column, true_tags, task, seed):
    """{name: (scores, description, seconds)}: the most frequent tag per word, and for entities a linear
    classifier on hand-made features (the field's tagger before neural networks)."""
    started = time.perf_counter()
    most_frequent = MostFrequentTagger(splits["train"], column)
    predicted = [np.array(most_frequent.tag(sentence[0])) for sentence in splits["test"]]
    rows = {"most frequent tag": (score(task, true_tags, predicted)[0], "most frequent tag per word")}
    seconds = {"most frequent tag": time.perf_counter() - started}
    if task == "ner":
        started = time.perf_counter()
        features_tagger = FeatureTagger(splits["train"], column, seed=seed)
        predicted = features_tagger.tag_all([sentence[0] for sentence in splits["test"]])
        description = "linear classifier on word, shape, affix and neighbour features"
        rows["word features"] = (score(task, true_tags, [np.array(tags) for tags in predicted])[0], description)
        seconds["word features"] = time.perf_counter() - started
    return {name: (*row, seconds[name]) for name, row in rows.items()}


def show(model_scores, per_label, baseline_rows, train_sentences, column, args, output_dir):
    """The test scores beside the baselines', each label's, and the F1 by training frequency plot."""
    model_name = f"bi-{args.cell}{'-crf' if args.crf else ''}"
    widths = [max(18, len(key) + 2) for key in model_scores]
    print(
        f"\n{'test sentences':<22}"
        + "".join(f"{key:>{width}}" for key, width in zip(model_scores, widths, strict=True))
    )
    for row_name, scores in {model_name: model_scores, **{key: row[0] for key, row in baseline_rows.items()}}.items():
        cells = [f"{value:.4f}" if isinstance(value, float) else str(value) for value in scores.values()]
        print(f"{row_name:<22}" + "".join(f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=True)))
    unit = f"{SPANS[args.task]} type" if args.task in SPANS else "tag"
    print(f"\nper {unit} (test): label  precision  recall  f1  support")
    for label, row in sorted(per_label.items(), key=lambda item: -item[1]["support"]):
        print(f"  {label:<8}{row['precision']:>9.3f}{row['recall']:>8.3f}{row['f1']:>8.3f}{row['support']:>9}")
    training_counts = label_counts(args.task, train_sentences, column)
    plot_score_by_frequency(
        [training_counts.get(label, 1) for label in per_label],
        [row["f1"] for row in per_label.values()],
        list(per_label),
        output_dir / "f1_by_label.png",
        title=f"{corpus_title(args.task, args.language)} {args.task}: test F1 per {unit}",
        xlabel=f"training {SPANS[args.task] + 's' if args.task in SPANS else 'words'} (log scale)",
    )


def report(model_scores, per_label, baseline_rows, rnn_seconds, args, run):
    metric = {
        "pos": "POS token accuracy (test)",
        "chunk": "chunk F1, conlleval (test)",
        "ner": f"entity F1, conlleval ({corpus_title(args.task, args.language)} test, testb)",
    }[args.task]
    headline = HEADLINE[args.task]
    results = [
        {
            "metric": metric,
            "model": model_scores[headline],
            "baseline": scores[headline],
            "baseline_name": description,
            "baseline_wall_time_s": round(seconds, 1),
        }
        for scores, description, seconds in baseline_rows.values()
    ]
    metrics = {
        **model_scores,
        **{f"baseline_{key}": value for key, value in baseline_rows["most frequent tag"][0].items()},
        **{f"features_baseline_{key}": value for key, value in baseline_rows.get("word features", ({},))[0].items()},
        "per_label": per_label,
        "rnn_wall_time_s": round(rnn_seconds, 1),
    }
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    # Chunks and entities are judged by their F1 on validation (ValidationF1), part of speech by the loss.
    monitor = {"monitor": "val_f1", "mode": "max"} if args.task in SPANS else {}
    name = f"{EXAMPLE}-{task_name(args.task, args.language)}"
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), **monitor, argv=argv, name=name)
    column = TASK_COLUMN[args.task]
    splits, training_file = load_data(args)
    # 5.2.2 Word representations: word ids + character ids, tables saved for predict.py
    vocabularies = Vocabularies.from_sentences(
        splits["train"], column, args.min_count, tagged=training_file, tag_scheme=args.tag_scheme
    )
    vocabularies.save(run.output_dir / VOCABULARIES_FILE)
    sizes = f"{len(vocabularies.words):,} words, {len(vocabularies.chars)} characters"
    print(f"vocabularies: {sizes}, {len(vocabularies.tags)} {args.task} tags")
    with run.scope():
        model = build(args, vocabularies, training_tags=[sentence[column] for sentence in splits["train"]])
    model.summary()
    train(model, vocabularies, splits, column, args, run)
    true_tags = [np.array(sentence[column]) for sentence in splits["test"]]
    predicted = tag_corpus_sentences(model, vocabularies, splits["test"])
    rnn_seconds = time.perf_counter() - run.started
    model_scores, per_label = score(args.task, true_tags, [np.array(tags) for tags in predicted])
    check_saved_tagger(run.output_dir, predicted[:20], splits["test"][:20])
    baseline_rows = baselines(splits, column, true_tags, args.task, args.seed)
    show(model_scores, per_label, baseline_rows, splits["train"], column, args, run.output_dir)
    return report(model_scores, per_label, baseline_rows, rnn_seconds, args, run)


if __name__ == "__main__":
    cli.run(main)
