"""Self-check cells for the exercises: each check tells the student in plain words what is wrong.

    from labkit.course.selfcheck import cnn
    cnn.check_plain_cnn(PlainCNN)      # prints "OK: ..." or raises SelfCheckFailed saying what to fix

One module per notebook's exercises; every check raises `SelfCheckFailed` (an AssertionError, so nbval
and the grader see a failed cell) with a message a student can act on, and prints one line when it passes.
What the checks share (the failure, calling the student's code, the steps of a network check) is in common.py.
"""

from .common import SelfCheckFailed

__all__ = ["SelfCheckFailed"]
