"""Faces: dlib HOG detection on a downscaled grey frame, tracking ids, FER-style crops.

Detection is the expensive stage, so it runs every `detect_every` frames; in between, tracked
boxes carry forward with their recent velocity. A detection is a `Scan`: either the whole frame
scaled to `detect_width` (finds any face down to the smallest size), or only the region around
the faces already tracked, at the coarsest scale that still finds them, which re-finds them for
a fraction of the cost (the engine decides which; docs/model-history.md has the figures). Boxes
are widened to match FER-2013's framing before cropping, measured by running the detector on
PublicTest faces: the FER crop is about 1.07-1.16x the dlib box and centred 6% higher.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import dlib
import numpy as np

from emojitui.engine.settings import FER_CROP_SCALE, FER_CROP_SHIFT_UP

# Re-finding tracked faces (docs/model-history.md, "How the app's defaults were chosen"): dlib's
# smallest box is 73 px at detection scale and it misses faces much below 60 px, so the smallest
# tracked face is searched at 80-96 px; the region is each face's box widened by REFIND_MARGIN of
# its size on every side, room for the motion the tracker did not predict.
REFIND_SIZE = 80
REFIND_MARGIN = 0.3
HOG_CELL = 8  # px: dlib's HOG features, hence its boxes' positions, are on a grid of 8x8-pixel cells
PYRAMID_STEP = 5 / 6  # dlib's HOG scans an image pyramid, each level 5/6 the size of the one before


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in frame pixels: top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    def iou(self, other: Box) -> float:
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.w, other.x + other.w)
        bottom = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, right - left) * max(0.0, bottom - top)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0

    def as_ints(self) -> list[int]:
        return [round(self.x), round(self.y), round(self.w), round(self.h)]

    def fer_crop_box(self, scale: float = FER_CROP_SCALE, shift_up: float = FER_CROP_SHIFT_UP) -> Box:
        """The square FER-2013-style crop around this detector box."""
        side = max(self.w, self.h) * scale
        cx = self.x + self.w / 2
        cy = self.y + self.h / 2 - shift_up * self.h
        return Box(cx - side / 2, cy - side / 2, side, side)


@dataclass(frozen=True, slots=True)
class Scan:
    """What one detection searches: a region of the frame in pixels, scaled by `factor` for dlib."""

    left: int
    top: int
    right: int
    bottom: int
    factor: float
    full: bool  # the whole frame at `detect_width`: finds new faces anywhere, down to the smallest size


class FaceDetector:
    """dlib's HOG frontal detector on a grey frame downscaled to `detect_width` pixels."""

    def __init__(self, detect_width: int = 400, upsample: int = 0) -> None:
        self.detect_width = detect_width
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()

    def full_scan(self, width: int, height: int) -> Scan:
        factor = min(1.0, self.detect_width / width) if self.detect_width else 1.0
        return Scan(0, 0, width, height, factor, full=True)

    def around(self, boxes: Sequence[Box], width: int, height: int) -> Scan:
        """Only the region around `boxes` (tracked faces), at the coarsest level of a full scan's
        pyramid where the smallest of them is still `REFIND_SIZE` px: the scales a full scan would
        find them at, from a fraction of the pixels. Never finer than a full scan, so never dearer;
        with no boxes it is the full scan.
        """
        full = self.full_scan(width, height)
        if not boxes:
            return full
        smallest = min(max(b.w, b.h) for b in boxes) * full.factor  # px at the full scan's scale
        levels = max(0, math.floor(math.log(REFIND_SIZE / max(1.0, smallest)) / math.log(PYRAMID_STEP)))
        factor = full.factor * PYRAMID_STEP**levels
        # The region's edges on a grid of HOG cells (at this scale): dlib places boxes on its cell grid,
        # so a region that followed the tracked boxes pixel by pixel would move a re-found box by a
        # few pixels each time, the tracker would take that for motion and predict the next region
        # further along, and the face would drift out of it. On the grid a still face gets the same
        # region, hence the same box, every time.
        step = max(1, round(HOG_CELL / factor))
        left = min(b.x - REFIND_MARGIN * b.w for b in boxes)
        top = min(b.y - REFIND_MARGIN * b.h for b in boxes)
        right = max(b.x + (1 + REFIND_MARGIN) * b.w for b in boxes)
        bottom = max(b.y + (1 + REFIND_MARGIN) * b.h for b in boxes)
        return Scan(
            max(0, math.floor(left / step) * step),
            max(0, math.floor(top / step) * step),
            min(width, max(0, math.ceil(right / step) * step)),
            min(height, max(0, math.ceil(bottom / step) * step)),
            factor,
            full=False,
        )

    def detect(self, grey: np.ndarray, scan: Scan | None = None) -> list[Box]:
        """Faces in `grey` (the whole frame), searching what `scan` says; None: a full scan."""
        height, width = grey.shape[:2]
        scan = scan or self.full_scan(width, height)
        region = grey[scan.top : scan.bottom, scan.left : scan.right]
        if region.size == 0:  # tracked boxes predicted off the frame
            return []
        factor = scan.factor
        small = (
            np.ascontiguousarray(region)
            if factor == 1.0
            else cv2.resize(  # at least 1 px each way: a 2000x1 strip scales to a width, not to nothing
                region,
                (max(1, round(region.shape[1] * factor)), max(1, round(region.shape[0] * factor))),
                interpolation=cv2.INTER_AREA,
            )
        )
        rects = self._detector(small, self.upsample)
        return [
            Box(scan.left + r.left() / factor, scan.top + r.top() / factor, r.width() / factor, r.height() / factor)
            for r in rects
        ]


@dataclass(slots=True)
class Track:
    """One face followed across frames; `id` is stable while the face stays in view."""

    id: int
    box: Box
    velocity: tuple[float, float] = (0.0, 0.0)
    missed: int = 0
    age: int = 0


@dataclass
class FaceTracker:
    """Associates detections with existing tracks by overlap and carries boxes in between."""

    min_iou: float = 0.3
    max_missed: int = 2  # detection rounds a track survives without a match
    # dlib boxes a face that did not move a few pixels apart from one detection to the next (its
    # 8-px cell grid; a full scan and a re-finding at another scale): a detection overlapping the
    # box this much is taken for that jitter, and the box moves only part of the way to it, so a
    # still face's box (its crop, its picture) holds steady; a bigger move is followed at once.
    still_iou: float = 0.85
    still_step: float = 0.5
    tracks: list[Track] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def predict(self) -> list[Track]:
        """Between detections: move each box by its (damped) velocity."""
        for track in self.tracks:
            dx, dy = track.velocity
            track.box = Box(track.box.x + dx, track.box.y + dy, track.box.w, track.box.h)
            track.velocity = (dx * 0.8, dy * 0.8)
            track.age += 1
        return self.tracks

    def reset(self) -> None:
        """A new scene (the next photo of a folder): forget every track; ids keep counting up."""
        self.tracks.clear()

    def mirror(self, frame_width: int) -> None:
        """The frame was flipped left-right: flip the boxes and motion too, so each face keeps its id."""
        for track in self.tracks:
            box = track.box
            track.box = Box(frame_width - box.x - box.w, box.y, box.w, box.h)
            track.velocity = (-track.velocity[0], track.velocity[1])

    def update(self, detections: list[Box], frames_since_last: int = 1) -> list[Track]:
        """Greedy best-overlap matching; unmatched detections start new tracks."""
        pairs = sorted(
            ((track.box.iou(det), ti, di) for ti, track in enumerate(self.tracks) for di, det in enumerate(detections)),
            reverse=True,
        )
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for overlap, ti, di in pairs:
            if overlap < self.min_iou or ti in used_tracks or di in used_dets:
                continue
            track, det = self.tracks[ti], detections[di]
            if overlap >= self.still_iou:
                old, step = track.box, self.still_step
                track.box = Box(
                    old.x + step * (det.x - old.x),
                    old.y + step * (det.y - old.y),
                    old.w + step * (det.w - old.w),
                    old.h + step * (det.h - old.h),
                )
                track.velocity, track.missed = (0.0, 0.0), 0
            else:
                steps = max(1, frames_since_last)
                track.velocity = ((det.x - track.box.x) / steps * 0.5, (det.y - track.box.y) / steps * 0.5)
                track.box, track.missed = det, 0
            used_tracks.add(ti)
            used_dets.add(di)
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for di, det in enumerate(detections):
            if di not in used_dets:
                self.tracks.append(Track(next(self._ids), det))
        self.tracks.sort(key=lambda t: t.id)
        return self.tracks


def crop_face(grey: np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """Cut `box` out of `grey`, resized to `size` (w, h) with area averaging as FER-2013 was.

    Parts of the box beyond the frame are filled by replicating the edge.
    """
    height, width = grey.shape[:2]
    left, top = round(box.x), round(box.y)
    right, bottom = left + max(1, round(box.w)), top + max(1, round(box.h))
    region = grey[max(0, top) : min(height, bottom), max(0, left) : min(width, right)]
    pad = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if region.size == 0:
        return np.zeros((size[1], size[0]), grey.dtype)
    if any(pad):
        region = cv2.copyMakeBorder(region, *pad, cv2.BORDER_REPLICATE)
    interpolation = cv2.INTER_AREA if region.shape[1] > size[0] else cv2.INTER_LINEAR
    return cv2.resize(region, size, interpolation=interpolation)
