"""Models for both labs, one file per family, built by name.

    build("resnet", blocks=(1, 1, 1))   a model from the registry, options passed to its class
    names()                             the registered names, sorted
    summary(model)                      torchinfo table: layer, output shape, parameters
    count_parameters(model)             number of parameters
    check_input(x)                      the input check every forward makes first

Every model takes normalised float batches (B, 1, 28, 28); pair models take two: `model(x1, x2)`.
Every model returns class logits: 10 for digits, 2 for pairs (class 1 = same digit), so one loss,
one fit and one evaluate serve both labs. `model.num_inputs` says whether it takes one image or two.

This file registers the families and names the public API; what they share is in common.py.
"""

import functools

from labkit.models.cnn import PlainCNN
from labkit.models.common import (
    ACTIVATIONS,
    MODELS,
    build,
    check_input,
    check_pair,
    make_activation,
    names,
)
from labkit.models.lenet import LeNet5
from labkit.models.resnet import BasicBlock, ResNet
from labkit.models.siamese import SiameseNet, TwoChannelNet
from labkit.models.summary import count_parameters, summary

MODELS.update({
    "lenet5": LeNet5,
    "lenet5_modern": functools.partial(LeNet5, activation="relu", pooling="max", batch_norm=True),
    "plain_cnn": PlainCNN,
    "resnet": ResNet,
    "siamese": SiameseNet,
    "two_channel": TwoChannelNet,
})

__all__ = [
    "ACTIVATIONS", "BasicBlock", "LeNet5", "MODELS", "PlainCNN", "ResNet", "SiameseNet", "TwoChannelNet",
    "build", "check_input", "check_pair", "count_parameters", "make_activation", "names", "summary",
]
