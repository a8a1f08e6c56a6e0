"""Character-level language model: learn tiny Shakespeare one character at a time, then write new text.

Chapter: 004 §5.1 (a character-level language model with Keras: 5.1.1 data
         preprocessing, 5.1.2 the model, 5.1.3 training, 5.1.4 generating text).
Run:     make example-char_lm        (quick check: make smoke-char_lm)
Results: see README.md (measured, with hardware and wall time)

The model reads `--sequence-length` characters and predicts, at every
position, the next one (targets are the inputs shifted by one). The loss is
the cross-entropy in nats per character on the last 10% of the text, which
is never trained on; two baselines are scored on the same validation text:
guessing uniformly (log of the vocabulary size) and character frequencies.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

import keras
import tensorflow as tf

from common import cli
from common.chars import (
    CORPORA,
    VOCABULARY_FILE,
    CharVocabulary,
    load_text,
    nats_to_bits,
    uniform_loss,
    unigram_loss,
)
from common.saving import check_round_trip
from common.training import Run

from generation import CharGenerator
from model import build_model

EXAMPLE = "char_lm"
SAMPLES_FILE = "samples.txt"
SAMPLE_TEMPERATURES = (0.5, 0.8, 1.0)


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument("--corpus", choices=sorted(CORPORA), default="shakespeare", help="text to learn")
    data.add_argument("--text-file", type=Path, help="learn this UTF-8 text file instead of --corpus")
    data.add_argument(
        "--sequence-length", type=cli.positive_int, default=100, help="characters per training window (BPTT length)"
    )
    cli.add_model_args(parser, cell="gru", units=384, layers=2, dropout=0.2)
    parser.add_argument("--embedding-dim", type=cli.positive_int, default=64, help="character vector size")
    sampling = parser.add_argument_group("samples during training")
    sampling.add_argument(
        "--sample-every", type=cli.positive_int, default=3, help="print samples every N epochs (and at the end)"
    )
    sampling.add_argument("--sample-length", type=cli.positive_int, default=300, help="characters per sample")
    cli.add_training_args(parser, epochs=10, batch_size=64, learning_rate=2e-3, patience=3, clipnorm=5.0)
    args = cli.parse(
        parser,
        argv,
        EXAMPLE,
        quick={"sequence_length": 40, "units": 32, "layers": 1, "epochs": 2, "sample_length": 60},
    )
    if args.bidirectional:
        parser.error("--bidirectional cannot be used: a language model must not see the characters it predicts")
    return args


def windows(ids, sequence_length, batch_size, shuffle, seed):
    """tf.data of (batch, sequence_length) inputs -> the same windows shifted by one character.

    Consecutive non-overlapping windows of sequence_length + 1 characters
    (the TensorFlow tutorial's recipe); shuffled each epoch with the seed.
    """
    dataset = tf.data.Dataset.from_tensor_slices(ids).batch(sequence_length + 1, drop_remainder=True)
    dataset = dataset.map(lambda window: (window[:-1], window[1:]))
    if shuffle:
        dataset = dataset.shuffle(len(ids) // (sequence_length + 1), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class PrintSamples(keras.callbacks.Callback):
    """Every few epochs, write a sample at a few temperatures (as the Keras example does) to screen and file."""

    def __init__(self, generator, prompt, path, every, length, seed):
        super().__init__()
        self.generator, self.prompt, self.path = generator, prompt, path
        self.every, self.length, self.seed = every, length, seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            write_samples(self.generator, self.prompt, self.path, f"after epoch {epoch + 1}", self.length, self.seed)


def write_samples(generator, prompt, path, heading, length, seed):
    with open(path, "a", encoding="utf-8") as handle:
        for temperature in SAMPLE_TEMPERATURES:
            text = generator.generate(prompt, length, temperature=temperature, seed=seed)
            block = f"--- {heading}, temperature {temperature} ---\n{text}\n"
            print(block)
            handle.write(block + "\n")


def check_saved_model(output_dir, generator, prompt, seed, length=200):
    """The saved model and vocabulary load again, as generate.py loads them, and write the same text."""

    def write_with(loaded_model):
        vocabulary = CharVocabulary.load(output_dir / VOCABULARY_FILE)
        return CharGenerator(loaded_model, vocabulary).generate(prompt, length, temperature=0.8, seed=seed)

    expected = generator.generate(prompt, length, temperature=0.8, seed=seed)
    check_round_trip(output_dir / "model.keras", expected, answer=write_with)


def load_data(args, output_dir):
    """5.1.1 Data preprocessing: the text as character ids, training and validation parts, and their table
    (saved in `output_dir`: generate.py maps characters with the same table)."""
    quick_slice = 100_000 if args.quick and args.text_file is None else None  # a smoke test needs the format only
    vocabulary, train_ids, val_ids = load_text(
        args.corpus, args.text_file, args.data_dir, max_chars=quick_slice, sequence_length=args.sequence_length
    )
    vocabulary.save(output_dir / VOCABULARY_FILE)
    return vocabulary, train_ids, val_ids


def build(args, vocab_size):
    """5.1.2 The model."""
    return build_model(
        vocab_size,
        embedding_dim=args.embedding_dim,
        cell=args.cell,
        units=args.units,
        num_layers=args.layers,
        dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
    )


def train(model, train_ds, val_ds, sampler, args, run):
    """5.1.3 Training, with samples every few epochs."""
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # the dataset reshuffles its windows every epoch
        callbacks=[*run.callbacks(patience=args.patience, reduce_lr_patience=1), sampler],
    )


def evaluate(model, val_ds, train_ids, val_ids, vocab_size, cell):
    """{name: validation loss in nats per character} of the model (best weights) and the baselines."""
    losses = {
        f"{cell} model": float(model.evaluate(val_ds, verbose=0)),
        "uniform": uniform_loss(vocab_size),
        "unigram": unigram_loss(train_ids, val_ids, vocab_size),
    }
    print(f"\n{'validation text':<22}{'nats/char':>10}{'bits/char':>10}")
    for name, loss in losses.items():
        print(f"{name:<22}{loss:>10.4f}{nats_to_bits(loss):>10.4f}")
    return losses


def report(losses, vocab_size, cell, run):
    val_loss = losses[f"{cell} model"]
    results = [
        {
            "metric": "validation loss, nats/char (lower is better)",
            "model": val_loss,
            "baseline": losses["unigram"],
            "baseline_name": "unigram",
        },
        {
            "metric": "validation loss, bits/char",
            "model": nats_to_bits(val_loss),
            "baseline": nats_to_bits(losses["uniform"]),
            "baseline_name": "uniform",
        },
    ]
    metrics = {
        "val_loss_nats": val_loss,
        "val_loss_bits": nats_to_bits(val_loss),
        "uniform_loss_nats": losses["uniform"],
        "unigram_loss_nats": losses["unigram"],
        "vocab_size": vocab_size,
    }
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv)
    vocabulary, train_ids, val_ids = load_data(args, run.output_dir)
    train_ds = windows(train_ids, args.sequence_length, args.batch_size, shuffle=True, seed=args.seed)
    val_ds = windows(val_ids, args.sequence_length, args.batch_size, shuffle=False, seed=args.seed)
    with run.scope():
        model = build(args, len(vocabulary))
    model.summary()
    generator = CharGenerator(model, vocabulary)
    prompt = vocabulary.decode(val_ids[:20])  # the start of the validation text
    samples_path = run.output_dir / SAMPLES_FILE
    if not run.resumed:  # a resumed run keeps the samples written before the interruption
        samples_path.unlink(missing_ok=True)
    sampler = PrintSamples(generator, prompt, samples_path, args.sample_every, args.sample_length, args.seed)
    train(model, train_ds, val_ds, sampler, args, run)
    losses = evaluate(model, val_ds, train_ids, val_ids, len(vocabulary), args.cell)
    # 5.1.4 Generating text, carrying the state
    write_samples(generator, prompt, samples_path, "final model", args.sample_length, args.seed)
    check_saved_model(run.output_dir, generator, prompt, args.seed)
    return report(losses, len(vocabulary), args.cell, run)


if __name__ == "__main__":
    cli.run(main)
