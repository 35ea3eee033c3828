"""Accuracy through the pipeline (detect, widen, crop, classify), not just on ready crops.

FER-2013 PrivateTest faces are pasted, 4x enlarged, into larger frames; we report how many
are detected, the accuracy on those through the pipeline for several crop framings, and the
model's accuracy on the same images as ready 48x48 crops. Also the faces found and labels
on the real photos in ../shared/media/photos.

The video path (`video_path`): the same faces pasted at random sizes as short moving clips, and
the photos held still, through `Engine.process` with its tracking and re-finding, once as the
app runs and once with every detection a full scan (as before re-finding), side by side. The
mirror views (`mirror_views`): video frames alternating each face as seen and mirrored, as the app
runs, against both views on every frame, on PublicTest faces as video clips. The steady boxes
(`steady_boxes`): the tracker holding a still face's box through dlib's jitter, against following
every detection, on noisy PublicTest clips panning and held still.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from emojitui.engine.classifier import ExpressionClassifier
from emojitui.engine.engine import Engine
from emojitui.engine.faces import FaceDetector, crop_face
from emojitui.engine.settings import FER_CROP_SCALE, FER_CROP_SHIFT_UP, EngineConfig
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.sources.base import Frame

DEFAULT_FRAMING = (FER_CROP_SCALE, FER_CROP_SHIFT_UP)  # what the app crops with
FRAMINGS = {"tight (1.0, 0)": (1.0, 0.0), "default (1.12, 0.06)": DEFAULT_FRAMING, "wide (1.3, 0.06)": (1.3, 0.06)}
EXPECTED_FACES = {"two_people.jpg": 2}
CLIP_FRAMES = 9  # detections at frames 0 (full scan), 3 and 6 (re-finding, as the app does between full scans)
SCORED_FROM = 3  # frames 3..8 are scored: boxes from re-finding, or carried by the tracker
MIRROR_CLIP_FRAMES = 15  # half a second: the smoothing (0.15 s) has settled by MIRROR_SCORED_FROM
MIRROR_SCORED_FROM = 6
MIRROR_GAP = 9  # empty frames after a clip: three detections without the face, so its track ends
VIDEO_CONFIGS = {"default": EngineConfig(), "full_scans": EngineConfig(full_scan_seconds=0)}  # the second: as before


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


def _clip(engine: Engine, scene: int, frames: list[np.ndarray]) -> list[list]:
    """Scene number `scene` through the engine as a held still (a new still: nothing carried over), at 30 fps.

    Every clip is CLIP_FRAMES long, a whole number of detection periods, so each starts one."""
    start = (scene - 1) * CLIP_FRAMES
    return [
        engine.process(Frame(image, (start + n) / 30, start + n, still=scene)).faces for n, image in enumerate(frames)
    ]


def _moving(picture: np.ndarray, x: int, y: int, background: int, frames: int = CLIP_FRAMES) -> list[np.ndarray]:
    """`picture` pasted into 640x480 frames at (x, y), moving 2 px right each frame, as a slow pan."""
    clip = []
    for n in range(frames):
        frame = np.full((480, 640, 3), background, np.uint8)
        left = x + 2 * n
        frame[y : y + picture.shape[0], left : left + picture.shape[1]] = picture
        clip.append(frame)
    return clip


def _pastes(fer: Path, split: str, per_class: int, frames: int) -> Iterator[tuple[int, np.ndarray, int, int, int]]:
    """FER-2013 test faces of `split` ("PublicTest" or "PrivateTest"), `per_class` a class, each
    at a random size (150-360 px) and place in a 640x480 frame with room to move 2 px a frame for
    `frames` frames, on a random grey: (class index, face, x, y, grey), the same every run."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(CLASS_NAMES):
        for path in sorted((fer / "test" / name).glob(f"{split}_*.jpg"))[:per_class]:
            side = int(rng.integers(150, 361))
            face = cv2.resize(cv2.imread(str(path)), (side, side), interpolation=cv2.INTER_CUBIC)
            x, y = int(rng.integers(0, 640 - side - 2 * frames)), int(rng.integers(0, 480 - side))
            yield label, face, x, y, int(rng.integers(40, 200))


def _pasted_clips(engines: dict[str, Engine], classifier: ExpressionClassifier, fer: Path, per_class: int) -> dict:
    """FER-2013 faces at random sizes (150-360 px), each a moving clip through every engine: per
    engine, the share of scored frames that have the face and the accuracy of their raw output;
    and the first engine's accuracy minus the second's on the frames where both have the face,
    with its standard error (clips as the unit: a clip's frames are far from independent)."""
    to_class = np.array([CLASS_NAMES.index(n) for n in classifier.labels])
    outcomes: dict[str, list[list[bool | None]]] = {name: [] for name in engines}  # per clip, per frame
    for scene, (label, face, x, y, background) in enumerate(_pastes(fer, "PrivateTest", per_class, CLIP_FRAMES), 1):
        clip = _moving(face, x, y, background)
        for engine_name, engine in engines.items():
            outcomes[engine_name].append(
                [
                    int(to_class[faces[0].raw_probabilities.argmax()]) == label if len(faces) == 1 else None
                    for faces in _clip(engine, scene, clip)[SCORED_FROM:]
                ]
            )
    report: dict = {}
    for name, clips in outcomes.items():
        frames = [o for clip in clips for o in clip]
        found = [o for o in frames if o is not None]
        report[name] = {
            "frames_scored": len(frames),
            "frames_with_the_face": round(len(found) / max(1, len(frames)), 4),
            "accuracy_on_those": round(sum(found) / max(1, len(found)), 4),
        }
    report.update(_paired_difference(outcomes))
    return report


def _paired_difference(outcomes: dict[str, list[list[bool | None]]]) -> dict:
    """The first way's accuracy minus the second's on the frames where both have the face, with
    its standard error (clips as the unit: a clip's frames are far from independent) and how many
    frames those are: where each way has the face on other frames, its own accuracy can differ by
    more than this."""
    first, second = list(outcomes)[:2]
    sums, counts = [], []  # per clip: the difference summed over frames where both have the face, and their count
    for a, b in zip(outcomes[first], outcomes[second], strict=True):
        both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        sums.append(sum(int(x) - int(y) for x, y in both))
        counts.append(len(both))
    total = max(1, sum(counts))
    mean = sum(sums) / total
    error = float(np.sqrt(sum((d - mean * n) ** 2 for d, n in zip(sums, counts, strict=True)))) / total
    difference = {"points": round(100 * mean, 2), "standard_error": round(100 * error, 2)}
    return {f"{first}_minus_{second}": {**difference, "frames_compared": sum(counts)}}


class _BothViews:
    """The classifier as it ran before views alternated: every frame, each face as seen and mirrored
    in one invoke. It says it does no mirror averaging, so the engine neither alternates nor pairs."""

    flip_average = False

    def __init__(self, classifier: ExpressionClassifier) -> None:
        self.classifier = classifier

    def __getattr__(self, name: str):
        return getattr(self.classifier, name)

    def classify(self, crops: np.ndarray, view: str = "both") -> np.ndarray:
        return self.classifier.classify(crops, "both")


def mirror_views(classifier: ExpressionClassifier, fer: Path, per_class: int = 200) -> dict:
    """Video frames alternate the face as seen and mirrored (one model pass a face a frame); before,
    every frame had both. FER-2013 PublicTest faces (this chose how the app runs: not PrivateTest),
    pasted as in `_pasted_clips` into video clips MIRROR_CLIP_FRAMES long, MIRROR_GAP empty frames
    between clips (so the last face departs), through both engines, frames from MIRROR_SCORED_FROM
    on: accuracy of the label shown (smoothed, with its hysteresis), of the smoothed probabilities'
    top class, and of the raw output; and the paired differences of the first two."""
    detector = FaceDetector(400)
    engines = {"alternating": Engine(classifier), "both_every_frame": Engine(_BothViews(classifier))}  # type: ignore[arg-type]
    for engine in engines.values():
        engine.detector = detector
    shown: dict[str, list[list[bool | None]]] = {name: [] for name in engines}
    smoothed: dict[str, list[list[bool | None]]] = {name: [] for name in engines}
    raw: dict[str, list[list[bool | None]]] = {name: [] for name in engines}
    to_class = np.array([CLASS_NAMES.index(n) for n in classifier.labels])
    index = 0
    for label, face, x, y, background in _pastes(fer, "PublicTest", per_class, MIRROR_CLIP_FRAMES):
        clip = _moving(face, x, y, background, MIRROR_CLIP_FRAMES)
        clip += [np.full((480, 640, 3), background, np.uint8)] * MIRROR_GAP
        for engine_name, engine in engines.items():
            results = [engine.process(Frame(f, (index + n) / 30, index + n)).faces for n, f in enumerate(clip)]
            scored = results[MIRROR_SCORED_FROM:MIRROR_CLIP_FRAMES]
            shown[engine_name].append([f[0].label == CLASS_NAMES[label] if len(f) == 1 else None for f in scored])
            smoothed[engine_name].append(
                [int(to_class[f[0].probabilities.argmax()]) == label if len(f) == 1 else None for f in scored]
            )
            raw[engine_name].append(
                [int(to_class[f[0].raw_probabilities.argmax()]) == label if len(f) == 1 else None for f in scored]
            )
        index += len(clip)
    report: dict = {}
    for engine_name in engines:
        report[engine_name] = {"frames_with_the_face": sum(o is not None for clip in shown[engine_name] for o in clip)}
        for measure, outcomes in (("shown_label", shown), ("smoothed_top", smoothed), ("raw_output", raw)):
            found = [o for clip in outcomes[engine_name] for o in clip if o is not None]
            report[engine_name][f"{measure}_accuracy"] = round(sum(found) / max(1, len(found)), 4)
    for measure, outcomes in (("shown_label", shown), ("smoothed_top", smoothed)):
        report[measure] = _paired_difference(outcomes)
    return report


def steady_boxes(classifier: ExpressionClassifier, fer: Path, per_class: int = 30) -> dict:
    """A detection overlapping a face's box by `FaceTracker.still_iou` is taken for dlib's jitter
    (the box moves half way and stops); before, the box jumped to every detection and drifted on.
    FER-2013 PublicTest faces (this chose it: not PrivateTest) pasted as in `mirror_views`, with
    sensor noise (a normal spread of 3 levels), as clips panning 2 px a frame and held still,
    through both trackers: accuracy of the raw output and of the label shown, how often the raw
    top class changes from one frame to the next (flicker), and the paired differences."""
    detector = FaceDetector(400)
    engines = {"steady": Engine(classifier), "jumping": Engine(classifier)}
    engines["jumping"].tracker.still_iou = 2.0  # no overlap reaches it: every detection followed, as before
    for engine in engines.values():
        engine.detector = detector
    to_class = np.array([CLASS_NAMES.index(n) for n in classifier.labels])
    report: dict = {}
    index = 0
    for pan in (2, 0):
        raw: dict[str, list[list[bool | None]]] = {name: [] for name in engines}
        shown: dict[str, list[list[bool | None]]] = {name: [] for name in engines}
        changes = {name: [0, 0] for name in engines}  # top-class changes, frame pairs
        for label, face, x, y, background in _pastes(fer, "PublicTest", per_class, MIRROR_CLIP_FRAMES):
            clip = _moving(face, x, y, background, MIRROR_CLIP_FRAMES) if pan else _moving(face, x, y, background, 1)
            noise = np.random.default_rng(index)
            clip = [
                np.clip(clip[n % len(clip)] + noise.normal(0.0, 3.0, clip[0].shape), 0, 255).astype(np.uint8)
                for n in range(MIRROR_CLIP_FRAMES)
            ] + [np.full((480, 640, 3), background, np.uint8)] * MIRROR_GAP
            for name, engine in engines.items():
                results = [engine.process(Frame(f, (index + n) / 30, index + n)).faces for n, f in enumerate(clip)]
                scored = results[MIRROR_SCORED_FROM:MIRROR_CLIP_FRAMES]
                raw[name].append(
                    [int(to_class[f[0].raw_probabilities.argmax()]) == label if len(f) == 1 else None for f in scored]
                )
                shown[name].append([f[0].label == CLASS_NAMES[label] if len(f) == 1 else None for f in scored])
                tops = [int(f[0].raw_probabilities.argmax()) for f in scored if len(f) == 1]
                changes[name][0] += sum(a != b for a, b in pairwise(tops))
                changes[name][1] += max(0, len(tops) - 1)
            index += len(clip)
        part: dict = {}
        for name in engines:
            found = [o for clip in raw[name] for o in clip if o is not None]
            labels = [o for clip in shown[name] for o in clip if o is not None]
            part[name] = {
                "frames_with_the_face": len(found),
                "raw_output_accuracy": round(sum(found) / max(1, len(found)), 4),
                "shown_label_accuracy": round(sum(labels) / max(1, len(labels)), 4),
                "raw_top_changes_a_frame": round(changes[name][0] / max(1, changes[name][1]), 4),
            }
        part["raw_output"], part["shown_label"] = _paired_difference(raw), _paired_difference(shown)
        report[f"pan_{pan}px_a_frame" if pan else "held_still"] = part
    return report


def video_path(classifier: ExpressionClassifier, fer: Path | None, photos: Path | None, per_class: int = 200) -> dict:
    """Through `Engine.process`, once per config in `VIDEO_CONFIGS`: the pasted FER-2013 faces as
    moving clips (`_pasted_clips`), and the faces tracked in each photo, shown as a video of its
    own size, at the last frame of its clip."""
    engines = {name: Engine(classifier, config) for name, config in VIDEO_CONFIGS.items()}
    detector = next(iter(engines.values())).detector  # one dlib detector for all: loading one takes 0.3 s
    for engine in engines.values():
        engine.detector = detector
    report: dict = {"fer2013_pasted": _pasted_clips(engines, classifier, fer, per_class) if fer else "skipped"}
    if photos is not None:
        tracked: dict = {name: {} for name in engines}
        scene = 0
        for path in sorted(photos.iterdir()):
            image = cv2.imread(str(path))
            if image is None:
                continue
            scene += 1
            for name, engine in engines.items():  # held still, as a camera of the photo's resolution would see it
                tracked[name][path.name] = len(_clip(engine, scene, [image] * CLIP_FRAMES)[-1])
        report["photos_faces_tracked"] = tracked
    return report


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
    if (fer / "test").is_dir():
        report["mirror_views"] = mirror_views(classifier, fer, per_class=60)  # as docs/model-history.md quotes
        report["steady_boxes"] = steady_boxes(classifier, fer)
    report["video_path"] = video_path(
        classifier, fer if (fer / "test").is_dir() else None, photos if photos.is_dir() else None
    )
    return report
