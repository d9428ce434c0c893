"""Notebook 02's exercise: LeNet-5 written as a class.

The LeNet5 class read from the notebook is labkit's lenet5: the same parameters created in the same order (so a seed
gives the same initial weights, and the notebook's results are those of models.build("lenet5")), and the same
outputs for the same weights. The self-check passes it and names the classic mistakes (ReLU, max pooling, zero
padding, a resize, a softmax, a wrong layer)."""

import re

import pytest
import torch
import torch.nn.functional as F
from notebook_cells import (
    assert_check_says,
    assert_keeps_random_state,
    assert_same_outputs,
    code_sources,
    exercise_cells,
    mine_and_labkits,
    module_class,
    run_solution,
)
from torch import nn

import labkit as lk
from labkit import models
from labkit.course.selfcheck import lenet as selfcheck
from labkit.course.student import forbidden_uses, solution_regions
from labkit.data import MEAN, STD
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "02_lenet5.ipynb"
SEED = 0


def notebook_namespace(**more) -> dict:
    """The names the notebook's imports cell binds."""
    return {"torch": torch, "F": F, "nn": nn, "lk": lk, "models": models, "selfcheck": selfcheck,
            "MEAN": MEAN, "STD": STD, **more}


@pytest.fixture(scope="module")
def notebook_lenet5():
    return run_solution(NOTEBOOK, "lenet5", notebook_namespace())["LeNet5"]


def test_the_exercise_cell_is_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "lenet5")
    labkit = cell.metadata["labkit"]
    assert labkit["points"] == 3 and "models.build" in labkit["forbid"] and "LeNet5" in labkit["forbid"]
    assert len(solution_regions(cell.source)) == 2  # __init__ and forward
    assert check.source.strip() == "selfcheck.check_lenet5(LeNet5)"
    # labkit's class, however it is reached, is forbidden inside the region
    for code in ("models.LeNet5()", "from labkit.models.lenet import LeNet5 as L\nL()", "lk.models.LeNet5()",
                 "from labkit.models import lenet\nlenet.LeNet5()", "models.build('lenet5')"):
        assert forbidden_uses(code, labkit["forbid"], {"models": "labkit.models", "lk": "labkit"}), code


def test_the_notebooks_classic_runs_train_the_notebooks_class():
    code = code_sources(NOTEBOOK)
    assert not any(re.search(r'=\s*models\.build\("lenet5"', source) for source in code)
    for name in ("classic", "slow"):  # the seed, then the notebook's class
        training = next(source for source in code if re.search(rf"^{name} = LeNet5\(\)$", source, re.M))
        assert re.search(rf"^torch.manual_seed\(SEED\).*\n{name} = LeNet5\(\)\n", training, re.M)
    assert any('modern = models.build("lenet5_modern", seed=SEED)' in source for source in code)


def test_the_notebooks_lenet5_is_labkits(notebook_lenet5):
    # the same seed gives the same initial weights: the parameters are created in the same order
    mine, other = mine_and_labkits(notebook_lenet5, "lenet5", SEED, 61_706, by_position=True)  # the names differ
    # the same weights give the same outputs, as built: in training mode
    assert_same_outputs(mine, other, torch.randn(8, 1, 28, 28), modes=(True,))
    with pytest.raises(ValueError, match="rank 3"):  # the input check labkit's forward makes
        mine(torch.zeros(2, 28, 28))


def test_the_self_check_passes_the_reference_and_keeps_the_random_state(notebook_lenet5, capsys):
    assert_keeps_random_state(selfcheck.check_lenet5, notebook_lenet5)
    assert capsys.readouterr().out.startswith("OK: LeNet5: 61,706 parameters")
    selfcheck.check_lenet5(models.LeNet5)  # labkit's own passes too


INIT = """self.c1 = nn.Conv2d(1, 6, 5); self.c3 = nn.Conv2d(6, 16, 5); self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84); self.output = nn.Linear(84, 10)"""
FORWARD = """x = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD)
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.tanh(self.c5(x)).flatten(1)
        return self.output(torch.tanh(self.f6(x)))"""


def variant(init: str = INIT, forward: str = FORWARD):
    return module_class(notebook_namespace(), "LeNet5", init, forward)


def test_the_variant_helper_is_right():
    selfcheck.check_lenet5(variant())


@pytest.mark.parametrize("cls, message", [
    (variant(forward=FORWARD.replace("torch.tanh", "torch.relu")), "it uses ReLU: the 1998 design uses tanh"),
    (variant(INIT + "; self.act = nn.ReLU()"), "your network has ReLU layers (act)"),
    (variant(forward=FORWARD.replace("avg_pool2d", "max_pool2d")), "it uses max pooling"),
    (variant(INIT + "; self.s2 = nn.MaxPool2d(2)"), "your network has max pooling layers (s2)"),
    (variant(forward=FORWARD.replace(", value=-MEAN / STD", "")), "it pads with zeros"),
    (variant(forward=FORWARD.replace("F.pad(x, (2, 2, 2, 2), value=-MEAN / STD)",
                                     "F.interpolate(x, size=(32, 32), mode='bilinear')")), "it resizes the image"),
    (variant(forward=FORWARD.replace("x = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD)", "pass")),
     "pad the 28x28 input by 2 pixels"),
    (variant(forward=FORWARD.replace("return self.output(torch.tanh(self.f6(x)))",
                                     "return self.output(torch.tanh(self.f6(x))).softmax(1)")),
     "it returns probabilities"),
    (variant(forward=FORWARD.replace("self.output(torch.tanh(self.f6(x)))",
                                     "torch.tanh(self.output(torch.tanh(self.f6(x))))")),
     "it applies tanh to the output layer too"),
    (variant(INIT.replace("nn.Conv2d(16, 120, 5)", "nn.Linear(400, 120)"),
             FORWARD.replace("self.c5(x)).flatten(1)", "self.c5(x.flatten(1)))")),
     "C5 written as a Linear layer"),
    (variant(INIT.replace("nn.Conv2d(6, 16, 5)", "nn.Conv2d(6, 16, 3)")),
     "LeNet5 has 60,170 parameters, expected 61,706: layer 2 (c3) is Conv2d(6, 16, 3) with 880 parameters, "
     "expected C3 Conv2d(6, 16, 5) with 2,416: a 3x3 kernel"),
    (variant("self.output = nn.Linear(84, 10); " + INIT.replace("; self.output = nn.Linear(84, 10)", "")),
     "the parameters are created in another order"),
    (variant("torch.rand(1); " + INIT), "the same seed gives other initial weights"),
    (variant(forward=FORWARD.replace("return self.output(torch.tanh(self.f6(x)))", "return self.f6(x)")),
     "expected (4, 10)"),
    (variant("raise NotImplementedError()"), "LeNet5 is not written yet"),
])
def test_the_self_check_names_the_mistake(cls, message):
    assert_check_says(message, selfcheck.check_lenet5, cls)
