"""Precision choice and seeding: what fit's bf16="auto" and deterministic= rest on."""

import pytest
import torch

from labkit import env


def test_auto_precision_is_float32_on_a_cpu_without_native_bf16(monkeypatch, tiny_digits):
    from labkit.train import fit

    monkeypatch.setattr(env, "cpu_has_native_bf16", lambda: False)
    assert env.resolve_bf16("auto", "cpu") is False and env.resolve_bf16(None, "cpu") is False
    history = fit(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), tiny_digits, tiny_digits,
                  epochs=1, lr=1e-2, batch_size=100, channels_last=False, live=False, progress=False)
    assert history.precision == "fp32" and history.settings["precision"] == "fp32"


def test_auto_precision_follows_native_bf16(monkeypatch):
    monkeypatch.setattr(env, "cpu_has_native_bf16", lambda: True)
    assert env.resolve_bf16("auto", "cpu") is True
    assert env.resolve_bf16(False, "cpu") is False and env.resolve_bf16(True, "cpu") is True


@pytest.mark.parametrize("value", ["yes", 1.0, "bf16"])
def test_bad_precision_is_named(value):
    with pytest.raises(ValueError, match=r"bf16 must be True, False or 'auto', got"):
        env.resolve_bf16(value, "cpu")


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
