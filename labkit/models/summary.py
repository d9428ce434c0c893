"""What is inside a model: its parameter count and a layer table."""

import torch
import torchinfo
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """The number of parameters (weights and biases; batch norm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters())


def summary(model: nn.Module, batch_size: int = 2, depth: int = 3) -> torchinfo.ModelStatistics:
    """A table of layer, output shape and parameters, from one forward pass on zeros in eval mode.

    Pair models (`num_inputs == 2`) get two input batches. Printing the result shows the table.
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    channels = getattr(model, "in_channels", 1)
    inputs = [torch.zeros(batch_size, channels, 28, 28, device=device) for _ in range(getattr(model, "num_inputs", 1))]
    return torchinfo.summary(
        model, input_data=inputs, depth=depth, verbose=0, col_names=("output_size", "num_params"), device=device
    )
