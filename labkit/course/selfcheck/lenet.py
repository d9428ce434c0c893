"""Self-check for notebook 02 (LeNet-5): the 1998 network written as a class.

    from labkit.course.selfcheck import lenet as selfcheck
    selfcheck.check_lenet5(LeNet5)     # parameters layer by layer, output shape, tanh, average pooling, padding

Prints one "OK: ..." line or raises SelfCheckFailed saying what is wrong and what to change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...models.lenet import BACKGROUND, LeNet5
from .common import Network, SelfCheckFailed, expect, keep_random_state, passed

PARAMETERS = 61_706
# The layers with parameters, in the order labkit's LeNet5 creates them: (description, type, shape, count).
LAYERS = [
    ("C1 Conv2d(1, 6, 5)", nn.Conv2d, (6, 1, 5, 5), 156),
    ("C3 Conv2d(6, 16, 5)", nn.Conv2d, (16, 6, 5, 5), 2_416),
    ("C5 Conv2d(16, 120, 5)", nn.Conv2d, (120, 16, 5, 5), 48_120),
    ("F6 Linear(120, 84)", nn.Linear, (84, 120), 10_164),
    ("output Linear(84, 10)", nn.Linear, (10, 84), 850),
]
# What a layer with this many parameters most likely is, when it is not the expected one.
COUNT_MISTAKES = {
    (6, 1, 3, 3): "a 3x3 kernel: every convolution of LeNet-5 is 5x5",
    (16, 6, 3, 3): "a 3x3 kernel: every convolution of LeNet-5 is 5x5",
    (120, 400): "C5 written as a Linear layer on the flattened 16x5x5 maps: the 1998 design makes C5 a 5x5 "
                "convolution, nn.Conv2d(16, 120, 5), whose output is 120 maps of 1x1",
    (84, 400): "F6 reads the 16x5x5 S4 maps directly: C5 (nn.Conv2d(16, 120, 5)) comes between S4 and F6",
}


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"Conv2d({module.in_channels}, {module.out_channels}, {module.kernel_size[0]})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    return type(module).__name__


def _explain(error: RuntimeError, message: str) -> str:
    if "mat1 and mat2" in str(error) or "shapes cannot be multiplied" in str(error):
        return (message + ": a Linear layer does not fit what it receives. Pad the 28x28 image to 32x32 first (C5 "
                "then outputs 120 maps of 1x1) and flatten C5's output to (B, 120) before F6")
    if "Kernel size can't be greater" in str(error) or "smaller than kernel" in str(error):
        return (message + ": the maps got smaller than a 5x5 kernel. LeNet-5 reads 32x32 images: pad the 28x28 "
                "input by 2 pixels on every side before C1 (32 -> 28 -> 14 -> 10 -> 5 -> 1)")
    return message


NETWORK = Network("LeNet5", LeNet5, PARAMETERS, LAYERS, _describe,
                  order="create C1, C3, C5, F6 and the output layer in this order",
                  created="five layers with parameters",
                  weight_scale=0.3,  # larger than the plain CNN's, so tanh works away from its linear part
                  explain=_explain, mistakes=COUNT_MISTAKES, layer_names="C1, C3, C5, F6, output", name_layers=True)


class _Variant(nn.Module):
    """labkit's LeNet5 computed with one classic mistake, to name the mistake whose outputs the student's match."""

    def __init__(self, reference: nn.Module, activation=torch.tanh, pool=F.avg_pool2d, pad=None, last=None):
        super().__init__()
        self.reference, self.activation, self.pool, self.pad, self.last = reference, activation, pool, pad, last

    def forward(self, x):
        layers = self.reference.features
        x = self.pad(x) if self.pad is not None else F.pad(x, (2, 2, 2, 2), value=BACKGROUND)
        x = self.pool(self.activation(layers.c1[0](x)), 2)
        x = self.pool(self.activation(layers.c3[0](x)), 2)
        x = self.activation(layers.c5[0](x)).flatten(1)
        x = self.reference.output(self.activation(layers.f6[0](x)))
        return self.last(x) if self.last is not None else x


MISTAKES = [
    (dict(activation=torch.relu),
     "it uses ReLU: the 1998 design uses tanh after C1, C3, C5 and F6 (nn.Tanh() or torch.tanh). ReLU belongs to "
     "the modern variant, trained later in this notebook"),
    (dict(pool=F.max_pool2d),
     "it uses max pooling: S2 and S4 are 2x2 average poolings in the 1998 design (nn.AvgPool2d(2)); max pooling "
     "belongs to the modern variant"),
    (dict(pad=lambda x: F.pad(x, (2, 2, 2, 2))),
     "it pads with zeros: in normalised images a black pixel is BACKGROUND = -MEAN / STD, not 0, so zero padding "
     "draws a faint grey frame around every digit. Write F.pad(x, (2, 2, 2, 2), value=BACKGROUND)"),
    (dict(pad=lambda x: F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)),
     "it resizes the image to 32x32: labkit pads the 28x28 digit with 2 pixels of background on every side "
     "instead (the digit keeps its size and sits in the centre), F.pad(x, (2, 2, 2, 2), value=BACKGROUND)"),
    (dict(last=lambda x: x.softmax(1)),
     "it returns probabilities (a softmax at the end): return the output layer's raw scores; cross-entropy "
     "applies the softmax itself"),
    (dict(last=torch.tanh),
     "it applies tanh to the output layer too: the 10 scores are the output layer's raw values, with no "
     "activation after it"),
]


def check_lenet5(cls) -> None:
    """`cls()` must be labkit's classic LeNet-5: the same layers created in the same order (so a seed gives the same
    initial weights as models.build("lenet5", seed=...)), 61,706 parameters, logits (B, 10) for (B, 1, 28, 28)
    images padded to 32x32 with the background value, tanh and average pooling."""
    with keep_random_state():
        model, layers = NETWORK.build(cls, "check_lenet5(LeNet5)")
        NETWORK.check_count(model, layers)
        kinds = sorted((type(m).__name__, tuple(getattr(m, "weight", torch.empty(0)).shape)) for _, m, _ in layers)
        same_layers = kinds == sorted((kind.__name__, shape) for _, kind, shape, _ in LAYERS)
        for (name, module, _), (description, kind, shape, _) in zip(layers, [] if same_layers else LAYERS):
            weight = getattr(module, "weight", None)
            why = COUNT_MISTAKES.get(tuple(weight.shape) if weight is not None else None, "")
            expect(isinstance(module, kind) and weight is not None and tuple(weight.shape) == shape,
                   f"the parameter count is right, but {name} is {_describe(module)} where LeNet-5 has {description}"
                   + (f": {why}" if why else ""))
        relus = [name for name, module in model.named_modules() if isinstance(module, nn.ReLU)]
        expect(not relus, f"your network has ReLU layers ({', '.join(relus)}): the 1998 design uses tanh "
                          f"(nn.Tanh()); ReLU belongs to the modern variant, trained later in this notebook")
        max_pools = [name for name, module in model.named_modules() if isinstance(module, nn.MaxPool2d)]
        expect(not max_pools, f"your network has max pooling layers ({', '.join(max_pools)}): S2 and S4 are 2x2 "
                              f"average poolings in the 1998 design (nn.AvgPool2d(2))")

        x = torch.randn(4, 1, 28, 28)
        NETWORK.logits(model.eval(), x)

        reference = NETWORK.check_same_start(model)
        out, expected = NETWORK.outputs_with_same_weights(model, reference, x)
        if not torch.allclose(out, expected, atol=1e-5, rtol=1e-4):
            for options, why in MISTAKES:
                with torch.no_grad():
                    if torch.allclose(out, _Variant(reference, **options)(x), atol=1e-5, rtol=1e-4):
                        raise SelfCheckFailed(f"your network computes something else than labkit's LeNet-5: {why}")
            raise SelfCheckFailed(
                "with the same weights your network computes something else than labkit's LeNet-5: pad the 28x28 "
                "image to 32x32 with F.pad(x, (2, 2, 2, 2), value=BACKGROUND), then C1 -> tanh -> 2x2 average "
                "pooling -> C3 -> tanh -> 2x2 average pooling -> C5 -> tanh -> flatten -> F6 -> tanh -> output "
                "layer (no activation after it)")
    passed(f"LeNet5: {PARAMETERS:,} parameters (156 + 2,416 + 48,120 + 10,164 + 850), logits of shape (B, 10), "
           f"tanh and average pooling as in 1998, and the same initial weights as labkit's lenet5 for the same seed")
