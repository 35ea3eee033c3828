"""The `fer` package's own video pipeline on a video, timed (run pinned to one core).

Usage: python -m bench.fer_peer VIDEO  -> prints {"frames": N, "seconds": S, "fps": F}
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import cv2
    from fer.classes import Video
    from fer.fer import FER

    # fer calls cv2 window functions even with display=False; headless OpenCV has no GUI.
    # Only the window calls are stubbed: its detector, classifier and frame loop run as shipped.
    cv2.destroyAllWindows = lambda: None
    cv2.waitKey = lambda *_: -1
    cv2.imshow = lambda *_: None

    source = Path(sys.argv[1]).resolve()
    workdir = tempfile.mkdtemp(prefix="emojitui-fer-bench-")
    os.chdir(workdir)  # its analyze() writes data.csv into the working directory: keep it out of the repo
    video = Video(str(source), outdir=workdir)
    detector = FER()  # its defaults: Haar cascade, mini-Xception
    started = time.perf_counter()
    results = video.analyze(detector, display=False, save_frames=False, save_video=False, annotate_frames=False)
    seconds = time.perf_counter() - started
    frames = len(results)
    print(json.dumps({"frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
