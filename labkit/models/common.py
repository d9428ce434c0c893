"""What the model families share: the input checks, the activations by name, and the registry they are built from.

    check_input(x)             ValueError unless x is a float batch (B, 1, 28, 28), naming both shapes
    check_pair(x1, x2)         the same for the two batches of a pair model, of one size B
    make_activation("gelu")    a fresh activation module from its name (ACTIVATIONS)
    build("resnet", seed=0)    a model from MODELS, seeded, options passed to its class

The families import this module and nothing imports them here; labkit/models/__init__.py fills MODELS with
them, so a family that builds another by name (SiameseNet's encoder) finds it through `build` at build time.
"""

from collections.abc import Callable

import torch
from torch import nn

IMAGE_SIZE = (28, 28)

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "softplus": nn.Softplus,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

# name -> the class (or preset of a class) that builds it; filled by labkit/models/__init__.py
MODELS: dict[str, Callable[..., nn.Module]] = {}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module from its name ("relu", "gelu", "softplus", ...)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]()


def check_input(x, channels: int = 1, name: str = "x") -> None:
    """Raise ValueError unless `x` is a float tensor (B, channels, 28, 28).

    Called first in every forward, so a wrong batch fails with a message naming the expected
    and received shapes instead of a shape error deep inside some layer.
    """
    expected = f"a float tensor of shape (B, {channels}, {IMAGE_SIZE[0]}, {IMAGE_SIZE[1]})"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected {expected}, got {type(x).__name__}")
    got = f"{str(x.dtype).removeprefix('torch.')} tensor of shape {tuple(x.shape)}"
    if x.ndim != 4:
        hint = " (add the channel dimension: x.unsqueeze(1))" if x.ndim == 3 else ""
        raise ValueError(f"{name}: expected {expected}, got a {got}: rank {x.ndim}, not 4{hint}")
    if x.shape[1] != channels:
        raise ValueError(f"{name}: expected {expected}, got a {got}: {x.shape[1]} channels, not {channels}")
    if tuple(x.shape[2:]) != IMAGE_SIZE:
        raise ValueError(f"{name}: expected {expected}, got a {got}: images {tuple(x.shape[2:])}, not {IMAGE_SIZE}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected {expected}, got a {got}: normalise uint8 images first (labkit.data)")


def check_pair(x1, x2) -> None:
    """Raise ValueError unless `x1` and `x2` are image batches (B, 1, 28, 28) of the same size B."""
    check_input(x1, name="x1")
    check_input(x2, name="x2")
    if x1.shape[0] != x2.shape[0]:
        raise ValueError(
            f"pair batches must have the same size: x1 has shape {tuple(x1.shape)}, x2 has shape {tuple(x2.shape)}"
        )


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(MODELS)


def build(name: str, seed: int | None = None, **options) -> nn.Module:
    """The model registered as `name`, with `options` passed to its class (they override the preset ones).

    With a `seed`, torch's global generator is seeded with it right before construction, so the initial
    weights depend on the seed alone: `build(name, seed=0)` equals `seed_everything(0); build(name)`.
    The global generator is left where construction leaves it.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(names())}")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        torch.manual_seed(seed)
    return MODELS[name](**options)
