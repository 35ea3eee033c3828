"""Snapshots: the emojified PNG and its JSON sidecar, written atomically."""

import json

import cv2
import numpy as np

from emojitui.session.snapshot import save_snapshot
from emojitui.shared.locations import DEMO_DIR as BUNDLED  # real faces shipped with the app: no ../shared needed


def test_snapshot_draws_emoji_over_each_face_and_writes_probabilities(engine, tmp_path):
    image = cv2.imread(str(BUNDLED / "06-two-people.jpg"))
    faces = engine.classify_still(image)
    assert len(faces) == 2
    png = save_snapshot(tmp_path, image, faces, engine.labels, "two_people.jpg")
    picture = cv2.imread(str(png))
    assert picture.shape == image.shape
    for face in faces:
        x, y, w, h = face.box.as_ints()
        changed = np.abs(picture[y : y + h, x : x + w].astype(int) - image[y : y + h, x : x + w]).mean()
        assert changed > 20, "the face is covered by its emoji"
    untouched = np.abs(picture[-50:, :50].astype(int) - image[-50:, :50]).mean()
    assert untouched < 1, "and the rest of the frame is the frame"
    sidecar = json.loads(png.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["image"] == png.name and sidecar["source"] == "two_people.jpg"
    assert len(sidecar["faces"]) == 2
    for face in sidecar["faces"]:
        assert set(face["probabilities"]) == set(engine.labels)
        assert abs(sum(face["probabilities"].values()) - 1) < 0.01
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([png.name, png.with_suffix(".json").name])


def test_snapshots_in_the_same_millisecond_each_keep_their_file(tmp_path):
    """From the TUI audit: `s` pressed fast gave ten "saved" messages and nine files."""
    from emojitui.session.snapshot import snapshot_names
    from emojitui.shared.atomic import write_bytes_new

    folder = tmp_path / "snaps"
    names = [write_bytes_new(snapshot_names(folder, "20261204-221500-123"), b"png %d" % n) for n in range(3)]
    assert [n.name for n in names] == [
        "emojitui-20261204-221500-123.png",
        "emojitui-20261204-221500-123-2.png",
        "emojitui-20261204-221500-123-3.png",
    ]
    assert [n.read_bytes() for n in names] == [b"png 0", b"png 1", b"png 2"], "none replaced another"
    assert sorted(p.name for p in folder.iterdir()) == sorted(n.name for n in names), "no temporary file left"


def test_a_snapshot_that_cannot_be_written_leaves_no_file_not_even_an_empty_png(tmp_path, monkeypatch, engine):
    """The name was claimed by creating it empty, then written: a kill in between left a 0-byte
    PNG. Now the name is a link to the written file; a write that fails leaves nothing."""
    import errno

    from emojitui.session.snapshot import save_snapshot
    from emojitui.shared import atomic
    from emojitui.shared.errors import UserError

    image = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    faces = engine.classify_still(image)

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(atomic.os, "fsync", full_disk)
        try:
            save_snapshot(tmp_path, image, faces, engine.labels)
        except UserError as problem:
            assert "No space left" in str(problem)
        else:
            raise AssertionError("the failed write was not reported")
    assert list(tmp_path.iterdir()) == []

    def no_hard_links(source, target) -> None:  # FAT on a USB stick, some FUSE and SMB mounts
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_hard_links)
    first, second = (save_snapshot(tmp_path, image, faces, engine.labels) for _ in range(2))
    assert first != second and cv2.imread(str(first)).shape == image.shape
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".json", ".png", ".png"]
