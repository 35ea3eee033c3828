"""Load FER-2013 (Kaggle folder layout or the original CSV) into cached uint8 arrays.

Decoding 35k JPEGs takes a while on a small CPU, so the decoded splits are cached as one
`.npz` keyed by the data location and its file listing; every later run starts in a second.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emojitui.shared.atomic import write_bytes_atomic
from emojitui.shared.emotions import CLASS_NAMES

IMAGE_SIZE = 48
SPLITS = ("train", "val", "test")
DATA_ENV = "EMOJITUI_FER2013"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
CSV_HEADER = ("emotion", "pixels", "Usage")
CSV_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


class DataError(ValueError):
    """Data that cannot be used as given; the message says what to fix."""


@dataclass
class Split:
    """One split: `images` (N, 48, 48) uint8 and `labels` (N,) indices into CLASS_NAMES."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(CLASS_NAMES)).tolist()


@dataclass
class Dataset:
    """The three splits plus what was skipped while loading, for the report."""

    splits: dict[str, Split]
    source: str
    skipped: Counter = field(default_factory=Counter)
    split_rule: str = ""

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]


def resolve_data_dir(option: str | os.PathLike | None) -> Path:
    """The data path from the option, else $EMOJITUI_FER2013, else ../shared beside the repo."""
    candidates = [option, os.environ.get(DATA_ENV)]
    candidates.append(Path(__file__).resolve().parent.parent.parent / "shared/datasets/fer2013")
    for candidate in candidates:
        if candidate:
            path = Path(candidate).expanduser()
            if path.exists():
                return path
            if candidate is option or candidate == os.environ.get(DATA_ENV):
                raise DataError(
                    f"FER-2013 not found at {path}: pass --data DIR (folder with train/ and "
                    f"test/, or fer2013.csv) or set {DATA_ENV}"
                )
    raise DataError(f"FER-2013 not found: pass --data DIR or set {DATA_ENV}")


WILD_DEV_ENV = "EMOJITUI_WILD_DEV"


def load_wild_dev(option: str | os.PathLike | None = None) -> Split | None:
    """The in-the-wild development crops (`<class>/<name>.jpg`), each whole crop resized to 48x48 grey.

    For comparing models beside PublicTest, never for training. From `option`, else $EMOJITUI_WILD_DEV,
    else ../shared beside the repository; None when the folder is absent.
    """
    shared = Path(__file__).resolve().parents[2] / "shared/datasets/wild-dev"
    candidates = [option] if option else [os.environ.get(WILD_DEV_ENV), shared]
    root = next((Path(c) for c in candidates if c and Path(c).is_dir()), None)
    if root is None:
        return None
    entries = [
        (file, index)
        for index, name in enumerate(CLASS_NAMES)
        if (root / name).is_dir()
        for file in sorted((root / name).iterdir())
        if file.suffix.lower() in IMAGE_SUFFIXES
    ]
    return _decode_all(entries, Counter()) if entries else None


def load_dataset(path: Path, cache_dir: Path | None = None, seed: int = 1234) -> Dataset:
    """Load folder layout or CSV, using (and refreshing) the decoded-array cache."""
    csv_path = path if path.is_file() else path / "fer2013.csv"
    if csv_path.is_file():
        return _cached(csv_path, cache_dir, lambda: _load_csv(csv_path), csv_path.parent, [csv_path], "csv")
    listing = _list_folder(path)
    files = [f for split in listing.values() for f, _ in split]
    official = any(f.name.startswith("PublicTest") for f, _ in listing["test"])
    variant = "official splits" if official else f"seed {seed}"  # the seed decides only a prefix-less split
    return _cached(path, cache_dir, lambda: _load_folder(path, listing, seed), path, files, variant)


def _cached(source: Path, cache_dir: Path | None, load, root: Path, files: list[Path], variant: str) -> Dataset:
    """Reuse decoded arrays while the files are unchanged.

    The key holds each file's path relative to `root` (not its absolute path), so the same data
    reached another way, such as a fresh clone's `../shared`, reuses one cache file.
    """
    if cache_dir is None:
        return load()
    key = hashlib.sha1(f"{variant}\n".encode())
    for file in sorted(files):
        stat = file.stat()
        key.update(f"{file.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    cache = cache_dir / f"fer2013-{key.hexdigest()[:16]}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as npz:
            splits = {s: Split(npz[f"{s}_x"], npz[f"{s}_y"]) for s in SPLITS}
            skipped = Counter(dict(zip(npz["skip_k"].tolist(), npz["skip_v"].tolist(), strict=True)))
            return Dataset(splits, str(source), skipped, str(npz["rule"]))
    dataset = load()
    arrays = {f"{s}_x": dataset[s].images for s in SPLITS} | {f"{s}_y": dataset[s].labels for s in SPLITS}
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **arrays,
        skip_k=np.array(list(dataset.skipped.keys()), dtype=str),
        skip_v=np.array(list(dataset.skipped.values()), dtype=np.int64),
        rule=np.array(dataset.split_rule),
    )
    write_bytes_atomic(cache, buffer.getvalue())  # a temporary file of its own: loads side by side write apart
    return dataset


def _list_folder(root: Path) -> dict[str, list[tuple[Path, int]]]:
    """Map train/test folders to (file, class index) lists, checking the class folders."""
    if not root.is_dir():
        raise DataError(f"{root} is neither a folder nor a fer2013.csv")
    listing: dict[str, list[tuple[Path, int]]] = {}
    for folder in ("train", "test"):
        base = root / folder
        if not base.is_dir():
            raise DataError(f"missing split: {base} (expected {root}/train/<class>/ and {root}/test/<class>/)")
        entries: list[tuple[Path, int]] = []
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if class_dir.name not in CLASS_NAMES:
                raise DataError(f"unknown class folder {class_dir}: expected {', '.join(CLASS_NAMES)}")
            files = sorted(f for f in class_dir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DataError(f"empty class folder {class_dir}: add its images or remove it")
            entries += [(f, CLASS_NAMES.index(class_dir.name)) for f in files]
        if not entries:
            raise DataError(f"no class folders with images in {base}")
        listing[folder] = entries
    return listing


def _load_folder(root: Path, listing: dict[str, list[tuple[Path, int]]], seed: int) -> Dataset:
    skipped: Counter = Counter()
    test_entries = listing["test"]
    public = [e for e in test_entries if e[0].name.startswith("PublicTest")]
    private = [e for e in test_entries if e[0].name.startswith("PrivateTest")]
    if public and private:
        rule = "official FER-2013 splits: PublicTest = val, PrivateTest = test"
    else:
        public, private = _stratified_halves(test_entries, seed)
        rule = f"test/ split 50/50 stratified by class, seed {seed}"
    splits = {
        "train": _decode_all(listing["train"], skipped),
        "val": _decode_all(public, skipped),
        "test": _decode_all(private, skipped),
    }
    return Dataset(splits, str(root), skipped, rule)


def _stratified_halves(entries, seed: int):
    rng = random.Random(seed)
    first, second = [], []
    for label in range(len(CLASS_NAMES)):
        members = [e for e in entries if e[1] == label]
        rng.shuffle(members)
        half = len(members) // 2
        first += members[:half]
        second += members[half:]
    return first, second


def _decode_all(entries: list[tuple[Path, int]], skipped: Counter) -> Split:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        decoded = list(pool.map(lambda e: _decode_file(e[0]), entries))
    images, labels = [], []
    for (_, label), (image, problem) in zip(entries, decoded, strict=True):
        if image is None:
            skipped[problem] += 1
            continue
        images.append(image)
        labels.append(label)
    return _as_split(images, labels)


def _decode_file(path: Path) -> tuple[np.ndarray | None, str]:
    """Decode one image to 48x48 grey; (None, reason) for unreadable or truncated files."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None, "unreadable"
    # OpenCV may decode a cut-off JPEG into a partly grey picture; the missing end marker gives it away.
    if raw[:2] == b"\xff\xd8" and not raw.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        return None, "truncated"
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE) if raw else None
    if image is None:
        return None, "not an image"
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return image, ""


def _as_split(images: list[np.ndarray], labels: list[int]) -> Split:
    if not images:
        return Split(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros((0,), np.int64))
    return Split(np.stack(images).astype(np.uint8), np.asarray(labels, np.int64))


def _load_csv(path: Path) -> Dataset:
    skipped: Counter = Counter()
    rows: dict[str, tuple[list[np.ndarray], list[int]]] = {s: ([], []) for s in SPLITS}
    try:
        return _read_csv(path, skipped, rows)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(
            f"{path} is not a fer2013.csv ({exc.__class__.__name__}): pass the CSV or the folder with train/ and test/"
        ) from None


def _read_csv(path: Path, skipped: Counter, rows: dict[str, tuple[list[np.ndarray], list[int]]]) -> Dataset:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = tuple(h.strip() for h in next(reader, ()))
        if header[:3] != CSV_HEADER:
            raise DataError(f"{path}: header must be {','.join(CSV_HEADER)}, found {','.join(header) or 'nothing'}")
        for row in reader:
            try:
                label = int(row[0])
                pixels = np.array(row[1].split(), dtype=np.uint8)
                split = CSV_USAGE[row[2].strip()]
            except (ValueError, IndexError, KeyError, OverflowError):
                skipped["bad csv row"] += 1
                continue
            if pixels.size != IMAGE_SIZE * IMAGE_SIZE or not 0 <= label < len(CLASS_NAMES):
                skipped["bad csv row"] += 1
                continue
            rows[split][0].append(pixels.reshape(IMAGE_SIZE, IMAGE_SIZE))
            rows[split][1].append(label)
    for split, (images, _) in rows.items():
        if not images:
            raise DataError(
                f"{path}: no rows with Usage={_usage_name(split)} (missing split): pass the whole fer2013.csv "
                "(Training, PublicTest and PrivateTest rows)"
            )
    splits = {s: _as_split(*rows[s]) for s in SPLITS}
    return Dataset(splits, str(path), skipped, "fer2013.csv Usage column")


def _usage_name(split: str) -> str:
    return next(k for k, v in CSV_USAGE.items() if v == split)


def limit_per_class(dataset: Dataset, limit: int) -> Dataset:
    """At most `limit` images per class in each split, for smoke runs on tiny data."""
    splits = {}
    for name, split in dataset.splits.items():
        keep = np.concatenate([np.flatnonzero(split.labels == c)[:limit] for c in range(len(CLASS_NAMES))])
        keep.sort()
        splits[name] = Split(split.images[keep], split.labels[keep])
    return Dataset(splits, dataset.source, dataset.skipped, dataset.split_rule)
