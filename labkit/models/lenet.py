"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998), classic by default, with switches for a modern variant."""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from labkit.data import MEAN, STD
from labkit.models.common import check_input, make_activation

# A normalised black pixel: LeNet-5 reads 32x32 images, and padding MNIST's 28x28 with the
# background value keeps the border invisible (zero padding would draw a faint grey frame).
BACKGROUND = -MEAN / STD

POOLING = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Module):
    """LeNet-5: the 1998 convolutional network for handwritten digits.

    Input 28x28 padded to 32x32 inside forward, then
    C1 6@5x5 (28x28) -> S2 2x2 pooling (14x14) -> C3 16@5x5 (10x10) -> S4 2x2 pooling (5x5)
    -> C5 120@5x5 as a convolution (1x1) -> F6 84 -> output 10.

    Classic by default: tanh activations and average pooling, 61,706 parameters. Simplifications
    against the paper: C3 connects to all six S2 maps (the paper's sparse table had 1,516 weights),
    pooling has no trainable coefficient, and the output is a linear layer, not RBF units.

    The modern variant (registry "lenet5_modern": activation="relu", pooling="max",
    batch_norm=True; batch norm after C1, C3 and C5, whose biases it makes redundant) has
    61,848 parameters.

    `forward_features(x)` returns the 84 F6 outputs (`feature_dim`), the input of the output layer.
    """

    num_inputs = 1

    def __init__(
        self,
        activation: str = "tanh",
        pooling: str = "avg",
        batch_norm: bool = False,
        in_channels: int = 1,
        num_classes: int = 10,
    ):
        super().__init__()
        if pooling not in POOLING:
            raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLING)}")
        self.in_channels, self.num_classes, self.feature_dim = in_channels, num_classes, 84

        def conv(cin: int, cout: int) -> nn.Sequential:
            layers = [nn.Conv2d(cin, cout, 5, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            return nn.Sequential(*layers, make_activation(activation))

        self.features = nn.Sequential(OrderedDict(
            c1=conv(in_channels, 6),
            s2=POOLING[pooling](2),
            c3=conv(6, 16),
            s4=POOLING[pooling](2),
            c5=conv(16, 120),
            flatten=nn.Flatten(),
            f6=nn.Sequential(nn.Linear(120, 84), make_activation(activation)),
        ))
        self.output = nn.Linear(84, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels)
        return self.features(F.pad(x, (2, 2, 2, 2), value=BACKGROUND))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.forward_features(x))
