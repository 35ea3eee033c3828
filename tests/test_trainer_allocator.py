"""The trainer reruns itself under jemalloc where it is installed (trainer/allocator.py): the
environment it reruns in, and a real `python -m trainer train` that says which allocator it ran."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.test_trainer_data import make_folder_dataset
from trainer.allocator import KEEP_PAGES, jemalloc_environment

TINY = {"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "stem": 8, "stages": [[8, 1], [16, 1]]}


def test_jemalloc_goes_first_in_the_preload_and_keeps_its_pages():
    env = jemalloc_environment({"PATH": "/bin", "LD_PRELOAD": "libother.so"}, "libjemalloc.so.2")
    assert env == {"PATH": "/bin", "LD_PRELOAD": "libjemalloc.so.2 libother.so", "MALLOC_CONF": KEEP_PAGES}


def test_a_users_malloc_conf_is_kept():
    env = jemalloc_environment({"MALLOC_CONF": "narenas:1"}, "libjemalloc.so.2")
    assert env is not None and env["MALLOC_CONF"] == "narenas:1"


def test_no_rerun_once_preloaded_or_where_jemalloc_is_missing():
    preloaded = {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}
    assert jemalloc_environment(preloaded, "libjemalloc.so.2") is None
    assert jemalloc_environment({"PATH": "/bin"}, None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the rerun is for Linux's glibc")
def test_the_trainer_command_trains_under_jemalloc_or_says_what_to_install(tmp_path):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY))
    data = make_folder_dataset(tmp_path / "fer")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "trainer", "train", "--recipe", str(recipe), "--data", str(data)]
    command += ["--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    header = next(line for line in result.stdout.splitlines() if line.startswith("training "))
    if ctypes.util.find_library("jemalloc"):
        assert ", jemalloc, " in header, header
    else:
        assert "sudo apt install libjemalloc2" in header, header
