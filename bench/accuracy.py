"""Accuracy through the pipeline (detect, widen, crop, classify), not just on ready crops.

FER-2013 PrivateTest faces are pasted, 4x enlarged, into larger frames; we report how many
are detected, the accuracy on those through the pipeline for several crop framings, and the
model's accuracy on the same images as ready 48x48 crops. Also the faces found and labels
on the real photos in ../shared/media/photos.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.faces import FaceDetector, crop_face
from emojitui.engine.settings import FER_CROP_SCALE, FER_CROP_SHIFT_UP
from emojitui.shared.emotions import CLASS_NAMES

DEFAULT_FRAMING = (FER_CROP_SCALE, FER_CROP_SHIFT_UP)  # what the app crops with
FRAMINGS = {"tight (1.0, 0)": (1.0, 0.0), "default (1.12, 0.06)": DEFAULT_FRAMING, "wide (1.3, 0.06)": (1.3, 0.06)}
EXPECTED_FACES = {"two_people.jpg": 2}


def fer_pasted(
    classifier: ExpressionClassifier, fer: Path, per_class: int = 200, single_pass: ExpressionClassifier | None = None
) -> dict:
    """Detection rate and accuracy per framing; with `single_pass`, also that classifier's at the default framing."""
    detector = FaceDetector(400)
    rng = np.random.default_rng(0)
    truth, direct, framed, single = [], [], {name: [] for name in FRAMINGS}, []
    detected = total = 0
    for label, name in enumerate(CLASS_NAMES):
        for path in sorted((fer / "test" / name).glob("PrivateTest_*.jpg"))[:per_class]:
            face = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            frame = np.full((480, 640), int(rng.integers(40, 200)), np.uint8)
            x, y = int(rng.integers(0, 640 - 192)), int(rng.integers(0, 480 - 192))
            frame[y : y + 192, x : x + 192] = cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC)
            total += 1
            boxes = detector.detect(frame)
            if len(boxes) != 1:
                continue
            detected += 1
            truth.append(label)
            direct.append(int(classifier.classify(face[None]).argmax()))
            for framing, (scale, shift) in FRAMINGS.items():
                crop = crop_face(frame, boxes[0].fer_crop_box(scale, shift), classifier.input_size)
                framed[framing].append(int(classifier.classify(crop[None]).argmax()))
                if single_pass is not None and (scale, shift) == DEFAULT_FRAMING:
                    single.append(int(single_pass.classify(crop[None]).argmax()))
    truth_array = np.array(truth)
    labels = [CLASS_NAMES.index(n) for n in classifier.labels]
    to_class = np.array(labels)
    result = {
        "images": total,
        "detected": detected,
        "detection_rate": round(detected / max(1, total), 3),
        "accuracy_ready_crops_on_detected": round(float((to_class[direct] == truth_array).mean()), 4),
    }
    for framing, predictions in framed.items():
        result[f"accuracy_pipeline_{framing}"] = round(float((to_class[predictions] == truth_array).mean()), 4)
    if single:
        result["accuracy_pipeline_default_single_pass"] = round(float((to_class[single] == truth_array).mean()), 4)
    return result


def real_photos(classifier: ExpressionClassifier, photos: Path) -> dict:
    from emojitui.engine.engine import Engine

    engine = Engine(classifier)
    found = {}
    for path in sorted(photos.iterdir()):
        image = cv2.imread(str(path))
        if image is None:
            continue
        faces = engine.classify_still(image)
        found[path.name] = [f"{f.label} {f.confidence:.2f}" for f in faces]
    correct_counts = sum(len(found.get(n, [])) == c for n, c in EXPECTED_FACES.items())
    return {"faces": found, "multi_face_photos_counted_right": f"{correct_counts}/{len(EXPECTED_FACES)}"}


def pipeline_accuracy(model: Path, shared: Path) -> dict:
    """As the app runs (each face averaged with its mirror image); single-pass too, for comparison."""
    classifier = ExpressionClassifier(model)
    report: dict = {}
    fer = shared / "datasets" / "fer2013"
    photos = shared / "media" / "photos"
    if (fer / "test").is_dir():
        single_pass = ExpressionClassifier(model, flip_average=False)
        report["fer2013_pasted"] = fer_pasted(classifier, fer, single_pass=single_pass)
    else:
        report["fer2013_pasted"] = f"skipped: {fer} not found"
    report["photos"] = real_photos(classifier, photos) if photos.is_dir() else f"skipped: {photos} not found"
    return report
