"""Headless modes: one image to JSON or a table, a session as a stream of JSON lines, and the benchmark."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from emojitui.api import Analyzer, Face
from emojitui.engine.engine import Engine
from emojitui.session.session import Session
from emojitui.shared import output
from emojitui.sources import Frame, FrameSource, read_image
from emojitui.sources.capture import LatestFrameCapture
from emojitui.sources.files import take_skipped


def image_report(path: Path, analyzer: Analyzer, as_json: bool, snapshot: Path | None = None) -> int:
    """`--image`: the API's `Analyzer.analyze`, printed as JSON or a table (and drawn, with --snapshot)."""
    image = read_image(path)
    results = analyzer.analyze_results(image)
    faces = [Face.from_result(r, analyzer.labels) for r in results]  # exactly what `emojitui.analyze` returns
    if as_json:
        payload = {"image": str(path), "faces": [f.as_json() for f in faces]}
        output.json_line(payload)
    else:
        _print_table(path, faces, analyzer.labels)
    if snapshot:  # after the result: a snapshot that cannot be written loses nothing already computed
        from emojitui.session.snapshot import save_snapshot

        saved = save_snapshot(snapshot, image, results, analyzer.labels, str(path), "pass --snapshot a writable folder")
        output.error_line(f"snapshot: {saved}")
    return 0


def _print_table(path: Path, faces: list[Face], labels: list[str]) -> None:
    """Classes as rows and faces as columns, so it fits 80 columns with several faces."""
    terminal = Console()  # only asked for the width and colours: the table is rendered to a string
    if not faces:
        output.line(f"{path}: no face found")
        return
    title = Text(output.terminal_safe(f"{path.name}: {len(faces)} face(s)"))  # a name is not markup
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for number, face in enumerate(faces, start=1):
        x, y, w, h = face.box
        table.add_column(f"face {number}\n{w}x{h} at {x},{y}", justify="right")
    # Text, not markup: labels come from the model's card and emoji from the config file ("[/]" is allowed)
    table.add_row(Text("emotion", "bold"), *(Text(f"{f.emoji} {f.label}", "bold") for f in faces))
    for name in labels:
        table.add_row(Text(name), *(f"{f.probabilities[name] * 100:.0f}%" for f in faces))
    rendered = io.StringIO()  # written through `output`, so a full disk or closed stdout is reported
    Console(
        file=rendered, width=terminal.width, force_terminal=terminal.is_terminal, color_system=terminal.color_system
    ).print(table)
    output.write(rendered.getvalue())


def frames(source: FrameSource, mirror: bool) -> Iterator[Frame]:
    """Every frame of a file; the newest frame of a live camera (through the capture thread)."""
    if not source.live:
        while (frame := source.read()) is not None:
            if mirror:
                frame.image, frame.mirrored = frame.image[:, ::-1].copy(), True
            yield frame
        return
    capture = LatestFrameCapture(source, mirror=mirror, on_status=output.error_line)
    capture.start()
    try:
        while not capture.ended:
            frame = capture.latest(timeout=1.0)
            if frame is not None:
                yield frame
    finally:
        capture.stop()


def stream(source: FrameSource, session: Session, mirror: bool, events_only: bool, max_frames: int) -> int:
    """One JSON line per frame (or per event) until the source ends or Ctrl-C; then the summary."""
    processed = 0
    history_warned = False
    try:
        for frame in frames(source, mirror):
            step = session.process(frame)
            processed += 1
            for reason in take_skipped(source):  # a folder's image found unreadable when its turn came
                output.error_line(f"skipping {reason}")
            if session.problem and not history_warned:  # said when it happens
                history_warned = True
                output.error_line(f"emojitui: {session.problem}")
            if events_only:
                for event in step.events:
                    output.json_line({"event": asdict(event)})
            else:
                record = {
                    "frame": frame.index,
                    "time": round(frame.time, 3),
                    "faces": [f.as_json(session.labels) for f in step.faces],
                }
                output.json_line(record)
            if max_frames and processed >= max_frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        if not source.live:  # a live source is closed by its capture thread, never under a read in progress
            source.close()
        summary = session.close()
        for reason in take_skipped(source):
            output.error_line(f"skipping {reason}")
        if session.problem and not history_warned:
            output.error_line(f"emojitui: {session.problem}")
    record = summary.__dict__ | {"frames": processed}
    if session.engine.model_choice is not None:  # which tier ran, and why
        record["model"] = session.engine.model_choice.as_json()
    output.json_line({"summary": record})
    return 1 if session.problem else 0  # the history file is part of the result


def bench(source: FrameSource, engine: Engine, max_frames: int) -> dict:
    """Run the pipeline as fast as it can; medians (and means) per stage in milliseconds."""
    stages: dict[str, list[float]] = {"capture": [], "detect": [], "classify": [], "total": []}
    started = time.perf_counter()
    count = 0
    try:
        while not max_frames or count < max_frames:
            before = time.perf_counter()
            frame = source.read()
            captured = time.perf_counter()
            if frame is None:
                break
            result = engine.process(frame)
            stages["capture"].append((captured - before) * 1000)
            stages["detect"].append(result.stages_ms["detect"])
            stages["classify"].append(result.stages_ms["classify"])
            stages["total"].append((captured - before) * 1000 + result.stages_ms["total"])
            count += 1
    except KeyboardInterrupt:  # a live camera never ends: Ctrl-C reports what was measured
        pass
    finally:
        source.close()
        worker = engine.detection_thread
        hog_ms = (worker.median_ms(), worker.mean_ms()) if worker and worker.median_ms() is not None else None
        detections = worker.detections if worker else None
        engine.close()
    elapsed = time.perf_counter() - started
    return {
        "frames": count,
        "fps": round(count / elapsed, 1) if elapsed else 0.0,
        "stages_ms": {k: round(statistics.median(v), 3) if v else 0.0 for k, v in stages.items()},
        "mean_ms": {k: round(statistics.fmean(v), 3) if v else 0.0 for k, v in stages.items()},
        "detection": engine.config.detection,
        "detection_thread": None
        if hog_ms is None
        else {"detections": detections, "median_ms": round(hog_ms[0], 3), "mean_ms": round(hog_ms[1], 3)},
    }
