"""Stocks: forecast Microsoft's next-day log return (and so its direction) with a recurrent network, and test it
against the random walk.

Chapter: 004 §6.3.1 (stock prices), after §6.3 (time series).
Run:     make example-stocks        (quick check: make smoke-stocks)
Results: see README.md (measured, with hardware and wall time)

From the last `--window` trading days of returns, daily ranges and volume
changes, the model forecasts the next day's log return; its sign is the
forecast direction. Dates split the data: to 2009 train, 2010-2012
validation, 2013-2017 test; the scaling comes from the training days. Beside
it on the same days: the random walk (a zero return: tomorrow's price is
today's), the training days' mean return, and ARIMA(1,0,1) on returns rolled
over the test days. Scored by the RMSE of the return, direction accuracy
with its 95 % interval, a Diebold-Mariano test against the random walk, and
the equity of trading the forecast sign (no costs). A plot shows why a
forecast of the price level looks good and says nothing.
"""

import common.quiet  # noqa: F401  (first: starts TensorFlow without its C++ start-up lines)

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
from msft import SPLITS, diebold_mariano, direction_accuracy, equity_curve, features, load_msft, model_inputs

EXAMPLE = "stocks"
PREPROCESSING_FILE = "preprocessing.json"  # what predict.py needs beside the model
RETURN = 0  # the log return's column among msft.features
ARIMA_ORDER = (1, 0, 1)
ARIMA_NAME = "ARIMA(1,0,1)"
QUICK = {"units": 8, "epochs": 3}


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.split("\n")[0])
    data = parser.add_argument_group("data")
    data.add_argument("--window", type=cli.positive_int, default=20, help="trading days the model reads (the last)")
    data.add_argument(
        "--data-file", type=Path, help="an OHLCV CSV (Date, Open, High, Low, Close, Volume) instead of Microsoft's"
    )
    cli.add_model_args(parser, cell="gru", units=32, layers=1, dropout=0.1)
    parser.add_argument("--loss", choices=("huber", "mse"), default="huber", help="loss on the return (model.py)")
    cli.add_training_args(
        parser, epochs=50, batch_size=64, learning_rate=1e-3, patience=8, clipnorm=1.0, data_parallel=True
    )
    return cli.parse(parser, argv, EXAMPLE, quick=QUICK)


def load_data(args):
    """{"train", "validation", "test": (windows, next-day log returns)}, each part's forecast days (rows of
    the features: row k is trading day k + 1), the prices, the features and the scaling (training days')."""
    dates, values = load_msft(args.data_file)
    rows = features(values)
    parts = split_by_date(dates[1:], SPLITS)
    scaler = Scaler.fit(rows[parts["train"]])
    inputs = model_inputs(values, scaler)
    origins = {name: forecast_origins(index, args.window, 1) for name, index in parts.items()}
    data = {
        name: (windows(inputs, args.window, days), rows[days + 1, RETURN : RETURN + 1].astype("float32"))
        for name, days in origins.items()
    }
    print(", ".join(f"{name} {len(days)} forecast days" for name, days in origins.items()))
    return data, origins, (dates, values), rows, parts["train"], scaler


def build(args, features_count, scaler):
    return build_model(
        args.window,
        features_count,
        return_mean=float(scaler.mean[RETURN]),
        return_std=float(scaler.std[RETURN]),
        **cli.model_options(args),
        loss=args.loss,
        learning_rate=args.learning_rate,
        clipnorm=args.clipnorm,
    )


def train(model, data, args, run):
    return fit_arrays(model, data, args, run, reduce_lr_patience=3)


def arima_forecasts(returns, train_days, origins):
    """ARIMA(1,0,1) with a constant, fitted on the training days' returns; then, with those parameters, each
    forecast day's next return from the returns up to it (one-step predictions of the filtered series)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence notes; the fit is checked by its test scores
        fitted = SARIMAX(returns[train_days], order=ARIMA_ORDER, trend="c").fit(disp=False)
        one_step = fitted.apply(returns).get_prediction().predicted_mean  # entry k: from the returns before k
    return np.asarray(one_step)[np.asarray(origins) + 1]


def baselines(returns, train_days, origins):
    """{name: forecast returns} on the forecast days, and the seconds they took."""
    started = time.perf_counter()
    forecasts = {
        "random walk": np.zeros(len(origins)),
        "training mean": np.full(len(origins), returns[train_days].mean()),
        ARIMA_NAME: arima_forecasts(returns, train_days, origins),
    }
    return forecasts, time.perf_counter() - started


def rmse(forecast, truth):
    return float(np.sqrt(np.mean((np.asarray(forecast) - truth) ** 2)))


def r_squared(forecast, truth):
    return float(1 - np.sum((forecast - truth) ** 2) / np.sum((truth - truth.mean()) ** 2))


def scores(forecasts, truth):
    """{name: {rmse, direction, direction_low, direction_high, dm, dm_p, equity}} against the random walk;
    a forecast of no move (the random walk) has no direction."""
    table = {}
    for name, forecast in forecasts.items():
        row = {"rmse": rmse(forecast, truth)}
        if np.any(forecast != 0):
            row["direction"], (row["direction_low"], row["direction_high"]) = direction_accuracy(forecast, truth)
            row["dm"], row["dm_p"] = diebold_mariano(forecast - truth, truth)
            row["equity"] = float(equity_curve(np.sign(forecast), truth)[-1])
        table[name] = row
    return table


def plot_equity(dates, forecasts, truth, path):
    figure, axis = plt.subplots(figsize=(8, 4))
    axis.plot(dates, equity_curve(np.ones_like(truth), truth), color="black", label="buy and hold")
    for name, forecast in forecasts.items():
        if np.any(forecast != 0):
            axis.plot(dates, equity_curve(np.sign(forecast), truth), label=f"{name}: long if up, short if down")
    axis.set_ylabel("value of 1 invested (no costs)")
    axis.set_title("Trading the forecast sign, 2013-2017 test days")
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, path)


def plot_price_level(dates, close_before, forecast, truth, path):
    """Left: the forecast turned into a price (today's close x e^forecast) over the actual close: a near-perfect
    fit. Middle: 60 days of it: the forecast is yesterday's price, a day late. Right: the return itself."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    price, forecast_price = close_before * np.exp(truth), close_before * np.exp(forecast)
    axes[0].plot(dates, price, color="black", label="close")
    axes[0].plot(dates, forecast_price, alpha=0.7, label=f"forecast price (R² {r_squared(forecast_price, price):.4f})")
    axes[0].set_title("the price level: looks impressive")
    last = slice(-60, None)
    axes[1].plot(dates[last], price[last], color="black", marker=".", label="close")
    axes[1].plot(dates[last], forecast_price[last], marker=".", label="forecast price")
    axes[1].plot(dates[last], close_before[last], linestyle=":", label="yesterday's close (random walk)")
    axes[1].set_title("the last 60 days: one day late")
    axes[2].plot(dates[last], truth[last], color="black", marker=".", label="log return")
    axes[2].plot(dates[last], forecast[last], marker=".", label=f"forecast (R² {r_squared(forecast, truth):.4f})")
    axes[2].axhline(0, color="grey", linewidth=0.5)
    axes[2].set_title("the return: what was forecast")
    for axis in axes:
        axis.legend(fontsize=8)
        axis.tick_params(axis="x", labelrotation=30)
    return save_figure(figure, path)


def compare(model_name, forecast, truth, observations, rows, train_days, origins, output_dir):
    """The baselines on the same test days, every forecast's scores, the equity and price-level plots:
    (scores, context numbers, the baselines' seconds)."""
    dates, values = observations
    forecasts, seconds = baselines(rows[:, RETURN], train_days, origins)
    table = scores({model_name: forecast, **forecasts}, truth)
    days = [dates[origin + 2] for origin in origins]  # feature row k + 1 is trading day k + 2
    plot_equity(days, {model_name: forecast, ARIMA_NAME: forecasts[ARIMA_NAME]}, truth, output_dir / "equity.png")
    close_before = values[np.asarray(origins) + 1, 3]
    plot_price_level(days, close_before, forecast, truth, output_dir / "price_level.png")
    price = close_before * np.exp(truth)
    context = {
        "up_share": float((truth > 0).mean()),
        "buy_and_hold": float(equity_curve(np.ones_like(truth), truth)[-1]),
        "price_r2": r_squared(close_before * np.exp(forecast), price),
        "random_walk_price_r2": r_squared(close_before, price),
        "return_r2": r_squared(forecast, truth),
    }
    return table, context, seconds


def report(table, model_name, context, baseline_seconds, rnn_seconds, run):
    print(f"\n{'test days':<26}{'RMSE':>9}{'direction [95 % interval]':>29}{'DM vs random walk (p)':>25}{'equity':>8}")
    for name, row in table.items():
        line = f"{name:<26}{row['rmse']:>9.5f}"
        if "direction" in row:
            interval = f"{row['direction']:.3f} [{row['direction_low']:.3f}, {row['direction_high']:.3f}]"
            line += f"{interval:>29}{row['dm']:>+14.2f} ({row['dm_p']:.3f}){row['equity']:>9.2f}"
        print(line)
    print(f"share of up days in the test: {context['up_share']:.3f}; buy and hold: {context['buy_and_hold']:.2f}")
    print(
        f"R² of the forecast turned into a price: {context['price_r2']:.4f} (yesterday's price, the random walk: "
        f"{context['random_walk_price_r2']:.4f}); R² of the return itself: {context['return_r2']:.4f}"
    )
    model = table[model_name]
    verdict = "beats" if model["dm"] < 0 and model["dm_p"] < 0.05 else "does not beat"
    print(f"the {model_name} {verdict} the random walk (Diebold-Mariano {model['dm']:+.2f}, p = {model['dm_p']:.3f})")
    metrics = {
        **model,
        "scores": table,
        **context,
        "rnn_wall_time_s": round(rnn_seconds, 1),
        "baseline_wall_time_s": round(baseline_seconds, 1),
    }
    results = [
        {
            "metric": "RMSE of the next-day log return, in % (2013-2017 test days)",
            "model": 100 * model["rmse"],
            "baseline": 100 * table["random walk"]["rmse"],
            "baseline_name": f"random walk (Diebold-Mariano p = {model['dm_p']:.2f})",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
        {
            "metric": "direction accuracy of the next-day return",
            "model": model["direction"],
            "baseline": table["training mean"]["direction"],
            "baseline_name": "the training mean's sign, every day the same",
            "baseline_wall_time_s": round(baseline_seconds, 1),
        },
    ]
    return run.finish(metrics, results)


def main(argv=None):
    args = parse_args(argv)
    run = Run(EXAMPLE, vars(args), **cli.run_settings(args), argv=argv)
    data, origins, (dates, values), rows, train_days, scaler = load_data(args)
    preprocessing = {**scaler.to_dict(), "window": args.window, "training_range": training_range(rows[train_days])}
    (run.output_dir / PREPROCESSING_FILE).write_text(json.dumps(preprocessing, indent=1))  # for predict.py
    with run.scope():
        model = build(args, rows.shape[-1], scaler)
    model.summary()
    model = train(model, data, args, run)
    x_test, truth = data["test"][0], data["test"][1][:, 0].astype("float64")
    forecast = model.predict(x_test, verbose=0)[:, 0].astype("float64")
    rnn_seconds = time.perf_counter() - run.started
    check_round_trip(run.output_dir / "model.keras", forecast[:, None], inputs=x_test, tolerance=1e-6)
    model_name = f"{args.cell} model"
    table, context, seconds = compare(
        model_name, forecast, truth, (dates, values), rows, train_days, origins["test"], run.output_dir
    )
    return report(table, model_name, context, seconds, rnn_seconds, run)


if __name__ == "__main__":
    cli.run(main)
