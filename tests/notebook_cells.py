"""What the exercise tests (tests/test_exercises_0*.py) share: a reference notebook's exercise cells, run the way
the notebook runs them, and the comparisons they make of the notebook's answer with labkit's own."""

import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from labkit import models
from labkit.course.selfcheck import SelfCheckFailed
from labkit.course.student import BEGIN_SOLUTION, END_SOLUTION


def code_sources(notebook: Path) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    return [cell.source for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]


def exercise_cells(notebook: Path, exercise: str):
    """(the exercise cell, the cell after it) of the reference notebook."""
    cells = nbformat.read(notebook, as_version=4).cells
    index = next(i for i, cell in enumerate(cells) if cell.metadata.get("labkit", {}).get("exercise") == exercise)
    return cells[index], cells[index + 1]


def without_markers(source: str) -> str:
    """The source without its solution markers' lines: the reference solution as the notebook runs it."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def exec_cell(source: str, namespace: dict) -> dict:
    """Run `source` in `namespace`, as a notebook cell runs in the notebook's globals; returns the namespace."""
    exec(source, namespace)
    return namespace


def run_solution(notebook: Path, exercise: str, namespace: dict) -> dict:
    """`namespace` after the exercise cell of the reference notebook, its reference solution included, ran in it."""
    cell, _ = exercise_cells(notebook, exercise)
    return exec_cell(without_markers(cell.source), namespace)


def module_class(namespace: dict, name: str, init: str, forward: str, arguments: str = "self") -> type[nn.Module]:
    """The nn.Module subclass `name` defined in `namespace`: __init__(arguments) runs `init` after
    super().__init__(), forward(self, x) runs `forward` (both bodies indented as at 8 spaces after their first line)."""
    source = f"""
class {name}(nn.Module):
    def __init__({arguments}):
        super().__init__()
        {init}

    def forward(self, x):
        {forward}
"""
    return exec_cell(source, namespace)[name]


def assert_check_says(message: str | None, check, *args, **kwargs) -> None:
    """The self-check check(*args, **kwargs) fails with `message` in what it says; with message None, it passes."""
    if message is None:
        check(*args, **kwargs)
        return
    with pytest.raises(SelfCheckFailed, match=re.escape(message)):
        check(*args, **kwargs)


def assert_keeps_random_state(check, *args, **kwargs) -> None:
    """check(*args, **kwargs) leaves torch's global random generator where it found it."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check(*args, **kwargs)
    assert torch.equal(torch.rand(3), expected)


def assert_same_initial_weights(mine: nn.Module, theirs: nn.Module, parameters: int) -> None:
    """Both networks have `parameters` parameters, created in the same order: built after the same seed, mine has
    the same initial weights as theirs."""
    assert models.count_parameters(mine) == models.count_parameters(theirs) == parameters
    assert [tuple(p.shape) for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(mine.parameters(), theirs.parameters()))


def assert_same_outputs(mine: nn.Module, other: nn.Module, inputs, other_inputs=None, *, modes=(True, False),
                        atol: float | None = None) -> None:
    """With the same weights, mine(*inputs) is other(*other_inputs) (other_inputs: inputs by default), in each
    training mode of `modes` (both networks set to it): to the bit, or within `atol`."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    other_inputs = inputs if other_inputs is None else other_inputs
    other_inputs = other_inputs if isinstance(other_inputs, tuple) else (other_inputs,)
    for mode in modes:
        mine.train(mode), other.train(mode)
        if atol is None:
            assert torch.equal(mine(*inputs), other(*other_inputs))
        else:
            assert torch.allclose(mine(*inputs), other(*other_inputs), atol=atol)


def mine_and_labkits(cls, name: str, seed: int, parameters: int, *, by_position: bool = False):
    """(mine, other): cls() built after `seed` starts as models.build(name, seed=seed) does (the same parameters,
    created in the same order: the same initial weights), then takes the weights of `other`, labkit's network built
    after seed 1 (loaded by position where the parameters' names differ), so the two can be compared."""
    torch.manual_seed(seed)
    mine = cls()
    assert_same_initial_weights(mine, models.build(name, seed=seed), parameters)
    torch.manual_seed(1)
    other = models.build(name)
    state = other.state_dict()
    mine.load_state_dict(dict(zip(mine.state_dict(), state.values())) if by_position else state)
    return mine, other
