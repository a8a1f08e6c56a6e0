"""Word-level language model on movie reviews: learn IMDB's unlabelled and training reviews, word by word.

Chapter: 004 §6.1.1 (language models) at the level of words, §7.2 (data sets
         for language modelling) and §7.3 (pretrained models: ELMo).
Run:     make example-word_lm        (quick check: make smoke-word_lm)
Results: see README.md (measured, with hardware and wall time)

A bidirectional LSTM reads each review from a zero state: its forward half
predicts every next word, its backward half every previous word. The
perplexity per word on held-out whole reviews stands beside a unigram model
and an interpolated Kneser-Ney n-gram model over the same vocabulary. What it
saves (`encoder.keras`, `vocabulary.json`, `language_model.json`) is what the
IMDB classifier starts from: `python examples/imdb/train.py --pretrained outputs/word_lm`.

`--corpus reuters` learns the Reuters newswire instead (ModApte's training
stories and the unlabelled Reuters-21578 stories, in the Reuters classifier's
tokens and sizes), for `python examples/reuters/train.py --pretrained
outputs/word_lm-reuters`.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import math
import time

import keras
import numpy as np

from common import cli
from common.data import resolve_data_dir
from common.plots import plt, save_figure
from common.pretrained import ENCODER_FILE, save_encoder
from common.saving import check_round_trip
from common.text import encode, make_vectorizer
from common.training import HISTORY_FILE, Run, read_history

from lm_corpus import CORPORA, language_model_texts, pieces, split_reviews, token_batches
from model import build_model, encoder, log_likelihood, perplexity
from ngram import KneserNey, Unigram, perplexity_of

EXAMPLE = "word_lm"
# Validation reads reviews whole (up to this many words from a zero state; 99 % of reviews are shorter), as the
# classifier that starts from the model will read them, however short the training windows are.
VALIDATION_LENGTH = 1000
# The Reuters model takes the Reuters classifier's sizes (a larger one would make each of its members several
# times slower) and, its corpus being 2.4 million words against IMDB's 17, more passes over it.
CORPUS_DEFAULTS = {"imdb": {}, "reuters": {"embedding_dim": 64, "units": 64, "epochs": 4, "validation_fraction": 0.05}}


def run_name(corpus):
    """The run's name: its output folder and results row (word_lm for IMDB, word_lm-reuters)."""
    return EXAMPLE if corpus == "imdb" else f"{EXAMPLE}-{corpus}"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument(
        "--corpus",
        choices=sorted(CORPORA),
        default="imdb",
        help="the text to learn: IMDB's training and unlabelled reviews, or the Reuters newswire (ModApte's training "
        "stories and the stories outside ModApte; writes outputs/word_lm-reuters)",
    )
    data.add_argument("--max-tokens", type=cli.positive_int, default=20_000, help="vocabulary size (most frequent)")
    data.add_argument(
        "--sequence-length",
        type=cli.positive_int,
        default=100,
        help="words per training window (BPTT length); longer documents are cut into windows, each from a zero state",
    )
    data.add_argument(
        "--validation-fraction",
        type=cli.fraction,
        default=0.02,
        help="share of whole documents (reviews, stories) held out",
    )
    data.add_argument("--ngram-order", type=cli.positive_int, default=3, help="order of the Kneser-Ney baseline")
    group = cli.add_model_args(parser, cell="lstm", units=128, layers=1, dropout=0.1, bidirectional=True)
    group.add_argument("--embedding-dim", type=cli.positive_int, default=128, help="word vector size")
    group.add_argument(
        "--head-size",
        type=cli.positive_int,
        default=2000,
        help="adaptive softmax: the most frequent words scored in full (the rest through one rare-word cluster)",
    )
    group.add_argument(
        "--tail-dim", type=cli.positive_int, default=32, help="adaptive softmax: rare words' vector size"
    )
    training = cli.add_training_args(parser, epochs=1.75, batch_size=4096, learning_rate=4e-3, patience=2, clipnorm=1.0)
    for action in training._group_actions:
        if action.dest == "batch_size":  # here a batch is counted in words: its memory grows with them
            action.help = "words per batch, padding included (many short windows or a few long ones)"
        if action.dest == "epochs":  # a pass over 17 million words is long: a fraction of one is a useful unit
            action.type = cli.positive_float
            action.help = (
                "passes over the training documents, in steps of 1 / --checks-per-epoch (1.75: seven quarter passes); "
                "the learning rate falls from --learning-rate to 5 %% of it over them (cosine)"
            )
    parser.add_argument(
        "--checks-per-epoch",
        type=cli.positive_int,
        default=4,
        help="validation perplexity checks (and checkpoints) per pass over the training documents",
    )
    cli.show_defaults_by(parser, "--corpus", CORPUS_DEFAULTS)
    args = cli.parse(
        parser,
        argv,
        lambda options: run_name(options.corpus),
        defaults=lambda options: CORPUS_DEFAULTS[options.corpus],
        quick={
            "max_tokens": 2000,
            "sequence_length": 100,
            "units": 32,
            "embedding_dim": 16,
            "head_size": 500,
            "tail_dim": 8,
            "batch_size": 2048,
            "epochs": 2,
            "checks_per_epoch": 1,
            "validation_fraction": 0.1,
        },
    )
    if args.bidirectional and args.layers > 1:
        parser.error(
            "--layers above 1 needs --no-bidirectional: a layer over both directions would let the forward "
            "half see the word it predicts"
        )
    if args.recurrent_dropout:
        parser.error("--recurrent-dropout is not used by the language model (it would also give up the cuDNN kernel)")
    return args


class ValidationPerplexity(keras.callbacks.Callback):
    """Adds the perplexity per word on the validation reviews to the logs (val_perplexity, and
    val_backward_perplexity for a bidirectional model), so early stopping and the checkpoint follow it."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_end(self, epoch, logs=None):
        sums, counts = log_likelihood(self.model, self.batches)
        logs["val_perplexity"] = perplexity(sums[0], counts[0])
        if len(sums) > 1:
            logs["val_backward_perplexity"] = perplexity(sums[1], counts[1])


def baselines(train_ids, val_ids, vocab_size, order):
    """{name: validation perplexity} of the unigram and Kneser-Ney models, on the words the network predicts."""
    started = time.perf_counter()
    scores = {"unigram": perplexity_of(Unigram(vocab_size).fit(train_ids).log_probabilities_of(val_ids))}
    for n in sorted({2, order}):
        model = KneserNey(n, vocab_size).fit(train_ids)
        scores[f"kneser_ney_{n}"] = perplexity_of(model.log_probabilities_of(val_ids))
    seconds = time.perf_counter() - started
    print("validation perplexity: " + ", ".join(f"{name} {value:.1f}" for name, value in scores.items()))
    return scores, seconds


def plot_perplexity(history, scores, words_per_check, path, title):
    """Validation perplexity at each check (x: training words read) against the n-gram baselines (lines)."""
    figure, axis = plt.subplots(figsize=(7, 4))
    words = np.arange(1, len(history.get("val_perplexity", [])) + 1) * words_per_check / 1e6
    axis.plot(words, history.get("val_perplexity", []), marker="o", label="LSTM, forward")
    if "val_backward_perplexity" in history:
        axis.plot(words, history["val_backward_perplexity"], marker="o", label="LSTM, backward")
    for (name, value), style in zip(scores.items(), (":", "--", "-."), strict=False):
        axis.axhline(value, linestyle=style, color="grey", label=f"{name.replace('_', ' ')} {value:.0f}")
    axis.set_xlabel("training words read (millions)")
    axis.set_ylabel("validation perplexity per word")
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(f"{title}: word language model")
    return save_figure(figure, path)


def save_for_classifier(output_dir, model, vocabulary, args, metrics):
    """encoder.keras (embedding + recurrent layers, plain Keras), vocabulary.json and language_model.json: what
    `examples/imdb/train.py --pretrained` reads (common/pretrained.py); return the encoder."""
    start_from = encoder(model)
    settings = {
        "vocab_size": len(vocabulary),
        "embedding_dim": args.embedding_dim,
        "cell": args.cell,
        "units": args.units,
        "layers": args.layers,
        "bidirectional": args.bidirectional,
        "sequence_length": args.sequence_length,
        "corpus": args.corpus,
        "standardize": "common.text.clean_text" if CORPORA[args.corpus].standardize else None,
        "metrics": metrics,
    }
    save_encoder(output_dir, start_from, vocabulary, settings)
    return start_from


def check_saved_models(output_dir, model, start_from, token_ids):
    """model.keras gives the same next-word scores, and encoder.keras the same states, once loaded from disk."""

    def scores(network):  # as NumPy, whichever backend's tensor the network returns
        return keras.ops.convert_to_numpy(network(token_ids))

    check_round_trip(output_dir / "model.keras", scores(model), answer=scores)
    check_round_trip(output_dir / ENCODER_FILE, start_from.predict(token_ids, verbose=0), inputs=token_ids)


def load_data(args):
    """Training and unlabelled reviews (never a test review), whole reviews held out: the vectoriser of the
    training reviews, and each part as pieces of token ids (validation's long enough to score with context)."""
    texts = language_model_texts(resolve_data_dir(args.data_dir), args.corpus)
    if args.quick and len(texts) > 3000:  # a slice: a smoke test, not a result
        texts = texts[::25]
    train_texts, val_texts = split_reviews(texts, args.validation_fraction, args.seed)
    vectorizer = make_vectorizer(train_texts, args.max_tokens, standardize=CORPORA[args.corpus].standardize)
    train_ids = pieces(encode(vectorizer, train_texts, 10**9), args.sequence_length)
    val_ids = pieces(encode(vectorizer, val_texts, 10**9), max(args.sequence_length, VALIDATION_LENGTH))
    print(
        f"documents: train {len(train_texts):,}, validation {len(val_texts):,}; "
        f"words: train {sum(len(p) for p in train_ids):,}, validation {sum(len(p) for p in val_ids):,}; "
        f"vocabulary {vectorizer.vocabulary_size():,}"
    )
    return vectorizer, train_ids, val_ids


def build(args, vocab_size, decay_steps):
    """The model; its learning rate falls over the whole run (cosine), so the run's length is fixed up front."""
    return build_model(
        vocab_size,
        embedding_dim=args.embedding_dim,
        units=args.units,
        cell=args.cell,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        dropout=args.dropout,
        head_size=max(args.head_size, 2),
        tail_dim=args.tail_dim,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        decay_steps=decay_steps,
    )


def evaluate(model, val_ds, scores):
    """Validation perplexity of the best checkpoint, forward (and backward), beside the n-grams'."""
    sums, counts = log_likelihood(model, val_ds)
    perplexities = [perplexity(total, count) for total, count in zip(sums, counts, strict=True)]
    best_baseline = min(value for name, value in scores.items() if name != "unigram")
    print(f"\nvalidation perplexity per word: LSTM forward {perplexities[0]:.1f}", end="")
    print(f", backward {perplexities[1]:.1f}" if len(perplexities) > 1 else "")
    print(
        f"the forward LSTM's perplexity is {perplexities[0] / best_baseline:.2f} times the best n-gram's "
        f"({best_baseline:.1f})"
    )
    return perplexities, int(counts[0])


def metrics_and_results(perplexities, validation_words, scores, training_words, vocab_size, seconds, args):
    """The run record's metrics (also saved for the classifier) and its results row."""
    forward, best_baseline = perplexities[0], min(value for name, value in scores.items() if name != "unigram")
    rnn_wall_time, baseline_seconds = seconds
    metrics = {
        "val_perplexity": forward,
        **({"val_backward_perplexity": perplexities[1]} if len(perplexities) > 1 else {}),
        **{f"{name}_perplexity": value for name, value in scores.items()},
        "validation_words": validation_words,
        "training_words": training_words,
        "vocabulary_size": vocab_size,
        "rnn_wall_time_s": rnn_wall_time,
        "baseline_wall_time_s": baseline_seconds,
    }
    results = [
        {
            "metric": f"validation perplexity per word (held-out {CORPORA[args.corpus].documents}; lower is better)",
            "model": forward,
            "baseline": best_baseline,
            "baseline_name": f"interpolated Kneser-Ney {args.ngram_order}-gram; unigram {scores['unigram']:.1f}",
            "baseline_wall_time_s": baseline_seconds,
        }
    ]
    return metrics, results


def main(argv=None):
    args = parse_args(argv)
    run = Run(
        EXAMPLE,
        vars(args),
        **cli.run_settings(args),
        monitor="val_perplexity",
        mode="min",
        argv=argv,
        name=run_name(args.corpus),
    )
    vectorizer, train_ids, val_ids = load_data(args)
    vocabulary = vectorizer.get_vocabulary()
    scores, baseline_seconds = baselines(train_ids, val_ids, len(vocabulary), args.ngram_order)  # same words
    train_ds = token_batches(train_ids, args.batch_size, shuffle=True, seed=args.seed)
    val_ds = token_batches(val_ids, args.batch_size, shuffle=False, seed=args.seed)
    steps_per_check = math.ceil(int(train_ds.cardinality()) / args.checks_per_epoch)
    checks = max(1, round(args.epochs * args.checks_per_epoch))  # a few validation checks per pass over the reviews
    with run.scope():
        model = build(args, len(vocabulary), decay_steps=checks * steps_per_check)
    model.summary()
    model.fit(
        train_ds.repeat(),
        epochs=checks,
        steps_per_epoch=steps_per_check,
        callbacks=run.callbacks(patience=args.patience, evaluators=[ValidationPerplexity(val_ds)]),
    )
    perplexities, validation_words = evaluate(model, val_ds, scores)
    seconds = time.perf_counter() - run.started, baseline_seconds
    train_words = sum(len(piece) for piece in train_ids)
    metrics, results = metrics_and_results(
        perplexities, validation_words, scores, train_words, len(vocabulary), seconds, args
    )
    # What the classifier starts from, checked to load again
    start_from = save_for_classifier(run.output_dir, model, vocabulary, args, metrics)
    check_saved_models(run.output_dir, model, start_from, next(iter(val_ds))[:4])
    words_per_check = train_words * steps_per_check / int(train_ds.cardinality())
    plot_perplexity(
        read_history(run.output_dir / HISTORY_FILE),
        scores,
        words_per_check,
        run.output_dir / "perplexity.png",
        CORPORA[args.corpus].what,
    )
    return run.finish(metrics, results)


if __name__ == "__main__":
    cli.run(main)
