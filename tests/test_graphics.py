"""Terminal graphics for the preview (`--graphics`). Without textual-image (Python 3.11, or the
extra not installed) kitty and sixel are one line that says how to get it and `auto` is the
half-block preview; with it, the app draws the demo as sixel or kitty pictures. CI runs this file
a second time on Python 3.12 with the graphics extra (`just test-graphics`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from textual.geometry import Region

from emojitui.engine.emoji_table import load_config
from emojitui.session.session import Session
from emojitui.sources import open_source
from emojitui.ui.app import EmojiApp
from emojitui.ui.graphics import GraphicsPreview, resolve
from emojitui.ui.halfblock import HalfBlockImage
from emojitui.ui.widgets.preview import Preview
from tests.conftest import REPO, assert_one_line_error, run_cli
from tests.test_ui import wait_for

NEEDS_EXTRA = "needs the graphics extra (Python 3.12+): pip install -e '.[graphics]'"


def without_textual_image(code: str) -> subprocess.CompletedProcess:
    """Python `code` in a process where `import textual_image` fails, as where the extra is not installed."""
    script = f"import sys; sys.modules.update(textual_image=None); {code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("protocol", ["sixel", "kitty"])
def test_kitty_or_sixel_without_the_extra_is_one_line_saying_how_to_install_it(protocol):
    cli = "from emojitui.cli import main; sys.exit(main(['--source', 'demo', '--no-history', '--graphics', %r]))"
    result = without_textual_image(cli % protocol)
    assert result.returncode == 2
    assert_one_line_error(
        result, f"--graphics {protocol} needs the graphics extra on Python 3.12+", "emojitui[graphics]"
    )


def test_without_the_extra_auto_is_the_half_block_preview():
    result = without_textual_image(
        "from emojitui.ui.graphics import resolve; print(resolve('auto', '--graphics auto'))"
    )
    assert result.returncode == 0 and result.stdout.strip() == "off", result.stderr


def test_the_config_file_can_ask_for_graphics(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[display]\ngraphics = "kitty"\n')
    assert load_config(config).graphics == "kitty"
    cli = f"from emojitui.cli import main; sys.exit(main(['--source', 'demo', '--config', {str(config)!r}]))"
    assert_one_line_error(without_textual_image(cli), f'[display] graphics = "kitty" in {config} needs the graphics')


def test_bad_graphics_values_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("--graphics", "iterm"), "--graphics must be one of auto, kitty, sixel, off")
    config = tmp_path / "config.toml"
    config.write_text('[display]\ngraphics = "yes"\n')
    assert_one_line_error(run_cli("--config", str(config)), "[display] graphics must be one of", str(config))
    config.write_text('[display]\ngrahpics = "auto"\n')
    assert_one_line_error(run_cli("--config", str(config)), "unknown key 'grahpics' in [display]")
    result = run_cli("serve", "--graphics", "sixel")
    assert_one_line_error(result, "a browser draws no terminal graphics")


@pytest.mark.skipif(sys.__stdout__.isatty(), reason="stdout is a terminal (pytest -s): auto would ask it")
async def test_auto_where_nothing_is_detected_is_the_half_block_preview(engine):
    """Under a test (stdout is no terminal) nothing answers: `auto` falls back, with or without the extra."""
    assert resolve("auto", "--graphics auto") == "off"
    app = EmojiApp(Session(engine), open_source("demo", demo_live=True), graphics="off")
    async with app.run_test(size=(120, 40)) as pilot:
        preview = app.query_one(Preview)
        assert type(preview) is Preview
        await wait_for(pilot, lambda: isinstance(preview.content, HalfBlockImage))
        await pilot.press("q")


@pytest.mark.parametrize("protocol", ["sixel", "kitty"])
async def test_the_app_draws_the_demo_as_pictures(engine, protocol, capfd):
    pytest.importorskip("textual_image", reason=NEEDS_EXTRA)
    assert resolve(protocol, f"--graphics {protocol}") == protocol, "asked for, it is used even where not detected"
    app = EmojiApp(Session(engine), open_source("demo", demo_live=True), demo=True, graphics=protocol)
    async with app.run_test(size=(120, 40)) as pilot:
        preview = app.query_one(Preview)
        assert isinstance(preview, GraphicsPreview) and preview.display
        picture = preview.picture
        await wait_for(pilot, lambda: picture.image is not None and app.faces)
        first = picture.image
        assert first.mode == "RGB" and first.size == (640, 480), "the demo's frame, boxed, for textual-image to scale"
        await wait_for(pilot, lambda: picture.image.tobytes() != first.tobytes())  # the demo plays on
        assert picture.size.width >= 70 and picture.size.height >= 25, "it fills the large preview's panel"
        if protocol == "sixel":  # the picture's lines carry the sixel data (a DCS sequence)
            # textual-image recomposes on each new frame (its child removed, a new one mounted): wait for one
            await wait_for(pilot, lambda: len(picture.children) == 1 and picture.children[0].size.area > 0)
            (encoder,) = picture.children
            lines = encoder.render_lines(Region(0, 0, *encoder.size))
            assert any(segment.text.startswith("\x1bP") for line in lines for segment in line)
        else:  # kitty's pictures go to the terminal directly, then cells refer to them
            await pilot.pause(0.3)
            assert "\x1b_G" in capfd.readouterr().out
        await pilot.press("v")
        assert not preview.display
        await pilot.press("v")
        await pilot.press("q")
    assert app.return_code == 0
