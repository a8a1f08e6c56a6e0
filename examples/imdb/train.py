"""Sentiment analysis of IMDB movie reviews with a bidirectional LSTM, from raw text.

Chapter: 004 §5.3 (sentiment analysis with TensorFlow: 5.3.1 data exploration
         and visualisation, 5.3.2 text preprocessing, 5.3.3 the model,
         5.3.4 training and testing) and §9.3 (variable-length input).
Run:     make example-imdb        (quick check: make smoke-imdb)
Results: see README.md (measured, with hardware and wall time)

Validation comes from the training reviews; the 25,000 test reviews are used
once, at the end, for the RNN and the TF-IDF baseline alike. The saved
`end_to_end.keras` reads raw review strings (see predict.py).

`--pretrained outputs/word_lm` starts from the word language model of
examples/word_lm (004 §7.2-7.3): its vocabulary, its embedding and its
bidirectional LSTM, then fine-tunes them (make example-imdb-pretrained).
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import re
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit

from common import cli
from common.data import resolve_data_dir
from common.plots import plt, save_figure
from common.pretrained import (
    adopt_language_model,
    classifier_defaults,
    refuse_mismatched_language_model,
    transfer_weights,
)
from common.reviews import LABELS, load_reviews
from common.text import (
    check_saved_text_models,
    learn_word_vectors,
    make_vectorizer,
    raw_text_model,
    text_datasets,
)
from common.training import Run

from model import build_model

EXAMPLE = "imdb"


# Fine-tuning a pretrained language model: six epochs measured better than four on each of three seeds (README:
# "Starting from a language model").
PRETRAINED_DEFAULTS = {"epochs": 6}


# A quick run: a smaller network (from scratch; a pretrained one keeps the language model's), short texts, two
# epochs, and an average of the weights over about ten steps (a quick run has a few dozen).
QUICK = {"max_length": 100, "epochs": 2, "weight_averaging": 0.9}
QUICK_SIZES = {"max_tokens": 2000, "embedding_dim": 16, "units": 8}


def sizes_and_defaults(options):
    """Defaults that depend on other options: fine-tuning takes the language model's sizes (and
    PRETRAINED_DEFAULTS), a quick run from scratch QUICK_SIZES."""
    if options.pretrained:  # the sizes: common.pretrained.CLASSIFIER_OPTIONS
        return {**PRETRAINED_DEFAULTS, **classifier_defaults(options.pretrained, EXAMPLE)}
    return QUICK_SIZES if options.quick else {}


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "--pretrained",
        type=Path,
        metavar="DIR",
        help="start from the word language model saved in DIR (examples/word_lm, e.g. outputs/word_lm): its "
        "vocabulary, embedding and recurrent layer, fine-tuned; the vocabulary and layer sizes then come from it",
    )
    cli.add_text_args(
        parser,
        max_tokens=20_000,
        max_length=600,
        embedding_dim=64,
        embedding_dropout=0.5,
        pooling="max",
        freeze_embeddings=False,
    )
    parser.add_argument(
        "--validation-fraction", type=cli.fraction, default=0.2, help="share of training movies held out"
    )
    cli.add_model_args(parser, cell="lstm", units=64, layers=1, dropout=0.3, bidirectional=True)
    # At most 7 epochs: the 15-minute CPU budget (README: "What moved the test accuracy").
    cli.add_training_args(parser, epochs=7, batch_size=64, learning_rate=1e-3, patience=2, weight_averaging=0.995)
    # A pretrained run writes outputs/imdb-pretrained (its own results row), leaving the from-scratch run's folder.
    args = cli.parse(
        parser,
        argv,
        lambda options: run_name(options.pretrained),
        quick=QUICK,
        defaults=sizes_and_defaults,
    )
    refuse_mismatched_language_model(parser, args, EXAMPLE)  # another corpus, or an option contradicting its sizes
    return args


def run_name(pretrained):
    """The run's name: its output folder and results row (imdb, or imdb-pretrained)."""
    return f"{EXAMPLE}-pretrained" if pretrained else EXAMPLE


def split_by_movie(texts, labels, movies, validation_fraction, seed):
    """Hold out whole movies for validation, as the test set does.

    IMDB's test reviews are about other movies than its training reviews. A
    random validation split would share movies (their actors, titles, plots)
    with training and overrate the model; holding out whole movies makes the
    validation score a fair preview of the test score.
    """
    splitter = GroupShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
    train_index, val_index = next(splitter.split(texts, labels, groups=movies))
    return [([texts[i] for i in index], [labels[i] for i in index]) for index in (train_index, val_index)]


def clean_words(text):
    """Lower-cased words without HTML breaks or punctuation, for counting (the model's own cleaning is clean_text)."""
    return re.sub(r"[^\w']+", " ", re.sub(r"<br\s*/?>", " ", text.lower())).split()


def explore(texts, labels, output_dir):
    """Chapter 004 §5.3.1: class balance, lengths by class (plot), a few facts."""
    lengths = np.array([len(text.split()) for text in texts])
    labels = np.asarray(labels)
    print(f"class balance (train): {dict(zip(LABELS, np.bincount(labels, minlength=2).tolist(), strict=True))}")
    percentiles = dict(
        zip((50, 90, 95, 99), np.percentile(lengths, (50, 90, 95, 99)).astype(int).tolist(), strict=True)
    )
    print(f"review length in words, percentiles: {percentiles}")
    distinct_words = len({word for text in texts for word in clean_words(text)})
    print(f"distinct words in the training reviews: {distinct_words:,} (the model keeps the most frequent)")
    plot_length_histograms(
        {label: lengths[labels == index] for index, label in enumerate(LABELS)},
        output_dir / "review_lengths.png",
        title="IMDB training reviews: length by class",
    )
    return {"length_percentiles": percentiles, "distinct_training_words": distinct_words}


def tfidf_baseline(train_texts, train_labels, test_texts, test_labels):
    """TF-IDF of word 1-2-grams + logistic regression: the strong linear baseline."""
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.95, sublinear_tf=True, max_features=500_000)
    classifier = LogisticRegression(C=8.0, max_iter=2000)
    classifier.fit(vectorizer.fit_transform(train_texts), train_labels)
    accuracy = float((classifier.predict(vectorizer.transform(test_texts)) == np.asarray(test_labels)).mean())
    return accuracy, time.perf_counter() - started


def plot_length_histograms(lengths_by_class, path, title, xlabel="length (words)"):
    """Overlaid histograms of sequence lengths, one per class (exploration plots)."""
    figure, axis = plt.subplots(figsize=(8, 3.6))
    for name, lengths in lengths_by_class.items():
        axis.hist(lengths, bins=60, alpha=0.55, label=f"{name} (n={len(lengths)})")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("count")
    axis.set_title(title)
    axis.legend()
    return save_figure(figure, path)


def load_data(args):
    """5.3.1 The reviews: {"train", "validation", "test": (texts, labels)}, validation holding out whole movies,
    and the unlabelled reviews."""
    data = load_reviews(resolve_data_dir(args.data_dir))
    texts, labels, movies = data["train"]
    test_texts, test_labels, _ = data["test"]
    if args.quick and len(texts) > 2000:  # a small slice: a smoke test, not a result
        texts, labels, movies = texts[::12], labels[::12], movies[::12]
        test_texts, test_labels = test_texts[::25], test_labels[::25]
    train, validation = split_by_movie(texts, labels, movies, args.validation_fraction, args.seed)
    splits = {"train": train, "validation": validation, "test": (test_texts, test_labels)}
    print("reviews: " + ", ".join(f"{name} {len(texts)}" for name, (texts, _) in splits.items()))
    return splits, data["unlabelled"]


def build(args, vocab_size, word_vectors=None):
    """5.3.3 The model, its embedding started from `word_vectors` (004 §7.3)."""
    return build_model(
        vocab_size,
        embedding_dim=args.embedding_dim,
        embedding_dropout=args.embedding_dropout,
        **cli.model_options(args),
        pooling=args.pooling,
        word_vectors=word_vectors,
        freeze_embeddings=args.freeze_embeddings,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        weight_averaging=args.weight_averaging,
    )


def build_from_text(args, splits, unlabelled, run):
    """5.3.2-5.3.3: the vectoriser (from the training text, or the language model's) and the model (its embedding
    from word vectors of the unlabelled text, or the language model's embedding and LSTM)."""
    train_texts, _ = splits["train"]
    if args.pretrained:
        encoder, vectorizer = adopt_language_model(args.pretrained, EXAMPLE)
    else:
        vectorizer = make_vectorizer(train_texts, args.max_tokens)
    vocab_size = len(vectorizer.get_vocabulary())
    print(f"vocabulary: {vocab_size} tokens kept (0 = padding, 1 = unknown)")
    datasets = text_datasets(vectorizer, splits.values(), args.max_length, args.batch_size, args.seed)
    word_vectors = None
    if args.pretrained_embeddings and not args.pretrained:  # from training and unlabelled reviews only
        word_vectors = learn_word_vectors(vectorizer, [*train_texts, *unlabelled], args.embedding_dim, args.seed)
    with run.scope():
        model = build(args, vocab_size, word_vectors)
        if args.pretrained:  # 004 §7.3: the language model's embedding and LSTM, before any fine-tuning
            print(f"started from {args.pretrained}: " + ", ".join(transfer_weights(encoder, model)))
    model.summary()
    return vectorizer, model, datasets


def train(model, train_ds, val_ds, args, run):
    """5.3.4 Training."""
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # the dataset shuffles itself
        # Halving the learning rate after an epoch without progress steadies the last epochs.
        callbacks=run.callbacks(
            patience=args.patience, reduce_lr_patience=1, averaged_weights=bool(args.weight_averaging)
        ),
    )


def save_end_to_end(vectorizer, model, test_texts, max_length, output_dir):
    """The model that reads raw text (predict.py's), checked to load again and answer as `model` does."""
    export = raw_text_model(vectorizer, model, max_length, name="imdb_end_to_end")
    check_saved_text_models(output_dir, export, model, vectorizer, test_texts[:8], max_length)
    print(f"saved {output_dir / 'end_to_end.keras'} (reads raw reviews: examples/imdb/predict.py)")


def report(test_loss, test_accuracy, baseline, rnn_wall_time, facts, vocab_size, run):
    baseline_accuracy, baseline_seconds = baseline
    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "baseline_test_accuracy": baseline_accuracy,
        "rnn_wall_time_s": rnn_wall_time,
        "baseline_wall_time_s": baseline_seconds,
        "vocabulary_size": vocab_size,
        **facts,
    }
    results = [
        {
            "metric": "test accuracy (25,000 reviews)",
            "model": test_accuracy,
            "baseline": baseline_accuracy,
            "baseline_name": "TF-IDF 1-2-grams + logistic regression",
            "baseline_wall_time_s": baseline_seconds,
        }
    ]
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    # Stop on validation accuracy, the measure we report; its best epoch often
    # comes after the best validation loss, as the model grows more confident.
    run = Run(
        EXAMPLE,
        vars(args),
        **cli.run_settings(args),
        monitor="val_accuracy",
        mode="max",
        argv=argv,
        name=run_name(args.pretrained),
    )
    splits, unlabelled = load_data(args)
    facts = explore(*splits["train"], run.output_dir)
    vectorizer, model, (train_ds, val_ds, test_ds) = build_from_text(args, splits, unlabelled, run)
    train(model, train_ds, val_ds, args, run)
    test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
    print(f"\ntest accuracy ({args.cell} model): {test_accuracy:.4f}   test loss: {test_loss:.4f}")
    rnn_wall_time = time.perf_counter() - run.started
    baseline = tfidf_baseline(*splits["train"], *splits["test"])  # (accuracy, seconds), on the same split
    print(f"test accuracy (TF-IDF + logistic regression): {baseline[0]:.4f} in {baseline[1]:.0f} s")
    test_texts, _ = splits["test"]
    save_end_to_end(vectorizer, model, test_texts, args.max_length, run.output_dir)
    vocab_size = len(vectorizer.get_vocabulary())
    return report(test_loss, test_accuracy, baseline, rnn_wall_time, facts, vocab_size, run)


if __name__ == "__main__":
    cli.run(main)
