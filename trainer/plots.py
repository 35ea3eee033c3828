"""PNG plots for the model report: confusion matrix and training curves (matplotlib, Agg)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_confusion(report: dict, names: list[str], path: Path, title: str = "") -> None:
    """Row-normalised confusion matrix with counts, so small classes stay readable."""
    matrix = np.array(report["confusion"], dtype=np.float64)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            colour = "white" if normalised[i, j] > 0.55 else "black"
            ax.text(
                j, i, f"{normalised[i, j]:.2f}\n{int(matrix[i, j])}", ha="center", va="center", fontsize=7, color=colour
            )
    ax.set_title(f"{title}  accuracy {report['accuracy'] * 100:.1f}%  macro-F1 {report['macro_f1'] * 100:.1f}%")
    fig.tight_layout()
    _save(fig, path)


def plot_curves(log_csv: Path, path: Path) -> None:
    """Loss and accuracy per epoch, train and PublicTest, from the run's CSV log."""
    with log_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) for r in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    loss_ax.plot(epochs, [float(r["loss"]) for r in rows], label="train")
    loss_ax.plot(epochs, [float(r["val_loss"]) for r in rows], label="PublicTest")
    loss_ax.set_title("loss")
    acc_ax.plot(epochs, [float(r["accuracy"]) for r in rows], label="train (augmented)")
    acc_ax.plot(epochs, [float(r["val_accuracy"]) for r in rows], label="PublicTest")
    acc_ax.set_title("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
