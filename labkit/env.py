"""Seeding, device choice and the environment report every notebook opens with."""

import os
import platform
import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for explicit random choices."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to use: the given one, else `LABKIT_DEVICE`, else the accelerator (CUDA, MPS), else CPU."""
    device = device or os.environ.get("LABKIT_DEVICE")
    if device is None:
        accelerator = getattr(torch, "accelerator", None)
        if accelerator is not None and accelerator.is_available():
            return torch.device(accelerator.current_accelerator().type)
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'mps'") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available; use 'cpu'")
    return device


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def env_report(seed: int | None = None, device: str | torch.device | None = None) -> dict:
    """What this run ran on: versions, device, threads, seed. Display it in the first cell."""
    import torchvision

    device = pick_device(device)
    report = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": str(device),
        "device_name": device_name(device),
        "cpu_threads": torch.get_num_threads(),
        "seed": seed,
    }
    return report
