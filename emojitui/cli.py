"""`emojitui`: the command line. Builds everything before any screen opens, so every startup
problem is one line with a hint and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

from emojitui.engine.settings import EngineConfig
from emojitui.options import (
    SUBCOMMANDS,
    build_bench_parser,
    build_calibrate_parser,
    build_history_parser,
    build_parser,
    build_render_parser,
    build_serve_parser,
    check_values,
)
from emojitui.shared import collector, locations, output
from emojitui.shared.errors import NotWritten, UserError
from emojitui.shared.native import screen_apart_from_native_stderr
from emojitui.shared.signals import QUIT_SIGNALS

if TYPE_CHECKING:
    from emojitui.engine.emoji_table import AppConfig

NO_CAMERA_NOTICE = "no camera found; running the built-in demo (pass --source to choose)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        output.check_open()
        if argv[:1] == ["bench"]:
            args = build_bench_parser().parse_args(argv[1:])
            check_values(args)
            return _bench(args)
        if argv[:1] == ["history"]:
            return _history(build_history_parser().parse_args(argv[1:]))
        if argv[:1] == ["render"]:
            args = build_render_parser().parse_args(argv[1:])
            check_values(args)
            return _render(args)
        if argv[:1] == ["calibrate"]:
            args = build_calibrate_parser().parse_args(argv[1:])
            check_values(args)
            return _calibrate(args)
        if argv[:1] == ["serve"]:
            return _serve(*build_serve_parser().parse_known_args(argv[1:]))
        args = build_parser().parse_args(argv)
        check_values(args)
        return _run(args)
    except UserError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse's --help and --version print, ignore a failed write, and exit 0
        if exc.code in (0, None):
            try:
                output.write("")  # the flush: a full disk is then seen here
            except output.OutputError as error:
                return _fail(error)
            except BrokenPipeError:  # `emojitui --version | true`
                output.abandon()
                return 1
        raise
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
    except OSError as exc:  # a path the system refuses (too long, not permitted) met outside the checks above
        return _fail(_os_problem(exc))


def _fail(problem: UserError) -> int:
    """Say `problem` in one line; served, on a screen of its own (a browser tab shows no stderr)."""
    if _served():
        from emojitui.ui.message import MessageApp

        MessageApp(output.terminal_safe(str(problem))).run()
        return problem.exit_code
    output.error_line(f"emojitui: {problem}")
    if isinstance(problem, output.OutputError):
        output.abandon()
    return problem.exit_code


def _os_problem(exc: OSError) -> UserError:
    """An OSError met outside the checks that name their path, as a one-line UserError."""
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return NotWritten(f"{where}no space left on the device: free some space and run again")
    return UserError(f"{where}{exc.strerror or exc}: check the path and its permissions")


def _models(args: argparse.Namespace):
    """Load and check the model(s) and the config file, before any source opens."""
    from emojitui.engine.emoji_table import load_config
    from emojitui.engine.tiers import ModelSet

    config = load_config(args.config or locations.config_path(), required=bool(args.config) or locations.config_named())
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
    """The engine with the model chosen for a source of `fps` frames a second (0: stills).

    OpenCV is held to one thread: its workers only split each small resize and colour conversion,
    and spin between them (0.015-0.018 of the app's 0.24-0.27 cores on the demo, idle 2-core Xeon);
    the spare core is the detection thread's."""
    import cv2

    from emojitui.engine.engine import Engine
    from emojitui.engine.smoothing import SmoothingConfig

    model_set, config = models or _models(args)
    classifier, choice = model_set.choose(fps)
    engine_config = EngineConfig(
        detect_width=args.detect_width,
        detect_every=args.detect_every,
        full_scan_seconds=args.full_scan_seconds,
        smoothing=SmoothingConfig(time_constant=args.smooth_time, margin=args.smooth_margin),
        detection="inline" if args.detect_inline else detection,
    )
    cv2.setNumThreads(1)
    engine = Engine(classifier, engine_config, config.emoji)
    engine.model_choice = choice
    return engine


def _calibration_store(args: argparse.Namespace, engine, default: bool):
    """The model's calibration file; its calibration applied to every face when wanted (a corrupt file: one line)."""
    from emojitui.engine.calibration import CalibrationError
    from emojitui.session.calibration import CalibrationStore

    store = CalibrationStore(locations.calibration_dir(), engine.classifier.path)
    if args.calibration if args.calibration is not None else default:
        try:
            calibration = store.load()
        except CalibrationError as exc:
            raise UserError(
                f"calibration file {store.path}: {exc}: delete it, then calibrate again (`emojitui calibrate`)"
            ) from None
        engine.set_calibration(calibration)
        if calibration is None and args.calibration:  # asked for by name: say why nothing changed
            output.error_line(
                f"note: no calibration saved for {engine.classifier.path.name}: "
                "run `emojitui calibrate` (with the same --model) first"
            )
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


def _graphics(args: argparse.Namespace, config: AppConfig) -> str:
    """How the preview is drawn: --graphics, else [display] graphics, else half-blocks ("off"). Asked of the
    terminal now, before the app reads the keyboard; never in a browser tab, which draws no terminal graphics."""
    if args.graphics:
        mode, origin = args.graphics, f"--graphics {args.graphics}"
    else:
        mode = config.graphics or "off"
        origin = f'[display] graphics = "{mode}" in {args.config or locations.config_path()}'
    if mode == "off" or _served():
        return "off"
    from emojitui.ui.graphics import resolve

    return resolve(mode, origin)


def _run(args: argparse.Namespace) -> int:
    models = _models(args)  # the model first: a bad model is reported before the camera opens
    graphics = "off" if args.image or args.headless else _graphics(args, models[1])
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
        graphics=graphics,
    )
    collector.settle_after_start()  # the model, libraries and sources are loaded: frozen out of collections
    if _served():  # the screen is stdout, fd 2 the server's log: native messages may go there
        app.run()
    else:
        with screen_apart_from_native_stderr():
            app.run()
    summary = session.close()  # closed already by the app's quit: the same summary
    # served, stdout carries the screen: the summary goes to stderr, which reaches the server's log
    show = output.error_line if _served() else output.line
    show(summary.to_text(session.emoji_table()))
    if session.problem:  # no "history: PATH" for a file that was not saved
        output.error_line(f"emojitui: {session.problem}")
        return 1
    if session.history.path:
        show(f"history: {session.history.path}")
    return app.return_code or 0


def _served() -> bool:
    """Started by `emojitui serve` for a browser tab (textual-serve's web driver)."""
    return os.environ.get("TEXTUAL_DRIVER", "").startswith("textual.drivers.web_driver")


def _is_camera(spec: str) -> bool:
    from emojitui.sources import names_camera_device

    return spec in ("auto", "picamera") or (spec.isascii() and spec.isdigit()) or names_camera_device(spec)


def _serve(args: argparse.Namespace, app_argv: list[str]) -> int:
    """Check the app's options here, where errors can be read, then serve the app to browsers."""
    if app_argv[:1] and app_argv[0] in SUBCOMMANDS:
        raise UserError(f"serve runs the app: `{app_argv[0]}` cannot follow it")
    app_args = build_parser().parse_args(app_argv)
    check_values(app_args)
    if app_args.headless or app_args.image:
        raise UserError("serve runs the app: --headless and --image have no screen to serve")
    if app_args.graphics in ("kitty", "sixel"):
        raise UserError(f"serve: a browser draws no terminal graphics: drop --graphics {app_args.graphics}")
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
                output.error_line(shown)
            if step.note:
                run = session.calibration_run
                if run.calibration is None:
                    raise UserError(step.note)
                after = run.calibration.apply(run.calibration.resting_array)
                label = engine.labels[int(after.argmax())]
                output.line(f"{step.note}; now it reads {label} ({after.max() * 100:.0f}%)")
                if session.calibration_not_saved:
                    raise NotWritten(
                        f"the calibration was not saved in {store.path.parent} ({session.calibration_not_saved}): "
                        "set EMOJITUI_DATA_DIR to a folder you can write"
                    )
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
        if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
            raise UserError(f"the history folder {folder} cannot be read (permission denied): check its permissions")
        files = sorted(folder.glob("session-*.jsonl"), key=lambda f: f.stat().st_mtime) if folder.is_dir() else []
        if not files:
            raise UserError(f"no session history in {folder}: run emojitui first")
        path = files[-1]
    if path.is_dir():
        raise UserError(f"{path} is a folder: pass a session-*.jsonl file in it, or --history-dir {path}")
    if not path.is_file():
        raise UserError(f"{path}: no such history file (`emojitui history` alone shows the latest session)")
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
