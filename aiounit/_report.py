"""Per-test recorders: tests run together, results are told one test at a time."""

from __future__ import annotations

import sys
import time
import unittest
from collections.abc import Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

# Result hooks that unittest only calls when the result has them (it falls back
# or warns otherwise).  A recorder has exactly the ones its real result has, so
# that code probing with hasattr() behaves as it would without us.
_NO_DURATIONS_FROM_STDLIB = sys.version_info < (3, 12)
_OPTIONAL = ("addSkip", "addExpectedFailure", "addUnexpectedSuccess", "addSubTest", "addDuration")


class Recorder:
    """Stands in for the real result while its test runs among others.

    It keeps every call in order and replays them on the real result when the
    test is over, so each result object sees ``startTest``, the outcomes and
    ``stopTest`` of one test with no other test's calls in between, all from
    the thread that runs the loop.
    """

    __slots__ = ("_real", "_started", "_stopping", "calls", "failfast")

    def __init__(self, real: unittest.TestResult) -> None:
        self._real = real
        self._started = 0.0
        self._stopping = False
        self.failfast = getattr(real, "failfast", False)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    # failfast and Ctrl-C: a failing subtest must stop its own test at once,
    # although the real result only learns of the failure at replay time.
    @property
    def shouldStop(self) -> bool:
        return self._stopping or bool(self._real.shouldStop)

    def stop(self) -> None:
        self._stopping = True

    def _failed(self) -> None:
        if self.failfast:
            self._stopping = True

    def startTest(self, test: Any) -> None:
        self._started = time.perf_counter()
        self.calls.append(("startTest", (test,)))

    def stopTest(self, test: Any) -> None:
        if (
            _NO_DURATIONS_FROM_STDLIB
            and hasattr(self._real, "_aiounit_elapsed")
            and not any(name == "addDuration" for name, _ in self.calls)
        ):
            # 3.11's TestCase.run never reports its time, and aiounit's
            # TextTestResult times such tests from startTest to stopTest, which
            # at replay time measures nothing: tell it the real time.  Other
            # results get exactly the stdlib's calls.
            self.calls.append(("_aiounit_elapsed", (test, time.perf_counter() - self._started)))
        self.calls.append(("stopTest", (test,)))

    def addSuccess(self, test: Any) -> None:
        self.calls.append(("addSuccess", (test,)))

    def addError(self, test: Any, err: Any) -> None:
        self.calls.append(("addError", (test, err)))
        self._failed()

    def addFailure(self, test: Any, err: Any) -> None:
        self.calls.append(("addFailure", (test, err)))
        self._failed()

    def replay(self, out: str = "", err: str = "", notes: Sequence[str] = ()) -> None:
        """Tell the real result everything recorded so far, in order.

        *out* and *err*, the test's captured output, are written to
        ``sys.stdout``/``sys.stderr`` right after ``startTest``: a buffering
        result has swapped them for its own buffers by then, so it shows them
        with a failure and drops them for a pass, exactly as for a test it ran
        itself.  *notes* (warnings about the test) go to the result's
        ``addDiagnostic`` if it has one, else to ``sys.stderr``, before
        ``stopTest``.
        """
        calls, self.calls = self.calls, []
        real = self._real
        for name, args in calls:
            if name == "stopTest" and notes:
                tell_notes(real, args[0], notes)
                notes = ()
            getattr(real, name)(*args)
            if name == "startTest":
                if out:
                    sys.stdout.write(out)
                if err:
                    sys.stderr.write(err)
                out = err = ""


def tell_notes(real: unittest.TestResult, test: Any, notes: Sequence[str]) -> None:
    """Give warnings about *test* to *real*'s ``addDiagnostic``, or to the terminal."""
    add = getattr(real, "addDiagnostic", None)
    if add is not None:
        for note in notes:
            add(test, note)
        return
    # A foreign result: tell the user on the terminal.  Not on sys.stdout or
    # sys.stderr while buffering: a passing test's buffer is thrown away.
    stream = getattr(real, "_original_stderr", None) if getattr(real, "buffer", False) else None
    stream = stream or sys.stderr
    for note in notes:
        # On a line of its own, whatever the result wrote before (a dot).
        stream.write(f"\naiounit: warning: {test}: {note}\n")


class _AddSkip:
    __slots__ = ()

    def addSkip(self: Any, test: Any, reason: str) -> None:
        self.calls.append(("addSkip", (test, reason)))


class _AddExpectedFailure:
    __slots__ = ()

    def addExpectedFailure(self: Any, test: Any, err: Any) -> None:
        self.calls.append(("addExpectedFailure", (test, err)))


class _AddUnexpectedSuccess:
    __slots__ = ()

    def addUnexpectedSuccess(self: Any, test: Any) -> None:
        self.calls.append(("addUnexpectedSuccess", (test,)))
        self._failed()


class _AddSubTest:
    __slots__ = ()

    def addSubTest(self: Any, test: Any, subtest: Any, err: Any) -> None:
        self.calls.append(("addSubTest", (test, subtest, err)))
        if err is not None:
            self._failed()


class _AddDuration:
    __slots__ = ()

    def addDuration(self: Any, test: Any, elapsed: float) -> None:
        self.calls.append(("addDuration", (test, elapsed)))


_MIXINS = dict(
    zip(
        _OPTIONAL,
        (_AddSkip, _AddExpectedFailure, _AddUnexpectedSuccess, _AddSubTest, _AddDuration),
        strict=True,
    )
)
_classes: dict[tuple[str, ...], type[Recorder]] = {}


def recorder_class(real: unittest.TestResult) -> type[Recorder]:
    """The Recorder subclass with the optional hooks that *real* has."""
    present = tuple(name for name in _OPTIONAL if hasattr(real, name))
    cls = _classes.get(present)
    if cls is None:
        bases = (*tuple(_MIXINS[name] for name in present), Recorder)
        cls = type("Recorder", bases, {"__slots__": ()})
        _classes[present] = cls
    return cls
