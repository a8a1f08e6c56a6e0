"""Plots saved as PNG: training curves, forecasts, per-class scores.

Chapter: 004 §5.3.1 (exploration and visualisation). Matplotlib's "Agg"
backend draws to files, so plots work on machines without a screen.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_history(history, path, title=""):
    """Loss and each metric per epoch, training beside validation, one panel each."""
    names = [key for key in history if not key.startswith("val_") and key not in ("epoch", "learning_rate")]
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(f"{title} training curves".strip())
    return _save(figure, path)


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
    return _save(figure, path)


def plot_bars(labels, values, path, title, ylabel):
    """A bar chart (e.g. per-class scores), one bar per label."""
    figure, axis = plt.subplots(figsize=(max(6, 0.3 * len(labels)), 3.6))
    axis.bar(range(len(labels)), values)
    axis.set_xticks(range(len(labels)), labels, rotation=90)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3, axis="y")
    return _save(figure, path)


def plot_length_histograms(lengths_by_class, path, title, xlabel="length (words)"):
    """Overlaid histograms of sequence lengths, one per class (exploration plots)."""
    figure, axis = plt.subplots(figsize=(8, 3.6))
    for name, lengths in lengths_by_class.items():
        axis.hist(lengths, bins=60, alpha=0.55, label=f"{name} (n={len(lengths)})")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("count")
    axis.set_title(title)
    axis.legend()
    return _save(figure, path)


def plot_score_by_frequency(
    frequencies, scores, labels, path, title, ylabel="F1", annotate=12, xlabel="training documents (log scale)"
):
    """Per-class score against training frequency (log x): where rare classes fall behind.

    The `annotate` most frequent classes are labelled.
    """
    figure, axis = plt.subplots(figsize=(8, 4.2))
    axis.scatter(frequencies, scores, alpha=0.7)
    axis.set_xscale("log")
    for index in sorted(range(len(labels)), key=lambda i: -frequencies[i])[:annotate]:
        axis.annotate(
            labels[index], (frequencies[index], scores[index]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return _save(figure, path)


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
    return _save(figure, path)
