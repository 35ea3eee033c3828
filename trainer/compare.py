"""`python -m trainer compare`: is a candidate better than a shipped model by more than the noise
of the sets models are chosen on?

PublicTest and wild-dev only: PrivateTest is read once, at export. Each difference comes with its
paired bootstrap interval (`trainer.metrics.paired_difference`), because a ship rule with a
threshold of half a point on wild-dev's balanced accuracy is decided by two or three fear crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emojitui.shared.output import error_line, terminal_safe
from trainer.data import Dataset, Split
from trainer.evaluate import predicted_classes
from trainer.metrics import Metric, accuracy, balanced_accuracy, paired_difference

MEASURES: tuple[tuple[str, str, Metric], ...] = (
    ("PublicTest", "accuracy", accuracy),
    ("PublicTest", "balanced accuracy", balanced_accuracy),
    ("wild-dev", "balanced accuracy", balanced_accuracy),
    ("wild-dev", "accuracy", accuracy),
)


def compare_rows(candidate: Path, baseline: Path, sets: dict[str, Split], resamples: int) -> list[dict]:
    """One row a measure: both models' figures and the difference with its 95% interval, in points."""
    predictions = {name: (_predicted(candidate, split), _predicted(baseline, split)) for name, split in sets.items()}
    rows = []
    for set_name, measure, metric in MEASURES:
        if set_name not in sets:
            continue
        truth = sets[set_name].labels
        mine, theirs = predictions[set_name]
        gap, low, high = paired_difference(truth, mine, theirs, metric, resamples)
        rows.append(
            {
                "set": set_name,
                "measure": measure,
                "candidate": 100 * metric(truth, mine),
                "baseline": 100 * metric(truth, theirs),
                "difference": 100 * gap,
                "interval": (100 * low, 100 * high),
            }
        )
    return rows


def _predicted(model: Path, split: Split) -> np.ndarray:
    try:
        return predicted_classes(model, split)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{model} is not a usable TFLite classifier: {exc}") from None


def format_rows(rows: list[dict], candidate: Path, baseline: Path, resamples: int) -> str:
    lines = [
        f"candidate {candidate}",
        f"baseline  {baseline}",
        f"{'':<30}{'candidate':>10}{'baseline':>10}   difference (95% interval, {resamples} paired resamples)",
    ]
    for row in rows:
        low, high = row["interval"]
        verdict = "better" if low > 0 else "worse" if high < 0 else "within noise"
        lines.append(
            f"{row['set'] + ' ' + row['measure']:<30}{row['candidate']:>9.2f}%{row['baseline']:>9.2f}%"
            f"   {row['difference']:+.2f} [{low:+.2f}, {high:+.2f}]  {verdict}"
        )
    return "\n".join(lines)


def compare_command(candidate: Path, baseline: Path, dataset: Dataset, wild: Split | None, resamples: int) -> int:
    """Print the rows; the command line has checked that both files exist."""
    sets = {"PublicTest": dataset["val"]} | ({"wild-dev": wild} if wild is not None else {})
    try:
        rows = compare_rows(candidate, baseline, sets, resamples)
    except ValueError as exc:  # `_predicted` names the file
        error_line(f"error: {exc}")
        return 2
    for line in format_rows(rows, candidate, baseline, resamples).splitlines():
        print(terminal_safe(line))  # a file name's control characters escaped, not the table's newlines
    if wild is None:
        print("note: no wild-dev folder (../shared/datasets/wild-dev or $EMOJITUI_WILD_DEV): PublicTest only")
    return 0
