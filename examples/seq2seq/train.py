"""Sequence to sequence with attention: from a word's spelling to its pronunciation (CMU Pronouncing Dictionary).

Chapter: 004 §6.1.2 (the encoder-decoder of machine translation) and §8.2
         (attention); the chapter translates sentences, here letters become
         phonemes: "through" -> TH R UW1.
Run:     make example-seq2seq                           (--attention additive, the default)
         python examples/seq2seq/train.py --attention none   (the plain encoder-decoder, the baseline)
         (quick check: make smoke-seq2seq)
Use:     python examples/seq2seq/pronounce.py WORD...
Results: see README.md (measured, with hardware and wall time)

A bidirectional encoder reads the letters; a decoder RNN writes the
phonemes one by one, starting from the encoder's final state and, at every
step, attending over the encoder's outputs. Training feeds the decoder the
true previous phoneme (teacher forcing); testing decodes (greedy and beam
search) and scores word error rate (a word is right when it matches any of
its dictionary pronunciations) and phoneme error rate, beside a non-neural
baseline on the same test words.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import re
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from common import cli
from common.data import DataNotFoundError, read_utf8
from common.plots import plt, save_figure
from common.saving import check_round_trip
from common.text import batch_by_length
from common.training import Run

from g2p import Pronouncer, decoder_inputs_and_targets
from lexicon import (
    SYMBOLS_FILE,
    NearestSpellingBaseline,
    Symbols,
    error_rates,
    load_cmudict,
    read_dictionary,
    save_split,
    split_words,
)
from model import ATTENTION, build_model

EXAMPLE = "seq2seq"
# Test words shown in the attention plot when the split puts them on the test side (else random test words).
BEAM_WIDTHS_TRIED = (1, 2, 4, 8)
# Spellings the attention heatmap should show, one test word each (of 5 to 8 letters): two letters
# read as one phoneme (ph -> F), silent letters (k in kn-, gh in -igh-, w in wr-, b in -mb), a double letter.
SHOWCASE_PATTERNS = (r"ph", r"^kn", r"igh", r"^wr", r"mb$", r"(tt|ll|ss)")


# A quick run's 140 or so steps are too few for the full run's average over the last 1,000.
QUICK = {"max_words": 3000, "units": 32, "embedding_dim": 16, "epochs": 3, "batch_size": 64, "weight_averaging": 0.9}


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dictionary",
        type=Path,
        help="a pronouncing dictionary in cmudict.dict's format (default: the one in the cmudict package)",
    )
    data.add_argument(
        "--stress",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the vowels' stress digits (AH0, AH1: 69 phonemes, a harder task); "
        "without, the 39 phonemes of the published benchmarks",
    )
    data.add_argument("--max-words", type=cli.positive_int, help="use a seeded random sample of this many words")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--attention", choices=ATTENTION, default="additive", help="additive (Bahdanau), dot (Luong) or none"
    )
    model.add_argument("--cell", choices=("lstm", "gru"), default="gru", help="recurrent cell of encoder and decoder")
    model.add_argument(
        "--units",
        type=cli.positive_int,
        default=128,
        help="encoder units per direction (the decoder has twice as many)",
    )
    model.add_argument(
        "--encoder-layers",
        type=cli.positive_int,
        default=2,
        help="stacked bidirectional layers in the encoder (1: the model before #35's second layer)",
    )
    model.add_argument("--embedding-dim", type=cli.positive_int, default=64, help="letter and phoneme vector size")
    model.add_argument(
        "--dropout", type=cli.fraction, default=0.2, help="dropout on the encoder's and decoder's inputs and outputs"
    )
    model.add_argument(
        "--label-smoothing",
        type=cli.fraction,
        default=0.0,
        help="train against targets with this share spread over all phonemes (0: plain cross-entropy)",
    )
    decoding = parser.add_argument_group("decoding")
    decoding.add_argument(
        "--beam-width", type=cli.positive_int, default=4, help="beams kept while decoding the test words (1: greedy)"
    )
    # Patience 5, not 3: with dropout 0.2 validation accuracy stalls for a few epochs after the first halvings of
    # the learning rate, then climbs again (README, #35: seed 42 stopped at such a stall with 3).
    cli.add_training_args(
        parser, epochs=25, batch_size=128, learning_rate=2e-3, patience=5, clipnorm=1.0, weight_averaging=0.999
    )
    return cli.parse(
        parser,
        argv,
        lambda options: f"{EXAMPLE}-{options.attention}",
        quick=QUICK,
    )


def load_lexicon(dictionary, stress):
    """{word: [pronunciation, ...]} and where it came from."""
    if dictionary is None:
        lexicon, version = load_cmudict(stress)
        return lexicon, f"cmudict package {version}"
    if not Path(dictionary).exists():
        raise DataNotFoundError(f"{dictionary} not found: give a file in cmudict.dict's format (word PH1 PH2 ...)")
    lexicon = read_dictionary(read_utf8(dictionary), stress)
    if len(lexicon) < 3:
        raise SystemExit(
            f"error: {dictionary} has {len(lexicon)} usable words (letters and apostrophes); need 3 or more"
        )
    return lexicon, str(dictionary)


def sample_words(words, count, seed):
    """`count` words drawn with `seed` (all of them when there are fewer)."""
    words = sorted(words)
    if count is None or count >= len(words):
        return words
    return sorted(np.random.default_rng(seed).choice(words, count, replace=False).tolist())


def examples_of(words, lexicon, symbols):
    """One (letter ids, decoder input, target) per pronunciation: a word with two pronunciations gives two."""
    examples = []
    for word in words:
        letters = symbols.encode_word(word)
        for pronunciation in lexicon[word]:
            examples.append((letters, *decoder_inputs_and_targets(symbols.encode_pronunciation(pronunciation))))
    return examples


def make_dataset(examples, batch_size, shuffle, seed):
    """Batches ((letters, previous phonemes), next phonemes) of similar length, 0-padded on the right."""
    signature = ((tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)), tf.TensorSpec([None], tf.int32))
    dataset = tf.data.Dataset.from_generator(
        lambda: (((letters, previous), target) for letters, previous, target in examples), output_signature=signature
    ).cache()
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    lengths = [len(target) for _, _, target in examples]
    return batch_by_length(dataset, lengths, [5, 7, 9, 11, 14], batch_size, lambda inputs, target: tf.shape(target)[0])


def evaluate(name, pronounce, words, lexicon):
    """Error rates of `pronounce(words)` on `words`, the time it took, and the predictions."""
    started = time.perf_counter()
    predicted = pronounce(words)
    seconds = time.perf_counter() - started
    rates = error_rates(dict(zip(words, predicted, strict=True)), lexicon)
    speed = f"{seconds:.1f} s, {len(words) / seconds:,.0f} words/s"
    print(f"{name:<34} WER {rates['wer']:.4f}  PER {rates['per']:.4f}  ({speed})")
    return rates, seconds, predicted


def showcase_words(words, count=6):
    """One word per SHOWCASE_PATTERNS entry (alphabetically first of 5 to 8 letters; short enough to read, long
    enough to show an alignment), topped up with others."""
    readable = sorted(word for word in set(words) if 5 <= len(word) <= 8)
    shown = []
    for pattern in SHOWCASE_PATTERNS:
        shown += [word for word in readable if re.search(pattern, word) and word not in shown][:1]
    spare = [word for word in sorted(set(words)) if word not in shown]
    return (shown + spare[:: max(1, len(spare) // count)])[:count]


def plot_attention(pronouncer, words, path):
    """Heatmaps of the attention weights (letters across, phonemes down) of greedy decoding."""
    pronunciations, weights = pronouncer.greedy(words, with_attention=True)
    columns = min(3, len(words))
    rows = -(-len(words) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.8 * rows), squeeze=False)
    for axis, word, phonemes, matrix in zip(axes.flat, words, pronunciations, weights, strict=False):
        axis.imshow(matrix, cmap="Greys", vmin=0, vmax=1, aspect="auto")
        axis.set_xticks(range(len(word)), list(word))
        axis.set_yticks(range(len(phonemes) + 1), [*phonemes, "</s>"])
        axis.set_title(word)
    for axis in list(axes.flat)[len(words) :]:
        axis.axis("off")
    figure.suptitle("attention weights: each phoneme (row) over the letters (columns)")
    figure.tight_layout()
    save_figure(figure, path)


def load_data(args, output_dir):
    """The dictionary, its words split into train / validation / test (saved in `output_dir`), the symbol tables
    of the training words (saved too: pronounce.py maps letters and phonemes with the same tables), and each
    part's words whose letters the tables know."""
    lexicon, source = load_lexicon(args.dictionary, args.stress)
    words = sample_words(lexicon, args.max_words, args.seed)
    split = split_words(words, args.seed)
    save_split(split, output_dir)
    counts = {
        name: {"words": len(part), "pronunciations": sum(len(lexicon[word]) for word in part)}
        for name, part in split.items()
    }
    print(f"{source}: {len(lexicon):,} words of letters and apostrophes, {len(words):,} used")
    for name, count in counts.items():
        print(f"  {name:<11}{count['words']:>8,} words {count['pronunciations']:>8,} pronunciations")
    symbols = Symbols.from_lexicon({word: lexicon[word] for word in split["train"]})
    symbols.save(output_dir / SYMBOLS_FILE)
    print(f"symbols: {len(symbols.letters)} letters, {len(symbols.phonemes)} phonemes")
    # Validation words may hold a letter that no training word has (tiny samples): they are left out.
    known = {name: [word for word in part if not symbols.unknown_letters(word)] for name, part in split.items()}
    return lexicon, symbols, known, {"source": source, "stress": args.stress, "counts": counts}


def build(args, symbols):
    """The encoder-decoder (chapter 004 §6.1.2), with attention (§8.2)."""
    return build_model(
        symbols.letters_size,
        symbols.phonemes_size,
        attention=args.attention,
        cell=args.cell,
        units=args.units,
        encoder_layers=args.encoder_layers,
        embedding_dim=args.embedding_dim,
        dropout=args.dropout,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        label_smoothing=args.label_smoothing,
        weight_averaging=args.weight_averaging,
    )


def train(model, lexicon, symbols, known, args, run):
    """Training with teacher forcing."""
    train_ds, val_ds = (
        make_dataset(examples_of(known[name], lexicon, symbols), args.batch_size, name == "train", args.seed)
        for name in ("train", "validation")
    )
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # the dataset reshuffles itself every epoch
        callbacks=run.callbacks(
            patience=args.patience, reduce_lr_patience=1, averaged_weights=bool(args.weight_averaging)
        ),
    )


def test(pronouncer, known, lexicon, beam_width):
    """Decode the test words, scored against all their pronunciations: {"greedy", "beam", "validation by width":
    ...} (the widths tried on the validation words show how the default --beam-width was chosen)."""
    print("beam width on the validation words (how the default --beam-width was chosen):")
    by_width = {
        width: evaluate(
            f"  beam width {width}", lambda words, w=width: pronouncer.pronounce(words, w), known["validation"], lexicon
        )[0]
        for width in BEAM_WIDTHS_TRIED
    }
    greedy = evaluate("greedy", pronouncer.greedy, known["test"], lexicon)
    beam = evaluate(
        f"beam search, width {beam_width}",
        lambda words: pronouncer.pronounce(words, beam_width),
        known["test"],
        lexicon,
    )
    return {"greedy": greedy, "beam": beam, "by_width": by_width}


def show(pronouncer, test_words, predicted, lexicon, attention, output_dir):
    """Every eighth test word's pronunciation beside the dictionary's; the attention weights of a few words."""
    if attention != "none":
        plot_attention(pronouncer, showcase_words(test_words), output_dir / "attention.png")
    for word, phonemes in list(zip(test_words, predicted, strict=True))[:: max(1, len(test_words) // 8)]:
        references = " | ".join(" ".join(reference) for reference in lexicon[word])
        print(f"  {word:<16} {' '.join(phonemes):<28} dictionary: {references}")


def report(tested, baseline, rnn_seconds, test_words, args, run, data):
    (greedy, greedy_seconds, _), (beam, beam_seconds, _) = tested["greedy"], tested["beam"]
    baseline, baseline_seconds, _ = baseline
    model_name = f"{args.attention} attention" if args.attention != "none" else "no attention"
    results = [
        {
            "metric": f"{name} (test words, beam {args.beam_width}, {model_name})",
            "model": beam[key],
            "baseline": baseline[key],
            "baseline_name": "pronunciation of the training word with the longest shared ending",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        }
        for key, name in (("wer", "word error rate"), ("per", "phoneme error rate"))
    ]
    metrics = {
        "wer": beam["wer"],
        "per": beam["per"],
        "greedy_wer": greedy["wer"],
        "greedy_per": greedy["per"],
        "baseline_wer": baseline["wer"],
        "baseline_per": baseline["per"],
        "greedy_words_per_second": len(test_words) / greedy_seconds,
        "beam_words_per_second": len(test_words) / beam_seconds,
        "rnn_wall_time_s": round(rnn_seconds, 1),
        "validation_by_beam_width": tested["by_width"],
    }
    return run.finish(metrics, results, extra={"data": data})


def main(argv=None):
    args = parse_args(argv)
    # Early stopping follows per-phoneme accuracy: the validation loss turns up (over-confidence) while
    # the phonemes, what the error rates count, still improve.
    run = Run(
        EXAMPLE,
        vars(args),
        **cli.run_settings(args),
        monitor="val_accuracy",
        mode="max",
        argv=argv,
        name=f"{EXAMPLE}-{args.attention}",
    )
    lexicon, symbols, known, data = load_data(args, run.output_dir)
    with run.scope():
        model = build(args, symbols)
    model.summary()
    train(model, lexicon, symbols, known, args, run)
    pronouncer = Pronouncer(model, symbols)
    tested = test(pronouncer, known, lexicon, args.beam_width)
    rnn_seconds = time.perf_counter() - run.started
    test_words, predicted = known["test"], tested["greedy"][2]
    check_round_trip(
        run.output_dir / "model.keras",
        predicted[:100],
        answer=lambda loaded: Pronouncer(loaded, Symbols.load(run.output_dir / SYMBOLS_FILE)).greedy(test_words[:100]),
    )
    nearest = NearestSpellingBaseline(lexicon, known["train"])
    baseline = evaluate(
        "nearest spelling (baseline)", lambda ws: [nearest.pronounce(w) for w in ws], test_words, lexicon
    )
    show(pronouncer, test_words, predicted, lexicon, args.attention, run.output_dir)
    return report(tested, baseline, rnn_seconds, test_words, args, run, data)


if __name__ == "__main__":
    cli.run(main)
