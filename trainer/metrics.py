"""Classification metrics in plain NumPy: accuracy, macro-F1, per-class P/R/F1, confusion, and how
far a difference between two models stands above the noise of the set they are read on."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def classification_report(truth: np.ndarray, predicted: np.ndarray, names: list[str]) -> dict:
    matrix = confusion_matrix(truth, predicted, len(names))
    true_pos = np.diag(matrix).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(true_pos / matrix.sum(axis=0))
        recall = np.nan_to_num(true_pos / matrix.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    per_class = {
        name: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(matrix[i].sum()),
        }
        for i, name in enumerate(names)
    }
    present = matrix.sum(axis=1) > 0
    return {
        "accuracy": round(float(true_pos.sum() / max(1, matrix.sum())), 4),
        "macro_f1": round(float(f1.mean()), 4),
        # The mean recall of the classes present: what plain accuracy hides on an unbalanced set.
        "balanced_accuracy": round(float(recall[present].mean()) if present.any() else 0.0, 4),
        "images": int(matrix.sum()),
        "per_class": per_class,
        "confusion": matrix.tolist(),
    }


def format_report(report: dict, names: list[str]) -> str:
    """The report as terminal text: summary, per-class table, confusion matrix."""
    lines = [
        f"accuracy {report['accuracy'] * 100:.2f}%   macro-F1 {report['macro_f1'] * 100:.2f}%   "
        f"({report['images']} images)",
        "",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name in names:
        row = report["per_class"][name]
        lines.append(
            f"{name:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10d}"
        )
    lines += ["", "confusion (rows true, columns predicted)", " " * 10 + "".join(f"{n[:7]:>8}" for n in names)]
    for name, row in zip(names, report["confusion"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>8d}" for v in row))
    return "\n".join(lines)


def accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(truth == predicted)) if len(truth) else 0.0


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The mean recall of the classes present (as `classification_report` gives it)."""
    classes = int(max(truth.max(initial=0), predicted.max(initial=0))) + 1
    support = np.bincount(truth, minlength=classes)
    hits = np.bincount(truth[truth == predicted], minlength=classes)
    present = support > 0
    return float(np.mean(hits[present] / support[present])) if present.any() else 0.0


def paired_difference(
    truth: np.ndarray,
    candidate: np.ndarray,
    baseline: np.ndarray,
    metric: Metric,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """metric(candidate) - metric(baseline), and the 2.5th and 97.5th percentiles of that difference
    over `resamples` draws of the set's images with replacement, the same images for both models.

    Why: a set of a few thousand faces moves a model's figure by tenths of a point, and a class of
    21 faces (wild-dev's fear) by 0.7 points of balanced accuracy a face, so a gap counts only
    when its interval leaves zero.
    """
    whole = metric(truth, candidate) - metric(truth, baseline)
    rng = np.random.default_rng(seed)
    draws = (rng.integers(0, len(truth), len(truth)) for _ in range(resamples))  # one at a time, not 2000 in memory
    gaps = np.array([metric(truth[d], candidate[d]) - metric(truth[d], baseline[d]) for d in draws])
    low, high = np.percentile(gaps, [2.5, 97.5]) if resamples else (whole, whole)
    return whole, float(low), float(high)
