"""A plain convolutional network: the baseline every other digit model is compared with."""

import torch
from torch import nn

from labkit.models.common import check_input


class PlainCNN(nn.Module):
    """Two convolution blocks and a linear classifier.

    conv 5x5 (padding 2) -> [batch norm] -> ReLU -> 2x2 max pooling, twice (28 -> 14 -> 7),
    then flatten -> [dropout] -> linear to 10. `kernel_sizes` changes the two kernels (odd sizes,
    "same" padding, so the feature maps keep their sizes).

    Default widths (16, 32), no dropout, no batch norm: 28,938 parameters
    (416 + 12,832 in the convolutions, 15,690 in the classifier).

    `forward_features(x)` returns the flattened last block, widths[-1] * 7 * 7 values (`feature_dim`).
    """

    num_inputs = 1

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32),
        dropout: float = 0.0,
        batch_norm: bool = False,
        in_channels: int = 1,
        num_classes: int = 10,
        kernel_sizes: tuple[int, ...] = (5, 5),
    ):
        super().__init__()
        if len(widths) != 2:
            raise ValueError(f"widths must name the two convolution widths, e.g. (16, 32), got {widths!r}")
        if len(kernel_sizes) != 2 or not all(isinstance(k, int) and k > 0 and k % 2 == 1 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes must be two odd positive ints, e.g. (5, 5), got {kernel_sizes!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.feature_dim = widths[-1] * 7 * 7

        blocks = []
        for cin, cout, k in zip((in_channels, *widths[:-1]), widths, kernel_sizes):
            blocks.append(nn.Conv2d(cin, cout, k, padding=k // 2, bias=not batch_norm))  # batch norm has its own bias
            if batch_norm:
                blocks.append(nn.BatchNorm2d(cout))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None  # no do-nothing layer in the summaries
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels)
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.forward_features(x)
        return self.classifier(features if self.dropout is None else self.dropout(features))
