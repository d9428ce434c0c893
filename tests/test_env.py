"""Precision choice and seeding: what a recipe's precision="auto" and deterministic= rest on."""

import pytest
import torch

from labkit import env
from labkit.compute import Compute


def test_auto_precision_is_float32_on_a_cpu_without_native_bf16(monkeypatch, tiny_digits):
    from conftest import fit_recipe

    monkeypatch.setattr(env, "cpu_has_native_bf16", lambda: False)
    assert env.auto_precision("cpu") == "fp32" and Compute.choose("cpu").precision == "fp32"
    history = fit_recipe(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), tiny_digits, tiny_digits,
                         epochs=1, lr=1e-2, batch_size=100, channels_last=False)
    assert history.precision == history.record()["precision"] == "fp32"
    assert history.record()["recipe"]["precision"] == "auto"  # what was asked; the run records what it resolved to


def test_auto_precision_follows_native_bf16(monkeypatch):
    monkeypatch.setattr(env, "cpu_has_native_bf16", lambda: True)
    assert env.auto_precision("cpu") == "bf16" and Compute.choose("cpu").bf16
    assert Compute.choose("cpu", "fp32").precision == "fp32" and Compute.choose("cpu", "bf16").precision == "bf16"


FLAGS = frozenset({"avx2", "avx512f", "avx512_bf16"})


@pytest.mark.parametrize("flags, capability, onednn, native", [
    (FLAGS, "AVX512", True, True),  # an AVX-512 BF16 CPU, as torch runs it natively
    (frozenset({"avx2", "amx_bf16"}), "AVX512", True, True),  # AMX
    (FLAGS, "AVX2", False, False),  # the same CPU under ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
    (FLAGS, "AVX2", True, False),  # torch's kernels limited to AVX2 alone
    (FLAGS, "AVX512", False, False),  # oneDNN limited below bf16 alone
    (frozenset({"avx2", "avx512f"}), "AVX512", True, False),  # AVX-512 without bf16 instructions: emulated
    (frozenset(), "AVX512", True, False),  # no flags readable (macOS, Windows, a VM that hides them)
])
def test_native_bf16_needs_the_flags_torchs_capability_and_onednn(flags, capability, onednn, native):
    assert env.native_bf16(flags, capability, onednn) is native


def test_auto_precision_under_the_avx2_simulation_is_float32():
    """Re-run in a child under the two variables an AVX2-only laptop amounts to."""
    import os
    import subprocess
    import sys

    code = ("import torch; from labkit import env; "
            "print(torch.backends.cpu.get_cpu_capability(), env.onednn_bf16(), env.auto_precision('cpu'))")
    simulated = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", code], env=simulated, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["AVX2", "False", "fp32"]


def test_auto_precision_on_gpus_is_float32(monkeypatch):
    monkeypatch.setattr(env, "cpu_has_native_bf16", lambda: True)  # whatever the host CPU
    assert env.auto_precision("cuda") == "fp32" and env.auto_precision("mps") == "fp32"


@pytest.mark.parametrize("value", ["yes", 1.0, True, "float32"])
def test_bad_precision_is_named(value):
    with pytest.raises(ValueError, match=r"precision must be one of \('auto', 'bf16', 'fp32'\), got"):
        Compute.choose("cpu", value)


def test_seed_everything_sets_and_clears_deterministic_kernels():
    generator = env.seed_everything(3, deterministic=True)
    try:
        assert env.is_deterministic()
        assert torch.equal(generator.get_state(), torch.Generator().manual_seed(3).get_state())
    finally:
        env.seed_everything(0)
    assert not env.is_deterministic()
    with pytest.raises(ValueError, match="deterministic must be True or False, got 'yes'"):
        env.seed_everything(0, deterministic="yes")


def test_machine_names_the_hardware():
    info = env.machine()
    assert {"cpu", "cpu_capability", "cpu_native_bf16", "cpu_threads", "gpu", "gpu_memory_gib"} <= set(info)
