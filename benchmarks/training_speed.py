"""Benchmark: what each way of speeding up training buys, measured on the IMDB model.

Run: python benchmarks/training_speed.py   (part of `make bench`; about 10 minutes on 2 CPU cores)

Chapter 004 §9.4 (how to train faster). The same network as
examples/imdb/train.py (embedding 64, bidirectional LSTM 64, max over time),
built by that example's own `build_model` (model.py), trained on the same training
reviews cut at the default 600 words, under one change at a time:

- pad every review to 600 words, or batch reviews of similar length (buckets);
- batch size 32, 64, 128, 256;
- XLA compilation (`jit_compile=True`) on or off;
- float32, mixed float16 or mixed bfloat16;
- on a GPU only: the fused cuDNN kernel or the generic one (the row says so
  where no GPU was lent).

Throughput is reviews and real (unpadded) words per second: the median of
the timed epochs after a first, untimed one (tracing and compiling), over a
fixed sample of training reviews. Writes results/benchmarks/training_speed.json,
the bar plot examples/imdb/training_speed.png and the table in
examples/imdb/README.md between its training-speed markers.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common import cli, reviews
from common.data import resolve_data_dir
from common.plots import plt, save_figure
from common.text import bucketed_dataset, encode, make_vectorizer
from common.training import hardware_description, library_versions

from tables import write_table

ROOT = Path(__file__).resolve().parents[1]
MAX_LENGTH = 600  # the IMDB example's default --max-length
TABLE = "training-speed"  # the README's markers for the table (tables.markers)
# (name, batching, batch size, jit_compile, precision policy)
SETTINGS = [
    ("padded to 600 words, batch 64", "padded", 64, False, "float32"),
    ("buckets by length, batch 64 (the example's default)", "buckets", 64, False, "float32"),
    ("buckets, batch 32", "buckets", 32, False, "float32"),
    ("buckets, batch 128", "buckets", 128, False, "float32"),
    ("buckets, batch 256", "buckets", 256, False, "float32"),
    ("buckets, batch 64, XLA (jit_compile)", "buckets", 64, True, "float32"),
    ("buckets, batch 64, mixed float16", "buckets", 64, False, "mixed_float16"),
    ("buckets, batch 64, mixed bfloat16", "buckets", 64, False, "mixed_bfloat16"),
]


def imdb_model():
    """examples/imdb/model.py, imported from its file under a name of its own ("imdb_model"): other examples
    have a model.py too, and `import model` would give whichever was imported first."""
    spec = importlib.util.spec_from_file_location("imdb_model", ROOT / "examples" / "imdb" / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def dataset(sequences, labels, batching, batch_size, max_length, seed):
    if batching == "buckets":
        return bucketed_dataset(sequences, labels, batch_size, shuffle=True, seed=seed)
    padded = keras.utils.pad_sequences(sequences, maxlen=max_length, padding="post", truncating="post")
    data = tf.data.Dataset.from_tensor_slices((padded, np.asarray(labels)))
    return data.shuffle(len(padded), seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_shape(data):
    """(batches, time steps, padded words) of one pass over `data`: an RNN runs one step per time step of each
    batch, whatever the batch size, so these explain most of the differences in speed."""
    lengths = [(int(x.shape[0]), int(x.shape[1])) for x, _ in data]
    return len(lengths), sum(length for _, length in lengths), sum(rows * length for rows, length in lengths)


def measure(setting, build_model, sequences, labels, vocab_size, epochs, seed):
    """Median seconds of the timed epochs (all but the first) of one setting, and its epoch's shape;
    `build_model` is examples/imdb/model.py's."""
    _, batching, batch_size, jit_compile, policy = setting
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(seed)
    model = build_model(vocab_size)  # the example's network with its default sizes
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], jit_compile=jit_compile)
    timer = EpochTimes()
    data = dataset(sequences, labels, batching, batch_size, MAX_LENGTH, seed)
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)  # the dataset shuffles itself
    keras.mixed_precision.set_global_policy("float32")
    return float(np.median(timer.seconds[1:])), epoch_shape(data)


def render_table(record):
    rows = record["rows"]
    reference = next(row for row in rows if "default" in row["setting"])["reviews_per_s"]
    lines = [
        "| setting | reviews/s | words/s | relative to the default | batches per epoch | time steps per epoch "
        "| padding |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {row['setting']} | {row['reviews_per_s']:,.0f} | {row['words_per_s']:,.0f} "
            f"| {row['reviews_per_s'] / reference:.2f}x | {row['batches']} | {row['time_steps']:,} "
            f"| {row['padding_share']:.0%} |"
            for row in rows
        ),
        f"| fused cuDNN kernel vs generic (GPU only) | {record['gpu_note']} | | | | | |",
        "",
        f"{record['reviews']:,} training reviews ({record['words']:,} words after cutting at 600), median of "
        f"{record['epochs'] - 1} timed epochs after an untimed one; measured by `{record['command']}` on "
        f"{record['hardware']} in {record['wall_time_s'] / 60:.0f} min.",
    ]
    return "\n".join(lines)


def plot_bars(record, path):
    rows = record["rows"]
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    axis.barh([row["setting"] for row in rows][::-1], [row["reviews_per_s"] for row in rows][::-1])
    axis.set_xlabel("training reviews per second")
    axis.set_title(f"IMDB model, training throughput ({record['hardware']})")
    axis.grid(alpha=0.3, axis="x")
    return save_figure(figure, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="data folder (default: data/)")
    parser.add_argument("--reviews", type=int, default=4096, help="training reviews timed per setting")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per setting; the first is not timed")
    parser.add_argument("--seed", type=cli.non_negative_int, default=42)
    parser.add_argument("--record", type=Path, default=ROOT / "results" / "benchmarks" / "training_speed.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "examples" / "imdb" / "training_speed.png")
    parser.add_argument("--readme", type=Path, default=ROOT / "examples" / "imdb" / "README.md")
    return parser.parse_args(argv)


def sample_reviews(data_dir, count, seed):
    """`count` training reviews chosen with `seed`, as token ids (the example's vocabulary, from all training
    reviews, and its 600-word cut), their labels, and the vocabulary's size."""
    texts, labels, _ = reviews.load_reviews(resolve_data_dir(data_dir))["train"]
    chosen = np.random.default_rng(seed).choice(len(texts), size=min(count, len(texts)), replace=False)
    vectorizer = make_vectorizer(texts, 20_000)  # the example's vocabulary size
    sequences = encode(vectorizer, [texts[i] for i in chosen], max_length=MAX_LENGTH)
    return sequences, [labels[i] for i in chosen], vectorizer.vocabulary_size()


def measure_all(sequences, labels, vocab_size, epochs, seed):
    """A row per setting: seconds per epoch, reviews and real words per second, the epoch's shape."""
    words, rows, build_model = int(sum(len(sequence) for sequence in sequences)), [], imdb_model().build_model
    for setting in SETTINGS:
        seconds, (batches, steps, padded) = measure(setting, build_model, sequences, labels, vocab_size, epochs, seed)
        rows.append(
            {
                "setting": setting[0],
                "seconds_per_epoch": seconds,
                "reviews_per_s": len(sequences) / seconds,
                "words_per_s": words / seconds,
                "batches": batches,
                "time_steps": steps,
                "padding_share": 1 - words / padded,
            }
        )
        print(f"{setting[0]}: {rows[-1]['reviews_per_s']:,.0f} reviews/s", flush=True)
    return rows, words


def main(argv=None):
    args = parse_args(argv)
    if args.epochs < 2:
        raise SystemExit("error: --epochs must be at least 2 (the first epoch is not timed)")
    started = time.perf_counter()
    sequences, labels, vocab_size = sample_reviews(args.data_dir, args.reviews, args.seed)
    rows, words = measure_all(sequences, labels, vocab_size, args.epochs, args.seed)
    gpu = tf.config.list_physical_devices("GPU")
    record = {
        "benchmark": "training_speed",
        "command": "python benchmarks/training_speed.py" + "".join(f" {a}" for a in (argv or sys.argv[1:])),
        "hardware": hardware_description(),
        "versions": library_versions(),
        "reviews": len(sequences),
        "words": words,
        "epochs": args.epochs,
        "rows": rows,
        "gpu_note": "no GPU on this machine: not measured" if not gpu else "see the GPU record",
        "wall_time_s": time.perf_counter() - started,
    }
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2) + "\n")
    plot_bars(record, args.plot)
    table = render_table(record)
    write_table(args.readme, table, TABLE)
    print(table)
    return record


if __name__ == "__main__":
    main()
