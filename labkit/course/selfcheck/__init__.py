"""Self-check cells for the exercises: each check tells the student in plain words what is wrong.

    from labkit.course.selfcheck import cnn
    cnn.check_plain_cnn(PlainCNN)      # prints "OK: ..." or raises SelfCheckFailed saying what to fix

One module per notebook's exercises; every check raises `SelfCheckFailed` (an AssertionError, so nbval
and the grader see a failed cell) with a message a student can act on, and prints one line when it passes.
"""

from __future__ import annotations


class SelfCheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says what is wrong and what was expected."""


def expect(condition, message: str) -> None:
    """Raise SelfCheckFailed(message) unless `condition` holds."""
    if not condition:
        raise SelfCheckFailed(message)


def passed(message: str) -> None:
    """The one line a passing self-check prints."""
    print(f"OK: {message}")
