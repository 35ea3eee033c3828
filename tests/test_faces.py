"""Face detection on real photos with real dlib; tracking ids; FER-style crops."""

import math

import cv2
import numpy as np
import pytest

from emojitui.engine.faces import (
    PYRAMID_STEP,
    REFIND_SIZE,
    Box,
    FaceDetector,
    FaceTracker,
    Scan,
    crop_face,
)
from emojitui.shared.locations import DEMO_DIR
from tests.conftest import place


def grey(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)


def test_two_people_are_found_as_two(photos):
    boxes = FaceDetector(detect_width=640).detect(grey(photos / "two_people.jpg"))
    assert len(boxes) == 2
    assert boxes[0].iou(boxes[1]) == 0


def test_one_face_at_every_resolution_in_original_pixels(photos):
    sizes = {}
    for name in ("obama-240p.jpg", "obama-480p.jpg", "obama-720p.jpg", "obama-1080p.jpg"):
        image = grey(photos / name)
        boxes = FaceDetector(detect_width=480).detect(image)
        assert len(boxes) == 1, name
        sizes[name] = boxes[0].w / image.shape[1]
    # The same face is the same fraction of the frame whatever the resolution.
    assert max(sizes.values()) - min(sizes.values()) < 0.05


def test_a_scan_around_tracked_faces_leaves_them_room_and_is_never_finer_than_a_full_scan():
    detector = FaceDetector(400)
    full = detector.full_scan(640, 480)
    assert full == Scan(0, 0, 640, 480, 400 / 640, full=True)
    assert detector.around([], 640, 480) == full
    near = detector.around([Box(200, 100, 300, 300)], 640, 480)
    levels = round(math.log(near.factor / full.factor, PYRAMID_STEP))
    assert not near.full and levels > 0 and near.factor == pytest.approx(full.factor * PYRAMID_STEP**levels)
    assert 300 * near.factor >= REFIND_SIZE > 300 * near.factor * PYRAMID_STEP, "the coarsest level that finds it"
    assert near.left < 200 and near.top < 100 and near.right > 500 and near.bottom > 400, "room to move"
    with_far = detector.around([Box(200, 100, 300, 300), Box(20, 10, 100, 100)], 640, 480)
    assert with_far.factor == full.factor, "a small face needs the full scan's scale, and gets no finer"
    assert (with_far.left, with_far.top, with_far.right, with_far.bottom) == (0, 0, 598, 480), "clipped to the frame"
    gone = detector.around([Box(-300, 100, 100, 100)], 640, 480)
    assert gone.right == 0 and detector.detect(np.zeros((480, 640), np.uint8), gone) == [], "off the frame: nothing"


def test_a_face_is_found_again_around_its_box_at_a_coarser_scale():
    frame = cv2.cvtColor(place(cv2.imread(str(DEMO_DIR / "02-obama.jpg")), dx=30), cv2.COLOR_BGR2GRAY)
    detector = FaceDetector(400)
    [box] = detector.detect(frame)
    scan = detector.around([box], 640, 480)
    assert scan.factor < 0.7 * detector.full_scan(640, 480).factor
    [again] = detector.detect(frame, scan)
    assert again.iou(box) > 0.6, "the same face (box sizes come in steps of 1.2, a step apart is 0.69)"


def test_no_face_in_a_blank_frame():
    assert FaceDetector().detect(np.full((480, 640), 127, np.uint8)) == []


def test_a_strip_too_thin_to_scale_down_has_no_faces_and_no_error():
    assert FaceDetector(detect_width=400).detect(np.zeros((1, 2000), np.uint8)) == []


def test_tracker_keeps_ids_while_faces_move_and_gives_new_ones_to_newcomers():
    tracker = FaceTracker()
    first = tracker.update([Box(100, 100, 80, 80), Box(400, 100, 80, 80)])
    ids = [t.id for t in first]
    assert ids == [1, 2]
    moved = tracker.update([Box(410, 104, 80, 80), Box(108, 98, 80, 80)])
    assert [(t.id, round(t.box.x)) for t in moved] == [(1, 108), (2, 410)]
    with_newcomer = tracker.update([Box(110, 100, 80, 80), Box(412, 100, 80, 80), Box(250, 300, 60, 60)])
    assert [t.id for t in with_newcomer] == [1, 2, 3]


def test_tracks_survive_a_missed_detection_then_expire():
    tracker = FaceTracker(max_missed=1)
    tracker.update([Box(100, 100, 80, 80)])
    assert [t.id for t in tracker.update([])] == [1]
    assert tracker.update([]) == []


def test_prediction_carries_boxes_along_their_velocity():
    tracker = FaceTracker()
    tracker.update([Box(100, 100, 80, 80)])
    tracker.update([Box(120, 100, 80, 80)], frames_since_last=2)
    before = tracker.tracks[0].box.x
    tracker.predict()
    assert tracker.tracks[0].box.x > before


def test_a_still_faces_jittering_detections_hold_its_box_steady_and_a_real_move_is_followed_at_once():
    """dlib boxes a still face a few pixels apart at each detection; the box must not jump with
    them (nor take them for motion), yet a face that moves gets its box at once."""
    centre = Box(200, 120, 240, 240)
    jitter = [(-6, 5), (5, -7), (-4, -6), (6, 6), (-5, 7), (4, -5)] * 3
    tracker = FaceTracker()
    tracker.update([centre])
    shown = []
    for dx, dy in jitter:
        tracker.update([Box(centre.x + dx, centre.y + dy, 240, 240)], frames_since_last=3)
        tracker.predict()
        tracker.predict()
        shown.append(tracker.tracks[0].box)
    off = max(max(abs(b.x - centre.x), abs(b.y - centre.y)) for b in shown)
    assert off <= 4.5, f"the box wandered {off:.1f} px for detections up to 7 px off"
    moved = Box(centre.x + 60, centre.y, 240, 240)
    (track,) = tracker.update([moved], frames_since_last=3)
    assert track.box == moved and track.velocity[0] > 0, "a real move: the box is there, and carries on"


def test_fer_crop_is_square_wider_and_higher_than_the_detector_box():
    box = Box(100, 100, 100, 100)
    crop = box.fer_crop_box()
    assert crop.w == crop.h > 100
    assert crop.y + crop.h / 2 < 150


def test_crop_beyond_the_frame_is_padded_not_shrunk():
    image = np.tile(np.arange(100, dtype=np.uint8) * 2, (100, 1))  # brightness grows left to right
    crop = crop_face(image, Box(-20, 10, 60, 60), (48, 48))
    assert crop.shape == (48, 48)
    # The 20 columns left of the frame repeat its first column; the face is not squeezed.
    assert (crop[:, :14] == image[0, 0]).all()
    assert crop[0, -1] == pytest.approx(image[0, 39], abs=3)
