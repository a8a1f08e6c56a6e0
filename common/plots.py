"""Plots saved as PNG: training curves (every example) and per-class scores against frequency (Reuters, tagging).

Chapter: 004 §5.3.1 (exploration and visualisation). Matplotlib's "Agg"
backend draws to files, so plots work on machines without a screen.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def save_figure(figure, path):
    """Save a finished figure as PNG (folders made as needed) and close it; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_history(history, path, title=""):
    """Loss and each metric per epoch, training beside validation, one panel each."""
    names = [
        key for key in history if not key.startswith("val_") and key not in ("epoch", "learning_rate", "epoch_seconds")
    ]
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
    return save_figure(figure, path)


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
    return save_figure(figure, path)
