"""A small ResNet for 28x28 images, written here with torchvision's names (He et al. 2016).

Same vocabulary as torchvision/models/resnet.py (conv3x3, conv1x1, BasicBlock, downsample,
_make_layer) so a reader recognises the design; the stem is made for 28x28 digits, not 224x224 photos.
"""

from collections import OrderedDict

import torch
from torch import nn

from labkit.models.common import check_input, make_activation


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding; no bias, the batch norm after it has one."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, the projection shortcut."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, added to a shortcut: out = act(F(x) + shortcut(x)).

    The shortcut is the identity when shape is kept; when the stride or the width changes,
    `downsample` (1x1 convolution + batch norm) projects x to the new shape.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1, activation: str = "relu"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act = make_activation(activation)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + identity)


class ResNet(nn.Module):
    """ResNet for MNIST: a 3x3 stem, stages of BasicBlocks, global average pooling, linear to 10.

    stem: 3x3 conv stride 1 -> batch norm -> activation (no 7x7 stride-2 convolution, no max
    pooling: they would shrink a 28x28 digit to 7x7 before the first block). Stage i has
    blocks[i] blocks of width widths[i]; every stage after the first starts with stride 2
    (28 -> 14 -> 7 with three stages). Then global average pooling and a linear classifier.

    Default blocks=(2, 2, 2), widths=(16, 32, 64), ReLU: 174,970 parameters, 14 layers with
    weights. Sized for a CPU: a step costs in proportion to the convolutions and the positions each
    one visits, so blocks=(1, 1, 1) (77,754 parameters) does about half the work, and channels_last
    with bf16 autocast makes the same work faster where the CPU computes bf16 natively.

    `activation` is any name in labkit.models.ACTIVATIONS. `zero_init_residual=True` starts
    every block's last batch norm scale at zero, so each block begins as the identity.
    `block` is the residual block class, BasicBlock by default; another one (a student's, in notebook 03) is
    built as `block(inplanes, planes, stride, activation)` and needs BasicBlock's attributes (`bn2`, `downsample`).
    `forward_features(x)` returns the pooled widths[-1] values (`feature_dim`).

    `stem_stride=2` makes the stem a stride-2 convolution, so the stages run at 14x14, 7x7 and 4x4: the same
    parameters on a quarter of the positions, about a quarter of the work (notebook 03 compares it as a design
    variation). bench/results.md gives the measured times: the step in float32 and bf16, and each variant's
    training in notebook 03.
    """

    num_inputs = 1

    def __init__(
        self,
        blocks: tuple[int, ...] = (2, 2, 2),
        widths: tuple[int, ...] = (16, 32, 64),
        activation: str = "relu",
        zero_init_residual: bool = False,
        in_channels: int = 1,
        num_classes: int = 10,
        block: type[nn.Module] = BasicBlock,
        stem_stride: int = 1,
    ):
        super().__init__()
        if not (isinstance(block, type) and issubclass(block, nn.Module)):
            raise ValueError(f"block must be an nn.Module class such as BasicBlock, got {block!r}")
        if len(blocks) != len(widths) or not blocks or min(blocks) < 1:
            raise ValueError(
                f"blocks and widths need one positive entry per stage, got blocks={blocks!r}, widths={widths!r}"
            )
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 (keep 28x28) or 2 (halve to 14x14), got {stem_stride!r}")
        make_activation(activation)  # fail early with the list of known names
        self.activation, self.in_channels, self.num_classes = activation, in_channels, num_classes
        self.feature_dim = widths[-1]
        self.inplanes = widths[0]

        self.conv1 = conv3x3(in_channels, self.inplanes, stride=stem_stride)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.act = make_activation(activation)
        self.layers = nn.Sequential(OrderedDict(
            (f"layer{i + 1}", self._make_layer(block, width, count, stride=1 if i == 0 else 2))
            for i, (count, width) in enumerate(zip(blocks, widths))
        ))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.feature_dim, num_classes)

        # He initialisation as in torchvision: keeps activations' scale through the depth.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, block):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, block: type[nn.Module], planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layers = [block(self.inplanes, planes, stride, self.activation)]
        self.inplanes = planes
        layers += [block(planes, planes, 1, self.activation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, channels=self.in_channels)
        x = self.act(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x))
