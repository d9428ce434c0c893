"""Self-check cells for the exercises: each check tells the student in plain words what is wrong.

    from labkit.course.selfcheck import cnn
    cnn.check_plain_cnn(PlainCNN)      # prints "OK: ..." or raises SelfCheckFailed saying what to fix

One module per notebook's exercises; every check raises `SelfCheckFailed` (an AssertionError, so nbval
and the grader see a failed cell) with a message a student can act on, and prints one line when it passes.
"""

from __future__ import annotations

from torch import nn


class SelfCheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says what is wrong and what was expected."""


def expect(condition, message: str) -> None:
    """Raise SelfCheckFailed(message) unless `condition` holds."""
    if not condition:
        raise SelfCheckFailed(message)


def passed(message: str) -> None:
    """The one line a passing self-check prints."""
    print(f"OK: {message}")


def build(cls, *args) -> nn.Module:
    """`cls(*args)`, the student's class, or SelfCheckFailed saying in plain words why it could not be built."""
    call = f"{cls.__name__}({', '.join(map(repr, args))})"
    try:
        model = cls(*args)
    except NotImplementedError:
        raise SelfCheckFailed(f"{cls.__name__} is not written yet: replace `raise NotImplementedError()` in "
                              "__init__ and forward with your code") from None
    except Exception as error:  # the student's code: report any failure in plain words
        hint = " (call super().__init__() first in __init__)" if "before Module.__init__" in str(error) else ""
        raise SelfCheckFailed(f"{call} raised {type(error).__name__}: {error}{hint}") from None
    expect(isinstance(model, nn.Module), f"{call} must be an nn.Module (class {cls.__name__}(nn.Module))")
    return model


def layers_with_parameters(model: nn.Module) -> list[tuple[str, nn.Module, int]]:
    """(name, module, parameters) of each module that holds parameters itself, in creation order."""
    return [(name or type(module).__name__, module, sum(p.numel() for p in module.parameters(recurse=False)))
            for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))]
