"""What the self-checks share: the failure, its wording, and the steps every check of a student's network takes.

    expect(condition, message)       SelfCheckFailed(message) unless condition holds
    passed(message)                  the one "OK: ..." line a passing check prints
    expect_class(cls, usage)         the check was given a class, not an instance
    keep_random_state()              the checks draw their weights without moving the notebook's random state
    run(function, "f(x)", x)         the student's code run, its failures told in plain words
    build(cls, *args)                the student's class built, an nn.Module, or what went wrong
    forward(model, x)                its forward without gradients, a tensor, or what went wrong
    Network(...)                     a digit network as labkit builds it: the steps comparing a student's with it
                                     (parameter count layer by layer, logits, same start for a seed, same outputs)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ...models import count_parameters

NOT_WRITTEN = "replace `raise NotImplementedError()`"


class SelfCheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says what is wrong and what was expected."""


def expect(condition, message: str) -> None:
    """Raise SelfCheckFailed(message) unless `condition` holds."""
    if not condition:
        raise SelfCheckFailed(message)


def passed(message: str) -> None:
    """The one line a passing self-check prints."""
    print(f"OK: {message}")


def expect_class(cls, usage: str) -> None:
    """SelfCheckFailed unless `cls` is a class: the check takes the student's class, not an instance of it."""
    expect(isinstance(cls, type), f"pass the class itself ({usage}), not {type(cls).__name__}")


def keep_random_state():
    """A context in which the checks draw weights and inputs, leaving the notebook's random state alone."""
    return torch.random.fork_rng(devices=[])


def run(function, what: str, *args, not_written: str | None = None, **kwargs):
    """`function(*args, **kwargs)`, the student's code, or SelfCheckFailed saying in plain words why it failed.

    `what` names the call in the messages; `not_written` is what to say when it raises NotImplementedError
    (by default: "`what` is not written yet: replace `raise NotImplementedError()` with your code").
    """
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise SelfCheckFailed(not_written or f"{what} is not written yet: {NOT_WRITTEN} with your code") from None
    except SelfCheckFailed:
        raise
    except Exception as error:  # the student's code: report any failure in plain words
        hint = " (call super().__init__() first in __init__)" if "before Module.__init__" in str(error) else ""
        raise SelfCheckFailed(f"{what} raised {type(error).__name__}: {error}{hint}") from None


def build(cls, *args) -> nn.Module:
    """`cls(*args)`, the student's class, or SelfCheckFailed saying in plain words why it could not be built."""
    what = f"{cls.__name__}({', '.join(map(repr, args))})"
    model = run(cls, what, *args,
                 not_written=f"{cls.__name__} is not written yet: {NOT_WRITTEN} in __init__ and forward with your code")
    expect(isinstance(model, nn.Module), f"{what} must be an nn.Module (class {cls.__name__}(nn.Module))")
    return model


def forward(model: nn.Module, x: torch.Tensor, what: str = "forward", returns: str = "a tensor of logits",
            explain: Callable[[RuntimeError, str], str] | None = None) -> torch.Tensor:
    """`model(x)` without gradients, a tensor, or SelfCheckFailed saying in plain words what went wrong.

    `what` names the call in the messages ("forward", or the block it runs, "BasicBlock(16, 32, stride=2)");
    `returns` is what forward must return. A RuntimeError is told as "`what` on a batch of shape ... raised
    RuntimeError: ..."; `explain(error, message)` returns that message with what the error most likely means
    in this exercise, or another message in its place.
    """
    try:
        with torch.no_grad():
            out = model(x)
    except NotImplementedError:
        raise SelfCheckFailed(f"forward is not written yet: {NOT_WRITTEN} in forward with your code") from None
    except RuntimeError as error:
        message = f"{what} on a batch of shape {tuple(x.shape)} raised RuntimeError: {error}"
        raise SelfCheckFailed(explain(error, message) if explain is not None else message) from None
    whose = "forward" if what == "forward" else f"{what}'s forward"
    expect(isinstance(out, torch.Tensor), f"{whose} must return {returns}, got {type(out).__name__}")
    return out


def layers_with_parameters(model: nn.Module) -> list[tuple[str, nn.Module, int]]:
    """(name, module, parameters) of each module that holds parameters itself, in creation order."""
    return [(name or type(module).__name__, module, sum(p.numel() for p in module.parameters(recurse=False)))
            for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))]


@dataclass(frozen=True)
class Network:
    """A digit network an exercise asks for, as labkit builds it, and the steps that compare a student's with it.

    `reference` is labkit's class (built without arguments), `parameters` its count; `layers` holds (description,
    type, shape, parameters) of each of its layers with parameters, in creation order. For the messages:
    `describe(module)` words one of the student's layers; `mistakes` maps a weight shape to what a layer of that
    shape most likely is; `layer_names` lists labkit's layers ("C1, C3, C5, F6, output") and `name_layers` names
    the student's layer (its attribute path); `order` says how to create the layers and `created` which ones
    ("three layers"); `explain` words a RuntimeError of forward (see `forward`). `weight_scale` is the spread of
    the random weights both networks get to compare their outputs.
    """

    name: str
    reference: type[nn.Module]
    parameters: int
    layers: list[tuple]
    describe: Callable[[nn.Module], str]
    order: str
    created: str
    weight_scale: float
    explain: Callable[[RuntimeError, str], str] | None = None
    mistakes: dict = field(default_factory=dict)
    layer_names: str = ""
    name_layers: bool = False

    def build(self, cls, usage: str) -> tuple[nn.Module, list[tuple[str, nn.Module, int]]]:
        """(the student's class built right after torch.manual_seed(0), its layers_with_parameters); `usage` is how
        the check is called, for the message when `cls` is not a class."""
        expect_class(cls, usage)
        torch.manual_seed(0)
        model = build(cls)
        return model, layers_with_parameters(model)

    def check_count(self, model: nn.Module, layers: list[tuple[str, nn.Module, int]]) -> None:
        """SelfCheckFailed unless `model` has labkit's parameter count: it names the first layer that differs, and
        lists the student's layers (`layers`, from layers_with_parameters) beside labkit's."""
        count = count_parameters(model)
        if count == self.parameters:
            return
        yours = "; ".join(f"{self.describe(module)}: {n:,}" for _, module, n in layers) or "no layers with parameters"
        expected = "; ".join(f"{description}: {n:,}" for description, _, _, n in self.layers)
        first = next((self._differs(i, *layer) for i, layer in enumerate(layers[:len(self.layers)])
                      if layer[2] != self.layers[i][3] or not isinstance(layer[1], self.layers[i][1])), None)
        if first is None:
            names = f" ({self.layer_names})" if self.layer_names else ""
            first = (f"you have {len(layers)} layers with parameters, expected {len(self.layers)}{names}"
                     if len(layers) != len(self.layers) else "the layers differ")
        raise SelfCheckFailed(f"{self.name} has {count:,} parameters, expected {self.parameters:,}: {first}.\n"
                              f"  yours:    {yours}\n  expected: {expected}")

    def _differs(self, i: int, name: str, module: nn.Module, n: int) -> str:
        description, _, _, wanted = self.layers[i]
        weight = getattr(module, "weight", None)
        why = self.mistakes.get(tuple(weight.shape) if weight is not None else None)
        named = f" ({name})" if self.name_layers else ""
        return (f"layer {i + 1}{named} is {self.describe(module)} with {n:,} parameters, expected {description} "
                f"with {wanted:,}" + (f": {why}" if why else ""))

    def logits(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """`model`'s forward on the batch `x`, which must give 10 scores per image."""
        out = forward(model, x, explain=self.explain)
        expect(tuple(out.shape) == (len(x), 10),
               f"for a batch of shape {tuple(x.shape)} forward returned shape {tuple(out.shape)}, expected "
               f"({len(x)}, 10): one score per digit for each image")
        return out

    def check_same_start(self, model: nn.Module) -> nn.Module:
        """labkit's network built right after torch.manual_seed(0), once SelfCheckFailed has not said that the
        student's `model`, built after the same seed, holds other parameters or creates them in another order."""
        torch.manual_seed(0)
        reference = self.reference()
        shapes = [tuple(p.shape) for p in model.parameters()]
        expected_shapes = [tuple(p.shape) for p in reference.parameters()]
        expect(shapes == expected_shapes,
               f"the parameters are created in another order ({shapes}, expected {expected_shapes}): {self.order}, "
               f"so that the same seed gives the same initial weights as labkit's network")
        expect(all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters())),
               f"the layers are right but the same seed gives other initial weights than labkit's: create exactly "
               f"the {self.created}, in order, with PyTorch's default initialisation (no extra layers, no random "
               f"draws, no custom init)")
        return reference

    def outputs_with_same_weights(self, model: nn.Module, reference: nn.Module,
                                  x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the student's output, labkit's) for the batch `x` in eval mode, once both networks hold the same random
        weights (normal, times `weight_scale`)."""
        with torch.no_grad():
            for mine, theirs in zip(model.parameters(), reference.parameters()):
                mine.copy_(torch.randn_like(theirs) * self.weight_scale)
                theirs.copy_(mine)
            expected = reference.eval()(x)
        return forward(model, x, explain=self.explain), expected
