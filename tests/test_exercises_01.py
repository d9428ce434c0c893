"""Notebook 01's exercises: the plain CNN written as a class, and the training loop fit runs, written out.

The PlainCNN class read from the notebook is labkit's plain_cnn: the same parameters created in the same order
(so a seed gives the same initial weights, and the notebook's results are those of models.build("plain_cnn")),
and the same outputs for the same weights. The loop read from the notebook gives fit's per-step losses. The
self-checks pass both and name the classic mistakes."""

import re

import pytest
import torch
import torch.nn.functional as F
from notebook_cells import (
    assert_check_says,
    assert_keeps_random_state,
    assert_same_outputs,
    code_sources,
    exec_cell,
    exercise_cells,
    mine_and_labkits,
    module_class,
    run_solution,
    without_markers,
)
from torch import nn

import labkit as lk
from labkit import models
from labkit.course.selfcheck import cnn as selfcheck
from labkit.course.student import BEGIN_SOLUTION, END_SOLUTION, solution_regions
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "01_cnn.ipynb"
SEED, LR, BATCH_SIZE = 0, 3e-3, 16


def notebook_namespace(**more) -> dict:
    """The names the notebook's imports cell binds."""
    return {"torch": torch, "F": F, "nn": nn, "lk": lk, "models": models, "selfcheck": selfcheck, **more}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Batches of 16 gain nothing from threads; on a busy machine extra threads cost a lot (seconds per fit)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def notebook_plain_cnn():
    return run_solution(NOTEBOOK, "plain-cnn", notebook_namespace())["PlainCNN"]


def test_the_exercise_cells_are_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "plain-cnn")
    assert cell.metadata["labkit"]["forbid"] == ["models.build", "PlainCNN"]
    assert len(solution_regions(cell.source)) == 2  # __init__ and forward
    assert check.source.strip() == "selfcheck.check_plain_cnn(PlainCNN)"
    cell, check = exercise_cells(NOTEBOOK, "training-loop")
    assert {"lk.fit", "fit"} <= set(cell.metadata["labkit"]["forbid"])
    assert len(solution_regions(cell.source)) == 1
    assert "lk.fit(" in check.source and "selfcheck.check_training_loop(losses, reference)" in check.source


def test_the_notebooks_training_cells_train_the_notebooks_class():
    code = code_sources(NOTEBOOK)
    assert not any(re.search(r"=\s*models\.build\(", source) for source in code)
    for name in ("model", "augmented_model"):  # both trainings: the seed, then the notebook's class
        training = next(source for source in code if re.search(rf"^{name} = PlainCNN\(\)$", source, re.M))
        assert re.search(rf"^torch.manual_seed\(SEED\).*\n{name} = PlainCNN\(\)\n", training, re.M)
        assert f"lk.fit({name}," in training


def test_the_notebooks_plain_cnn_is_labkits(notebook_plain_cnn):
    # the same seed gives the same initial weights: the parameters are created in the same order
    mine, other = mine_and_labkits(notebook_plain_cnn, "plain_cnn", SEED, 28_938)
    # the same weights give the same outputs, in training and evaluation mode
    assert_same_outputs(mine, other, torch.randn(8, 1, 28, 28))
    with pytest.raises(ValueError, match="rank 3"):  # the input check labkit's forward makes
        mine(torch.zeros(2, 28, 28))


def test_the_self_check_passes_the_reference_and_keeps_the_random_state(notebook_plain_cnn, capsys):
    assert_keeps_random_state(selfcheck.check_plain_cnn, notebook_plain_cnn)
    assert capsys.readouterr().out.startswith("OK: PlainCNN: 28,938 parameters")
    selfcheck.check_plain_cnn(models.PlainCNN)  # labkit's own passes too


def variant(init: str, forward: str = "return self.classifier(self.features(x))"):
    return module_class(notebook_namespace(), "PlainCNN", init, forward)


FEATURES = ("self.features = nn.Sequential(nn.Conv2d(1, 16, 5, padding={pad}), nn.ReLU(), nn.MaxPool2d(2), "
            "nn.Conv2d(16, 32, 5, padding={pad}), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())")


@pytest.mark.parametrize("cls, message", [
    (variant(FEATURES.format(pad=2) + "; self.classifier = nn.Linear(32 * 4 * 4, 10)"),
     "takes 512 inputs, but the flattened features are 32 * 7 * 7 = 1,568 values: the convolutions have no padding"),
    (variant(FEATURES.format(pad=0) + "; self.classifier = nn.Linear(32 * 7 * 7, 10)"),
     "the Linear layer does not fit the features it receives"),
    (variant(FEATURES.format(pad=2) + "; self.classifier = nn.Linear(32 * 14 * 14, 10)"), "after one pooling"),
    (variant(FEATURES.format(pad=2).replace("nn.Conv2d(16, 32, 5", "nn.Conv2d(16, 32, 3")
             + "; self.classifier = nn.Linear(32 * 7 * 7, 10)"),
     "PlainCNN has 20,746 parameters, expected 28,938: layer 2 is Conv2d 16->32 3x3 padding 2 with 4,640"),
    (variant(FEATURES.format(pad=2) + "; self.classifier = nn.Linear(32 * 7 * 7, 10)",
             "return self.classifier(self.features(x)).softmax(1)"), "returns probabilities (a softmax)"),
    (variant(FEATURES.format(pad=2) + "; self.classifier = nn.Linear(32 * 7 * 7, 10)",
             "return self.classifier(self.features(x))[:, :5]"), "expected (4, 10)"),
    (variant("self.classifier = nn.Linear(32 * 7 * 7, 10); " + FEATURES.format(pad=2)),
     "the parameters are created in another order"),
    (variant("torch.rand(1); " + FEATURES.format(pad=2) + "; self.classifier = nn.Linear(32 * 7 * 7, 10)"),
     "the same seed gives other initial weights"),
    (variant(FEATURES.format(pad=2).replace("nn.MaxPool2d(2), nn.Flatten", "nn.AvgPool2d(2), nn.Flatten")
             + "; self.classifier = nn.Linear(32 * 7 * 7, 10)"), "with the same weights your network computes"),
    (variant("raise NotImplementedError()"), "PlainCNN is not written yet"),
    (variant("self.features = nn.Linear(1, 1)"), "PlainCNN has 2 parameters, expected 28,938"),
])
def test_the_self_check_names_the_mistake(cls, message):
    assert_check_says(message, selfcheck.check_plain_cnn, cls)


# ---------------------------------------------------------------- the training loop


def run_loop_cells(train, test, plain_cnn, step: str | None = None):
    """Execute the notebook's loop cell (its region replaced by `step` when given) and its self-check cell."""
    cell, check = exercise_cells(NOTEBOOK, "training-loop")
    source = without_markers(cell.source)
    if step is not None:
        region = solution_regions(cell.source)[0]
        source = cell.source.replace(region, step).replace(BEGIN_SOLUTION, "").replace(END_SOLUTION, "")
    namespace = notebook_namespace(train=train, test=test, TRAIN_FRACTION=0.05,  # all of `train`
                                   SEED=SEED, LR=LR, BATCH_SIZE=BATCH_SIZE,
                                   recipe=lk.Recipe(epochs=1, lr=LR, batch_size=BATCH_SIZE, seed=SEED),
                                   device=train.device, PlainCNN=plain_cnn)
    exec_cell(source, namespace)
    return exec_cell(check.source, namespace)


def test_the_notebooks_loop_gives_fits_losses(tiny_digits, notebook_plain_cnn, capsys):
    namespace = run_loop_cells(tiny_digits, tiny_digits, notebook_plain_cnn)
    losses, reference = namespace["losses"], namespace["reference"].frame["train_loss"].tolist()
    assert len(losses) == len(reference) == 19  # 300 images, batches of 16
    assert losses == reference  # on a CPU: the very same numbers
    assert "OK: your 19 per-step losses equal fit's" in capsys.readouterr().out


STEP = """
    optimizer.zero_grad()
    loss = F.cross_entropy(loop_model(images), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
"""


@pytest.mark.parametrize("step, message", [
    (STEP.replace("optimizer.zero_grad()", ""), "optimizer.zero_grad() is missing or misplaced"),
    (STEP.replace("optimizer.step()", ""), "your loss stays where it started"),
    (STEP.replace("targets)", "targets, reduction='sum')"), "the loss is summed over the batch"),
    (STEP.replace("loop_model(images)", "loop_model(images).softmax(1)"), "the floor of cross-entropy"),
    (STEP.replace("loop_model(images)", "loop_model(images * 2)"), "differ from the first step on"),
    (STEP.replace("losses.append(loss.item())", "losses.append(loss.item()) if len(losses) < 3 else None"),
     "losses has 3 values but the epoch has 19 mini-batches"),
    (STEP.replace("losses.append(loss.item())", "pass"), "losses is empty"),
])
def test_the_loop_self_check_names_the_mistake(tiny_digits, notebook_plain_cnn, step, message):
    assert_check_says(message, run_loop_cells, tiny_digits, tiny_digits, notebook_plain_cnn, step)
