"""Self-check for notebook 03 (the ResNet): the residual block, with its projection shortcut registered.

    from labkit.course.selfcheck import resnet as selfcheck
    selfcheck.check_basic_block(BasicBlock)   # attributes, registered downsample, shapes, repeatable outputs, weights

Prints one "OK: ..." line or raises SelfCheckFailed saying what is wrong and what to change.
"""

from __future__ import annotations

import torch
from torch import nn

from ... import models
from ...models import count_parameters
from .common import SelfCheckFailed, build, expect, expect_class, forward, keep_random_state, passed

ATTRIBUTES = ("conv1", "bn1", "act", "conv2", "bn2", "downsample")
# (inplanes, planes, stride) -> parameters of labkit's block: two 3x3 convolutions and two batch norms, plus the
# 1x1 projection and its batch norm when the shape changes.
SHAPES = {(16, 16, 1): 4_672, (16, 32, 2): 14_528}
RESNET_PARAMETERS = 174_970
CREATED_IN_FORWARD = (
    "A projection created inside forward (as the course report's block did) is a fresh random convolution on "
    "every call: it is never trained, never saved with the model and never moved to the GPU with it. Create it "
    "once in __init__: self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), "
    "nn.BatchNorm2d(planes)), and set self.downsample = None when the shape is kept")


def _build(cls, *args) -> nn.Module:
    call = f"{cls.__name__}({', '.join(map(repr, args))})"
    block = build(cls, *args)
    missing = [name for name in ATTRIBUTES if not hasattr(block, name)]
    expect(not missing, f"{call} has no attribute {', '.join(missing)}: name the parts as labkit's block does "
                        f"(self.{', self.'.join(ATTRIBUTES)}), so the ResNet and the checks find them"
                        + (f". {CREATED_IN_FORWARD}" if "downsample" in missing else ""))
    return block


def _explain(error: RuntimeError, message: str) -> str:
    if "must match the size" in str(error):
        return (message + ": F(x) and the shortcut have different shapes. When the stride or the width changes, add "
                "self.downsample(x) (a 1x1 convolution with the block's stride, then batch norm), not x")
    return message


def _forward(block: nn.Module, x: torch.Tensor, call: str) -> torch.Tensor:
    return forward(block, x, call, returns="a tensor", explain=_explain)


def _alternatives(reference: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """labkit's block computed with a classic mistake, each with what to say when the student's output matches it."""
    r = reference
    identity = x if r.downsample is None else r.downsample(x)
    residual = r.bn2(r.conv2(r.act(r.bn1(r.conv1(x)))))
    return [
        (r.act(residual) + identity,
         "the activation is applied before the addition: the block adds first and activates the sum, "
         "out = act(F(x) + shortcut(x))"),
        (residual + identity,
         "there is no activation after the addition: the block returns act(F(x) + shortcut(x))"),
        (r.act(residual),
         "the shortcut is missing: add the input (or its projection) to F(x) before the last activation"),
        (r.act(r.bn2(r.conv2(r.bn1(r.conv1(x)))) + identity),
         "the activation between the two convolutions is missing: F(x) = bn2(conv2(act(bn1(conv1(x)))))"),
    ]


def check_basic_block(cls) -> None:
    """`cls(inplanes, planes, stride=1, activation="relu")` must be labkit's BasicBlock: the same parts (conv1, bn1,
    act, conv2, bn2, downsample) created in the same order, a registered projection shortcut exactly when the
    stride or the width changes, out = act(F(x) + shortcut(x)), and the same ResNet when labkit builds it."""
    expect_class(cls, "check_basic_block(BasicBlock)")
    with keep_random_state():
        for (inplanes, planes, stride), count in SHAPES.items():
            call = f"{cls.__name__}({inplanes}, {planes}, stride={stride})"
            torch.manual_seed(0)
            block = _build(cls, inplanes, planes, stride)
            projection = [key for key in block.state_dict() if key.split(".")[0] == "downsample"]
            if stride == 1 and inplanes == planes:
                expect(block.downsample is None,
                       f"{call} keeps the shape of its input, so its shortcut is the identity: set "
                       f"self.downsample = None (found {type(block.downsample).__name__})")
            else:
                expect(isinstance(block.downsample, nn.Module) and projection,
                       f"{call} changes the width (16 -> 32) and halves the resolution, but its downsample is "
                       f"{'None' if block.downsample is None else type(block.downsample).__name__}, with no "
                       f"parameters in state_dict(). {CREATED_IN_FORWARD}")
            expect(count_parameters(block) == count,
                   f"{call} has {count_parameters(block):,} parameters, expected {count:,} (labkit's block): two 3x3 "
                   f"convolutions without bias (the batch norm after each has one), two batch norms"
                   + (", and the 1x1 projection without bias + its batch norm" if stride != 1 else ""))

            x = torch.randn(4, inplanes, 28, 28)
            block.eval()
            out = _forward(block, x, call)
            shape = (4, planes, 28 // stride, 28 // stride)
            expect(tuple(out.shape) == shape,
                   f"{call} turned a batch of shape {tuple(x.shape)} into {tuple(out.shape)}, expected {shape}: "
                   f"conv1 has the block's stride and maps {inplanes} to {planes} channels, conv2 keeps the shape "
                   f"(3x3, padding 1)")
            expect(torch.equal(out, _forward(block, x, call)),
                   f"{call} in eval mode gives two different outputs for the same input: something random happens "
                   f"in forward. {CREATED_IN_FORWARD}")

            torch.manual_seed(0)
            reference = models.BasicBlock(inplanes, planes, stride)
            names, expected_names = list(block.state_dict()), list(reference.state_dict())
            expect(names == expected_names,
                   f"{call}'s parameters and buffers are {names}, expected {expected_names}: create conv1, bn1, "
                   f"act, conv2, bn2 and downsample (conv 1x1, then batch norm) in this order, with these names")
            expect(all(torch.equal(a, b) for a, b in zip(block.state_dict().values(),
                                                         reference.state_dict().values())),
                   f"{call}: the layers are right but the same seed gives other initial weights than labkit's: "
                   f"create the layers in the order conv1, bn1, act, conv2, bn2, downsample, with PyTorch's default "
                   f"initialisation (no random draws, no custom init)")
            for activation in ("relu", "softplus"):
                torch.manual_seed(1)
                block = _build(cls, inplanes, planes, stride, activation)
                reference = models.BasicBlock(inplanes, planes, stride, activation)
                reference.load_state_dict(block.state_dict())
                with torch.no_grad():  # batch norms with some history, so eval mode is not the identity
                    for mine, theirs in zip(block.modules(), reference.modules()):
                        if isinstance(mine, nn.BatchNorm2d):
                            mine.running_mean.uniform_(-0.5, 0.5), mine.running_var.uniform_(0.5, 2)
                            mine.weight.uniform_(0.5, 1.5), mine.bias.uniform_(-0.5, 0.5)
                            theirs.load_state_dict(mine.state_dict())
                for mode in (False, True):
                    block.train(mode), reference.train(mode)
                    with torch.no_grad():
                        expected = reference(x)
                        out = _forward(block, x, call)
                        if torch.allclose(out, expected, atol=1e-5, rtol=1e-4):
                            continue
                        for alternative, why in _alternatives(reference, x):
                            if torch.allclose(out, alternative, atol=1e-5, rtol=1e-4):
                                raise SelfCheckFailed(f"{call} computes something else than labkit's block: {why}")
                    raise SelfCheckFailed(
                        f"{call}, activation={activation!r}: with the same weights your block computes something "
                        f"else than labkit's: out = act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x)), the shortcut "
                        f"being x, or self.downsample(x) when there is one; self.act = "
                        f"models.make_activation(activation)")

        torch.manual_seed(0)
        try:
            network = models.build("resnet", seed=0, block=cls)
        except Exception as error:  # the student's block inside labkit's ResNet
            raise SelfCheckFailed(f"labkit's ResNet built from your block raised {type(error).__name__}: {error}") \
                from None
        reference = models.build("resnet", seed=0)
        expect(count_parameters(network) == RESNET_PARAMETERS,
               f"labkit's ResNet built from your block has {count_parameters(network):,} parameters, expected "
               f"{RESNET_PARAMETERS:,}")
        expect(all(torch.equal(a, b) for a, b in zip(network.state_dict().values(), reference.state_dict().values())),
               "labkit's ResNet built from your block starts from other weights than with labkit's block for the "
               "same seed: create exactly the layers of labkit's block, in its order")
    passed(f"{cls.__name__}: a registered projection shortcut where the shape changes (14,528 parameters for "
           f"16 -> 32, stride 2) and the identity where it is kept (4,672 for 16 -> 16), out = act(F(x) + "
           f"shortcut(x)), the same output on every call, and the same ResNet ({RESNET_PARAMETERS:,} parameters, "
           f"the same initial weights) as labkit's block")
