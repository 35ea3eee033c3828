"""Mixed bfloat16 training: chosen from the CPU's flags, recorded in the run, float32 for export."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the training extra is not installed (just setup installs it)")

import keras

from tests.test_trainer_data import make_folder_dataset
from trainer.data import load_dataset
from trainer.export import float32_model
from trainer.precision import cpu_has_bf16, resolve_precision
from trainer.train import Recipe, RunError, RunFolder, train

TINY = {"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "stem": 8, "stages": ((8, 1), (16, 1))}


def test_bfloat16_units_are_read_from_the_cpu_flags(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f amx_bf16 amx_tile\n\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\n")
    assert cpu_has_bf16(with_amx)
    assert not cpu_has_bf16(without)
    assert not cpu_has_bf16(tmp_path / "missing")


def test_auto_resolves_to_a_concrete_policy_and_nonsense_is_refused():
    if keras.backend.backend() == "tensorflow":  # the CPU decides; on JAX an accelerator may
        assert resolve_precision("auto") == ("mixed_bfloat16" if cpu_has_bf16() else "float32")
    assert resolve_precision("float32") == "float32"
    with pytest.raises(ValueError, match="use one of"):
        resolve_precision("float8")


def test_a_mixed_bfloat16_run_records_its_policy_and_exports_in_float32(tmp_path):
    data = load_dataset(make_folder_dataset(tmp_path / "fer"))
    run = RunFolder(tmp_path / "run")

    def interrupt_after_first_epoch(line: str) -> None:
        if line.startswith("epoch   1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(data, Recipe(**TINY, precision="mixed_bfloat16"), run, resume=False, say=interrupt_after_first_epoch)
    # A resumed run goes on in its own recorded policy, whatever the recipe passed in says.
    train(data, Recipe(**TINY, precision="half"), run, resume=True, say=lambda _: None)
    assert run.read_state()["epoch"] == 2
    assert json.loads(run.recipe.read_text())["precision"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored after training"
    with pytest.raises(RunError, match="use one of"):
        train(data, Recipe(**TINY, precision="half"), RunFolder(tmp_path / "bad"), resume=False, say=lambda _: None)

    trained = keras.models.load_model(run.best)
    assert {layer.dtype_policy.name for layer in trained.layers if layer.weights} == {"mixed_bfloat16"}
    exported = float32_model(trained, Recipe.from_dict(json.loads(run.recipe.read_text())))
    assert {layer.dtype_policy.name for layer in exported.layers} == {"float32"}
    faces = data["test"].images[..., None].astype(np.float32)
    np.testing.assert_allclose(
        exported.predict(faces, verbose=0), np.asarray(trained.predict(faces, verbose=0), np.float32), atol=0.05
    )
