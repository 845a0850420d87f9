"""`names` and `load`: the real sequences as arrays, split and normalised, with their record.

* **digits**: scikit-learn's 1,797 8x8 digits, read pixel by pixel, row by row (T = 64,
  C = 1), scaled to [0, 1] (pixel count / 16); ``delay`` blank (zero) steps may follow the
  image before the label is due (T = 64 + delay): real content with a memory demand of
  ``delay`` steps. Split 75 % / 25 % stratified by class: within each digit the images are
  shuffled with numpy's ``default_rng(SPLIT_SEED)`` and round(n_c / 4) go to the test split.
* **trace** (UCR Trace, T = 275, 4 classes, 100 + 100) and **acsf1** (UCR ACSF1, T = 1,460,
  10 classes, 100 + 100): UCR's own train/test files, each series z-normalised on its own
  ((x - mean_t x) / std_t x, population std; a constant series is only centred), as the UCR
  archive's sets usually are (re-normalising an already normalised series changes it only by
  rounding).

Labels become 0..K-1 in the sorted order of the labels as written (``info["classes"]`` keeps
them). ``info`` records source, version, file, checksum, classes, split and normalisation.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from analysis.data import parse, sources

__all__ = ["DIGITS_LENGTH", "SPLIT_SEED", "TEST_FRACTION", "Dataset", "load", "names", "shape"]

DIGITS_LENGTH = 64
SPLIT_SEED = 0
TEST_FRACTION = 0.25
_UCR_SHAPES = {"trace": (275, 1, 4, 100, 100), "acsf1": (1460, 1, 10, 100, 100)}
_Z_NORM = "per-series z-normalisation: (x - mean_t x) / std_t x (population std)"
_DIGITS_NORM = "pixel count / 16, in [0, 1]; delay steps are 0"


class Dataset(NamedTuple):
    """A data set's splits: x (N, T, C) float32, y (N,) int32 labels 0..K-1, and its record.

    ``info``: source, package, version, file(s), checksum(s), licence, classes (the labels as
    written, index = label), split, normalisation, and for digits the delay.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict[str, Any]


def names() -> tuple[str, ...]:
    """Data set names, sorted.

    >>> names()
    ('acsf1', 'digits', 'trace')
    """
    return tuple(sorted(sources.SOURCES))


def _check_name(name: str) -> None:
    if name not in sources.SOURCES:
        raise ValueError(f"unknown data set {name!r}; valid data sets: {', '.join(names())}")


def _check_delay(name: str, delay: Any) -> int:
    if isinstance(delay, bool) or not isinstance(delay, int | np.integer) or delay < 0:
        raise ValueError(f"delay must be an integer >= 0, got {delay!r}")
    if delay and name != "digits":
        raise ValueError(f"delay is an option of digits only, not of {name!r}")
    return int(delay)


def shape(name: str, delay: int = 0) -> tuple[int, int, int, int, int]:
    """(T, C, K, N train, N test) of a data set without reading it (what memory checks need).

    Args:
        name: one of `names`; delay: digits' blank steps (0 for the others).

    Returns:
        the sizes; digits' split sizes are those `load` makes (1,347 + 450).

    >>> shape("digits", delay=200)
    (264, 1, 10, 1347, 450)
    """
    _check_name(name)
    delay = _check_delay(name, delay)
    if name == "digits":
        return (DIGITS_LENGTH + delay, 1, 10, 1347, 450)
    return _UCR_SHAPES[name]


def _z_normalise(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return (x - mean) / np.where(std > 0, std, 1.0)


def _labels(train: np.ndarray, test: np.ndarray, where: str) -> tuple[np.ndarray, ...]:
    """Labels as written -> 0..K-1 (sorted, numerically when they are numbers)."""
    written = sorted(set(train.tolist()), key=lambda s: (float(s), s) if _numeric(s) else (0, s))
    index = {c: i for i, c in enumerate(written)}
    unseen = sorted(set(test.tolist()) - set(written))
    if unseen:
        raise sources.DataFileError(f"{where}: test labels {unseen} never occur in training")
    return (
        np.asarray([index[c] for c in train.tolist()], np.int32),
        np.asarray([index[c] for c in test.tolist()], np.int32),
        [str(c) for c in written],
    )


def _numeric(s: Any) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _record(name: str, paths: tuple[Path, ...], **more: Any) -> dict[str, Any]:
    source = sources.SOURCES[name]
    return {
        "name": name,
        "source": source.origin,
        "package": source.dist,
        "version": sources.version(name),
        "file": [f"{source.package}/{f}" for f in source.files],
        "checksum": [f"sha256:{sources.checksum(p)}" for p in paths],
        "licence": source.licence,
        **more,
    }


def _read_ucr(name: str, paths: tuple[Path, ...]) -> Dataset:
    if name == "trace":
        arrays = parse.read_npz(paths[0], ("X_train", "y_train", "X_test", "y_test"))
        for m in ("X_train", "X_test"):
            if arrays[m].ndim != 3 or not np.all(np.isfinite(arrays[m])):
                raise sources.DataFileError(f"{paths[0]}, member {m}: not finite (N, T, C)")
        train = parse.Series(arrays["X_train"], arrays["y_train"].astype(str))
        test = parse.Series(arrays["X_test"], arrays["y_test"].astype(str))
    else:
        train, test = parse.read_ts(paths[0]), parse.read_ts(paths[1])
    if train.x.shape[1:] != test.x.shape[1:]:
        raise sources.DataFileError(f"{paths[-1]}: series of another shape than training's")
    y_train, y_test, classes = _labels(train.labels, test.labels, str(paths[-1]))
    info = _record(
        name, paths, classes=classes, normalisation=_Z_NORM,
        split={"method": "the UCR archive's own train and test files",
               "train": len(y_train), "test": len(y_test)},
    )  # fmt: skip
    x_train = _z_normalise(train.x).astype(np.float32)
    return Dataset(x_train, y_train, _z_normalise(test.x).astype(np.float32), y_test, info)


def stratified_split(y: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Boolean test mask: within each class, round(fraction n_c) of its items, shuffled by
    ``numpy.random.default_rng(seed)`` (classes in increasing order, one permutation each).

    Args:
        y: (N,) int labels; seed: the generator's seed; fraction: the test share.

    Returns:
        (N,) bool, True for the test split.
    """
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        test[rng.permutation(members)[: round(fraction * len(members))]] = True
    return test


def _read_digits(paths: tuple[Path, ...]) -> Dataset:
    pixels, digits = parse.read_digits(paths[0])
    x = (pixels / 16.0).astype(np.float32)[:, :, None]
    test = stratified_split(digits, SPLIT_SEED, TEST_FRACTION)
    y = digits.astype(np.int32)
    split = {
        "method": "stratified by class, numpy default_rng(seed) permutation per class",
        "seed": SPLIT_SEED,
        "test_fraction": TEST_FRACTION,
        "train": int((~test).sum()),
        "test": int(test.sum()),
        "test_per_class": np.bincount(y[test], minlength=10).tolist(),
    }
    info = _record(
        "digits", paths, classes=[str(d) for d in range(10)], split=split,
        normalisation=_DIGITS_NORM, order="row by row, one pixel a step",
    )  # fmt: skip
    return Dataset(x[~test], y[~test], x[test], y[test], info)


@functools.lru_cache(maxsize=8)
def _read(name: str, paths: tuple[Path, ...]) -> Dataset:
    ds = _read_digits(paths) if name == "digits" else _read_ucr(name, paths)
    for a in ds[:4]:
        a.setflags(write=False)  # shared by every caller of the cache
    return ds


def _pad(ds: Dataset, delay: int) -> Dataset:
    from analysis.runtime import memory

    n = len(ds.x_train) + len(ds.x_test)
    need = n * (DIGITS_LENGTH + delay) * 4
    room = memory.available_bytes()
    if room is not None and need > room:
        raise ValueError(
            f"digits with delay {delay} needs {memory.format_bytes(need)} for its arrays; "
            f"{memory.format_bytes(room)} are available (reduce --delay)"
        )

    def pad(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.zeros((len(x), delay, x.shape[2]), x.dtype)], axis=1)

    return ds._replace(x_train=pad(ds.x_train), x_test=pad(ds.x_test))


def load(name: str, *, delay: int = 0) -> Dataset:
    """Data set `name` as arrays (read once per process, from the installed wheel's files).

    Args:
        name: one of `names` (ValueError listing them otherwise).
        delay: digits only: blank steps after the image (T = 64 + delay), >= 0.

    Returns:
        Dataset(x_train (N, T, C) float32, y_train (N,) int32, x_test, y_test, info).

    Raises:
        ValueError: unknown name, bad delay, or arrays larger than the available memory;
        sources.DataFileError (a ValueError): a missing file (naming the fix) or one that
        does not parse (naming the file and the line).

    Examples:
        >>> ds = load("digits", delay=8)
        >>> ds.x_train.shape, ds.x_test.shape, ds.info["split"]["seed"]
        ((1347, 72, 1), (450, 72, 1), 0)
    """
    _check_name(name)
    delay = _check_delay(name, delay)
    ds = _read(name, sources.locate(name))
    if delay:
        ds = _pad(ds, delay)
    info = copy.deepcopy(ds.info)
    if name == "digits":
        info["delay"] = delay
    return ds._replace(info=info)
