"""What is inside a model: its parameter count and a layer table."""

import re

import torch
import torchinfo
from torch import nn

# torchinfo 1.8 labels the mult-adds line with its byte-size enum ("Units.MEGABYTES"); it counts operations
MULT_ADD_UNITS = {"KILOBYTES": "thousands", "MEGABYTES": "millions", "GIGABYTES": "billions", "TERABYTES": "trillions"}


def count_parameters(model: nn.Module) -> int:
    """The number of parameters (weights and biases; batch norm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters())


class Summary:
    """torchinfo's ModelStatistics (its attributes, e.g. total_params), printed with the mult-adds counted in
    millions rather than under torchinfo's "Units.MEGABYTES" label, which names a byte size."""

    def __init__(self, statistics: torchinfo.ModelStatistics):
        self.statistics = statistics

    def __getattr__(self, name):
        return getattr(self.statistics, name)

    def __str__(self) -> str:
        return re.sub(r"Total mult-adds \(Units\.(\w+)\)",
                      lambda match: f"Total mult-adds ({MULT_ADD_UNITS.get(match.group(1), match.group(1).lower())})",
                      str(self.statistics))

    __repr__ = __str__


def summary(model: nn.Module, batch_size: int = 2, depth: int = 3) -> Summary:
    """A table of layer, output shape and parameters, from one forward pass on zeros in eval mode.

    Pair models (`num_inputs == 2`) get two input batches. Printing the result shows the table.
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    channels = getattr(model, "in_channels", 1)
    inputs = [torch.zeros(batch_size, channels, 28, 28, device=device) for _ in range(getattr(model, "num_inputs", 1))]
    return Summary(torchinfo.summary(
        model, input_data=inputs, depth=depth, verbose=0, col_names=("output_size", "num_params"), device=device
    ))
