"""Notebook 00's exercise: the normalisation statistics. The reference solution read from the notebook computes
labkit's MEAN and STD, and the self-check passes it and says in plain words what is wrong with the classic
mistakes (uint8 pixels, the variance, the test set's statistics)."""

import math

import pytest
import torch
from notebook_cells import assert_check_says, exec_cell, exercise_cells, without_markers

from labkit.course.selfcheck import SelfCheckFailed
from labkit.course.selfcheck import data as selfcheck
from labkit.course.student import solution_regions
from labkit.data import MEAN, STD
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "00_setup_and_data.ipynb"


def test_the_exercise_cell_is_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "normalisation")
    assert cell.metadata["labkit"]["forbid"] == ["data.MEAN", "data.STD", "normalize"]
    assert cell.metadata["labkit"]["points"] > 0
    assert cell.source.startswith("# NBVAL_CHECK_OUTPUT\n")  # its printed numbers are compared under nbval
    assert len(solution_regions(cell.source)) == 1
    assert check.cell_type == "code" and check.source.strip() == "selfcheck.check_normalisation(mean, std)"


def test_the_reference_solution_computes_the_pixel_statistics(tiny_digits):
    cell, _ = exercise_cells(NOTEBOOK, "normalisation")
    region = solution_regions(cell.source)[0]
    namespace = exec_cell(without_markers(region), {"train": tiny_digits, "torch": torch})
    pixels = tiny_digits.images.double() / 255
    assert math.isclose(namespace["mean"], pixels.mean().item(), rel_tol=1e-5)
    assert math.isclose(namespace["std"], pixels.std().item(), rel_tol=1e-5)
    assert isinstance(namespace["mean"], float) and isinstance(namespace["std"], float)


def test_the_reference_solution_gives_labkits_constants_on_real_mnist(real_mnist_root, capsys):
    from labkit.data import load_mnist

    cell, check = exercise_cells(NOTEBOOK, "normalisation")
    namespace = {"train": load_mnist(real_mnist_root, train=True), "torch": torch}
    exec_cell(without_markers(cell.source), namespace)
    exec_cell(check.source, {**namespace, "selfcheck": selfcheck})
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: mean 0.1307 and std 0.3081")


def test_the_self_check_passes_labkits_constants(capsys):
    selfcheck.check_normalisation(0.13066047, 0.30810782)
    selfcheck.check_normalisation(torch.tensor(0.13066), torch.tensor(0.30811))  # 0-d tensors are numbers too
    assert capsys.readouterr().out.count("OK: ") == 2


@pytest.mark.parametrize("mean, std, message", [
    (33.318, 78.567, "your mean is 33.3: did you divide the uint8 pixels by 255?"),
    (0.1307, 0.0, "std must be positive"),
    (0.1307, -0.3081, "std must be positive"),
    (0.1307, 0.0949, "the variance"),
    (0.1325, 0.3105, "use the training set only (60,000 images)"),
    (0.1309, 0.3084, "training and test sets together: use the training set only"),
    (0.1400, 0.3081, "expected 0.1307"),
    (0.1307, 0.3015, "average of each image's own std"),
    (0.1307, 0.2900, "expected 0.3081"),
    (torch.full((10,), 0.13), 0.3081, "not one number"),
    ("0.1307", 0.3081, "must be a number"),
    (float("nan"), 0.3081, "mean is nan"),
])
def test_the_self_check_says_what_is_wrong(mean, std, message):
    assert_check_says(message, selfcheck.check_normalisation, mean, std)


def test_the_self_check_compares_with_labkit_constants_to_four_decimals():
    assert (MEAN, STD) == (0.1307, 0.3081)
    selfcheck.check_normalisation(MEAN + 4e-5, STD - 4e-5)
    with pytest.raises(SelfCheckFailed):
        selfcheck.check_normalisation(MEAN + 6e-5, STD)

