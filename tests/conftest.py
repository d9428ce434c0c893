import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from labkit.data import ImageSet  # noqa: E402


@pytest.fixture
def tiny_digits() -> ImageSet:
    """30 images of each digit: random noise plus a bright square whose position encodes the digit."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(30)
    images = torch.randint(0, 60, (300, 28, 28), generator=generator, dtype=torch.uint8)
    for digit in range(10):
        row, col = divmod(digit, 5)
        images[labels == digit, 4 + 10 * row:10 + 10 * row, 2 + 5 * col:6 + 5 * col] = 255
    return ImageSet(images, labels, "tiny")


@pytest.fixture(scope="session")
def real_mnist_root():
    """The folder holding verified real MNIST; skips the test where there is none."""
    from labkit.data import MNISTError, data_root, verify_mnist

    try:
        verify_mnist(os.environ.get("LABKIT_DATA"))
    except MNISTError:
        pytest.skip("real MNIST not present (set LABKIT_DATA to a folder holding MNIST/raw)")
    return data_root()


RUN_TIME = ("val", "label", "live", "progress", "checkpoint", "resume")  # fit's arguments beside the recipe


def fit_recipe(model, train, test, **options):
    """fit with a Recipe built from the recipe fields among `options`; live and progress off unless given."""
    from labkit import Recipe, fit

    run = {name: options.pop(name) for name in RUN_TIME if name in options}
    run.setdefault("live", False)
    run.setdefault("progress", False)
    return fit(model, train, test, Recipe(**options), **run)


class FakeHistory:
    """What a Report reads from fit's History: record(), frame, weights; `steps` rows, one epoch."""

    def __init__(self, test_accuracy: float, steps: int = 8, epochs: int = 1):
        import numpy as np
        import pandas as pd

        from labkit import Recipe

        self.test_accuracy, self.steps, self.recipe = test_accuracy, steps, Recipe(epochs=epochs, lr=3e-3)
        self.frame = pd.DataFrame({"step": np.arange(1, steps + 1), "train_loss": np.linspace(1, 0.1, steps),
                                   "test_loss": np.linspace(1.1, 0.2, steps)})
        self.weights = {"fc.weight": torch.zeros(10, 784)}

    def record(self) -> dict:
        from labkit.records import run_record

        final = {"train_accuracy": 0.99, "train_loss": 0.05, "test_accuracy": self.test_accuracy, "test_loss": 0.06}
        return {**run_record("PlainCNN", 28938, self.recipe.epochs, final, 3.0, [self.test_accuracy] * 10),
                "recipe": self.recipe.record(), "precision": "fp32", "eval_every": self.steps,
                "sizes": {"train": 60000, "test": 10000, "val": None}, "steps": self.steps, "interrupted": False}
