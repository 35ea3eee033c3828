"""The command line's options: every parser of `emojitui` and its subcommands, and the one
check of their values (numbers in range, choices among theirs). What the commands do is `emojitui.cli`."""

from __future__ import annotations

import argparse
from pathlib import Path

from emojitui import __version__
from emojitui.engine.settings import GRAPHICS, EngineConfig
from emojitui.shared.errors import UserError

EXAMPLES = """examples:
  emojitui                              live from the first camera (the demo when there is none)
  emojitui --source video.mp4           a video file (also: an image, a folder, picamera, demo)
  emojitui --image photo.jpg --json     one photo, one JSON object
  emojitui --source 0 --headless        JSON lines per frame, no screen (Ctrl-C for the summary)
  emojitui render clip.mp4 -o out.mp4   the video with an emoji over every face (also .webm, .gif)
  emojitui calibrate                    make your resting face read neutral (the app: press c)
  emojitui bench --source demo --json   pipeline speed per stage
  emojitui history --csv out.csv        export the last session's history
  emojitui serve --source demo          the app in a web browser, at http://127.0.0.1:8000
"""


# The one check of numeric options: option -> (lowest, highest) allowed. NaN and infinities fail
# every comparison, so they are refused here too, before they can reach the JSON or the screen.
NUMERIC_LIMITS: dict[str, tuple[float, float]] = {
    "frames": (0, 2**31),
    "threads": (1, 256),
    "detect_width": (80, 16384),
    "detect_every": (1, 1000),
    "full_scan_seconds": (0.0, 3600.0),
    "smooth_time": (0.0, 60.0),
    "smooth_margin": (0.0, 1.0),
    "seconds": (0.01, 86400.0),  # render
    "width": (16, 16384),  # render
    "countdown": (0.0, 60.0),  # calibrate
}
# ... and of options with a fixed set of values: option -> the values (argparse's `choices` would print the usage too).
CHOICES: dict[str, tuple[str, ...]] = {
    "graphics": GRAPHICS,
}


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--model",
        default=None,
        metavar="TIER|PATH",
        help="accurate, fast, or auto (the default: times both here at start-up and takes the accurate one when "
        "it fits the frame budget), or a .tflite PATH (its .json card beside it); also [model] tier in the config",
    )
    group.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="flip frames left-right (default: on for cameras)",
    )
    group.add_argument(
        "--flip-average",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average each face as seen and mirrored, about +0.5 points of accuracy: a still gets both views in "
        "one call; on video a frame classifies one view and averages it with the frame before's other view, "
        "one model pass a face a frame (default: on)",
    )
    group.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for the expression model (default 1); 2 nearly halves the time per face on CPUs "
        "without AVX-512 VNNI, where the model is the costliest stage",
    )
    group.add_argument("--resolution", help="camera resolution, e.g. 640x480 (default: the camera's own mode)")
    defaults = EngineConfig()
    group.add_argument(
        "--detect-width",
        type=int,
        default=defaults.detect_width,
        help="width the frame is scaled to for face detection (default %(default)s)",
    )
    group.add_argument(
        "--detect-every",
        type=int,
        default=defaults.detect_every,
        help="start a detection at most every N frames, track between; detection runs on its own thread "
        "and no frame waits for it (default %(default)s)",
    )
    group.add_argument(
        "--full-scan-seconds",
        type=float,
        default=defaults.full_scan_seconds,
        help="search the whole frame for new faces at least this often; in between, detections search only "
        "around the faces already tracked, for a fraction of the cost (default %(default)s; 0: always the whole frame)",
    )
    group.add_argument(
        "--detect-inline",
        action="store_true",
        help="detect on the frame that needs it, blocking it, as before (for comparison)",
    )
    group.add_argument(
        "--smooth-time",
        type=float,
        default=defaults.smoothing.time_constant,
        help="smoothing time constant, seconds (default %(default)s)",
    )
    group.add_argument(
        "--smooth-margin",
        type=float,
        default=defaults.smoothing.margin,
        help="lead a new label needs before it shows (default %(default)s)",
    )
    group.add_argument("--config", type=Path, default=None, help="config file with [emoji] choices")
    group.add_argument(
        "--calibration",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply your saved neutral calibration for this model (`emojitui calibrate`, or c in the app); "
        "default: on in the app and --headless, off for --image, render and bench",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emojitui",
        description="Real-time facial expression to emoji, in your terminal.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emojitui {__version__}")
    parser.add_argument(
        "--source",
        default="auto",
        help="camera index, /dev/videoN, video, image, folder, picamera, demo (default: camera 0, else demo)",
    )
    parser.add_argument("--image", type=Path, help="classify the faces in one image and exit")
    parser.add_argument("--json", action="store_true", help="with --image: print one JSON object")
    parser.add_argument("--headless", action="store_true", help="no screen: JSON lines per frame on stdout")
    parser.add_argument("--events", action="store_true", help="with --headless: one line per change of emotion instead")
    parser.add_argument("--frames", type=int, default=0, help="stop after N frames (headless)")
    parser.add_argument("--snapshot-dir", type=Path, default=None, help="where `s` saves snapshots")
    parser.add_argument(
        "--snapshot", type=Path, default=None, help="with --image: also save an annotated snapshot to this folder"
    )
    parser.add_argument("--history-dir", type=Path, default=None, help="where session history files go")
    parser.add_argument("--no-history", action="store_true", help="do not write a history file")
    parser.add_argument("--no-preview", action="store_true", help="start with the camera preview hidden")
    parser.add_argument(
        "--graphics",
        default=None,
        metavar="|".join(GRAPHICS),
        help="draw the preview as a real picture: kitty (kitty's graphics protocol: kitty, Ghostty), sixel (foot, "
        "WezTerm, iTerm2, Konsole), auto (what the terminal says it draws, else half-blocks) or off (half-blocks, "
        "the default); needs the graphics extra on Python 3.12+; also [display] graphics in the config",
    )
    _add_engine_options(parser)
    return parser


def build_bench_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emojitui bench", description="Run the pipeline as fast as it can and time each stage."
    )
    parser.add_argument("--source", default="demo", help="what to read (default: the demo loop, once)")
    parser.add_argument("--frames", type=int, default=0, help="stop after N frames")
    parser.add_argument("--json", action="store_true", help="print JSON")
    _add_engine_options(parser)
    return parser


RENDER_EPILOG = """formats, by the output's suffix:
  .mp4   MPEG-4 Part 2 (mp4v): VLC, mpv, QuickTime and most desktop players; not web browsers
  .webm  VP9: web browsers (Chrome, Firefox, Edge, Safari 14.1+) and VLC
  .gif   animated GIF, loops, plays everywhere; held in memory until the end: keep it short (--width 320)
Audio is not copied. The file appears under its name only when complete (an interrupted render leaves none).

examples:
  emojitui render clip.mp4 -o emojified.mp4
  emojitui render photos/ -o slideshow.webm --no-labels      each image for 1 s at 15 fps
  emojitui render 0 --seconds 5 -o me.gif --width 320        5 s from the first camera
"""


def build_render_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emojitui render",
        description="Render a video, a folder of images or a camera with an emoji over every face.",
        epilog=RENDER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="a video file, a folder of images, a camera (0, /dev/video0, picamera) or demo")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the file to write: .mp4, .webm or .gif")
    parser.add_argument("--seconds", type=float, default=None, help="record this long (needed for a camera)")
    parser.add_argument("--width", type=int, default=None, help="scale the output to this width (default: the input's)")
    parser.add_argument("--no-labels", action="store_true", help="only the emoji: no boxes, no label text")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary line is still printed)")
    _add_engine_options(parser)
    return parser


def build_calibrate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emojitui calibrate",
        description="Neutral calibration without the screen: relax your face for the countdown and two seconds; "
        "the correction is saved for this model and applied by the app and --headless.",
    )
    parser.add_argument("--source", default="0", help="camera index, video, image or folder (default: camera 0)")
    parser.add_argument("--countdown", type=float, default=3.0, help="seconds to settle before collecting (default 3)")
    parser.add_argument("--clear", action="store_true", help="delete the saved calibration for this model and exit")
    _add_engine_options(parser)
    return parser


def build_history_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emojitui history", description="Summarise or export a session history.")
    parser.add_argument("file", nargs="?", type=Path, help="a session .jsonl (default: the latest)")
    parser.add_argument("--csv", type=Path, help="write the events as CSV to this file")
    parser.add_argument("--history-dir", type=Path, default=None)
    return parser


def check_values(args: argparse.Namespace) -> None:
    """Every numeric option within its limits (and finite) and every choice one of its values, else one
    UserError naming it."""
    for name, (lowest, highest) in NUMERIC_LIMITS.items():
        value = getattr(args, name, None)
        if value is not None and not lowest <= value <= highest:
            raise UserError(f"{_option(name)} must be a number from {lowest} to {highest}, got {value}")
    for name, values in CHOICES.items():
        value = getattr(args, name, None)
        if value is not None and value not in values:
            raise UserError(f"{_option(name)} must be one of {', '.join(values)}, got {value!r}")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emojitui serve",
        description="Serve the app to a web browser (textual-serve). Each tab runs its own session; "
        "a camera has one user at a time, and a second tab says so.",
        epilog="Every other option is the app's, passed through: emojitui serve --port 8080 --source demo",
        allow_abbrev=False,  # `--p` must not be taken from the app's options
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s: this machine)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default %(default)s)")
    parser.add_argument(
        "--public-url", help="the address browsers use, when not http://HOST:PORT (a proxy, or --host 0.0.0.0)"
    )
    return parser


SUBCOMMANDS = ("bench", "calibrate", "history", "render", "serve")
