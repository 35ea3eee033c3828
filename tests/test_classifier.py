"""The real model in a real LiteRT interpreter: shapes, batching, quantisation, bad files."""

import shutil

import cv2
import numpy as np
import pytest

from emojitui.engine.classifier import ExpressionClassifier, ModelError
from emojitui.shared.emotions import CLASS_NAMES
from emojitui.shared.model_card import card_path_for


def test_card_labels_and_input(classifier):
    assert classifier.labels == list(CLASS_NAMES)
    assert classifier.input_size == (48, 48)


def test_batches_of_any_size_give_distributions(classifier):
    rng = np.random.default_rng(0)
    for count in (1, 3, 1, 5):
        probabilities = classifier.classify(rng.integers(0, 256, (count, 48, 48), dtype=np.uint8))
        assert probabilities.shape == (count, 7)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert classifier.classify(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)


def test_one_batch_equals_faces_one_by_one(classifier):
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    together = classifier.classify(faces)
    alone = np.vstack([classifier.classify(face[None]) for face in faces])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_flip_average_is_the_mean_of_the_face_and_its_mirror(model_path):
    faces = np.random.default_rng(2).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    averaged = ExpressionClassifier(model_path).classify(faces)
    single = ExpressionClassifier(model_path, flip_average=False)
    expected = (single.classify(faces) + single.classify(faces[:, :, ::-1])) / 2
    np.testing.assert_allclose(averaged, expected, atol=1e-6)
    assert not np.allclose(averaged, single.classify(faces), atol=1e-3), "the mirror view changes the answer"
    np.testing.assert_array_equal(ExpressionClassifier(model_path).classify(faces[:, :, ::-1]), averaged)


def test_happy_fer_faces_are_mostly_happy(classifier, fer_dir):
    """A sanity floor on the shipped model: the easiest class, 60 PrivateTest faces."""
    files = sorted((fer_dir / "test" / "happy").glob("PrivateTest_*.jpg"))[:60]
    faces = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files])
    predicted = classifier.classify(faces).argmax(axis=1)
    assert (predicted == CLASS_NAMES.index("happy")).mean() >= 0.6


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        ExpressionClassifier(tmp_path / "nope.tflite")


def test_corrupt_model_names_the_file(tmp_path, model_path):
    bad = tmp_path / "emotion.tflite"
    bad.write_bytes(b"\x00garbage" * 100)
    shutil.copy(model_path.with_suffix(".json"), tmp_path / "emotion.json")
    with pytest.raises(ModelError, match="not a usable TFLite model") as error:
        ExpressionClassifier(bad)
    assert str(bad) in str(error.value)


def test_model_without_card_is_an_error(tmp_path, model_path):
    shutil.copy(model_path, tmp_path / "emotion.tflite")
    with pytest.raises(ModelError, match="model card"):
        ExpressionClassifier(tmp_path / "emotion.tflite")


def test_card_that_does_not_match_the_model_is_an_error(tmp_path, model_path):
    shutil.copy(model_path, tmp_path / "emotion.tflite")
    card = (model_path.with_suffix(".json")).read_text().replace('"width": 48', '"width": 64')
    (tmp_path / "emotion.json").write_text(card)
    with pytest.raises(ModelError, match="does not match its card"):
        ExpressionClassifier(tmp_path / "emotion.tflite")


def test_a_model_built_for_one_face_per_call_still_classifies_every_face(tmp_path, model_path):
    """A user's model whose graph fixes batch 1 cannot be resized: it runs one face per call, not crash."""
    tf = pytest.importorskip("tensorflow", reason="building a test model needs the training extra")
    inputs = tf.keras.Input((48, 48, 1), batch_size=1)
    flat = tf.keras.layers.Lambda(lambda x: tf.reshape(x, (1, 48 * 48)))(inputs)  # batch 1 baked into the graph
    outputs = tf.keras.layers.Dense(7, activation="softmax")(flat / 255.0)
    converter = tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inputs, outputs))
    fixed = tmp_path / "fixed.tflite"
    fixed.write_bytes(converter.convert())
    card_path_for(fixed).write_text(card_path_for(model_path).read_text())
    faces = np.random.default_rng(5).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    classifier = ExpressionClassifier(fixed, flip_average=True)
    together = classifier.classify(faces)
    assert together.shape == (3, 7) and np.allclose(together.sum(axis=1), 1.0, atol=1e-3)
    one_by_one = np.concatenate([classifier.classify(faces[i : i + 1]) for i in range(3)])
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert not classifier.model.batches and classifier.model.input_shape[0] == 1, "it really could not batch"


def test_views_are_seen_mirrored_or_both_and_nothing_else(classifier):
    crop = np.full((1, 48, 48), 128, np.uint8)
    crop[:, :, :20] = 30  # not symmetric: the two views differ
    seen, mirrored, both = (classifier.classify(crop, view) for view in ("seen", "mirrored", "both"))
    assert np.allclose(both, (seen + mirrored) / 2, atol=1e-6) and not np.allclose(seen, mirrored)
    with pytest.raises(ValueError, match="view"):
        classifier.classify(crop, "sideways")


@pytest.mark.parametrize("still", [None, 1])
def test_video_frames_classify_one_view_and_pair_it_with_the_frame_before(model_path, monkeypatch, still):
    """One model pass a face a frame on video (both views, as two, on a face's first frame), and every
    frame's raw output still the two-view mean: for a face held still, the same as a both-view invoke."""
    from emojitui.engine.engine import Engine
    from emojitui.shared.locations import DEMO_DIR
    from emojitui.sources.base import Frame
    from tests.conftest import place

    classifier = ExpressionClassifier(model_path)
    batches = []
    run = classifier.model.probabilities
    monkeypatch.setattr(classifier.model, "probabilities", lambda x, pixels: batches.append(len(x)) or run(x, pixels))
    engine = Engine(classifier)
    frame = place(cv2.imread(str(DEMO_DIR / "02-obama.jpg")))
    raws = [engine.process(Frame(frame, n / 30, n, still=still)).faces[0].raw_probabilities for n in range(8)]
    assert batches == ([1, 1] + [1] * 7 if still is None else [2] * 8), "a still gets both views every time"
    if still is None:  # the same box until the detection at frame 3 (re-finding moves it by a few pixels)
        for raw in raws[1:3]:
            assert np.allclose(raw, raws[0], atol=1e-5), "one view with the frame before's other is the two-view mean"
