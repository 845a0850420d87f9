"""Where each data set's files are: inside the installed wheels of scikit-learn, tslearn and aeon.

Decision (issue 27): the files are read from the wheels that `make` installs pinned and
without their dependencies (``pip install --no-deps -c constraints.txt scikit-learn tslearn
aeon``), never from the network and never by importing those packages. Checked with ``pip
download --no-deps tslearn==0.10.0 aeon==1.6.0 scikit-learn==1.9.1`` and the wheels' file
lists: ``tslearn/.cached_datasets/Trace.npz`` (UCR Trace, 442 kB), ``aeon/datasets/data/
ACSF1/ACSF1_{TRAIN,TEST}.ts`` (UCR ACSF1, 3.3 MB) and ``sklearn/datasets/data/digits.csv.gz``
(57 kB) are there. Why wheels and not copies in actgrad's own wheel: the three packages are
BSD-licensed and carry the files with their provenance; actgrad's wheel stays code only; the
UCR archive states no licence of its own that would let us re-ship it. Why no import: aeon
and tslearn import numba (a JIT compiler and its LLVM) at import time, and scikit-learn
joblib and threadpoolctl; none of them is installed, and reading a file needs none of them.
The package folder is found with ``importlib.util.find_spec(top-level name)``, which reads
the import path but executes nothing.

The SHA-256 of each file (of the pinned version) is kept here; `load` records the checksum of
the file it read in ``Dataset.info``, so a result says exactly which bytes it came from.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SOURCES", "DataFileError", "Source", "checksum", "fix", "locate", "version"]


class DataFileError(ValueError):
    """A data file is missing or does not parse: one line naming the file (and line) and the
    fix; the command line turns it into exit 2."""


@dataclass(frozen=True)
class Source:
    """One data set's files inside one installed distribution.

    ``package`` is the import name whose folder holds ``files`` (paths relative to it),
    ``dist`` and ``pin`` the distribution and the version constraints.txt pins, ``sha256``
    each file's checksum at that version, ``licence`` the distribution's, ``origin`` where the
    data come from.
    """

    package: str
    dist: str
    pin: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    licence: str
    origin: str


SOURCES = {
    "digits": Source(
        package="sklearn",
        dist="scikit-learn",
        pin="1.9.1",
        files=("datasets/data/digits.csv.gz",),
        sha256=("09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",),
        licence="BSD-3-Clause (scikit-learn); the data: UCI Optical Recognition of "
        "Handwritten Digits, CC BY 4.0",
        origin="UCI ML repository, Optical Recognition of Handwritten Digits (Alpaydin & "
        "Kaynak 1998), 8x8 test set as scikit-learn ships it",
    ),
    "trace": Source(
        package="tslearn",
        dist="tslearn",
        pin="0.10.0",
        files=(".cached_datasets/Trace.npz",),
        sha256=("0de0b7fa727cfabaf8481552db2b95fcccd12e54b67058aea79ff05b483cf807",),
        licence="BSD-2-Clause (tslearn); the data: UCR Time Series Classification Archive",
        origin="UCR archive (Dau et al. 2019), Trace: Roverso (2000) synthetic nuclear-plant "
        "transients; UCR's own train/test split",
    ),
    "acsf1": Source(
        package="aeon",
        dist="aeon",
        pin="1.6.0",
        files=("datasets/data/ACSF1/ACSF1_TRAIN.ts", "datasets/data/ACSF1/ACSF1_TEST.ts"),
        sha256=(
            "0646b90dc4843e02baed6b2ba345c5601a4991b6796565489cef1b2d92a7537b",
            "93e8aaeb44a10af181d24a156e60da7021193cd990ca28f263fccf3b905bfebf",
        ),
        licence="BSD-3-Clause (aeon); the data: UCR Time Series Classification Archive",
        origin="UCR archive (Dau et al. 2019), ACSF1: appliance power signatures (Gisler et al. "
        "2013); UCR's own train/test split",
    ),
}


def fix(source: Source) -> str:
    """The command that installs a source's files: `make venv`, or pip by hand."""
    return (
        f"run `make venv`, or `pip install --no-deps -c constraints.txt "
        f"{source.dist}=={source.pin}`"
    )


def locate(name: str) -> tuple[Path, ...]:
    """The paths of data set `name`'s files inside its installed package, without importing it.

    Args:
        name: a key of `SOURCES`.

    Returns:
        one path per ``Source.files`` entry.

    Raises:
        DataFileError: the package or a file is not installed (one line naming the fix).
    """
    source = SOURCES[name]
    spec = importlib.util.find_spec(source.package)  # a top-level name: nothing is executed
    if spec is None or not spec.submodule_search_locations:
        raise DataFileError(
            f"data set {name!r} reads its files from the {source.dist} wheel, which is not "
            f"installed: {fix(source)}"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    paths = tuple(root / f for f in source.files)
    for path in paths:
        if not path.is_file():
            raise DataFileError(f"data set {name!r}: {path} is missing: {fix(source)}")
    return paths


def version(name: str) -> str | None:
    """The installed version of data set `name`'s distribution (its metadata; no import)."""
    try:
        return importlib.metadata.version(SOURCES[name].dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
