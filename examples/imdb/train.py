"""Sentiment analysis of IMDB movie reviews with a bidirectional LSTM, from raw text.

Chapter: 004 §5.3 (sentiment analysis with TensorFlow: 5.3.1 data exploration
         and visualisation, 5.3.2 text preprocessing, 5.3.3 the model,
         5.3.4 training and testing) and §9.3 (variable-length input).
Run:     make example-imdb        (quick check: make smoke-imdb)
Results: see README.md (measured, with hardware and wall time)

Validation comes from the training reviews; the 25,000 test reviews are used
once, at the end, for the RNN and the TF-IDF baseline alike. The saved
`end_to_end.keras` reads raw review strings (see predict.py).
"""

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # common/ and this folder, from any working directory

import keras  # noqa: E402
import numpy as np  # noqa: E402
from reviews import LABELS, load_reviews  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GroupShuffleSplit  # noqa: E402

from common import cli  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.models import POOLING, build_rnn_model  # noqa: E402
from common.plots import plot_length_histograms  # noqa: E402
from common.text import make_vectorizer, raw_text_model, text_datasets  # noqa: E402
from common.training import Run  # noqa: E402

EXAMPLE = "imdb"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    text = parser.add_argument_group("text")
    text.add_argument(
        "--max-tokens", type=cli.positive_int, default=20_000, help="vocabulary size (most frequent words)"
    )
    text.add_argument("--max-length", type=cli.positive_int, default=600, help="keep the first N words of a review")
    text.add_argument("--embedding-dim", type=cli.positive_int, default=64, help="word embedding size")
    text.add_argument("--embedding-dropout", type=cli.fraction, default=0.4, help="dropout on word embeddings")
    text.add_argument(
        "--validation-fraction", type=cli.fraction, default=0.2, help="share of training reviews held out"
    )
    model = cli.add_model_args(parser, cell="lstm", units=64, layers=1, dropout=0.2, bidirectional=True)
    model.add_argument("--pooling", choices=POOLING, default="mean", help="final state, or mean of all states")
    cli.add_training_args(parser, epochs=8, batch_size=64, learning_rate=1e-3, patience=2)
    return cli.finish_parsing(
        parser,
        argv,
        EXAMPLE,
        quick_defaults={"max_tokens": 2000, "max_length": 100, "embedding_dim": 16, "units": 8, "epochs": 2},
    )


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


def explore(texts, labels, output_dir):
    """Chapter 004 §5.3.1: class balance, lengths by class (plot), a few facts."""
    lengths = np.array([len(text.split()) for text in texts])
    labels = np.asarray(labels)
    print(f"class balance (train): {dict(zip(LABELS, np.bincount(labels, minlength=2).tolist(), strict=True))}")
    percentiles = dict(
        zip((50, 90, 95, 99), np.percentile(lengths, (50, 90, 95, 99)).astype(int).tolist(), strict=True)
    )
    print(f"review length in words, percentiles: {percentiles}")
    plot_length_histograms(
        {label: lengths[labels == index] for index, label in enumerate(LABELS)},
        output_dir / "review_lengths.png",
        title="IMDB training reviews: length by class",
    )
    return {"length_percentiles": percentiles}


def tfidf_baseline(train_texts, train_labels, test_texts, test_labels):
    """TF-IDF of word 1-2-grams + logistic regression: the strong linear baseline."""
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.95, sublinear_tf=True, max_features=500_000)
    classifier = LogisticRegression(C=8.0, max_iter=2000)
    classifier.fit(vectorizer.fit_transform(train_texts), train_labels)
    accuracy = float((classifier.predict(vectorizer.transform(test_texts)) == np.asarray(test_labels)).mean())
    return accuracy, time.perf_counter() - started


def build_classifier(args):
    model = build_rnn_model(
        head="binary",
        vocab_size=args.max_tokens,
        embedding_dim=args.embedding_dim,
        mask_zero=True,  # id 0 is padding; with right padding the cuDNN kernel stays usable
        embedding_dropout=args.embedding_dropout,
        cell=args.cell,
        units=args.units,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout,
        pooling=args.pooling,
        name=f"imdb_{args.cell}",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=args.clipnorm),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, args, argv)

    # --- 5.3.1 Data: load, verify, split, explore ---
    data = load_reviews(resolve_data_dir(args.data_dir))
    texts, labels, movies = data["train"]
    test_texts, test_labels, _ = data["test"]
    if args.quick and len(texts) > 2000:  # a small slice: a smoke test, not a result
        texts, labels, movies = texts[::12], labels[::12], movies[::12]
        test_texts, test_labels = test_texts[::25], test_labels[::25]
    (train_texts, train_labels), (val_texts, val_labels) = split_by_movie(
        texts, labels, movies, args.validation_fraction, args.seed
    )
    print(f"reviews: train {len(train_texts)}, validation {len(val_texts)}, test {len(test_texts)}")
    facts = explore(train_texts, train_labels, run.output_dir)

    # --- 5.3.2 Text preprocessing: vocabulary from training text only ---
    vectorizer = make_vectorizer(train_texts, args.max_tokens)
    vocabulary = vectorizer.get_vocabulary()
    print(f"vocabulary: {len(vocabulary)} tokens kept (0 = padding, 1 = unknown)")
    train_ds, val_ds, test_ds = text_datasets(
        vectorizer,
        [(train_texts, train_labels), (val_texts, val_labels), (test_texts, test_labels)],
        args.max_length,
        args.batch_size,
        args.seed,
    )

    # --- 5.3.3 Model ---
    with run.scope():
        model = build_classifier(args)
    model.summary()

    # --- 5.3.4 Training and testing ---
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # the dataset shuffles itself
        callbacks=run.callbacks(patience=args.patience),
    )
    test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
    print(f"\ntest accuracy ({args.cell} model): {test_accuracy:.4f}   test loss: {test_loss:.4f}")
    rnn_wall_time = time.perf_counter() - run.started

    # --- Baseline on the same split ---
    baseline_accuracy, baseline_seconds = tfidf_baseline(train_texts, train_labels, test_texts, test_labels)
    print(f"test accuracy (TF-IDF + logistic regression): {baseline_accuracy:.4f} in {baseline_seconds:.0f} s")

    # --- Save the model that reads raw text ---
    export = raw_text_model(vectorizer, model, args.max_length, name="imdb_end_to_end")
    export.save(run.output_dir / "end_to_end.keras")
    print(f"saved {run.output_dir / 'end_to_end.keras'} (reads raw reviews: examples/imdb/predict.py)")

    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "baseline_test_accuracy": baseline_accuracy,
        "rnn_wall_time_s": rnn_wall_time,
        "baseline_wall_time_s": baseline_seconds,
        "vocabulary_size": len(vocabulary),
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


if __name__ == "__main__":
    cli.run(main)
