"""`emojitui`: the command line. Builds everything before any screen opens, so every startup
problem is one line with a hint and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import sys
import time
from pathlib import Path

from emojitui import __version__
from emojitui.engine.settings import EngineConfig
from emojitui.shared import locations, output
from emojitui.shared.errors import UserError
from emojitui.shared.signals import QUIT_SIGNALS

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


NO_CAMERA_NOTICE = "no camera found; running the built-in demo (pass --source to choose)"

# The one check of numeric options: option -> (lowest, highest) allowed. NaN and infinities fail
# every comparison, so they are refused here too, before they can reach the JSON or the screen.
NUMERIC_LIMITS: dict[str, tuple[float, float]] = {
    "frames": (0, 2**31),
    "threads": (1, 256),
    "detect_width": (80, 16384),
    "detect_every": (1, 1000),
    "smooth_time": (0.0, 60.0),
    "smooth_margin": (0.0, 1.0),
    "seconds": (0.01, 86400.0),  # render
    "width": (16, 16384),  # render
    "countdown": (0.0, 60.0),  # calibrate
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
        help="classify each face as seen and mirrored and average the two: about +0.5 points of accuracy "
        "for a second model pass per face (default: on, unless --model auto finds no time for it)",
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


def check_numbers(args: argparse.Namespace) -> None:
    """Every numeric option within its limits (and finite), else one UserError naming it."""
    for name, (lowest, highest) in NUMERIC_LIMITS.items():
        value = getattr(args, name, None)
        if value is not None and not lowest <= value <= highest:
            option = "--" + name.replace("_", "-")
            raise UserError(f"{option} must be a number from {lowest} to {highest}, got {value}")


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        output.check_open()
        if argv[:1] == ["bench"]:
            args = build_bench_parser().parse_args(argv[1:])
            check_numbers(args)
            return _bench(args)
        if argv[:1] == ["history"]:
            return _history(build_history_parser().parse_args(argv[1:]))
        if argv[:1] == ["render"]:
            args = build_render_parser().parse_args(argv[1:])
            check_numbers(args)
            return _render(args)
        if argv[:1] == ["calibrate"]:
            args = build_calibrate_parser().parse_args(argv[1:])
            check_numbers(args)
            return _calibrate(args)
        if argv[:1] == ["serve"]:
            return _serve(*build_serve_parser().parse_known_args(argv[1:]))
        args = build_parser().parse_args(argv)
        check_numbers(args)
        return _run(args)
    except UserError as exc:
        if _served():  # a browser tab shows no stderr: the message gets a screen of its own
            from emojitui.ui.message import MessageApp

            MessageApp(str(exc)).run()
            return exc.exit_code
        print(f"emojitui: {exc}", file=sys.stderr)
        if isinstance(exc, output.OutputError):
            output.abandon()
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except ImportError as exc:  # a wheel that does not load here (dlib-bin, OpenCV, LiteRT): say which, once
        print(
            f"emojitui: {exc.name or 'a dependency'} cannot be loaded ({exc}): reinstall with `just setup-app` "
            "(wheels exist for x86_64 and aarch64 Linux with Python 3.11+)",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # `emojitui --headless | head`: the reader left, we stop quietly
        output.abandon()
        return 1


def _models(args: argparse.Namespace):
    """Load and check the model(s) and the config file, before any source opens."""
    from emojitui.engine.emoji_table import load_config
    from emojitui.engine.tiers import ModelSet

    config = load_config(args.config or locations.config_path(), required=args.config is not None)
    if args.model:
        spec, origin = args.model, "--model"
    elif os.environ.get("EMOJITUI_MODEL"):
        spec, origin = os.environ["EMOJITUI_MODEL"], "EMOJITUI_MODEL"
    elif config.model_tier:
        spec, origin = config.model_tier, "config"
    else:
        spec, origin = "auto", "auto"
    return ModelSet(spec, threads=args.threads, flip_average=args.flip_average, origin=origin), config


def _engine(args: argparse.Namespace, models=None, fps: float = 30.0, detection: str = "inline"):
    """The engine with the model chosen for a source of `fps` frames a second (0: stills)."""
    from emojitui.engine.engine import Engine
    from emojitui.engine.smoothing import SmoothingConfig

    model_set, config = models or _models(args)
    classifier, choice = model_set.choose(fps)
    engine_config = EngineConfig(
        detect_width=args.detect_width,
        detect_every=args.detect_every,
        smoothing=SmoothingConfig(time_constant=args.smooth_time, margin=args.smooth_margin),
        detection="inline" if args.detect_inline else detection,
    )
    engine = Engine(classifier, engine_config, config.emoji)
    engine.model_choice = choice
    return engine


def _calibration_store(args: argparse.Namespace, engine, default: bool):
    """The model's calibration file; its calibration applied to every face when wanted (a corrupt file: one line)."""
    from emojitui.session.calibration import CalibrationStore

    store = CalibrationStore(locations.calibration_dir(), engine.classifier.path)
    if args.calibration if args.calibration is not None else default:
        engine.set_calibration(store.load())
    return store


def _open(spec: str, args: argparse.Namespace, live_stills: bool, demo_live: bool):
    """Open the source; `auto` is camera 0, else the demo with a one-line note."""
    from emojitui.sources import CameraUnavailable, open_source, parse_resolution

    resolution = parse_resolution(args.resolution)
    if spec != "auto":
        return open_source(spec, resolution, live_stills=live_stills, demo_live=demo_live), False
    try:
        return open_source("0", resolution), False
    except CameraUnavailable:
        print(f"emojitui: {NO_CAMERA_NOTICE}", file=sys.stderr)
        return open_source("demo", demo_live=demo_live), True


def _history_for(args: argparse.Namespace, source_name: str, started: float):
    from emojitui.session.history import SessionHistory, new_history_path

    if args.no_history:
        return SessionHistory(None, started, source_name)
    folder = args.history_dir or locations.history_dir()
    try:
        return SessionHistory(new_history_path(folder), started, source_name)
    except OSError as exc:
        raise UserError(
            f"cannot write history in {folder} ({exc.strerror}): pass --history-dir or --no-history"
        ) from None


def _run(args: argparse.Namespace) -> int:
    models = _models(args)  # the model first: a bad model is reported before the camera opens
    if args.image:
        from emojitui.api import Analyzer
        from emojitui.headless import image_report

        engine = _engine(args, models, 0.0)
        _calibration_store(args, engine, default=False)
        return image_report(args.image, Analyzer.from_engine(engine), args.json, args.snapshot)
    source, is_demo = _open(args.source, args, live_stills=not args.headless, demo_live=True)
    engine = _engine(args, models, source.fps, "thread" if source.live else "pipelined")
    store = _calibration_store(args, engine, default=True)
    mirror = getattr(source, "is_camera", False) if args.mirror is None else args.mirror
    started = time.monotonic() if source.live or source.name == "demo" else 0.0
    from emojitui.session.session import Session

    session = Session(engine, _history_for(args, source.name, started), live=source.live, calibration_store=store)
    if args.headless:
        from emojitui.headless import stream

        _interrupt_on_termination()
        return stream(source, session, mirror, args.events, args.frames)
    from emojitui.ui.app import EmojiApp

    app = EmojiApp(
        session=session,
        source=source,
        mirror=mirror,
        demo=is_demo or source.name == "demo",
        snapshot_dir=args.snapshot_dir or locations.snapshot_dir(),
        show_preview=not args.no_preview,
        notice=NO_CAMERA_NOTICE if is_demo else "",
    )
    app.run()
    summary = session.close()  # closed already by the app's quit: the same summary
    # served, stdout carries the screen: the summary goes to stderr, which reaches the server's log
    show = (lambda text: print(text, file=sys.stderr)) if _served() else output.line
    show(summary.to_text(session.emoji_table()))
    if session.problem:  # no "history: PATH" for a file that was not saved
        print(f"emojitui: {session.problem}", file=sys.stderr)
        return 1
    if session.history.path:
        show(f"history: {session.history.path}")
    return app.return_code or 0


def _served() -> bool:
    """Started by `emojitui serve` for a browser tab (textual-serve's web driver)."""
    return os.environ.get("TEXTUAL_DRIVER", "").startswith("textual.drivers.web_driver")


def _is_camera(spec: str) -> bool:
    return spec in ("auto", "picamera") or (spec.isascii() and spec.isdigit()) or spec.startswith("/dev/video")


def _serve(args: argparse.Namespace, app_argv: list[str]) -> int:
    """Check the app's options here, where errors can be read, then serve the app to browsers."""
    if app_argv[:1] and app_argv[0] in SUBCOMMANDS:
        raise UserError(f"serve runs the app: `{app_argv[0]}` cannot follow it")
    app_args = build_parser().parse_args(app_argv)
    check_numbers(app_args)
    if app_args.headless or app_args.image:
        raise UserError("serve runs the app: --headless and --image have no screen to serve")
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port} must be from 1 to 65535")
    _engine(app_args)  # a bad model or config is reported now, not in each browser tab
    if not _is_camera(app_args.source):  # a camera is opened by the tab: opening it here would hold it
        _open(app_args.source, app_args, live_stills=True, demo_live=True)[0].close()
    from emojitui.ui.serve import LOCAL_HOSTS, serve

    wildcard = args.host in ("0.0.0.0", "::", "")
    host = socket.gethostname() if wildcard else args.host
    url = args.public_url or f"http://{f'[{host}]' if ':' in host else host}:{args.port}"
    if args.host not in LOCAL_HOSTS:
        print(
            f"emojitui: warning: listening on {args.host or 'every address'}: anyone who can reach port "
            f"{args.port} sees the camera. Safer: keep the default 127.0.0.1 and use `ssh -L "
            f"{args.port}:localhost:{args.port} HOST` from your computer",
            file=sys.stderr,
        )
    try:
        serve(shlex.join([sys.executable, "-m", "emojitui", *app_argv]), args.host, args.port, url)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}): pass another --port") from None
    return 0


def _interrupt_on_termination() -> None:
    """`kill` or an SSH hangup ends a headless run as Ctrl-C does: the session summary is still written."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for number in QUIT_SIGNALS:
        signal.signal(number, interrupt)


def _bench(args: argparse.Namespace) -> int:
    from emojitui.headless import bench

    models = _models(args)
    source, _ = _open(args.source, args, live_stills=False, demo_live=False)
    engine = _engine(args, models, source.fps, "thread" if source.live else "pipelined")
    _calibration_store(args, engine, default=False)
    result = bench(source, engine, args.frames) | {"source": source.name, "model": engine.model_choice.as_json()}
    if args.json:
        output.line(json.dumps(result))
    else:
        stages = "  ".join(f"{k} {v:.2f} ms" for k, v in result["stages_ms"].items())
        reason = result["model"]["reason"]
        output.line(f"{result['frames']} frames at {result['fps']} fps; medians: {stages}; model {reason}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from emojitui.api import Analyzer
    from emojitui.render import check_output, print_summary, render

    check_output(args.output)  # before the model and the source: an unwritable output costs nothing
    engine = _engine(args)
    _calibration_store(args, engine, default=False)
    source, _ = _open(args.input, args, live_stills=False, demo_live=False)
    _interrupt_on_termination()  # `kill`: as Ctrl-C, no file left under the output name
    summary = render(
        source,
        Analyzer.from_engine(engine),
        args.output,
        width=args.width,
        labels=not args.no_labels,
        seconds=args.seconds,
        mirror=args.mirror,
        progress=not args.quiet,
    )
    print_summary(summary)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from emojitui.session.calibration import CalibrationStore
    from emojitui.session.session import Session

    engine = _engine(args)
    store = CalibrationStore(locations.calibration_dir(), engine.classifier.path)
    if args.clear:
        removed = store.clear()
        output.line(f"removed {store.path}" if removed else f"no calibration saved for {engine.classifier.path.name}")
        return 0
    source, _ = _open(args.source, args, live_stills=True, demo_live=False)
    mirror = getattr(source, "is_camera", False) if args.mirror is None else args.mirror
    session = Session(engine, live=source.live, calibration_store=store)
    _interrupt_on_termination()
    shown, started = "", None
    try:
        while (frame := source.read()) is not None:
            if mirror:
                frame.image, frame.mirrored = frame.image[:, ::-1].copy(), True
            step = session.process(frame)
            started = frame.time if started is None else started
            if session.calibration_run is None:
                if step.faces:
                    largest = max(step.faces, key=lambda f: f.box.w * f.box.h)
                    session.start_calibration(largest.id, all_faces=True, countdown=args.countdown)
                elif frame.time - started > 10:
                    raise UserError(f"{source.name}: no face found in 10 s; face the camera in good light")
                continue
            if session.calibration_state != shown and not step.note:
                shown = session.calibration_state
                print(shown, file=sys.stderr, flush=True)
            if step.note:
                run = session.calibration_run
                if run.calibration is None:
                    raise UserError(step.note)
                after = run.calibration.apply(run.calibration.resting_array)
                label = engine.labels[int(after.argmax())]
                output.line(f"{step.note}; now it reads {label} ({after.max() * 100:.0f}%)")
                return 0
    finally:
        source.close()
        session.close()
    raise UserError(
        f"{source.name} ended before the calibration finished (it needs {args.countdown + 2:g} s of a face)"
    )


def _history(args: argparse.Namespace) -> int:
    from emojitui.session.history import export_csv, read_events

    folder = args.history_dir or locations.history_dir()
    path = args.file
    if path is None:
        files = sorted(folder.glob("session-*.jsonl"), key=lambda f: f.stat().st_mtime) if folder.is_dir() else []
        if not files:
            raise UserError(f"no session history in {folder}: run emojitui first")
        path = files[-1]
    if not path.is_file():
        raise UserError(f"{path}: no such history file")
    events, skipped = read_events(path)
    note = f" ({skipped} unreadable line{'s' if skipped != 1 else ''} skipped)" if skipped else ""
    if args.csv:
        rows = export_csv(path, args.csv)
        output.line(f"wrote {rows} events to {args.csv}{note}")
        return 0
    lines = [f"{path}: {len(events)} events{note}"]
    for event in events[-20:]:
        when, confidence = event["time"][11:19], event["confidence"] * 100
        lines.append(f"  {when}  face {event['face']}  {event['emoji']} {event['emotion']:<9} {confidence:4.0f}%")
    output.line("\n".join(lines))
    return 0
