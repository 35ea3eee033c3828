"""FER-2013 loading: both forms of the data and every bad-data case, on data written here."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from trainer.data import DataError, load_dataset, resolve_data_dir

FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8)


def make_folder_dataset(root: Path, per_class: int = 4, prefixes: bool = True) -> Path:
    """Kaggle layout: 4 training images per class, 2 PublicTest and 2 PrivateTest."""
    for index, name in enumerate(FOLDERS):
        (root / "train" / name).mkdir(parents=True)
        (root / "test" / name).mkdir(parents=True)
        for n in range(per_class):
            cv2.imwrite(str(root / "train" / name / f"Training_{index}{n}.jpg"), face(index * 100 + n))
            prefix = ("PublicTest" if n % 2 else "PrivateTest") if prefixes else "img"
            cv2.imwrite(str(root / "test" / name / f"{prefix}_{index}{n}.jpg"), face(index * 100 + n + 50))
    return root


def test_folder_layout_uses_official_splits(tmp_path):
    data = load_dataset(make_folder_dataset(tmp_path / "fer"))
    assert [len(data[s]) for s in ("train", "val", "test")] == [28, 14, 14]
    assert data["train"].images.shape == (28, 48, 48) and data["train"].images.dtype == np.uint8
    assert data["val"].class_counts() == [2] * 7
    assert "PublicTest" in data.split_rule


def test_folder_without_prefixes_gets_a_seeded_stratified_split(tmp_path):
    root = make_folder_dataset(tmp_path / "fer", prefixes=False)
    first, second = load_dataset(root, seed=7), load_dataset(root, seed=7)
    assert first["val"].class_counts() == [2] * 7 and first["test"].class_counts() == [2] * 7
    assert np.array_equal(first["val"].images, second["val"].images)
    assert "stratified" in first.split_rule


def test_unreadable_and_truncated_images_are_skipped_and_counted(tmp_path):
    root = make_folder_dataset(tmp_path / "fer")
    good = (root / "train/happy/Training_30.jpg").read_bytes()
    (root / "train/happy/Training_truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "train/sad/Training_text.jpg").write_text("this is not an image")
    data = load_dataset(root)
    assert len(data["train"]) == 28
    assert data.skipped == {"truncated": 1, "not an image": 1}


def test_cache_is_reused_and_refreshed(tmp_path):
    root = make_folder_dataset(tmp_path / "fer")
    cache = tmp_path / "cache"
    first = load_dataset(root, cache)
    (stored,) = cache.glob("*.npz")
    written = stored.stat().st_mtime_ns
    again = load_dataset(root, cache)
    assert np.array_equal(first["train"].images, again["train"].images)
    assert stored.stat().st_mtime_ns == written, "read back, not decoded and stored again"
    cv2.imwrite(str(root / "train/happy/Training_new.jpg"), face(999))
    assert len(load_dataset(root, cache)["train"]) == 29


def test_cache_follows_the_files_not_the_path_to_them(tmp_path):
    """A fresh clone reaches ../shared through another path: it must not decode (and store) again."""
    root = make_folder_dataset(tmp_path / "fer")
    cache = tmp_path / "cache"
    load_dataset(root, cache)
    (stored,) = cache.glob("*.npz")
    written = stored.stat().st_mtime_ns
    (tmp_path / "elsewhere").symlink_to(root)
    load_dataset(tmp_path / "elsewhere", cache)
    load_dataset(root, cache, seed=7)
    assert list(cache.glob("*.npz")) == [stored], "official splits: neither the path nor the seed matters"
    assert stored.stat().st_mtime_ns == written


def test_cache_of_a_prefix_less_folder_depends_on_the_seed(tmp_path):
    root = make_folder_dataset(tmp_path / "fer", prefixes=False)
    cache = tmp_path / "cache"
    first = load_dataset(root, cache, seed=1)
    other = load_dataset(root, cache, seed=2)
    assert len(list(cache.glob("*.npz"))) == 2
    assert not np.array_equal(first["val"].images, other["val"].images)
    assert np.array_equal(load_dataset(root, cache, seed=1)["val"].images, first["val"].images)


def add_unknown_class(root: Path) -> None:
    (root / "train/mad").mkdir()
    cv2.imwrite(str(root / "train/mad/Training_x.jpg"), face(1))


def empty_a_class(root: Path) -> None:
    for path in (root / "train/fear").iterdir():
        path.unlink()


def remove_test_split(root: Path) -> None:
    shutil.rmtree(root / "test")


@pytest.mark.parametrize(
    ("breakage", "fragment"),
    [
        (add_unknown_class, "unknown class folder"),
        (empty_a_class, "empty class folder"),
        (remove_test_split, "missing split"),
    ],
)
def test_bad_folders_are_one_line_errors(tmp_path, breakage, fragment):
    root = make_folder_dataset(tmp_path / "fer")
    breakage(root)
    with pytest.raises(DataError, match=fragment) as error:
        load_dataset(root)
    assert "\n" not in str(error.value)


def test_hidden_folders_beside_the_classes_are_ignored(tmp_path):
    root = make_folder_dataset(tmp_path / "fer")
    (root / "train" / ".ipynb_checkpoints").mkdir()
    assert len(load_dataset(root)["train"]) == len(load_dataset(make_folder_dataset(tmp_path / "plain"))["train"])


def test_a_binary_file_given_as_the_csv_is_a_one_line_error(tmp_path):
    archive = tmp_path / "archive.zip"
    archive.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(DataError, match=r"is not a fer2013\.csv") as error:
        load_dataset(archive)
    assert "\n" not in str(error.value)


def test_a_csv_with_a_byte_order_mark_reads(tmp_path):
    path = write_csv(tmp_path / "fer2013.csv")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_dataset(path)["train"]) == 3


def write_csv(path: Path, header: str = "emotion,pixels,Usage", rows: int = 3) -> Path:
    lines = [header]
    for usage in ("Training", "PublicTest", "PrivateTest"):
        for n in range(rows):
            pixels = " ".join(str(v) for v in face(n).ravel())
            lines.append(f"{n % 7},{pixels},{usage}")
    lines.append("3,1 2 3,Training")  # a bad row: wrong pixel count
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_form(tmp_path):
    data = load_dataset(write_csv(tmp_path / "fer2013.csv"))
    assert [len(data[s]) for s in ("train", "val", "test")] == [3, 3, 3]
    assert data["train"].labels.tolist() == [0, 1, 2], "CSV codes are FER-2013's: 0 angry, 1 disgust, 2 fear"
    assert data.skipped == {"bad csv row": 1}
    assert load_dataset(tmp_path)["test"].images.shape == (3, 48, 48), "a folder holding fer2013.csv works too"


def test_csv_with_wrong_header_is_an_error(tmp_path):
    with pytest.raises(DataError, match="header must be emotion,pixels,Usage"):
        load_dataset(write_csv(tmp_path / "fer2013.csv", header="label,data,split"))


def test_csv_missing_a_split_is_an_error(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n" + f"1,{' '.join(['5'] * 2304)},Training\n")
    with pytest.raises(DataError, match="missing split"):
        load_dataset(path)


def test_missing_data_path_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="--data"):
        resolve_data_dir(tmp_path / "nowhere")


def test_loads_side_by_side_each_write_the_cache_apart(tmp_path):
    """Two exports or GPU runs started together decode the same data at once: neither may fail."""
    root = make_folder_dataset(tmp_path / "fer")
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=6) as pool:
        loaded = list(pool.map(lambda _: load_dataset(root, cache), range(6)))
    assert all(len(data["train"]) == 28 for data in loaded)
    (stored,) = cache.glob("*")
    assert stored.suffix == ".npz" and len(load_dataset(root, cache)["train"]) == 28
