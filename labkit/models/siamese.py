"""Pair models for lab B: are two MNIST images the same digit? Two logits, class 1 = same digit.

SiameseNet compares late: one shared encoder embeds each image, a head compares the embeddings.
TwoChannelNet compares early: the two images are stacked as the two channels of one input.
"""

import torch
from torch import nn

from labkit.models.cnn import PlainCNN
from labkit.models.common import build, check_pair

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
    `embed(x)` returns the embeddings (B, embedding_dim), e.g. for a PCA plot; `compare(e1, e2)`
    the logits of two batches of embeddings, so a set of pairs over a small pool can be scored by
    embedding each image once (`labkit.evaluate` does this).
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
        return self.compare(e1, e2)

    def compare(self, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2) of two batches of embeddings (B, embedding_dim): the head alone."""
        return self.head(torch.cat([(e1 - e2).abs(), e1 * e2], dim=1))


class TwoChannelNet(nn.Module):
    """Early fusion: the pair stacked as one 2-channel 28x28 image, then a PlainCNN-like network and an MLP.

    [x1, x2] on the channel dimension -> PlainCNN(in_channels=2, widths, kernel_sizes) features
    (conv 5x5 then conv 3x3, each followed by ReLU and 2x2 max pooling: 28 -> 14 -> 7)
    -> linear to hidden[0] -> ReLU -> ... -> linear to 2. Every convolution sees both images at
    once, so it can compare strokes directly; the price is that the model is not symmetric in its
    two inputs, and that "same digit" must be expressed by the MLP, which gets two hidden layers.

    Default widths=(32, 64), kernel_sizes=(5, 3), hidden=(256, 128): 856,354 parameters
    (20,128 in the convolutions, 803,072 in the first linear layer, 33,154 after it).
    """

    num_inputs = 2
    num_classes = 2
    in_channels = 1

    def __init__(
        self,
        widths: tuple[int, ...] = (32, 64),
        kernel_sizes: tuple[int, ...] = (5, 3),
        hidden: tuple[int, ...] = (256, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        if not hidden or not all(isinstance(h, int) and h > 0 for h in hidden):
            raise ValueError(f"hidden must be one or more positive layer widths, e.g. (256, 128), got {hidden!r}")
        self.cnn = PlainCNN(widths, dropout, batch_norm, in_channels=2, num_classes=hidden[0],
                            kernel_sizes=kernel_sizes)
        layers = []
        for width_in, width_out in zip(hidden, (*hidden[1:], 2)):
            layers += [nn.ReLU(), nn.Linear(width_in, width_out)]
        self.head = nn.Sequential(*layers)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        check_pair(x1, x2)
        return self.head(self.cnn(torch.cat([x1, x2], dim=1)))
