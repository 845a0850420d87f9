"""The resumable results store ``OUT/results.jsonl``: one whole JSON line per finished cell.

Each line is ``{"schema": N, "actgrad": "X.Y.Z", "config": {...every field...},
"seeds": [...], "result": {...}, "versions": {...}, "device": "..."}``.

Resume. A line is written with one ``write`` call, then fsynced, so a crash (SIGKILL, power
loss) leaves at most the line of the cell in flight torn; a failed write (a full disk) is cut
back off before the error is raised. ``load`` drops a torn last line with a warning and the
next ``append`` truncates it away first, so the file stays valid JSONL; a damaged line
elsewhere is an error (it is not something a crash makes). A cell is "finished" when a line
with the same ``cell_key`` (its whole config as canonical JSON) is stored.

Schema. Every line carries ``constants.RESULTS_SCHEMA``. A store holding a line of another
schema (or of none: written before schemas were recorded) is refused with one line naming
both (``SchemaMismatchError``, exit 2): its cells may mean something else, so they are
never mixed with new ones.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.util import io
from analysis.util.constants import RESULTS_SCHEMA
from analysis.util.errors import UsageError

__all__ = [
    "RESULTS_FILE",
    "RESULTS_SCHEMA",
    "ResultsFileError",
    "ResultsStore",
    "SchemaMismatchError",
    "canonical",
    "cell_key",
]

RESULTS_FILE = "results.jsonl"


class ResultsFileError(UsageError):
    """``results.jsonl`` is damaged other than by a torn last line (one line, exit 2)."""


class SchemaMismatchError(UsageError):
    """``results.jsonl`` was written with another results schema (one line, exit 2)."""


def canonical(obj: Any) -> str:
    """``obj`` as canonical JSON: normalised as the store writes it, keys sorted.

    Args:
        obj: any value ``io.to_json`` accepts (arrays, tuples, non-finite floats included).
    Returns:
        A JSON string; equal values (``1.0`` vs ``np.float64(1)``, tuple vs list) map to
        the same string whatever their key order.
    """
    return json.dumps(json.loads(io.to_json(obj, indent=None)), sort_keys=True)


def cell_key(config: Mapping) -> str:
    """How a finished cell is recognised: ``canonical(config)``.

    Every field of the config is in it, so any field that changes a cell's numbers (its
    kernels, sizes, dtype, loss, init, ...) changes its key.

    Args:
        config: the cell's config, field -> value.
    Returns:
        The canonical JSON of ``config``.
    """
    return canonical(dict(config))


def _parse_record(raw: bytes) -> dict | None:
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("config"), dict):
        return None
    return rec


def _check_schema(path: Path, line: int, rec: Mapping) -> None:
    found = rec.get("schema")
    if type(found) is int and found == RESULTS_SCHEMA:  # not True, not 1.0
        return
    made_by = rec.get("actgrad") or rec.get("versions", {}).get("actgrad", "unknown")
    what = "no schema (written before schemas were recorded)" if found is None else found
    raise SchemaMismatchError(
        f"{path} line {line} has results schema {what} (actgrad {made_by}); this actgrad "
        f"{io.actgrad_version()} writes schema {RESULTS_SCHEMA}; use another --out"
    )


class ResultsStore:
    """``OUT/results.jsonl``: one whole JSON line per finished cell, resumable.

    Nothing is created until the first ``append``.
    """

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / RESULTS_FILE
        self._records: dict[str, dict] | None = None
        self._valid_bytes: int | None = None  # set when a torn tail must be cut off
        self._meta: dict[str, Any] | None = None

    def load(self) -> dict[str, dict]:
        """Stored records by ``cell_key``; a torn last line is dropped with a warning.

        Raises:
            ResultsFileError: a line other than the last is not a record.
            SchemaMismatchError: a record of another schema.
        """
        self._valid_bytes = None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._records = {}
            return {}
        records, offset = self._parse_lines(data)
        if offset < len(data):
            torn = data[offset:]
            warnings.warn(
                f"{self.path}: dropping a torn last line ({len(torn)} bytes) left by an "
                f"interrupted run; that cell will be run again",
                stacklevel=2,
            )
            print(
                f"warning: {self.path}: dropped a torn last line ({len(torn)} bytes)",
                file=sys.stderr,
            )
            self._valid_bytes = offset
        self._records = records
        return dict(records)

    def _parse_lines(self, data: bytes) -> tuple[dict[str, dict], int]:
        """Records of the whole lines, and the byte offset where the valid part ends."""
        records: dict[str, dict] = {}
        # Every whole line ends in "\n"; bytes after the last "\n" are a torn write.
        *complete, tail = data.split(b"\n")
        offset = 0
        for i, raw in enumerate(complete):
            record = _parse_record(raw)
            if record is None and raw.strip():
                if i == len(complete) - 1 and not tail:
                    # A terminated but unreadable final line: some filesystems extend the
                    # file before the data lands, so a crash can leave this too.
                    break
                raise ResultsFileError(
                    f"{self.path} line {i + 1} is not a results record; fix or remove "
                    f"that line (only the last line can be torn by a crash)"
                )
            if record is not None:
                _check_schema(self.path, i + 1, record)
                key = cell_key(record["config"])
                if key in records:
                    warnings.warn(
                        f"{self.path} line {i + 1} repeats a stored cell; keeping the first",
                        stacklevel=3,
                    )
                else:
                    records[key] = record
            offset += len(raw) + 1
        return records, offset

    def _loaded(self) -> dict[str, dict]:
        if self._records is None:
            self.load()
        assert self._records is not None
        return self._records

    def done(self, config: Mapping) -> bool:
        """Whether a line for this cell is stored."""
        return cell_key(config) in self._loaded()

    def get(self, config: Mapping) -> dict | None:
        """The stored record of this cell, or None."""
        return self._loaded().get(cell_key(config))

    def record(self, config: Mapping, seeds: Sequence[int], result: Mapping) -> dict:
        """The record ``append`` would write, as JSON types, without writing it.

        Args:
            config: the cell's config.
            seeds: its seeds.
            result: what ``run_cell`` returned (JSON-able).
        Returns:
            ``{"schema", "actgrad", "config", "seeds", "result", "versions", "device"}``.
        """
        if self._meta is None:
            meta = io.run_metadata()
            self._meta = {"versions": meta["versions"], "device": meta["device"]}
        rec = {
            "schema": RESULTS_SCHEMA,
            "actgrad": io.actgrad_version(),
            "config": dict(config),
            "seeds": [int(s) for s in seeds],
            "result": result,
            **self._meta,
        }
        return json.loads(io.to_json(rec, indent=None))

    def append(self, config: Mapping, seeds: Sequence[int], result: Mapping) -> dict:
        """Append the cell's record as one whole line (flush + fsync); return it.

        Raises:
            ValueError: the cell is already stored (lines are never rewritten).
            OSError: the write failed (the file is left as it was before it).
        """
        records = self._loaded()
        rec = self.record(config, seeds, result)
        key = cell_key(rec["config"])
        if key in records:
            raise ValueError(
                f"{self.path}: cell {key} is already stored; lines are never rewritten"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._valid_bytes is not None:
            os.truncate(self.path, self._valid_bytes)
            self._valid_bytes = None
        io.append_jsonl(self.path, rec)
        records[key] = rec
        return rec
