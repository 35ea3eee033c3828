"""Model tiers: the accurate or the fast shipped model, and mirror averaging or not, chosen for this CPU.

`--model accurate|fast|auto|PATH` (or `[model] tier` in the config file; `auto` is the default).
`auto` times a few invokes of each installed tier at start-up and calls `choose_tier`, a pure
function of those timings and the per-frame budget: the accurate tier when one pass a face fits
the budget at the source's frame rate, otherwise the fast tier; mirror averaging costs no more a
frame (video alternates the views), so it stays on. The budget for the classifier is `CLASSIFY_SHARE` of a
frame's period per face: the rest of the frame is capture, detection (on its own thread), and
the UI at its bounded rate, all of which share the one core a Raspberry Pi may give us.

    choice = choose_tier({"accurate": TierTiming(9.6, 17.5), "fast": TierTiming(2.1, 4.0)}, budget_ms=8.3)
    choice.tier, choice.flip_average, choice.reason   # "fast", True, "fast: accurate needs 9.6 ms a face here"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from emojitui.engine.classifier import ExpressionClassifier, ModelError
from emojitui.engine.settings import TIERS
from emojitui.shared import locations

TIER_FILES = {"accurate": "emotion.tflite", "fast": "emotion-fast.tflite"}
CLASSIFY_SHARE = 0.25  # of a frame's period, per face, for the expression model
STILL_FPS = 0.0  # a still image has no frame budget
TIMING_REPEATS = 5  # invokes timed per tier and batch at start-up (after one warm-up)
FAST_MISSING = (
    "the fast model ({path}) is not shipped yet: use --model accurate (or auto), or make it with "
    "`just train` (trainer/README.md)"
)


@dataclass(frozen=True, slots=True)
class TierTiming:
    """Median milliseconds on this CPU: one face in one pass (what a video frame costs a face), and a
    face with its mirror image in one invoke (a still's, and a new face's first frame; reported)."""

    single_ms: float
    flip_ms: float


@dataclass(frozen=True, slots=True)
class TierChoice:
    """Which tier runs, whether each face is averaged with its mirror image, and why (shown to the user)."""

    tier: str  # "accurate", "fast", or the card's tier (or "custom") for --model PATH
    flip_average: bool
    reason: str
    budget_ms: float | None = None  # per face; None when nothing was measured
    timings: Mapping[str, TierTiming] | None = None
    path: Path | None = None

    def as_json(self) -> dict:
        return {
            "tier": self.tier,
            "flip_average": self.flip_average,
            "reason": self.reason,
            "budget_ms": None if self.budget_ms is None else round(self.budget_ms, 2),
            "timings_ms": {
                name: {"single": round(t.single_ms, 3), "flip": round(t.flip_ms, 3)}
                for name, t in (self.timings or {}).items()
            },
            "file": self.path.name if self.path else None,
        }


def frame_budget_ms(fps: float, share: float = CLASSIFY_SHARE) -> float:
    """The classifier's budget per face at `fps` frames a second (unbounded for a still: fps 0)."""
    return float("inf") if fps <= 0 else 1000.0 / fps * share


def choose_tier(timings: Mapping[str, TierTiming], budget_ms: float, flip_average: bool | None = None) -> TierChoice:
    """Pure: the tier for measured `timings` ("accurate", maybe "fast") and a per-face budget.

    A tier's cost a frame is one pass a face, with mirror averaging or without: on video the
    engine alternates the two views over frames (`Engine._classify`), and a still has no budget.
    So mirror averaging stays on unless the user turns it off (`flip_average` False), and the
    accurate tier runs where its one pass fits, else the fast one (the accurate one where the
    fast one is not installed).
    """
    accurate, fast = timings["accurate"], timings.get("fast")
    flip = True if flip_average is None else flip_average
    budget = "no frame budget" if budget_ms == float("inf") else f"budget {budget_ms:.1f} ms"
    needs = f"{accurate.single_ms:.1f} ms a face here"
    if accurate.single_ms <= budget_ms:
        return TierChoice("accurate", flip, f"accurate: {needs} ({budget})")
    if fast is None:
        return TierChoice("accurate", flip, f"accurate: needs {needs} ({budget}); fast tier not installed")
    return TierChoice("fast", flip, f"fast: accurate needs {needs}")


def tier_path(tier: str, folder: Path | None = None) -> Path:
    return (folder or locations.models_dir()) / TIER_FILES[tier]


def measure(classifier: ExpressionClassifier, repeats: int = TIMING_REPEATS) -> TierTiming:
    """A few invokes on this CPU: one face, then a face with its mirror image (as `flip_average` runs)."""
    model = classifier.model
    return TierTiming(model.median_latency_ms(repeats, batch=1), model.median_latency_ms(repeats, batch=2))


class ModelSet:
    """The model(s) `--model` names, loaded and checked; `choose(fps)` picks one for the source's rate.

    Loading comes first, so a bad model file is reported before a camera opens; choosing needs the
    source's frame rate (0 for still images).
    """

    def __init__(
        self,
        spec: str,
        threads: int = 1,
        flip_average: bool | None = None,
        origin: str = "--model",
        folder: Path | None = None,
    ) -> None:
        self.spec, self.origin, self.flip_average, self.folder = spec, origin, flip_average, folder
        self.paths: dict[str, Path] = {}
        if spec not in TIERS:
            self.paths["custom"] = Path(spec)
        elif spec != "auto":
            self.paths[spec] = tier_path(spec, folder)
            if spec == "fast" and not self.paths[spec].is_file():
                raise ModelError(FAST_MISSING.format(path=self.paths[spec]))
        else:
            self.paths["accurate"] = tier_path("accurate", folder)
            if tier_path("fast", folder).is_file():
                self.paths["fast"] = tier_path("fast", folder)
        flip = True if flip_average is None else flip_average
        self.classifiers = {name: ExpressionClassifier(path, threads, flip) for name, path in self.paths.items()}

    def choose(self, fps: float) -> tuple[ExpressionClassifier, TierChoice]:
        """The classifier to run at `fps` frames a second (0: stills), and the choice with its reason."""
        if self.spec != "auto":
            name, classifier = next(iter(self.classifiers.items()))
            path = self.paths[name]
            tier = (classifier.card.tier or "custom") if name == "custom" else name
            reason = f"{path.name}: {self.origin}" if name == "custom" else f"{name}: {self.origin}"
            return classifier, TierChoice(tier, classifier.flip_average, reason, path=path)
        budget = frame_budget_ms(fps)
        if budget == float("inf"):  # a still: nothing to fit, so nothing to time
            flip = True if self.flip_average is None else self.flip_average
            choice = TierChoice("accurate", flip, "accurate: a still has no frame budget")
        else:
            timings = {name: measure(classifier) for name, classifier in self.classifiers.items()}
            chosen = choose_tier(timings, budget, self.flip_average)
            choice = TierChoice(chosen.tier, chosen.flip_average, chosen.reason, budget, timings)
        classifier = self.classifiers[choice.tier]
        classifier.flip_average = choice.flip_average
        path = self.paths[choice.tier]
        return classifier, TierChoice(
            choice.tier, choice.flip_average, choice.reason, choice.budget_ms, choice.timings, path
        )
