"""Where and how a run computes: the device, the precision resolved once, the memory layout.

    compute = Compute.choose(device, precision="auto", channels_last=True)
    compute.place(model)                 # on the device, in the layout
    with compute.autocast():             # bf16 autocast, or nothing (float32)
        logits = model(*compute.inputs(inputs))

fit builds one from its recipe; evaluate builds one from its arguments; the per-step test shares fit's.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from .env import auto_precision

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class Compute:
    device: torch.device
    bf16: bool = False
    channels_last: bool = True

    @classmethod
    def choose(cls, device: torch.device | str, precision: str = "auto", channels_last: bool = True) -> Compute:
        """`precision` "bf16", "fp32", or "auto": what labkit.env.auto_precision picks for this device."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        device = torch.device(device)
        chosen = auto_precision(device) if precision == "auto" else precision
        return cls(device, chosen == "bf16", bool(channels_last))

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    def autocast(self):
        """bf16 autocast on the device, or nothing (float32)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()

    def inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The model's inputs in the layout the model was placed in (channels_last is faster for convolutions)."""
        if self.channels_last:
            return tuple(x.contiguous(memory_format=torch.channels_last) for x in inputs)
        return inputs

    def place(self, model: nn.Module) -> nn.Module:
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model
