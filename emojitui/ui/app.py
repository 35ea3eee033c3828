"""`EmojiApp`: the live screen. Processing runs in its own thread through the session; the app
only renders the updates it is sent (at most 10 a second) and turns keys into actions."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.geometry import Size
from textual.widgets import Footer, Static

from emojitui.engine.engine import FaceResult
from emojitui.session.calibration import COUNTDOWN_SECONDS
from emojitui.session.history import SessionSummary, export_csv
from emojitui.session.session import Session
from emojitui.shared.emotions import EmojiChoice
from emojitui.shared.errors import UserError
from emojitui.shared.output import terminal_safe
from emojitui.shared.signals import QUIT_SIGNALS
from emojitui.sources import FrameSource
from emojitui.sources.capture import LatestFrameCapture
from emojitui.sources.files import take_skipped
from emojitui.ui.graphics import GraphicsPreview
from emojitui.ui.help import HelpScreen
from emojitui.ui.keys import bindings
from emojitui.ui.layout import is_wide, preview_size
from emojitui.ui.messages import FrameUpdate, ProcessingFailed, SourceEnded, SourceStatus
from emojitui.ui.processing import ProcessingThread
from emojitui.ui.widgets.emoji_panel import EmojiPanel
from emojitui.ui.widgets.history_panel import HistoryPanel
from emojitui.ui.widgets.preview import Preview
from emojitui.ui.widgets.probability_bars import ProbabilityBars
from emojitui.ui.widgets.status_bar import StatusBar

SMALL_TERMINAL = (100, 30)  # below this the preview starts hidden
MIN_TERMINAL = (64, 18)  # below this the panels cannot show: a hint replaces them (the status bar stays)


class EmojiApp(App[int]):
    TITLE = "emojitui"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    BINDINGS = bindings()

    def __init__(
        self,
        session: Session,
        source: FrameSource | None,
        mirror: bool = False,
        demo: bool = False,
        snapshot_dir: Path | None = None,
        show_preview: bool = True,
        notice: str = "",
        graphics: str = "off",
    ) -> None:
        super().__init__()
        self.graphics = graphics  # "kitty" or "sixel": the preview as a real picture (`emojitui.ui.graphics.resolve`)
        self.session, self.source, self.demo = session, source, demo
        self.snapshot_dir = snapshot_dir or Path.cwd()
        self.want_preview = show_preview
        self.startup_notice = notice
        self.mirror = mirror
        self.paused = False
        self.ended = False
        self.selected_id: int | None = None
        self.faces: list[FaceResult] = []
        self.capture: LatestFrameCapture | None = None
        self.processor: ProcessingThread | None = None
        self._last_update: FrameUpdate | None = None
        self._notice = ""
        self._calibration = session.calibration_state
        self.calibration_countdown = COUNTDOWN_SECONDS  # seconds of "relax your face: 3, 2, 1" before collecting
        self._frame_aspect = 4 / 3  # width / height of the frames, known from the first one
        self._history_warned = False
        self.source_label = source.name if source else "no source"
        choice = session.engine.model_choice  # the tier and why ("fast: accurate needs 9.6 ms a face here")
        self.model_label = choice.reason if choice else session.engine.classifier.path.name

    def compose(self) -> ComposeResult:
        with Container(id="panels"):  # arranged by app.tcss, and by `_fit_panels` from 120x40 up
            with Container(id="result"):
                yield EmojiPanel(id="emoji")
                yield ProbabilityBars(id="bars")
            with Container(id="picture"):
                yield GraphicsPreview(self.graphics, id="preview") if self.graphics != "off" else Preview(id="preview")
                yield HistoryPanel(id="history")
        yield Static(id="too-small")
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)  # `?` lists ctrl+p; docked, it left a stray letter

    def say(self, message: str, **options) -> None:
        """A notification of ours: plain text made `terminal_safe`, since our messages hold paths and
        errors (`[/]` in a folder's name, read as markup, crashed the app with a MarkupError)."""
        self.notify(terminal_safe(message), markup=False, **options)

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for number in QUIT_SIGNALS:  # `kill` or an SSH hangup: quit as q does, summary written
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, self.action_quit_app)
        small = self.size.width < SMALL_TERMINAL[0] or self.size.height < SMALL_TERMINAL[1]
        self.query_one(Preview).display = self.want_preview and not small
        self._fit_terminal()
        if self.startup_notice:
            self.say(self.startup_notice, timeout=8)
        if self.source is None:  # showing fixed updates only (the snapshot tests)
            self._refresh_status(0.0, 0.0)
            return
        self.capture = LatestFrameCapture(self.source, mirror=self.mirror, on_status=self._source_status)
        self.processor = ProcessingThread(self.session, self.capture, self.post_message)
        self.capture.start()
        self.processor.start()
        self._refresh_status(0.0, 0.0)

    @property
    def session_summary(self) -> SessionSummary | None:
        """The summary written when the session closed (None while it runs)."""
        return self.session.summary

    def on_resize(self, event: events.Resize) -> None:
        self._fit_terminal(event.size)  # the event's: `self.size` is updated after this handler

    def _fit_terminal(self, size: Size | None = None) -> None:
        """Too small for the panels: say so, rather than let the bars and the status bar vanish."""
        width, height = size or self.size
        small = width < MIN_TERMINAL[0] or height < MIN_TERMINAL[1]
        self.query_one("#panels").display = not small
        hint = self.query_one("#too-small", Static)
        hint.display = small
        if small:
            hint.update(f"terminal too small ({width}x{height}): make it at least {MIN_TERMINAL[0]}x{MIN_TERMINAL[1]}")
        self._fit_panels(width, height)

    def _fit_panels(self, width: int, height: int) -> None:
        """From 120x40 up, with the preview shown, the preview on the left at the frame's shape."""
        preview, picture = self.query_one(Preview), self.query_one("#picture")
        wide = preview.display and is_wide(width, height)
        self.query_one("#panels").set_class(wide, "wide")
        columns, rows = preview_size(width, height, self._frame_aspect) if wide else (None, None)
        picture.styles.width = columns  # None: back to app.tcss
        preview.styles.height = rows

    def _source_status(self, text: str) -> None:
        self.post_message(SourceStatus(text))

    # --- updates from the processing thread -------------------------------------------------

    def on_frame_update(self, update: FrameUpdate) -> None:
        self._say_skipped()
        self.show_update(update)

    def _say_skipped(self) -> None:
        """A slideshow's images found unreadable when their turn came: named, not lost in silence."""
        for reason in take_skipped(self.source):
            self.say(f"skipped {reason}", severity="warning", timeout=8)

    def show_update(self, update: FrameUpdate) -> None:
        """Render one update into every panel (also used by tests with fixed data)."""
        self._last_update = update
        if self.session.problem and not self._history_warned:
            self._history_warned = True
            self.say(self.session.problem, severity="error", timeout=10)
        self.faces = update.faces
        self._calibration = update.calibration
        if update.note:
            severity = "warning" if "stopped" in update.note else "information"
            self.say(update.note, title="calibration", severity=severity)
        ids = [f.id for f in update.faces]
        if self.selected_id not in ids:
            self.selected_id = ids[0] if ids else None
        face = next((f for f in update.faces if f.id == self.selected_id), None)
        emoji = self.session.emoji_table()
        alternatives = self._emoji_choices()[face.label].alternatives if face else ()
        number = ids.index(face.id) + 1 if face else 0
        self.query_one(EmojiPanel).show(face, alternatives, number, len(ids))
        self.query_one(ProbabilityBars).show(self.session.labels, face.probabilities if face else None, emoji)
        timeline = update.timelines.get(self.selected_id, []) if self.selected_id is not None else []
        self.query_one(HistoryPanel).show(update.events, update.summary, timeline, emoji)
        if update.image is not None and update.image.shape[0]:
            aspect = update.image.shape[1] / update.image.shape[0]
            if abs(aspect - self._frame_aspect) > 0.01:  # another camera or a still of another shape
                self._frame_aspect = aspect
                self._fit_panels(*self.size)
        self.query_one(Preview).show(update.image, update.faces, self.selected_id)  # it paces itself
        self._refresh_status(update.fps, update.latency_ms)

    def _emoji_choices(self) -> dict[str, EmojiChoice]:
        return self.session.engine.emoji

    def _refresh_status(self, fps: float, latency: float) -> None:
        states = [
            s
            for s in ("DEMO" if self.demo else "", "PAUSED" if self.paused else "", "ENDED" if self.ended else "")
            if s
        ]
        if self._calibration:
            states.append(self._calibration)
        if self._notice:
            states.append(self._notice)
        self.query_one(StatusBar).show(
            self.source_label, fps, latency, len(self.faces), self.model_label, " ".join(states)
        )

    def on_source_status(self, message: SourceStatus) -> None:
        if message.text.endswith("reconnected"):
            self._notice, severity = "", "information"
        elif "reconnecting" in message.text:
            self._notice, severity = "RECONNECTING", "warning"
        else:  # the capture thread gave up (a driver error): no retry is coming
            self._notice, severity = "SOURCE FAILED", "error"
        self.say(message.text, severity=severity)
        self._refresh_status(0.0, 0.0)

    def on_source_ended(self, _: SourceEnded) -> None:
        self._say_skipped()
        self.ended = True
        self.say("the source has ended: q to quit (the last results stay on screen)")
        self._refresh_status(0.0, 0.0)

    def on_processing_failed(self, message: ProcessingFailed) -> None:
        self.say(message.text, severity="error", timeout=10)

    # --- actions ----------------------------------------------------------------------------

    def action_quit_app(self) -> None:
        self._stop_processing()
        self.exit(0)

    def _stop_processing(self) -> None:
        if self.processor:
            self.processor.stop()
        if self.capture:
            self.capture.stop()
        self.session.close()  # once: later calls (unmount after quit) return the same summary

    def on_unmount(self) -> None:
        self._stop_processing()
        loop = asyncio.get_running_loop()
        for number in QUIT_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.capture:
            self.capture.set_paused(self.paused)
        if self.processor:
            (self.processor.paused.set if self.paused else self.processor.paused.clear)()
        self._refresh_status(0.0, 0.0)

    def action_mirror(self) -> None:
        if self.ended:
            self.say("the source has ended: no new frame to mirror", severity="warning")
        elif self.capture:
            state = self.capture.toggle_mirror()
            self.say(f"mirror {'on' if state else 'off'}")

    def action_toggle_preview(self) -> None:
        preview = self.query_one(Preview)
        preview.display = not preview.display
        self._fit_panels(*self.size)  # hidden: the wide layout gives its room back
        if preview.display and self._last_update:
            preview.show(self._last_update.image, self._last_update.faces, self.selected_id)

    def action_next_face(self) -> None:
        ids = [f.id for f in self.faces]
        if len(ids) < 2:
            return
        position = ids.index(self.selected_id) if self.selected_id in ids else -1
        self.selected_id = ids[(position + 1) % len(ids)]
        if self._last_update:
            self.show_update(self._last_update)

    def action_calibrate(self) -> None:
        """`c`: calibrate on the selected face; applied to it, or to every face when it is the only one."""
        if self.ended:
            self.say("the source has ended: calibrate on a camera or a longer video", severity="warning")
            return
        if self.selected_id is None:
            self.say("no face to calibrate: face the camera first", severity="warning")
            return
        self.session.start_calibration(
            self.selected_id, all_faces=len(self.faces) <= 1, countdown=self.calibration_countdown
        )
        self._calibration = self.session.calibration_state
        self.say("relax your face: 3, 2, 1, then keep still for 2 s", title="calibration")
        self._refresh_status(0.0, 0.0)

    def action_clear_calibration(self) -> None:
        running = self.session.calibration_run is not None
        try:
            had = self.session.clear_calibration()
            said = "calibration cleared" if had else "calibration cancelled" if running else "no calibration to clear"
            severity = "information"
        except UserError as problem:  # the saved file would not go; this session's is cleared all the same
            said, severity = str(problem), "error"
        self._calibration = ""
        self.say(said, title="calibration", severity=severity)
        self._refresh_status(0.0, 0.0)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_snapshot(self) -> None:
        update = self._last_update
        if update is None or update.image is None:
            self.say("nothing to snapshot yet", severity="warning")
            return
        self._save_snapshot(update)

    @work(thread=True, exclusive=False, group="files", exit_on_error=False)
    def _save_snapshot(self, update: FrameUpdate) -> None:
        from emojitui.session.snapshot import save_snapshot

        source = self.source.name if self.source else ""
        try:
            path = save_snapshot(
                self.snapshot_dir,
                update.image,
                update.faces,
                self.session.labels,
                source,
                remedy="free space there, or start emojitui with --snapshot-dir naming a writable folder",
            )
        except (UserError, OSError, ValueError) as exc:
            self.call_from_thread(self.say, f"snapshot failed: {exc}", severity="error")
            return
        self.call_from_thread(self.say, f"snapshot saved: {path}", title="snapshot")

    def action_export(self) -> None:
        history = self.session.history
        if history.path is None:
            self.say("no history file in this session (--no-history)", severity="warning")
            return
        target = history.path.with_suffix(".csv")
        try:
            remedy = "free space there, or start emojitui with --history-dir naming a writable folder"
            rows = export_csv(history.path, target, remedy)
        except UserError as exc:  # export_csv turns a full disk or a read-only folder into one of these
            self.say(f"export failed: {exc}", severity="error")
            return
        self.say(f"exported {rows} events: {target}", title="export")
