"""Forecast a noisy sine wave with a recurrent network, one and several steps ahead.

Chapter: 000 §4 (Keras SimpleRNN(32) + Dense(1) regression) and
         003 §4 (SimpleRNN(128, relu) + Dense(1), Adam, MSE), done on a real
         series with time-ordered splits, baselines and the noise floor.
Run:     make example-sine        (quick check: make smoke-sine)
Results: see README.md (measured, with hardware and wall time)

The model forecasts the next `--horizon` values at once ("direct" multi-step:
one Dense output per future step), so step 1 is the one-step forecast and the
mean over all steps the multi-step score. Because the noise is known, every
MSE is also reported as a ratio to the noise variance, the floor no
forecaster can beat: 1.00 is perfect.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import json

import numpy as np

from common import cli
from common.plots import plt, save_figure
from common.ranges import training_range
from common.saving import check_round_trip
from common.training import Run, array_dataset

from model import OPTIMIZERS, build_model
from series import RANGE_FILE, noisy_sine, persistence_forecast, seasonal_naive_forecast, split_in_time, windows

EXAMPLE = "sine"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument("--length", type=cli.positive_int, default=20_000, help="number of time steps in the series")
    data.add_argument("--period", type=cli.positive_float, default=50.0, help="sine period in time steps")
    data.add_argument("--noise", type=cli.positive_float, default=0.1, help="standard deviation of the Gaussian noise")
    data.add_argument("--window", type=cli.positive_int, default=100, help="input window length (time steps)")
    data.add_argument("--horizon", type=cli.positive_int, default=10, help="how many future steps to forecast")
    cli.add_model_args(parser, cell="lstm", units=64, layers=1)
    parser.add_argument(
        "--activation",
        default="tanh",
        choices=("tanh", "relu"),
        help="recurrent activation; relu (chapter 003) disables cuDNN for LSTM/GRU",
    )
    parser.add_argument("--optimizer", default="adam", choices=tuple(OPTIMIZERS), help="rmsprop is chapter 000's")
    cli.add_training_args(parser, epochs=40, batch_size=64, learning_rate=2e-3, patience=8)
    args = cli.parse(parser, argv, EXAMPLE, quick={"length": 3000, "window": 50, "units": 16, "epochs": 3})
    shortest_segment = min(len(segment) for segment in split_in_time(np.zeros(args.length)))
    if shortest_segment < args.window + args.horizon:
        parser.error(
            f"--length {args.length} leaves {shortest_segment} steps for validation and test, fewer than "
            f"--window {args.window} + --horizon {args.horizon}; use a longer series or a shorter window"
        )
    if args.window < round(args.period):
        parser.error(f"--window {args.window} must cover one --period ({args.period}) for the seasonal baseline")
    return args


def make_dataset(inputs, targets, batch_size, shuffle, seed):
    """Windows as a tf.data pipeline of (batch, window, 1) -> (batch, horizon).

    `timeseries_dataset_from_array` would window the raw series for us; we
    window once in NumPy instead because the baselines need the same arrays.
    """
    return array_dataset(inputs[..., None], targets, batch_size, shuffle, seed)


def mse_by_step(forecast, targets):
    """(horizon,) mean squared error at each step ahead."""
    return ((forecast - targets) ** 2).mean(axis=0)


def score_table(forecasts, targets, noise_variance):
    """{name: {one_step_mse, multi_step_mse, one_step_ratio, multi_step_ratio}}."""
    table = {}
    for name, forecast in forecasts.items():
        per_step = mse_by_step(forecast, targets)
        table[name] = {
            "one_step_mse": float(per_step[0]),
            "multi_step_mse": float(per_step.mean()),
            "one_step_ratio": float(per_step[0] / noise_variance),
            "multi_step_ratio": float(per_step.mean() / noise_variance),
        }
    return table


def print_table(table, horizon):
    print(f"\n{'test windows':<16}{'1-step MSE':>12}{'/noise':>8}{f'{horizon}-step MSE':>14}{'/noise':>8}")
    for name, row in table.items():
        print(
            f"{name:<16}{row['one_step_mse']:>12.5f}{row['one_step_ratio']:>8.3f}"
            f"{row['multi_step_mse']:>14.5f}{row['multi_step_ratio']:>8.3f}"
        )


def plot_forecast(history_values, truth, forecasts, path, title="forecast"):
    """Past values, true future and each named forecast on one time axis.

    history_values: (T,) values the model saw; truth: (H,) what happened next;
    forecasts: {name: (H,) predicted values}.
    """
    figure, axis = plt.subplots(figsize=(9, 3.6))
    past = range(-len(history_values) + 1, 1)
    future = range(1, len(truth) + 1)
    axis.plot(past, history_values, color="grey", label="input window")
    axis.plot(future, truth, color="black", marker="o", label="truth")
    for name, values in forecasts.items():
        axis.plot(future, values, marker="x", label=name)
    axis.axvline(0.5, color="grey", linestyle=":")
    axis.set_xlabel("time step (0 = last input)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def load_data(args):
    """A noisy sine split in time, each segment cut into (windows, next values): {"train": (x, y), ...}, and the
    training segment (the model's normalisation statistics and the forecast script's range come from it)."""
    series = noisy_sine(args.length, args.period, args.noise, seed=args.seed)
    segments = dict(zip(("train", "validation", "test"), split_in_time(series), strict=True))
    data = {name: windows(segment, args.window, args.horizon) for name, segment in segments.items()}
    print(", ".join(f"{name} windows {len(x)}" for name, (x, _) in data.items()))
    return data, segments["train"]


def build(args, train_segment):
    return build_model(
        args.window,
        args.horizon,
        float(train_segment.mean()),
        float(train_segment.var()),
        **cli.model_options(args),
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
    )


def train(model, data, args, run):
    # shuffle=False: the dataset already reshuffles itself every epoch (see make_dataset).
    model.fit(
        make_dataset(*data["train"], args.batch_size, shuffle=True, seed=args.seed),
        validation_data=make_dataset(*data["validation"], args.batch_size, shuffle=False, seed=args.seed),
        epochs=args.epochs,
        shuffle=False,
        callbacks=run.callbacks(patience=args.patience, reduce_lr_patience=3),
    )


def evaluate(model, x_test, args, output_dir):
    """{name: (windows, horizon) forecast} of the model and the baselines on the test windows, used once."""
    model_forecast = model.predict(x_test[..., None], batch_size=512, verbose=0)
    # The saved model loads again (as forecast.py loads it) and forecasts as the model in memory does.
    check_round_trip(output_dir / "model.keras", model_forecast[:16], inputs=x_test[:16, :, None])
    return {
        f"{args.cell} model": model_forecast,
        "persistence": persistence_forecast(x_test, args.horizon),
        "seasonal naive": seasonal_naive_forecast(x_test, args.horizon, args.period),
    }


def report(forecasts, x_test, y_test, args, run):
    """Print and plot the scores against the noise floor, and finish the run record."""
    noise_variance = args.noise**2
    table = score_table(forecasts, y_test, noise_variance)
    print_table(table, args.horizon)
    print(f"noise floor: MSE {noise_variance:.5f} (ratio 1.000)")
    plot_forecast(
        x_test[0],
        y_test[0],
        {name: forecast[0] for name, forecast in forecasts.items()},
        run.output_dir / "forecast.png",
        title=f"{args.horizon}-step forecast of a test window",
    )
    model_row = table[f"{args.cell} model"]
    results = [
        {
            "metric": "1-step test MSE / noise variance (lower is better, 1.0 is the floor)",
            "model": model_row["one_step_ratio"],
            "baseline": table["persistence"]["one_step_ratio"],
            "baseline_name": "persistence",
        },
        {
            "metric": f"{args.horizon}-step test MSE / noise variance",
            "model": model_row["multi_step_ratio"],
            "baseline": table["seasonal naive"]["multi_step_ratio"],
            "baseline_name": "seasonal naive",
        },
    ]
    metrics = {
        "noise_variance": noise_variance,
        **{f"{name}/{key}": value for name, row in table.items() for key, value in row.items()},
        "one_step_ratio": model_row["one_step_ratio"],
        "multi_step_ratio": model_row["multi_step_ratio"],
    }
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv)
    data, train_segment = load_data(args)
    with run.scope():
        model = build(args, train_segment)
    model.summary()
    # forecast.py flags (or refuses) values beyond what the model saw: the training segment's range.
    (run.output_dir / RANGE_FILE).write_text(json.dumps(training_range(train_segment)))
    train(model, data, args, run)
    x_test, y_test = data["test"]
    return report(evaluate(model, x_test, args, run.output_dir), x_test, y_test, args, run)


if __name__ == "__main__":
    cli.run(main)
