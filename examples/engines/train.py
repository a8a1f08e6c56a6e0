"""Equipment health: remaining useful life (RUL) of turbofan engines from their sensors (NASA C-MAPSS FD001).

Chapter: 004 §6.3.3 (time-series prediction: equipment health monitoring).
Run:     make example-engines        (quick check: make smoke-engines)
Use:     python examples/engines/predict.py CYCLES_FILE
Results: see README.md (measured, with hardware and wall time)

The protocol of the literature: each training cycle is labelled with the
cycles its engine had left, capped at --rul-cap; sensors that never change
are dropped; the rest are scaled on training engines only; the model reads
the last --window cycles and predicts the RUL at the last one. A test engine
is scored once, at its last observed cycle, against NASA's true RUL, by RMSE
and by the PHM08 score, beside a linear model on the same windows and the
constant mean.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import json
import time

import numpy as np
from sklearn.linear_model import Ridge

from common import cli
from common.data import resolve_data_dir
from common.ensemble import average_models, member_histories, member_seed, train_ensemble
from common.plots import plt, save_figure
from common.saving import check_round_trip
from common.training import Run, fit_arrays

from cmapss import (
    COLUMNS,
    PREPROCESSING_FILE,
    Scaler,
    constant_columns,
    engine_features,
    engines,
    load_fd001,
    phm08_score,
    rmse,
    rul_labels,
    setting_and_sensor_range,
    uncorrelated_columns,
    windows,
)
from model import build_model

EXAMPLE = "engines"


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument("--window", type=cli.positive_int, default=30, help="cycles the model reads (the last ones)")
    data.add_argument("--rul-cap", type=cli.positive_int, default=125, help="cap on the RUL labels (piecewise linear)")
    data.add_argument(
        "--smoothing",
        type=cli.weight,
        default=0.05,
        metavar="ALPHA",
        help="exponential moving average of each engine's scaled sensors over its history (weight of the newest "
        "cycle; 1 leaves them raw)",
    )
    data.add_argument(
        "--min-correlation",
        type=float,
        default=0.2,
        help="drop varying columns whose |correlation| with the training engines' RUL labels is below this "
        "(0 keeps all)",
    )
    data.add_argument(
        "--engine-baseline",
        type=cli.non_negative_int,
        default=0,
        metavar="CYCLES",
        help="also give the model each sensor minus the engine's own mean over its first CYCLES cycles (its drift "
        "since new; 0: absolute values only)",
    )
    data.add_argument(
        "--validation-engines", type=cli.positive_int, default=20, help="training engines held out for validation"
    )
    # Both directions and shifted windows: together 13.58 (13.50-13.72) over five seeds, every seed below every
    # seed of the one-way GRU without them (14.19, 13.97-14.55) and of either change alone (README, #35).
    model = cli.add_model_args(parser, cell="gru", units=64, layers=2, dropout=0.2, bidirectional=True)
    model.add_argument(
        "--conv-filters",
        type=cli.non_negative_int,
        default=0,
        help="a convolution over --conv-kernel cycles before the recurrent layers, with this many filters (0: none)",
    )
    model.add_argument("--conv-kernel", type=cli.positive_int, default=5, help="cycles each convolution output sees")
    model.add_argument(
        "--sensor-noise",
        type=cli.non_negative_float,
        default=0.06,
        metavar="STD",
        help="in training, shift each window's scaled sensors by one random amount each (normal, this standard "
        "deviation; engines start at different levels of wear); 0: none",
    )
    training = cli.add_training_args(
        parser,
        epochs=60,
        batch_size=256,
        learning_rate=2e-3,
        patience=10,
        clipnorm=1.0,
        weight_averaging=0.99,
        data_parallel=True,
    )
    training.add_argument(
        "--members",
        type=cli.positive_int,
        default=1,
        help="train N networks from seeds SEED, SEED+1, ... on the same engines, one after another, and average "
        "their answers (an ensemble; member-N/ holds each one's history and checkpoint; 1 = a single network)",
    )
    return cli.parse(parser, argv, EXAMPLE, quick={"units": 16, "layers": 1, "epochs": 3, "validation_engines": 5})


def split_engines(units, count, seed):
    """(training units, validation units): `count` whole engines held out, chosen with `seed`."""
    units = sorted(units)
    if not 0 < count < len(units):
        raise SystemExit(f"error: --validation-engines {count} must be between 1 and {len(units) - 1}")
    held_out = set(np.random.default_rng(seed).choice(units, count, replace=False).tolist())
    return [unit for unit in units if unit not in held_out], sorted(held_out)


def labelled_windows(engine_rows, scaler, smoothing, window, cap, baseline=0):
    """(windows, RUL labels) of engines run to failure: every window, labelled with its last cycle's RUL."""
    inputs, labels = [], []
    for rows in engine_rows:
        inputs.append(windows(engine_features(rows, scaler, smoothing, baseline), window))
        labels.append(rul_labels(rows[:, 1], cap)[window - 1 :])
    return np.concatenate(inputs), np.concatenate(labels)


def last_windows(engine_rows, scaler, smoothing, window, baseline=0):
    """(engines, window, features): the last `window` cycles of each engine (where a test engine is scored); an
    engine younger than the window has its first cycle repeated before it."""
    return np.stack(
        [windows(engine_features(rows, scaler, smoothing, baseline), window, pad=True)[-1] for rows in engine_rows]
    )


def plot_test_engines(predicted, true, baseline, path):
    """Predicted against true RUL of the test engines, sorted by true RUL."""
    order = np.argsort(true)
    figure, axis = plt.subplots(figsize=(10, 4))
    axis.plot(np.asarray(true)[order], color="black", marker="o", markersize=3, label="true RUL")
    axis.plot(np.asarray(predicted)[order], marker="x", linestyle="", label="RNN")
    axis.plot(np.asarray(baseline)[order], marker=".", linestyle="", alpha=0.6, label="ridge on the window")
    axis.set_xlabel("test engine (sorted by true RUL)")
    axis.set_ylabel("remaining useful life (cycles)")
    axis.legend()
    save_figure(figure, path)


def plot_engine_life(model, rows, scaler, args, unit, path):
    """A held-out engine's predicted RUL at every cycle of its life, against the truth (capped and not)."""
    window, cap = args.window, args.rul_cap
    features = engine_features(rows, scaler, args.smoothing, args.engine_baseline)
    predicted = model.predict(windows(features, window), verbose=0)[:, 0]
    cycles = rows[window - 1 :, 1]
    figure, axis = plt.subplots(figsize=(9, 4))
    axis.plot(cycles, rows[:, 1].max() - cycles, color="grey", linestyle="--", label="cycles left")
    axis.plot(cycles, rul_labels(rows[:, 1], cap)[window - 1 :], color="black", label=f"label (capped at {cap})")
    axis.plot(cycles, predicted, label="RNN prediction")
    axis.set_xlabel("cycle")
    axis.set_ylabel("remaining useful life (cycles)")
    axis.set_title(f"validation engine {unit}, over its whole life")
    axis.legend()
    save_figure(figure, path)


def scores(predicted, true, cap):
    """RMSE and PHM08 score against NASA's true RUL, and the RMSE against the truth capped like the labels
    (what much of the literature reports: a model trained on capped labels never says more than the cap)."""
    return {
        "rmse": rmse(predicted, true),
        "phm08_score": phm08_score(predicted, true),
        "rmse_capped_truth": rmse(predicted, np.minimum(true, cap)),
    }


def load_data(args):
    """FD001 ready for the model: {"train", "validation": (windows, RUL labels), "test": (last windows, true RUL)},
    the preprocessing (scaling fitted on the training engines; predict.py reads it) and what was chosen."""
    train_table, test_table, test_rul = load_fd001(resolve_data_dir(args.data_dir))
    train_engines, test_engines = engines(train_table), engines(test_table)
    train_units, validation_units = split_engines(train_engines, args.validation_engines, args.seed)
    fitted_on = np.concatenate([train_engines[unit] for unit in train_units])
    constant = constant_columns(fitted_on)
    labels = np.concatenate([rul_labels(train_engines[unit][:, 1], args.rul_cap) for unit in train_units])
    uncorrelated = uncorrelated_columns(fitted_on, labels, args.min_correlation)
    kept = [name for name in COLUMNS[2:] if name not in constant + uncorrelated]
    scaler = Scaler.fit(fitted_on, kept)
    print(
        f"FD001: {len(train_engines)} training engines ({len(train_units)} train, {len(validation_units)} validation), "
        f"{len(test_engines)} test engines; {len(kept)} columns kept; dropped: constant {', '.join(constant)}; "
        f"uncorrelated with RUL (|r| < {args.min_correlation}) {', '.join(uncorrelated) or 'none'}"
    )
    data = {
        name: labelled_windows(
            [train_engines[unit] for unit in units],
            scaler,
            args.smoothing,
            args.window,
            args.rul_cap,
            args.engine_baseline,
        )
        for name, units in (("train", train_units), ("validation", validation_units))
    }
    test_windows = last_windows(list(test_engines.values()), scaler, args.smoothing, args.window, args.engine_baseline)
    data["test"] = test_windows, test_rul
    print(", ".join(f"{name} windows {len(x):,}" for name, (x, _) in data.items()) + f" (of {args.window} cycles)")
    preprocessing = {
        **scaler.to_dict(),
        "smoothing": args.smoothing,
        "window": args.window,
        "engine_baseline": args.engine_baseline,
        "rul_cap": args.rul_cap,
        "dropped": constant + uncorrelated,
        "training_range": setting_and_sensor_range(fitted_on),  # predict.py flags or refuses engines outside it
    }
    chosen = {
        "constant_columns": constant,
        "uncorrelated_columns": uncorrelated,
        "kept_columns": kept,
        "validation_engines": validation_units,
    }
    longest = max(validation_units, key=lambda unit: len(train_engines[unit]))  # its life plot shows the cap
    return data, scaler, preprocessing, chosen, (longest, train_engines[longest])


def build(args, features, seed, name=None):
    return build_model(
        args.window,
        features,
        rul_cap=args.rul_cap,
        **cli.model_options(args),
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
        weight_averaging=args.weight_averaging,
        conv_filters=args.conv_filters,
        conv_kernel=args.conv_kernel,
        sensor_noise=args.sensor_noise,
        seed=seed,
        name=name,
    )


def train(data, args, run):
    """The trained network, or with --members N the average of N networks, each trained from its own seed (its
    weights, data order and sensor shifts) on the same engines; the result is saved as OUTPUT_DIR/model.keras."""
    features = data["train"][0].shape[-1]

    def build_member(index):
        name = f"rul_{args.cell}_{index}" if args.members > 1 else None
        model = build(args, features, member_seed(args.seed, index), name)
        if index == 1:
            model.summary()
        return model

    def fit_member(model, folder=None, seed=args.seed):
        averaged = bool(args.weight_averaging)
        return fit_arrays(model, data, args, run, folder, seed, reduce_lr_patience=4, averaged_weights=averaged)

    if args.members == 1:  # the single network: its checkpoint is OUTPUT_DIR/model.keras itself
        with run.scope():
            model = build_member(1)
        return fit_member(model)
    model = average_models(train_ensemble(run, args.members, build_member, fit_member), name="engines_ensemble")
    model.save(run.output_dir / "model.keras")
    return model


def network_name(args):
    averaged = f", {args.members} averaged" if args.members > 1 else ""
    return f"{args.cell} ({args.layers} layers{averaged})"


def test(model, data, args, run):
    """Each test engine at its last observed cycle: the model's RUL, then the baselines' (ridge regression on the
    window, the constant mean); {name: (predicted, scores)}, the seconds to the model's answers, the ridge's."""
    (x_train, y_train), (x_test, true_rul) = data["train"], data["test"]
    answers = model.predict(x_test, verbose=0)  # (engines, 1)
    rnn_seconds = time.perf_counter() - run.started
    check_round_trip(run.output_dir / "model.keras", answers, inputs=x_test, tolerance=1e-3)
    started = time.perf_counter()
    ridge = Ridge(alpha=1.0).fit(x_train.reshape(len(x_train), -1), y_train)
    ridge_predicted = ridge.predict(x_test.reshape(len(x_test), -1))
    ridge_seconds = time.perf_counter() - started
    predictions = {
        network_name(args): answers[:, 0],
        "ridge on the window": ridge_predicted,
        "constant mean": np.full(len(true_rul), y_train.mean()),
    }
    tested = {name: (predicted, scores(predicted, true_rul, args.rul_cap)) for name, predicted in predictions.items()}
    print(f"\n{'test engines (100)':<30}{'RMSE':>10}{'PHM08 score':>14}{'RMSE, truth capped':>20}")
    for name, (_, row) in tested.items():
        print(f"{name:<30}{row['rmse']:>10.2f}{row['phm08_score']:>14.1f}{row['rmse_capped_truth']:>20.2f}")
    return tested, rnn_seconds, ridge_seconds


def report(tested, rnn_seconds, baseline_seconds, chosen, args, run):
    model_scores, ridge_scores, mean_scores = (row for _, row in tested.values())
    seconds = round(baseline_seconds, 1)
    results = [
        {
            "metric": "test RMSE, cycles (100 engines; lower is better)",
            "model": model_scores["rmse"],
            "baseline": ridge_scores["rmse"],
            "baseline_name": f"ridge regression on the flattened window; constant mean {mean_scores['rmse']:.2f}",
            "baseline_wall_time_s": seconds,
        },
        {
            "metric": f"test RMSE against the truth capped at {args.rul_cap} (as much of the literature reports)",
            "model": model_scores["rmse_capped_truth"],
            "baseline": ridge_scores["rmse_capped_truth"],
            "baseline_name": "same ridge",
            "baseline_wall_time_s": seconds,
        },
        {
            "metric": "test PHM08 score (lower is better)",
            "model": model_scores["phm08_score"],
            "baseline": ridge_scores["phm08_score"],
            "baseline_name": f"same ridge; constant mean {mean_scores['phm08_score']:.0f}",
            "baseline_wall_time_s": seconds,
        },
    ]
    metrics = {
        **model_scores,
        **{f"ridge_{key}": value for key, value in ridge_scores.items()},
        **{f"mean_{key}": value for key, value in mean_scores.items()},
        "rnn_wall_time_s": round(rnn_seconds, 1),
    }
    members = {"members": member_histories(run, args.members)} if args.members > 1 else {}
    return run.finish(metrics, results, extra={"data": chosen, **members})


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv)
    data, scaler, preprocessing, chosen, (unit, life) = load_data(args)
    (run.output_dir / PREPROCESSING_FILE).write_text(json.dumps(preprocessing, indent=1))  # for predict.py
    model = train(data, args, run)
    tested, *seconds = test(model, data, args, run)
    (predicted, _), (ridge_predicted, _), _ = tested.values()
    plot_test_engines(predicted, data["test"][1], ridge_predicted, run.output_dir / "test_engines.png")
    life_plot = run.output_dir / "engine_life.png"
    plot_engine_life(model, life, scaler, args, unit, life_plot)
    return report(tested, *seconds, chosen, args, run)


if __name__ == "__main__":
    cli.run(main)
