"""Readers of the three file formats, each error naming the file and the line (or member).

* UCR/aeon ``.ts`` text (`read_ts`): ``#`` comments, ``@name value`` headers, then after
  ``@data`` one series a line, ``v_1,...,v_T:label`` (univariate, equal length).
* numpy ``.npz`` (`read_npz`): tslearn's cached UCR set, arrays X_train (N, T, 1), y_train
  (N,), X_test, y_test; read with ``allow_pickle=False`` (plain arrays only).
* scikit-learn's ``digits.csv.gz`` (`read_digits`): one image a line, 64 pixel counts 0..16
  (row by row) and the digit 0..9 last.
"""

from __future__ import annotations

import gzip
import math
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from analysis.data.sources import DataFileError

__all__ = ["Series", "read_digits", "read_npz", "read_ts"]


class Series(NamedTuple):
    """Raw series as a file holds them: x (N, T, C) float64, labels (N,) as written (str)."""

    x: np.ndarray
    labels: np.ndarray


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{where}: {text.strip()[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise DataFileError(f"{where}: {text.strip()!r} is not finite")
    return value


def _ts_header(line: str, headers: dict[str, list[str]]) -> None:
    key, *values = line[1:].split()
    headers[key.lower()] = values


def _ts_row(line: str, where: str, length: int, classes: set[str]) -> tuple[list[float], str]:
    body, sep, label = line.rpartition(":")
    if not sep:
        raise DataFileError(f"{where}: no ':label' at the end of the series")
    label = label.strip()
    if classes and label not in classes:
        raise DataFileError(f"{where}: label {label!r} is not one of @classLabel's")
    values = [_float(v, where) for v in body.split(",")]
    if len(values) != length:
        raise DataFileError(f"{where}: {len(values)} values, @seriesLength says {length}")
    return values, label


def read_ts(path: Path) -> Series:
    """A univariate, equal-length UCR ``.ts`` file.

    Args:
        path: the file.

    Returns:
        Series(x (N, T, 1), labels (N,) str); T from ``@seriesLength``, the labels checked
        against ``@classLabel``.

    Raises:
        DataFileError: "FILE:LINE: what is wrong" (or "FILE: ..." for a missing header).
    """
    headers: dict[str, list[str]] = {}
    rows, labels, length, classes = [], [], 0, set()
    in_data = False
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            line, where = raw.strip(), f"{path}:{number}"
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise DataFileError(f"{where}: expected a @header or @data, got {line[:20]!r}")
                _ts_header(line, headers)
                if line.lower() == "@data":
                    length, classes = _ts_layout(headers, path)
                    in_data = True
                continue
            values, label = _ts_row(line, where, length, classes)
            rows.append(values)
            labels.append(label)
    if not rows:
        raise DataFileError(f"{path}: no series after @data")
    return Series(np.asarray(rows, np.float64)[:, :, None], np.asarray(labels))


def _ts_layout(headers: dict[str, list[str]], path: Path) -> tuple[int, set[str]]:
    """(T, class labels) from the headers; only univariate equal-length files are read."""
    if headers.get("univariate", ["true"])[0].lower() != "true":
        raise DataFileError(f"{path}: only univariate series are read (@univariate false)")
    if headers.get("equallength", ["true"])[0].lower() != "true":
        raise DataFileError(f"{path}: only equal-length series are read (@equalLength false)")
    try:
        length = int(headers["serieslength"][0])
    except (KeyError, IndexError, ValueError):
        raise DataFileError(f"{path}: no valid @seriesLength header before @data") from None
    label_header = headers.get("classlabel", ["false"])
    classes = set(label_header[1:]) if label_header[0].lower() == "true" else set()
    return length, classes


def read_npz(path: Path, members: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Named arrays of an ``.npz`` file, without unpickling anything.

    Args:
        path: the file; members: the array names it must hold.

    Returns:
        {member: array}.

    Raises:
        DataFileError: "FILE: ..." (not a zip of arrays), "FILE, member M: ..." (absent, or
        an object array, which would need pickle).
    """
    try:
        with np.load(path, allow_pickle=False) as found:
            out = {}
            for m in members:
                if m not in found.files:
                    raise DataFileError(f"{path}, member {m}: absent (has {sorted(found.files)})")
                try:
                    out[m] = np.asarray(found[m])
                except ValueError as err:
                    raise DataFileError(f"{path}, member {m}: {err}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataFileError(f"{path}: not a readable .npz file ({err})") from None
    return out


def _digits_row(line: str, where: str) -> list[int]:
    fields = line.split(",")
    if len(fields) != 65:
        raise DataFileError(f"{where}: {len(fields)} fields, expected 64 pixels and a label")
    try:
        values = [int(v) for v in fields]
    except ValueError:
        raise DataFileError(f"{where}: a field is not an integer") from None
    if not all(0 <= v <= 16 for v in values[:64]) or not 0 <= values[64] <= 9:
        raise DataFileError(f"{where}: pixels must lie in 0..16 and the digit in 0..9")
    return values


def read_digits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``digits.csv.gz``: the 8x8 images and their digits.

    Args:
        path: the file.

    Returns:
        (pixels (N, 64) int in 0..16, row by row; digits (N,) int in 0..9).

    Raises:
        DataFileError: "FILE:LINE: what is wrong", or "FILE: ..." when it does not unzip.
    """
    rows = []
    try:
        with gzip.open(path, "rt", encoding="ascii") as fh:
            for number, raw in enumerate(fh, start=1):
                if raw.strip():
                    rows.append(_digits_row(raw.strip(), f"{path}:{number}"))
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: not a readable gzip text file ({err})") from None
    if not rows:
        raise DataFileError(f"{path}: no images")
    table = np.asarray(rows, np.int64)
    return table[:, :64], table[:, 64]
