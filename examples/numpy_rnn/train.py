"""A vanilla RNN from scratch in NumPy: gradient check, the same network in Keras, training, and gradients measured.

Chapter: 002 §4 (NumPy `rnn_step_forward`), 000 §3 (forward pass, BPTT,
         weight update) and 004 §3.3.2 / §9.2 (vanishing and exploding
         gradients, and how to fix them).
Run:     make example-numpy_rnn        (quick check: make smoke-numpy_rnn)
Results: see README.md (measured, with hardware and wall time)

Steps: (1) check every BPTT gradient against finite differences, (2) load
the NumPy weights into Keras SimpleRNN + Dense and compare outputs, (3) train
a character model on a slice of tiny Shakespeare beside the unigram
baseline, (4) measure how the gradient reaching back k steps shrinks in a
SimpleRNN and an LSTM, and what clipping does to an exploding one.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

from pathlib import Path

import numpy as np

from common import cli
from common.chars import load_text, unigram_loss
from common.plots import plt, save_figure
from common.training import HISTORY_FILE, Run

from bridge import exploding_gradient_norms, gradient_by_distance, largest_disagreement
from rnn import Adam, backward, clip_by_global_norm, forward, gradient_check, init_params, sample

EXAMPLE = "numpy_rnn"
GRADIENT_TOLERANCE = 1e-6


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    parser.add_argument("--chars", type=cli.positive_int, default=200_000, help="characters of tiny Shakespeare used")
    parser.add_argument("--text-file", type=Path, help="train on this UTF-8 text instead of tiny Shakespeare")
    parser.add_argument("--hidden-size", type=cli.positive_int, default=100, help="H, the hidden state size")
    parser.add_argument("--sequence-length", type=cli.positive_int, default=25, help="T, steps per BPTT update")
    parser.add_argument("--iterations", type=cli.positive_int, default=12_000, help="parameter updates")
    parser.add_argument("--report-every", type=cli.positive_int, default=1000, help="validate every N updates")
    parser.add_argument("--learning-rate", type=cli.positive_float, default=5e-3, help="Adam learning rate")
    parser.add_argument("--clipnorm", type=cli.positive_float, default=5.0, help="clip the gradients' joint norm")
    parser.add_argument("--seed", type=cli.non_negative_int, default=42, help="random seed")
    parser.add_argument("--quick", action="store_true", help="tiny slice and few updates: a smoke test")
    parser.add_argument("--data-dir", help="data folder (default: $RNN_EXAMPLES_DATA, else data/)")
    parser.add_argument("--output-dir", help="outputs folder (default: outputs/numpy_rnn)")
    return cli.parse(parser, argv, EXAMPLE, quick={"chars": 20_000, "iterations": 300, "report_every": 100})


def check_gradients(seed):
    """Step 1: BPTT against centred differences on a small random problem, every entry, float64."""
    rng = np.random.default_rng(seed)
    params = init_params(vocab_size=6, hidden_size=5, seed=seed, scale=0.5)  # large enough to be non-trivial
    inputs, targets = rng.integers(0, 6, 10), rng.integers(0, 6, 10)
    errors = gradient_check(params, inputs, targets, h_prev=rng.standard_normal((5, 1)) * 0.5)
    print("\n(1) gradient check: largest relative error, BPTT vs finite differences")
    for name, error in errors.items():
        print(f"    {name:<4} {error:.2e}  {'ok' if error < GRADIENT_TOLERANCE else 'FAILED'}")
    return errors


def check_keras_agreement(seed):
    """Step 2: the NumPy weights in Keras SimpleRNN + Dense give the same outputs."""
    rng = np.random.default_rng(seed)
    params = init_params(vocab_size=12, hidden_size=9, seed=seed, scale=0.4)
    difference = largest_disagreement(params, rng.integers(0, 12, 30))
    print(f"\n(2) NumPy vs Keras SimpleRNN + Dense, 30 steps: largest log-probability difference {difference:.2e}")
    return difference


def validation_loss(params, val_ids, sequence_length):
    """Mean loss over the validation text, carrying the state across consecutive chunks."""
    h = np.zeros((params["Whh"].shape[0], 1))
    total, count = 0.0, 0
    for start in range(0, len(val_ids) - 1 - sequence_length, sequence_length):
        chunk = val_ids[start : start + sequence_length + 1]
        loss, (_, hs, _) = forward(params, chunk[:-1], chunk[1:], h)
        h = hs[len(chunk) - 2]
        total, count = total + loss * (len(chunk) - 1), count + len(chunk) - 1
    return total / count


def train_characters(args, run, vocabulary, train_ids, val_ids):
    """Step 3: truncated BPTT over consecutive chunks, Adam, gradient clipping."""
    params = init_params(len(vocabulary), args.hidden_size, seed=args.seed)
    optimizer = Adam(params, args.learning_rate)
    h = np.zeros((args.hidden_size, 1))
    position, smooth_loss, rows = 0, None, []
    history = run.output_dir / HISTORY_FILE
    history.write_text("epoch,loss,val_loss\n")
    print(f"\n(3) training on {len(train_ids):,} characters, vocabulary {len(vocabulary)}")
    for iteration in range(1, args.iterations + 1):
        if position + args.sequence_length + 1 > len(train_ids):
            position, h = 0, np.zeros_like(h)  # back to the start of the text with a fresh state
        chunk = train_ids[position : position + args.sequence_length + 1]
        loss, cache = forward(params, chunk[:-1], chunk[1:], h)
        grads, _ = clip_by_global_norm(backward(params, cache, chunk[1:]), args.clipnorm)
        optimizer.update(params, grads)
        h = cache[1][args.sequence_length - 1]  # carry the state into the next chunk
        position += args.sequence_length
        smooth_loss = loss if smooth_loss is None else 0.99 * smooth_loss + 0.01 * loss
        if iteration % args.report_every == 0:
            val = validation_loss(params, val_ids, args.sequence_length)
            rows.append((iteration // args.report_every - 1, smooth_loss, val))
            with open(history, "a") as handle:
                handle.write(f"{rows[-1][0]},{smooth_loss:.5f},{val:.5f}\n")
            print(f"    update {iteration:>6}: training loss {smooth_loss:.3f}, validation loss {val:.3f} nats/char")
    return params, rows


def measure_gradients(run, quick):
    """Step 4: gradient norm against distance, SimpleRNN vs LSTM; an exploding case and clipping."""
    steps = 30 if quick else 100
    trials = 2 if quick else 8
    simple = gradient_by_distance("simple_rnn", steps=steps, trials=trials)
    lstm = gradient_by_distance("lstm", steps=steps, trials=trials)
    plot_lines(
        {"SimpleRNN (tanh)": simple, "LSTM": lstm},
        run.output_dir / "gradient_decay.png",
        title="How much of the loss gradient reaches an input k steps back",
        xlabel="k (steps before the last)",
        ylabel="mean ||dL/dx_(T-k)||",
        log_y=True,
    )
    exploding = exploding_gradient_norms(steps=steps)
    lengths = list(exploding)
    plot_lines(
        {
            "no clipping": [exploding[n][0] for n in lengths],
            "clip_by_global_norm(1.0)": [exploding[n][1] for n in lengths],
        },
        run.output_dir / "exploding.png",
        title="relu SimpleRNN, recurrent gain 1.5: weight-gradient norm",
        xlabel="sequence length",
        ylabel="||dL/dW||",
        log_y=True,
        x=lengths,
    )
    ratio = lambda norms, k: float(norms[k] / norms[0])  # noqa: E731
    k = steps - 1
    print(
        f"\n(4) gradient reaching {k} steps back, relative to the last step: "
        f"SimpleRNN {ratio(simple, k):.1e}, LSTM {ratio(lstm, k):.1e}"
    )
    print(
        f"    exploding relu SimpleRNN: norm {exploding[lengths[0]][0]:.1e} at length {lengths[0]}, "
        f"{exploding[lengths[-1]][0]:.1e} at {lengths[-1]}; clipped to {exploding[lengths[-1]][1]:.2f}"
    )
    return {
        "simple_rnn_ratio": ratio(simple, k),
        "lstm_ratio": ratio(lstm, k),
        "steps_back": k,
        "exploding_norms": {str(n): v for n, v in exploding.items()},
    }


def plot_lines(series, path, title, xlabel, ylabel, log_y=False, x=None):
    """One line per named series of values (e.g. gradient norms against distance)."""
    figure, axis = plt.subplots(figsize=(8, 3.8))
    for name, values in series.items():
        axis.plot(range(len(values)) if x is None else x, values, marker="." if len(values) < 40 else None, label=name)
    if log_y:
        axis.set_yscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def check_against_keras(seed):
    """(1) BPTT's gradients against finite differences (refused if they disagree); (2) the same network in Keras:
    the errors and the largest difference."""
    errors = check_gradients(seed)
    difference = check_keras_agreement(seed)
    if max(errors.values()) >= GRADIENT_TOLERANCE:
        raise SystemExit(f"error: a BPTT gradient disagrees with finite differences: {errors}")
    return errors, difference


def learn_characters(args, run):
    """(3) A character model trained on tiny Shakespeare: its best validation loss, the unigram baseline's, and a
    sample it writes (sample.txt)."""
    vocabulary, train_ids, val_ids = load_text(
        text_file=args.text_file, data_dir=args.data_dir, max_chars=args.chars, sequence_length=args.sequence_length
    )
    vocabulary, train_ids, val_ids = vocabulary.chars, train_ids.astype(np.int64), val_ids.astype(np.int64)
    params, rows = train_characters(args, run, vocabulary, train_ids, val_ids)
    baseline = unigram_loss(train_ids, val_ids, len(vocabulary))
    best_val = min(val for _, _, val in rows)
    print(f"    best validation loss {best_val:.3f} nats/char; unigram baseline {baseline:.3f}")
    rng = np.random.default_rng(args.seed)
    text = "".join(
        vocabulary[i] for i in sample(params, np.zeros((args.hidden_size, 1)), int(val_ids[0]), 300, rng, 0.8)
    )
    (run.output_dir / "sample.txt").write_text(text)
    print(f"    sample (temperature 0.8):\n{text}\n")
    return best_val, baseline


def main(argv=None):
    args = parse_args(argv)
    run = Run(
        EXAMPLE, vars(args), output_dir=args.output_dir, seed=args.seed, quick=args.quick, resumable=False, argv=argv
    )  # a few minutes of NumPy: a rerun starts over
    errors, difference = check_against_keras(args.seed)
    best_val, baseline = learn_characters(args, run)
    gradients = measure_gradients(run, args.quick)  # (4) vanishing and exploding gradients, measured
    metrics = {
        "gradient_check": errors,
        "keras_difference": difference,
        "val_loss": best_val,
        "unigram_val_loss": baseline,
        **gradients,
    }
    results = [
        {
            "metric": "validation loss, nats/char (200k chars of tiny Shakespeare)",
            "model": best_val,
            "baseline": baseline,
            "baseline_name": "unigram",
        }
    ]
    return run.finish(metrics, results)


if __name__ == "__main__":
    cli.run(main)
