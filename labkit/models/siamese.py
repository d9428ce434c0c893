"""Pair models for lab B: are two MNIST images the same digit? Two logits, class 1 = same digit.

SiameseNet compares late: one shared encoder embeds each image, a head compares the embeddings.
TwoChannelNet compares early: the two images are stacked as the two channels of one input.
"""

import torch
from torch import nn

from labkit.models import check_pair
from labkit.models.cnn import PlainCNN

ENCODERS = ("lenet5", "lenet5_modern", "plain_cnn", "resnet")  # the single-image models of the registry


class SiameseNet(nn.Module):
    """One encoder with shared weights embeds both images; a symmetric head compares them.

    encoder: a digit model from the registry ("plain_cnn", "lenet5", "lenet5_modern", "resnet")
    built with num_classes=embedding_dim, so its last linear layer becomes the embedding layer.
    Both images go through it in one batched pass (concatenated on the batch dimension, split
    after), so batch norm sees one batch and both images get exactly the same weights.
    head: [|e1 - e2|, e1 * e2] -> linear -> ReLU -> linear to 2. Both terms are symmetric,
    so swapping the two images gives exactly the same logits.

    Default encoder="plain_cnn", embedding_dim=64, hidden=64: 122,050 parameters
    (113,664 in the encoder, 100,416 of them in the embedding layer; 8,386 in the head).
    With encoder="lenet5": 74,682; encoder="resnet": 186,866.
    `embed(x)` returns the embeddings (B, embedding_dim), e.g. for a PCA plot.
    """

    num_inputs = 2
    num_classes = 2
    in_channels = 1

    def __init__(
        self,
        encoder: str = "plain_cnn",
        embedding_dim: int = 64,
        hidden: int = 64,
        encoder_options: dict | None = None,
    ):
        super().__init__()
        from labkit.models import build  # the registry imports this module, so look it up at build time

        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; known: {', '.join(ENCODERS)}")
        self.encoder = build(encoder, num_classes=embedding_dim, **(encoder_options or {}))
        self.embedding_dim = embedding_dim
        self.head = nn.Sequential(nn.Linear(2 * embedding_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        check_pair(x1, x2)
        e1, e2 = self.embed(torch.cat([x1, x2])).split(len(x1))
        return self.head(torch.cat([(e1 - e2).abs(), e1 * e2], dim=1))


class TwoChannelNet(nn.Module):
    """Early fusion: the pair stacked as one 2-channel 28x28 image, then a PlainCNN-like network.

    [x1, x2] on the channel dimension -> PlainCNN(in_channels=2, widths, num_classes=hidden)
    -> ReLU -> linear to 2. Every convolution sees both images at once, so it can compare
    strokes directly; the price is that the model is not symmetric in its two inputs.

    Default widths=(32, 64), hidden=64: 253,794 parameters. The convolutions are wider than
    PlainCNN's (16, 32) because each feature map must describe two digits at once.
    """

    num_inputs = 2
    num_classes = 2
    in_channels = 1

    def __init__(
        self,
        widths: tuple[int, ...] = (32, 64),
        hidden: int = 64,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        self.cnn = PlainCNN(widths, dropout, batch_norm, in_channels=2, num_classes=hidden)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        check_pair(x1, x2)
        return self.head(self.cnn(torch.cat([x1, x2], dim=1)))
