"""The TUI driven by Pilot on a real video through the real engine."""

from __future__ import annotations

import io
import json
import os
import signal
import time

import cv2
import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console
from textual.app import App, ComposeResult

from emojitui.session.history import SessionHistory
from emojitui.session.session import Session
from emojitui.shared.emotions import CLASS_COLOURS
from emojitui.shared.locations import DEMO_DIR as BUNDLED  # real faces shipped with the app: no ../shared needed
from emojitui.shared.signals import QUIT_SIGNALS
from emojitui.sources import open_source
from emojitui.ui.app import EmojiApp
from emojitui.ui.layout import preview_size
from emojitui.ui.messages import FrameUpdate
from emojitui.ui.widgets.emoji_panel import EmojiPanel
from emojitui.ui.widgets.history_panel import HistoryPanel
from emojitui.ui.widgets.preview import MIN_INTERVAL, Preview
from emojitui.ui.widgets.probability_bars import ProbabilityBars
from emojitui.ui.widgets.status_bar import StatusBar
from tests.conftest import place, write_video


@pytest.fixture
def video(tmp_path):
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    return write_video(tmp_path / "face.avi", [place(photo, dx=(n % 20) - 10) for n in range(240)]), photo


def rendered(widget) -> str:
    """The text a widget shows, as plain characters."""
    console = Console(width=max(20, widget.size.width), color_system=None, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def wait_for(pilot, condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not met in time")


async def test_live_panels_snapshot_pause_and_quit(engine, video, tmp_path):
    path, photo = video
    expected = engine.classify_still(photo)[0].label
    history_path = tmp_path / "history.jsonl"
    session = Session(engine, SessionHistory(history_path, 0.0, str(path)))
    app = EmojiApp(session, open_source(str(path)), snapshot_dir=tmp_path / "snaps")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces and app.processor.last_result.frame.index > 20)
        face = app.faces[0]
        assert face.label == expected, "the app shows what the engine sees in this face"
        assert expected.upper() in rendered(app.query_one(EmojiPanel))
        bars = rendered(app.query_one(ProbabilityBars))
        assert all(name in bars for name in engine.labels) and "%" in bars

        await pilot.press("s")
        await wait_for(pilot, lambda: list((tmp_path / "snaps").glob("*.json")))  # written after the PNG
        snapshot = next((tmp_path / "snaps").glob("*.json"))
        assert json.loads(snapshot.read_text())["faces"][0]["label"] == expected

        await pilot.press("p")
        assert app.paused and "PAUSED" in rendered(app.query_one(StatusBar))
        await pilot.pause(0.3)
        frozen = app.processor.last_result.frame.index
        await pilot.pause(0.5)
        assert app.processor.last_result.frame.index == frozen, "paused: no new frames processed"
        await pilot.press("space")
        await wait_for(pilot, lambda: app.processor.last_result.frame.index > frozen)

        preview = app.query_one(Preview)
        assert preview.display, "120x40 is large enough for the preview"
        await pilot.press("v")
        assert not preview.display
        face_id = app.faces[0].id
        await pilot.press("m")
        assert app.capture.mirror
        await wait_for(pilot, lambda: app.processor.last_result.frame.mirrored)
        assert [f.id for f in app.processor.last_result.faces] == [face_id], "mirrored, the same face"
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0
    records = [json.loads(line) for line in history_path.read_text().splitlines()]
    assert records[0]["type"] == "start" and records[-1]["type"] == "summary"
    assert any(r["type"] == "event" and r["emotion"] == expected for r in records)
    assert app.session_summary is not None and app.session_summary.faces == 1


@pytest.mark.parametrize("signum", QUIT_SIGNALS, ids=lambda number: number.name)
async def test_kill_or_hangup_quits_the_app_with_its_summary(engine, video, tmp_path, signum):
    """`kill` or an SSH hangup during a live session ends it as `q` does: exit 0, summary on disk."""
    path, _ = video
    history_path = tmp_path / "history.jsonl"
    session = Session(engine, SessionHistory(history_path, 0.0, str(path)))
    app = EmojiApp(session, open_source(str(path)))
    unhandled = signal.signal(signum, lambda *_: None)  # without the app's handler: a timeout, not a dead test run
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.faces)
            os.kill(os.getpid(), signum)
            await wait_for(pilot, lambda: app.session_summary is not None, seconds=5.0)
    finally:
        signal.signal(signum, unhandled)
    assert app.return_code == 0
    records = [json.loads(line) for line in history_path.read_text().splitlines()]
    assert records[-1]["type"] == "summary" and app.session_summary.faces == 1


async def test_tab_cycles_faces_and_export_writes_csv(engine, tmp_path):
    photo = cv2.imread(str(BUNDLED / "06-two-people.jpg"))
    path = write_video(tmp_path / "two.avi", [place(photo, size=(1126, 661))] * 200)
    session = Session(engine, SessionHistory(tmp_path / "h.jsonl", 0.0, str(path)))
    app = EmojiApp(session, open_source(str(path)), snapshot_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.faces) == 2)
        first = app.selected_id
        await pilot.press("tab")
        assert app.selected_id != first
        assert "face 2 of 2" in app.query_one(EmojiPanel).border_subtitle
        await wait_for(pilot, lambda: app.processor.last_result.frame.index > 10)
        selected, other = sorted(app.faces, key=lambda f: f.id != app.selected_id)
        assert selected.label.upper() in rendered(app.query_one(EmojiPanel)), "the big emoji is the selected face's"
        bars = rendered(app.query_one(ProbabilityBars))
        shows = [all(f"{p * 100:.0f}%" in bars for p in face.probabilities) for face in (selected, other)]
        assert shows[0] and (not shows[1] or np.allclose(selected.probabilities, other.probabilities, atol=0.01))
        await pilot.press("e")
        await wait_for(pilot, lambda: (tmp_path / "h.csv").is_file())
        await pilot.press("q")
    assert (tmp_path / "h.csv").read_text(encoding="utf-8").count("\n") >= 3


async def test_end_of_video_keeps_the_app_open_and_says_so(engine, tmp_path):
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    path = write_video(tmp_path / "short.avi", [place(photo)] * 5)
    app = EmojiApp(Session(engine), open_source(str(path)))
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.query_one(Preview).display, "80x24 starts without the preview"
        await wait_for(pilot, lambda: app.ended)
        assert "ENDED" in rendered(app.query_one(StatusBar))
        await pilot.press("q")


async def test_a_long_source_path_gives_way_to_the_figures_and_the_state(engine, tmp_path):
    """At 80 columns a deep path once filled the one-line status bar: only the path, or only ENDED, showed."""
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    folder = tmp_path / ("a-long-folder-name-" * 6)
    folder.mkdir()
    path = write_video(folder / "clip.avi", [place(photo)] * 5)
    app = EmojiApp(Session(engine), open_source(str(path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ended)
        await pilot.pause(0.1)
        status = rendered(app.query_one(StatusBar)).rstrip("\n")
        assert "\n" not in status, f"one line: {status!r}"
        assert "clip.avi" in status and "fps" in status and "face" in status and "ENDED" in status, status
        assert status.lstrip().startswith("…"), "the path's start gives way, its file name stays"
        await pilot.press("q")


async def test_probability_bars_show_the_current_percentages_after_a_tiny_change():
    """A change under half a percent can still move a shown figure (45% to 46%): the bars must follow it."""
    labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    before = np.array([0.4549, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0451])
    after = before + np.array([0.0002, 0, 0, 0, 0, 0, -0.0002])  # 45.49% -> 45.51%

    class BarsOnly(App):
        def compose(self) -> ComposeResult:
            yield ProbabilityBars()

    async with BarsOnly().run_test(size=(80, 12)) as pilot:
        bars = pilot.app.query_one(ProbabilityBars)
        bars.show(labels, before, {})
        assert " 45%" in rendered(bars)
        bars.show(labels, after, {})
        shown = rendered(bars)
        assert " 46%" in shown and " 45%" not in shown


@pytest.mark.parametrize("odd", ["😀😀😀😀😀", "שמח😀", "x"])
async def test_probability_bars_stay_aligned_with_a_config_emoji_of_another_width(odd):
    """A config's emoji of 1 or 10 cells once shifted its row's bar, and a wide one pushed a row off the panel."""
    labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    emoji = dict(zip(labels, ["😠", "🤢", "😨", "😄", "😢", "😲", "😐"], strict=True)) | {"happy": odd}

    class BarsOnly(App):
        def compose(self) -> ComposeResult:
            yield ProbabilityBars()

    async with BarsOnly().run_test(size=(80, 12)) as pilot:
        bars = pilot.app.query_one(ProbabilityBars)
        bars.show(labels, np.array([0.05, 0.05, 0.1, 0.5, 0.1, 0.1, 0.1]), emoji)
        rows = [line for line in bars.content.plain.split("\n") if line.strip()]
        assert len(rows) == 7, rows
        assert len({cell_len(row) for row in rows}) == 1, "each row as wide: the bars and figures line up"
        assert len({cell_len(row.split(name)[0]) for row, name in zip(rows, labels, strict=True)}) == 1
        assert max(cell_len(row) for row in rows) <= bars.size.width, "no row wraps"


async def test_session_timeline_follows_the_selected_face_when_both_have_as_many_samples():
    """Tab to a face whose timeline is as long as the last one's: its own colours show at once."""

    class HistoryOnly(App):
        def compose(self) -> ComposeResult:
            yield HistoryPanel()

    def strip_colours(panel: HistoryPanel) -> list:
        strip = panel.content.renderables[0]
        return [span.style for span in strip.spans]

    async with HistoryOnly().run_test(size=(80, 12)) as pilot:
        panel = pilot.app.query_one(HistoryPanel)
        panel.show([], None, ["happy"] * 5, {})
        happy = strip_colours(panel)
        panel.show([], None, ["sad"] * 5, {})
        assert strip_colours(panel) != happy
        assert strip_colours(panel) == [CLASS_COLOURS["sad"]] * 5


@pytest.mark.parametrize("size", [(40, 12), (63, 30), (100, 17)])
async def test_a_tiny_terminal_says_so_and_keeps_the_status_bar(engine, video, size):
    path, _ = video
    app = EmojiApp(Session(engine), open_source(str(path)))
    async with app.run_test(size=size) as pilot:
        await pilot.press("p")
        hint = app.query_one("#too-small")
        assert hint.display and "terminal too small" in rendered(hint) and "64x18" in rendered(hint)
        assert not app.query_one(ProbabilityBars).is_on_screen or not app.query_one("#panels").display
        assert "PAUSED" in rendered(app.query_one(StatusBar)), "the state is never cut off"
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert not hint.display and app.query_one("#panels").display, "big enough again: the panels are back"
        await pilot.press("q")


async def test_a_still_image_is_processed_once_not_at_the_frame_rate(engine, tmp_path):
    photo = tmp_path / "obama.jpg"
    photo.write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    app = EmojiApp(Session(engine), open_source(str(photo)))  # as the TUI opens it: held, at 15 frames a second
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces and app.capture.delivered > 12)
        assert app.processor.last_result.frame.index == 0, "one still: one pass through the engine"
        assert app.faces[0].label == engine.classify_still(cv2.imread(str(photo)))[0].label
        await pilot.press("q")
    summary = app.session.summary  # the time it was shown counts, though it was processed once (it said 0 s)
    assert summary.duration_s >= 12 / 15 and sum(summary.seconds_per_emotion.values()) >= 12 / 15


async def test_the_slideshow_detects_each_photo_afresh(engine, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "1.jpg").write_bytes((BUNDLED / "02-obama.jpg").read_bytes())
    cv2.imwrite(str(folder / "2.png"), np.full((480, 640, 3), 180, np.uint8))  # a wall: no face
    app = EmojiApp(Session(engine), open_source(str(folder)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces)
        await wait_for(pilot, lambda: app.processor.last_result.frame.still == 1, seconds=10)
        await pilot.pause(0.3)
        assert app.processor.last_result.faces == [], "the first photo's face is not carried onto the wall"
        await pilot.press("q")


@pytest.mark.parametrize("aspect", [4 / 3, 16 / 9])
@pytest.mark.parametrize("size", [(120, 40), (160, 50), (200, 60)])
def test_the_wide_preview_keeps_the_frame_shape_in_half_the_screen(size, aspect):
    columns, rows = preview_size(*size, aspect)
    assert columns * rows >= size[0] * size[1] / 2
    assert abs((columns - 2) / (2 * (rows - 2)) - aspect) < 0.1, "half-block pixels are square"
    assert size[0] - columns >= 30 and size[1] - 2 - rows >= 6, "room for the bars and the session"


@pytest.mark.parametrize(
    ("size", "frame"), [((120, 40), (480, 640)), ((160, 50), (720, 1280)), ((160, 50), (480, 640))]
)
async def test_from_120x40_the_preview_gets_the_room_and_the_bars_their_lines(engine, size, frame):
    image = cv2.resize(cv2.imread(str(BUNDLED / "02-obama.jpg")), frame[::-1])
    app = EmojiApp(Session(engine), None)
    async with app.run_test(size=size) as pilot:
        app.show_update(FrameUpdate(image, [], None, [], {}, 30.0, 5.0))
        await pilot.pause(0.2)
        preview, bars = app.query_one(Preview), app.query_one(ProbabilityBars)
        assert preview.outer_size.width * preview.outer_size.height >= size[0] * size[1] / 2
        assert bars.outer_size.height == 9, "seven bars and the border"
        lines = preview.content.lines  # the picture: one list of segments per row of two pixels
        width = sum(len(segment.text) for segment in lines[0])
        assert abs(width / (2 * len(lines)) - frame[1] / frame[0]) < 0.05, "the frame's aspect ratio"
        assert width >= preview.size.width - 1 and len(lines) >= preview.size.height - 1, "it fills the panel"
        assert app.query_one(EmojiPanel).size.height >= 16 and app.query_one(HistoryPanel).size.height >= 4
        await pilot.press("v")  # the preview hidden: the panels take today's places again
        await pilot.pause(0.1)
        assert not app.query_one("#panels").has_class("wide") and bars.outer_size.width > size[0] // 2
        await pilot.press("q")


async def test_the_preview_paces_itself_and_ends_on_the_newest_frame():
    """Fed 10 frames a second, it draws at most 5 pictures a second (fewer on a busy machine), and the
    last frame fed is the one on screen once the wait is over."""
    frames = [place(cv2.imread(str(BUNDLED / "02-obama.jpg")), dx=4 * n - 40) for n in range(20)]

    class PreviewOnly(App):
        CSS = "Preview { width: 82; height: 32; }"

        def compose(self) -> ComposeResult:
            yield Preview()

    async with PreviewOnly().run_test(size=(120, 40)) as pilot:
        preview = pilot.app.query_one(Preview)
        start = time.monotonic()
        for frame in frames:  # two seconds of updates, or more on a busy machine
            preview.show(frame, [], None)
            await pilot.pause(0.1)
        most = (time.monotonic() - start) / MIN_INTERVAL + 1  # the first at once, then one each MIN_INTERVAL at most
        # 5 a second at most (fewer than the frames where the 20 pauses took their 2 s: a loaded machine's can take 4)
        assert 1 <= preview.pictures <= most, "5 pictures a second at most"
        await pilot.pause(0.5)
        shown = preview.content
        preview.draw(frames[-1], [], None)  # the newest frame drawn directly, for comparison
        assert [s.text for s in shown.lines[10]] == [s.text for s in preview.content.lines[10]]
        assert shown.runs == preview.content.runs, "the newest frame is on screen"


async def test_a_snapshot_folder_named_like_markup_is_shown_as_named(engine, video, tmp_path):
    """Paths reach the notifications as they are: `[/]` in a folder's name once crashed the app (MarkupError)."""
    path, _ = video
    folder = tmp_path / "snaps [/] [bold]x"
    app = EmojiApp(Session(engine, SessionHistory(None, 0.0)), open_source(str(path)), snapshot_dir=folder)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:  # toasts drawn, as for a user
        await wait_for(pilot, lambda: app.faces)
        await pilot.press("s")
        await wait_for(pilot, lambda: list(folder.glob("*.json")))
        await pilot.pause(0.5)
        assert app.is_running
        saved = [n.message for n in app._notifications if n.title == "snapshot"]
        assert saved and str(folder) in saved[0]
        await pilot.press("q")  # the app stops its frames before the test's screen goes


async def test_keys_that_cannot_write_say_which_option_picks_another_folder(engine, video, tmp_path):
    """`s` and `e` take no file name: their failures point at the start-up options that choose the folder."""
    path, _ = video
    blocker = tmp_path / "a-file"
    blocker.write_text("where the snapshot folder should be")
    (tmp_path / "h.csv").mkdir()  # where `e` writes the history's CSV
    session = Session(engine, SessionHistory(tmp_path / "h.jsonl", 0.0, str(path)))
    app = EmojiApp(session, open_source(str(path)), snapshot_dir=blocker / "snaps")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.faces)

        def error(about: str) -> str:  # toasts expire: each is read while it shows
            return next((str(n.message) for n in app._notifications if about in str(n.message)), "")

        await pilot.press("s")
        await wait_for(pilot, lambda: error("snapshot failed"))
        snapshot = error("snapshot failed")
        await pilot.press("e")
        await wait_for(pilot, lambda: error("export failed"))
        export = error("export failed")
        assert "--snapshot-dir" in snapshot, snapshot
        assert "--history-dir" in export, export
        assert "name a" not in snapshot + export, "no advice to name a file: these keys take none"
        await pilot.press("q")


async def test_the_status_bar_shows_a_source_named_with_escapes_escaped(engine, tmp_path):
    photo = cv2.imread(str(BUNDLED / "02-obama.jpg"))
    path = write_video(tmp_path / "\x1b]0;PWN\x07face.avi", [place(photo) for _ in range(60)])
    app = EmojiApp(Session(engine, SessionHistory(None, 0.0)), open_source(str(path)))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.faces)
        status = rendered(app.query_one(StatusBar))
        assert "\x1b" not in status and "\\x1b]0;PWN\\x07face.avi" in status, status
        await pilot.press("q")
