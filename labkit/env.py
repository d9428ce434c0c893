"""Seeding, device and precision choice, and the environment report every notebook opens with."""

from __future__ import annotations

import functools
import os
import platform
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for explicit random choices.

    `deterministic=True` also asks for deterministic kernels where they differ (CUDA): deterministic
    algorithms, cuDNN's autotuner off and the cuBLAS workspace setting, so that the same seed gives
    the same numbers on a GPU too. On a CPU labkit's kernels are deterministic already.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be True or False, got {deterministic!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    set_deterministic(deterministic)
    return torch.Generator().manual_seed(seed)


def set_deterministic(on: bool) -> None:
    """Turn deterministic kernels on or off (see seed_everything)."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts a handle
    torch.use_deterministic_algorithms(on, warn_only=True)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False


def is_deterministic() -> bool:
    return torch.are_deterministic_algorithms_enabled()


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to use: the given one, else `LABKIT_DEVICE`, else the accelerator (CUDA, MPS), else CPU."""
    device = device or os.environ.get("LABKIT_DEVICE")
    if device is None:
        accelerator = getattr(torch, "accelerator", None)
        if accelerator is not None and accelerator.is_available():
            return torch.device(accelerator.current_accelerator().type)
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'mps'") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available; use 'cpu'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r} requested but MPS is not available; use 'cpu'")
    return device


# ---------------------------------------------------------------- the CPU and the precision


@functools.cache
def cpu_model() -> str:
    """The CPU's model name, e.g. "AMD EPYC 9R14" (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_capability() -> str:
    """The widest vector instruction set torch's CPU kernels use here: "AVX512", "AVX2", "DEFAULT", ..."""
    return torch.backends.cpu.get_cpu_capability()


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs that compute bf16 in hardware
BF16_CAPABILITIES = ("AVX512", "AMX")  # torch kernel capabilities under which those instructions are used


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: macOS, Windows)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def onednn_bf16() -> bool:
    """Whether oneDNN runs bf16 kernels under its current ISA limit (ONEDNN_MAX_CPU_ISA lowers it)."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def native_bf16(flags: frozenset[str], capability: str, onednn: bool) -> bool:
    """True when bf16 runs in hardware: the CPU has the instructions (its flags say so), torch's kernels use
    them (capability AVX-512 or AMX, not lowered by ATEN_CPU_CAPABILITY), and oneDNN supports bf16 under its
    ISA limit. Where the flags cannot be read, nothing says the instructions are there: False."""
    return (any(flag in flags for flag in NATIVE_BF16_FLAGS) and capability.upper().startswith(BF16_CAPABILITIES)
            and onednn)


def cpu_has_native_bf16() -> bool:
    """native_bf16 for this CPU, as torch and oneDNN run now. Without it, bf16 is emulated: several times float32."""
    return native_bf16(cpu_flags(), cpu_capability(), onednn_bf16())


def auto_precision(device: torch.device | str) -> str:
    """The precision "auto" trains in: "bf16" on a CPU that computes it natively (cpu_has_native_bf16), where it
    roughly halves a step of every lab model; "fp32" everywhere else: a CPU that would emulate bf16, Apple's MPS,
    and CUDA GPUs, where the lab's small networks are bound by kernel launches, not arithmetic, so autocast
    only adds casts (bench/results-gpu.md)."""
    return "bf16" if torch.device(device).type == "cpu" and cpu_has_native_bf16() else "fp32"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return cpu_model()


def machine() -> dict:
    """The hardware a run ran on: CPU model and capability, native bf16, the GPU and its memory."""
    info = {"cpu": cpu_model(), "cpu_capability": cpu_capability(), "cpu_native_bf16": cpu_has_native_bf16(),
            "cpu_threads": torch.get_num_threads(), "gpu": None, "gpu_memory_gib": None}
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        info["gpu"] = properties.name
        info["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
    return info


def env_report(seed: int | None = None, device: str | torch.device | None = None, precision: str = "auto") -> dict:
    """What this run runs on: versions, device, CPU and GPU, the precision auto picks, seed. Display it first."""
    import torchvision

    device = pick_device(device)
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": str(device),
        "device_name": device_name(device),
        **machine(),
        "precision": auto_precision(device) if precision == "auto" else precision,
        "deterministic": is_deterministic(),
        "seed": seed,
    }
