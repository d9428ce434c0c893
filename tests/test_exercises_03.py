"""Notebook 03's exercise: the residual block, its projection shortcut registered in __init__.

The BasicBlock class read from the notebook is labkit's: the same parts created in the same order, so labkit's
ResNet built from it (models.build("resnet", block=BasicBlock), as the notebook does) has the same parameters, the
same initial weights for a seed and the same outputs as with labkit's own block. The self-check passes it and names
the classic mistakes, first of all the course report's projection created inside forward."""


import pytest
import torch
from notebook_cells import (
    assert_check_says,
    assert_keeps_random_state,
    assert_same_outputs,
    code_sources,
    exercise_cells,
    module_class,
    run_solution,
)
from torch import nn

import labkit as lk
from labkit import models
from labkit.course.selfcheck import resnet as selfcheck
from labkit.course.student import forbidden_uses, solution_regions
from labkit.models.resnet import BasicBlock as LabkitBlock
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "03_resnet.ipynb"
SEED = 0


def notebook_namespace(**more) -> dict:
    """The names the notebook's imports cell binds."""
    return {"torch": torch, "nn": nn, "lk": lk, "models": models, "selfcheck": selfcheck, **more}


@pytest.fixture(scope="module")
def notebook_block():
    return run_solution(NOTEBOOK, "residual-block", notebook_namespace())["BasicBlock"]


def test_the_exercise_cell_is_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "residual-block")
    labkit = cell.metadata["labkit"]
    assert labkit["points"] == 3
    assert {"labkit.models.resnet.BasicBlock", "resnet.BasicBlock"} <= set(labkit["forbid"])
    assert len(solution_regions(cell.source)) == 2  # __init__ and forward
    assert check.source.strip() == "selfcheck.check_basic_block(BasicBlock)"
    for code in ("from labkit.models.resnet import BasicBlock as B\nB(1, 2)", "models.BasicBlock(1, 2)",
                 "from labkit.models import resnet\nresnet.BasicBlock(1, 2)"):
        assert forbidden_uses(code, labkit["forbid"], {"models": "labkit.models", "lk": "labkit"}), code


def test_the_notebook_prints_nothing_from_labkit_and_builds_every_resnet_from_its_block():
    code = code_sources(NOTEBOOK)
    assert not any("inspect" in source or "labkit.models.resnet" in source for source in code)
    builds = [line for source in code for line in source.split("\n") if 'models.build("resnet"' in line]
    assert len(builds) == 3  # the summary, the main run and the variations
    for line in builds:
        source = next(s for s in code if line in s)
        assert "block=BasicBlock" in source[source.index(line):source.index(line) + 200]


def test_the_notebooks_block_is_labkits(notebook_block):
    for args in [(16, 16, 1), (16, 32, 2), (8, 16, 1), (16, 16, 2)]:
        torch.manual_seed(SEED)
        mine = notebook_block(*args)
        torch.manual_seed(SEED)
        theirs = LabkitBlock(*args)
        assert list(mine.state_dict()) == list(theirs.state_dict())
        assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), theirs.state_dict().values()))
        assert (mine.downsample is None) == (args[0] == args[1] and args[2] == 1)
    # labkit's ResNet from the notebook's block: the same network, the same initial weights, the same outputs
    mine = models.build("resnet", seed=SEED, block=notebook_block)
    theirs = models.build("resnet", seed=SEED)
    assert models.count_parameters(mine) == models.count_parameters(theirs) == 174_970
    assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), theirs.state_dict().values()))
    torch.manual_seed(1)
    other = models.build("resnet", blocks=(1, 1, 1), activation="softplus")
    mine = models.build("resnet", blocks=(1, 1, 1), activation="softplus", block=notebook_block)
    mine.load_state_dict(other.state_dict())
    assert_same_outputs(mine, other, torch.randn(4, 1, 28, 28), atol=1e-6)
    assert any("downsample" in name for name, _ in mine.named_parameters())


def test_the_self_check_passes_the_reference_and_keeps_the_random_state(notebook_block, capsys):
    assert_keeps_random_state(selfcheck.check_basic_block, notebook_block)
    assert capsys.readouterr().out.startswith("OK: BasicBlock: a registered projection shortcut")
    selfcheck.check_basic_block(LabkitBlock)  # labkit's own passes too


INIT = """self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act = models.make_activation(activation)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))"""
FORWARD = """identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + identity)"""
# The course report's block: the projection made in forward, a fresh random convolution on every call.
IN_FORWARD = """identity = x
        if x.shape[1] != self.conv1.out_channels or self.conv1.stride != (1, 1):
            identity = nn.Conv2d(x.shape[1], self.conv1.out_channels, 1, stride=self.conv1.stride, bias=False)(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + identity)"""


def variant(init: str = INIT, forward: str = FORWARD):
    return module_class(notebook_namespace(), "BasicBlock", init, forward,
                        'self, inplanes, planes, stride=1, activation="relu"')


def test_the_variant_helper_is_right():
    selfcheck.check_basic_block(variant())


NO_PROJECTION = INIT[:INIT.index("        if stride")].rstrip()


@pytest.mark.parametrize("cls, message", [
    (variant(NO_PROJECTION, IN_FORWARD), "its downsample is None, with no parameters in state_dict(). A projection "
                                         "created inside forward"),
    (variant(NO_PROJECTION.replace("self.downsample = None", "pass"), IN_FORWARD),
     "has no attribute downsample: name the parts"),
    (variant(INIT.replace("if stride != 1 or inplanes != planes:", "if True:")),
     "keeps the shape of its input, so its shortcut is the identity"),
    (variant(INIT.replace("self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)",
                          "self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)")),
     "has 4,688 parameters, expected 4,672"),
    (variant(INIT.replace("self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)",
                          "self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, bias=False)")),
     "must match the size"),
    (variant(forward=FORWARD.replace("return self.act(out + identity)", "return self.act(out) + identity")),
     "the activation is applied before the addition"),
    (variant(forward=FORWARD.replace("return self.act(out + identity)", "return out + identity")),
     "there is no activation after the addition"),
    (variant(forward=FORWARD.replace("return self.act(out + identity)", "return self.act(out)")),
     "the shortcut is missing"),
    (variant(forward=FORWARD.replace("out = self.act(self.bn1(self.conv1(x)))", "out = self.bn1(self.conv1(x))")),
     "the activation between the two convolutions is missing"),
    (variant(INIT.replace("self.act = models.make_activation(activation)", "self.act = nn.ReLU()")),
     "activation='softplus': with the same weights your block computes something else"),
    (variant("self.bn1 = nn.BatchNorm2d(planes)\n        "
             + INIT.replace("\n        self.bn1 = nn.BatchNorm2d(planes)", "")),
     "create conv1, bn1, act, conv2, bn2 and downsample (conv 1x1, then batch norm) in this order"),
    (variant("torch.rand(1)\n        " + INIT), "the same seed gives other initial weights"),
    (variant("raise NotImplementedError()"), "BasicBlock is not written yet"),
])
def test_the_self_check_names_the_mistake(cls, message):
    assert_check_says(message, selfcheck.check_basic_block, cls)
