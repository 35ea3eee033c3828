"""A clearly labelled *estimate* of the pipeline on a Raspberry Pi 4, from figures measured here.

Nothing here ran on a Pi. The model's time per face is its multiply-adds (the card's
`metrics.multiply_adds`) divided by a Pi 4 core's int8 throughput, derived from published
XNNPACK timings of MobileNets on a Pi 4; detection is the dlib HOG time measured here scaled by
a Pi 4 / this-CPU factor. Sources (see bench/README.md):

- XNNPACK README (github.com/google/XNNPACK), "Raspberry Pi" table, multi-threaded (4 threads)
  on a "RPi 4 (BCM2711)": as quoted in issue 23 from the current README, int8 (QS8) MobileNet v1
  1.0X 24 ms and v2 1.0X 17 ms; the README snapshot we could read (commit 0085ae36, benchmarked
  February 12, 2020) has only the FP32 table: MobileNet v1 1.0X 75 ms, v2 1.0X 44 ms, used as
  the pessimistic bound.
- MobileNet multiply-adds (224x224, width 1.0): v1 569 M (Howard et al. 2017, Table 8), v2 300 M
  (Sandler et al. 2018, Table 4).
- HOG: `HOG_SLOWDOWN`, a Pi 4 core about 6x slower than an AVX-512 server core at dlib's HOG (the
  factor issue 23 states; not a measurement of ours), scaled by the time HOG took here.
- The UI (`whole_app_cores`): the app's main thread measured here on the demo at 30 fps, times
  `PYTHON_SLOWDOWN` (a published Pi 4 Python timing against the same program here, below).

Per-core throughput divides the 4-thread figure by 4, which underestimates a core (threads do
not scale perfectly), so the estimate leans slow.
"""

from __future__ import annotations

PI4_THREADS = 4
MOBILENETS = {  # name: (multiply-adds, int8 ms on a Pi 4 with 4 threads, FP32 ms on a Pi 4 with 4 threads)
    "MobileNet v1 1.0X": (569e6, 24.0, 75.0),
    "MobileNet v2 1.0X": (300e6, 17.0, 44.0),
}
HOG_SLOWDOWN = 6.0
PI4_CORES = 4
# Python on a Pi 4 core against this CPU's: the Benchmarks Game n-body (plain Python, 5 million
# steps) took 158.3 s on a Pi 4 at 1.5 GHz (performance governor; chaitanyamehta.github.io,
# "Performance Analysis of Languages on Raspberry Pi"); the same program took 2.33 s of CPU for
# 500,000 steps on the 2-core VNNI Xeon here (Python 3.11, 2026-12-03), 23.3 s for 5 million. The
# Pi's Python was likely older (slower), so the factor leans slow.
PYTHON_SLOWDOWN = 6.8


def core_gmacs(column: int) -> float:
    """A Pi 4 core's multiply-adds per second (G), the mean over the MobileNets of one column."""
    rates = [macs / (row[column] / 1000) / PI4_THREADS / 1e9 for macs, *row in MOBILENETS.values()]
    return sum(rates) / len(rates)


def estimate(
    multiply_adds: float, passes_per_face: int, hog_ms_here: float, detect_every: int, fps: float = 30.0
) -> dict:
    """The pipeline on one Pi 4 core at `fps`, one face: int8 figures and the pessimistic FP32 bound."""
    out = {"label": "Raspberry Pi 4 estimate (not measured on a Pi)", "hog_ms": round(hog_ms_here * HOG_SLOWDOWN, 1)}
    for name, column in (("int8", 0), ("fp32_bound", 1)):
        model_ms = multiply_adds * passes_per_face / (core_gmacs(column) * 1e9) * 1000
        hog_ms = hog_ms_here * HOG_SLOWDOWN
        frame_ms = model_ms + hog_ms / detect_every  # one core: classification every frame, HOG amortised
        out[name] = {
            "core_gmac_per_s": round(core_gmacs(column), 2),
            "model_ms_per_face": round(model_ms, 1),
            "pipeline_fps_one_core": round(1000 / frame_ms, 1),
            "classify_fps_with_detection_on_another_core": round(1000 / model_ms, 1),
            "cores_at_fps": round(frame_ms * fps / 1000, 2),
        }
    return out


def whole_app_cores(pipeline_cores: float, ui_here: float, ui_no_preview_here: float, ui_share: float) -> dict:
    """The whole app on a Pi 4 at 30 fps: the pipeline estimate plus the UI thread measured here
    (Python, Textual) times PYTHON_SLOWDOWN. The preview paces itself to keep the UI thread about
    `ui_share` busy (`emojitui.ui.widgets.preview`), so there the UI thread is at most that, or
    what the UI costs without the preview where that is more."""
    unpaced = ui_here * PYTHON_SLOWDOWN
    ui = min(unpaced, max(ui_share, ui_no_preview_here * PYTHON_SLOWDOWN))
    return {
        "label": "Raspberry Pi 4 estimate (not measured on a Pi)",
        "pipeline_cores": round(pipeline_cores, 2),
        "ui_cores_at_5_pictures_a_second": round(unpaced, 2),
        "ui_cores_paced": round(ui, 2),
        "whole_app_cores": round(pipeline_cores + ui, 2),
        "of_cores": PI4_CORES,
    }
