"""What `just check-pi --emulate` compares between this machine and an emulated Pi: the faces in
the bundled demo photos and in a short video, as JSON (boxes, labels, probabilities).

Usage: pi_classify.py SITE VIDEO OUT.json, where SITE is the folder emojitui was installed to
(empty: the checkout).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

site, video, out = sys.argv[1:4]
if site:
    sys.path.insert(0, site)
started = time.monotonic()

import cv2  # noqa: E402

import emojitui  # noqa: E402
from emojitui.engine.classifier import ExpressionClassifier  # noqa: E402
from emojitui.engine.engine import Engine  # noqa: E402
from emojitui.shared import locations  # noqa: E402
from emojitui.sources import VideoSource  # noqa: E402

imported = time.monotonic() - started
classifier = ExpressionClassifier(locations.default_model_path())
engine = Engine(classifier)
photos = {
    path.name: [face.as_json(engine.labels) for face in engine.classify_still(cv2.imread(str(path)))]
    for path in sorted(locations.DEMO_DIR.glob("*.jpg"))
}
engine = Engine(classifier)  # the video from a fresh tracker and smoother
source = VideoSource(Path(video))
frames = []
while (frame := source.read()) is not None:
    frames.append([face.as_json(engine.labels) for face in engine.process(frame).faces])
result = {
    "machine": platform.machine(),
    "python": platform.python_version(),
    "emojitui": emojitui.__file__,
    "import_s": round(imported, 1),
    "total_s": round(time.monotonic() - started, 1),
    "photos": photos,
    "video": frames,
}
Path(out).write_text(json.dumps(result))
