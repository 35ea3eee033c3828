"""How much neutral calibration helps, and the damping that is chosen (docs/calibration.md).

    python -m bench.calibration [--shared ../shared] [--json out.json]

1. The typical neutral face: the shipped model's mean output on FER-2013 *PublicTest* neutral
   faces (never PrivateTest), flip-averaged as the app classifies.
2. Faces the model never saw: ../shared/datasets/wild-dev, photos of named people (file names
   `First_Last_0003.jpg`), detected and cropped as `emojitui --image` does.
3. For every person with a neutral photo and other photos: calibrate on one neutral photo (the
   "resting face"), then classify that person's other photos with the correction. Reported per
   damping: accuracy on those other photos, their neutral and non-neutral recall, and how often
   the resting photo itself reads neutral after calibrating; also for the harder half, the
   people whose resting photo read something else than neutral.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from emojitui.engine.calibration import derive_calibration
from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.engine import Engine
from emojitui.shared import locations

DAMPINGS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 1.0)


def typical_neutral(classifier: ExpressionClassifier, fer: Path) -> dict[str, float]:
    files = sorted((fer / "test" / "neutral").glob("PublicTest_*.jpg"))
    crops = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files])
    mean = classifier.classify(crops).mean(axis=0)
    return {"faces": len(files)} | {name: round(float(p), 4) for name, p in zip(classifier.labels, mean, strict=True)}


def wild_probabilities(engine: Engine, wild: Path, cache: Path | None) -> tuple[list[str], list[str], np.ndarray]:
    """(person, true label, raw probabilities) for every wild-dev photo with a face found."""
    if cache and cache.is_file():
        data = np.load(cache)
        return list(data["people"]), list(data["truth"]), data["probs"]
    people, truth, probs = [], [], []
    for folder in sorted(p for p in wild.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            image = cv2.imread(str(path))
            faces = engine.classify_still(image) if image is not None else []
            if not faces:
                continue
            face = max(faces, key=lambda f: f.box.w * f.box.h)
            people.append(re.sub(r"_\d+$", "", path.stem))
            truth.append(folder.name)
            probs.append(face.raw_probabilities)
    result = np.stack(probs)
    if cache:
        np.savez(cache, people=np.array(people), truth=np.array(truth), probs=result)
    return people, truth, result


def evaluate(people: list[str], truth: list[str], probs: np.ndarray, labels: list[str], target: np.ndarray) -> dict:
    by_person: dict[str, list[int]] = defaultdict(list)
    for index, person in enumerate(people):
        by_person[person].append(index)
    trials = [
        (rest, [i for i in items if i != rest])
        for items in by_person.values()
        for rest in items
        if truth[rest] == "neutral" and len(items) > 1
    ]
    neutral = labels.index("neutral")
    report: dict = {"people": len({people[r] for r, _ in trials}), "trials": len(trials)}
    for damping in DAMPINGS:
        rows = {"all": defaultdict(list), "rest read other": defaultdict(list)}
        for rest, others in trials:
            calibration = derive_calibration(probs[rest], labels, damping, target)
            groups = ["all"] + (["rest read other"] if probs[rest].argmax() != neutral else [])
            rest_neutral = calibration.apply(probs[rest]).argmax() == neutral
            predicted = calibration.apply(probs[others]).argmax(axis=1)
            for group in groups:
                rows[group]["rest reads neutral"].append(float(rest_neutral))
                for index, guess in zip(others, predicted, strict=True):
                    correct = float(labels[guess] == truth[index])
                    rows[group]["accuracy"].append(correct)
                    kind = "neutral recall" if truth[index] == "neutral" else "expression recall"
                    rows[group][kind].append(correct)
        report[f"damping {damping}"] = {
            group: {name: round(float(np.mean(v)), 3) for name, v in values.items()} | {"n": len(values["accuracy"])}
            for group, values in rows.items()
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared")
    parser.add_argument("--cache", type=Path, default=None, help="keep the wild-dev probabilities in this .npz")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    classifier = ExpressionClassifier(locations.default_model_path())
    typical = typical_neutral(classifier, args.shared / "datasets" / "fer2013")
    print(f"typical neutral (FER-2013 PublicTest): {json.dumps(typical)}", flush=True)
    target = np.array([typical[name] for name in classifier.labels])
    people, truth, probs = wild_probabilities(Engine(classifier), args.shared / "datasets" / "wild-dev", args.cache)
    report = {"typical_neutral": typical, "wild_dev_faces": len(truth)}
    report |= evaluate(people, truth, probs, classifier.labels, target)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
