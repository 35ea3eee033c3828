"""The shared LiteRT runtime on the shipped model: shapes, batching, probabilities, errors, timing."""

from __future__ import annotations

import numpy as np
import pytest

from emojitui.shared.litert import PIXEL_SCALES, LiteRTError, LiteRTModel, to_probabilities


@pytest.fixture(scope="module")
def model(model_path) -> LiteRTModel:
    return LiteRTModel(model_path)


def test_the_shipped_model_loads_as_a_quantised_grey_classifier(model):
    assert model.input_shape[1:] == (48, 48, 1)
    assert model.input_dtype in (np.int8, np.uint8) and model.classes == 7 and model.batches


def test_run_in_one_batch_equals_one_face_at_a_time(model):
    faces = np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    together = model.run(faces)
    one_by_one = np.concatenate([model.run(faces[i : i + 1]) for i in range(5)])
    assert together.dtype == np.float32 and together.shape == (5, 7)
    assert np.allclose(together, one_by_one, atol=1e-6)


def test_probabilities_resize_other_sizes_and_sum_to_one(model):
    faces = np.random.default_rng(2).integers(0, 256, (3, 96, 96), dtype=np.uint8)
    probabilities = model.probabilities(faces, pixels="raw")
    assert probabilities.shape == (3, 7) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    with pytest.raises(LiteRTError, match="pixel scaling"):
        model.probabilities(faces, pixels="percent")
    assert set(PIXEL_SCALES) == {"raw", "unit", "signed"}


def test_logits_become_a_softmax_and_probabilities_stay_as_they_are():
    logits = np.array([[2.0, -1.0, 0.5]], np.float32)
    expected = np.exp(logits) / np.exp(logits).sum()
    assert np.allclose(to_probabilities(logits), expected)
    probabilities = np.array([[0.2, 0.5, 0.3]], np.float32)
    assert np.allclose(to_probabilities(probabilities), probabilities)


def test_a_file_that_is_not_a_model_is_a_litert_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(LiteRTError, match="not a usable TFLite model") as error:
        LiteRTModel(bad)
    assert isinstance(error.value, ValueError)


def test_median_latency_is_a_positive_number_of_milliseconds(model):
    latency = model.median_latency_ms(repeats=5)
    assert 0 < latency < 1000
