"""Weather: forecast Seattle's maximum temperature for the next 7 days, and rain tomorrow, with a recurrent network.

Chapter: 004 §6.3.2 (weather forecasting), after §6.3 (time series).
Run:     make example-weather        (quick check: make smoke-weather)
Results: see README.md (measured, with hardware and wall time)

From the last `--window` days of every observed variable (precipitation,
maximum and minimum temperature, wind) and the day of the year, the model
forecasts the maximum temperature of each of the next `--horizon` days (a
recurrent decoder writes them in turn; `--no-decoder`: one output per lead
day) and whether it rains tomorrow. Years
split the data in time: 2012-2013 train, 2014 validation, 2015 test; the
scaling comes from the training days; a forecast made on day t reads
nothing after t. Beside it, on the same forecast days: persistence
(tomorrow like today), climatology (the training years' smoothed value for
the day of the year) and ARIMA rolled over the test year.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from statsmodels.tsa.statespace.sarimax import SARIMAX

from common import cli
from common.plots import plt, save_figure
from common.ranges import training_range
from common.saving import check_round_trip
from common.series import Scaler, forecast_origins, split_by_date, windows
from common.training import Run, fit_arrays

from model import build_model
from seattle import (
    COLUMNS,
    SPLITS,
    TARGET_COLUMN,
    Climatology,
    load_seattle,
    model_inputs,
    persistence,
    targets,
)

EXAMPLE = "weather"
PREPROCESSING_FILE = "preprocessing.json"  # what predict.py needs beside the model
RAIN_COLUMN = COLUMNS.index("precipitation")
ARIMA_ORDER = (2, 0, 1)  # with the yearly cycle as regressors (a seasonal period of 365 days is impractical)
QUICK = {"units": 8, "epochs": 3}


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument("--window", type=cli.positive_int, default=14, help="days the model reads (the last ones)")
    data.add_argument("--horizon", type=cli.positive_int, default=7, help="days ahead forecast (lead days 1..N)")
    data.add_argument(
        "--data-file", type=Path, help="a CSV of daily observations in the packaged file's columns (default: Seattle)"
    )
    cli.add_model_args(parser, cell="gru", units=32, layers=1, dropout=0.1)
    parser.add_argument(
        "--rain-weight", type=cli.positive_float, default=1.0, help="weight of the rain loss beside the MAE in °C"
    )
    parser.add_argument(
        "--from-today",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the network writes each day's change from today's maximum, not the maximum itself (measured: README)",
    )
    parser.add_argument(
        "--decoder",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a recurrent decoder writes the days in turn; --no-decoder: one output per day (measured: README)",
    )
    cli.add_training_args(
        parser, epochs=100, batch_size=32, learning_rate=2e-3, patience=15, clipnorm=1.0, data_parallel=True
    )
    return cli.parse(parser, argv, EXAMPLE, quick=QUICK)


def load_data(args):
    """{"train", "validation", "test": (windows, {"temp_max": (n, horizon), "rain": (n, 1)})}, the forecast
    days of each part, the observations, the training days, and the scaling (from them)."""
    dates, values = load_seattle(args.data_file)
    parts = split_by_date(dates, SPLITS)
    scaler = Scaler.fit(values[parts["train"]])
    inputs = model_inputs(dates, values, scaler)
    origins = {name: forecast_origins(index, args.window, args.horizon) for name, index in parts.items()}
    data = {
        name: (
            windows(inputs, args.window, days),
            {
                "temp_max": targets(values, days, args.horizon).astype("float32"),
                "rain": (values[days + 1, RAIN_COLUMN] > 0).astype("float32")[:, None],
            },
        )
        for name, days in origins.items()
    }
    print(", ".join(f"{name} {len(days)} forecast days" for name, days in origins.items()))
    return data, origins, (dates, values), parts["train"], scaler


def build(args, features, scaler):
    return build_model(
        args.window,
        features,
        args.horizon,
        temperature_mean=float(scaler.mean[TARGET_COLUMN]),
        temperature_std=float(scaler.std[TARGET_COLUMN]),
        **cli.model_options(args),
        rain_weight=args.rain_weight,
        from_today=TARGET_COLUMN if args.from_today else None,
        decoder=args.decoder,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
    )


def train(model, data, args, run):
    return fit_arrays(model, data, args, run, reduce_lr_patience=5)


def arima_forecasts(dates, series, train_days, origins, horizon):
    """ARIMA(2,0,1) with the yearly cycle (Climatology's sines and cosines) as regressors, fitted on the training
    days; then, with those parameters, each forecast day's `horizon` days ahead from the observations up to it."""
    cycle = Climatology.design(dates)[:, 1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence notes; the fit is checked by its test scores
        fitted = SARIMAX(series[train_days], exog=cycle[train_days], order=ARIMA_ORDER, trend="c").fit(disp=False)
        rolled = fitted.apply(series, exog=cycle)  # the same parameters, filtering the whole series
        return np.stack(
            [rolled.get_prediction(start=day + 1, end=day + horizon, dynamic=0).predicted_mean for day in origins]
        )


def baselines(observations, origins, horizon, train_days):
    """{name: (days, horizon) °C} of the baselines on the test forecast days, the rain climatology's
    probabilities, and the seconds they took."""
    started = time.perf_counter()
    dates, values = observations
    train_dates = [dates[day] for day in train_days]
    climatology = Climatology.fit(train_dates, values[train_days, TARGET_COLUMN])
    rain = Climatology.fit(train_dates, values[train_days, RAIN_COLUMN] > 0)
    forecasts = {
        "persistence": persistence(values, origins, horizon),
        "climatology": climatology.forecast(dates, origins, horizon),
        "ARIMA(2,0,1) + yearly cycle": arima_forecasts(dates, values[:, TARGET_COLUMN], train_days, origins, horizon),
    }
    rain_probability = np.clip(rain.forecast(dates, origins, 1)[:, 0], 0.01, 0.99)
    return forecasts, rain_probability, time.perf_counter() - started


def mae_by_lead(forecast, truth):
    return np.abs(np.asarray(forecast) - truth).mean(axis=0)


def rain_scores(probability, rained):
    probability, rained = np.asarray(probability).ravel(), np.asarray(rained).ravel()
    return {
        "accuracy": float(((probability > 0.5) == rained).mean()),
        "brier": float(((probability - rained) ** 2).mean()),
    }


def plot_error_by_lead(errors, path):
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, by_lead in errors.items():
        axis.plot(range(1, len(by_lead) + 1), by_lead, marker="o", label=name)
    axis.set_xlabel("lead (days ahead)")
    axis.set_ylabel("MAE of the maximum temperature (°C)")
    axis.set_title("2015 test days: error against lead time")
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def report(errors, rain, baseline_seconds, rnn_seconds, run, cell):
    model_name = f"{cell} model"
    persistence_day1 = errors["persistence"][0]
    leads = "".join(f"{lead:>7}" for lead in range(1, len(errors[model_name]) + 1))
    print(f"\n{'test days, MAE °C by lead':<30}{leads}")
    for name, by_lead in errors.items():
        print(f"{name:<30}" + "".join(f"{value:>7.2f}" for value in by_lead))
    skill = 1 - errors[model_name][0] / persistence_day1
    print(f"skill of tomorrow's forecast against persistence: {skill:.3f}")
    print(
        "rain tomorrow: "
        + "; ".join(f"{name} accuracy {row['accuracy']:.3f}, Brier {row['brier']:.3f}" for name, row in rain.items())
    )
    best_baseline = min((name for name in errors if name != model_name), key=lambda name: errors[name][0])
    metrics = {
        "mae_day1": float(errors[model_name][0]),
        "mae_by_lead": {name: [float(v) for v in by_lead] for name, by_lead in errors.items()},
        "skill_day1": float(skill),
        "mae_mean_7": float(np.mean(errors[model_name])),
        **{f"rain_{name}_{key}": value for name, row in rain.items() for key, value in row.items()},
        "rnn_wall_time_s": round(rnn_seconds, 1),
        "baseline_wall_time_s": round(baseline_seconds, 1),
    }
    results = [
        {
            "metric": "MAE of tomorrow's maximum temperature, °C (2015 test days)",
            "model": float(errors[model_name][0]),
            "baseline": float(errors[best_baseline][0]),
            "baseline_name": f"{best_baseline} (persistence {persistence_day1:.2f})",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
        {
            "metric": "Brier score of rain tomorrow (lower is better)",
            "model": rain[model_name]["brier"],
            "baseline": rain["climatology"]["brier"],
            "baseline_name": "climatology of rain days",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
    ]
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv)
    data, origins, observations, train_days, scaler = load_data(args)
    preprocessing = {
        **scaler.to_dict(),
        "columns": list(COLUMNS),
        "window": args.window,
        "horizon": args.horizon,
        "training_range": training_range(observations[1][train_days]),
    }
    (run.output_dir / PREPROCESSING_FILE).write_text(json.dumps(preprocessing, indent=1))  # for predict.py
    with run.scope():
        model = build(args, data["train"][0].shape[-1], scaler)
    model.summary()
    model = train(model, data, args, run)
    x_test, y_test = data["test"]
    answers = model.predict(x_test, verbose=0)
    rnn_seconds = time.perf_counter() - run.started
    check_round_trip(
        run.output_dir / "model.keras",
        answers["temp_max"],
        answer=lambda loaded: loaded.predict(x_test, verbose=0)["temp_max"],
        tolerance=1e-4,
    )
    forecasts, rain_climatology, seconds = baselines(observations, origins["test"], args.horizon, train_days)
    errors = {f"{args.cell} model": mae_by_lead(answers["temp_max"], y_test["temp_max"])}
    errors.update({name: mae_by_lead(forecast, y_test["temp_max"]) for name, forecast in forecasts.items()})
    rained_today = (observations[1][origins["test"], RAIN_COLUMN] > 0).astype(float)
    rain = {
        f"{args.cell} model": rain_scores(answers["rain"], y_test["rain"]),
        "climatology": rain_scores(rain_climatology, y_test["rain"]),
        "persistence": rain_scores(rained_today, y_test["rain"]),
    }
    plot_error_by_lead(errors, run.output_dir / "error_by_lead.png")
    return report(errors, rain, seconds, rnn_seconds, run, args.cell)


if __name__ == "__main__":
    cli.run(main)
