"""Per-test recorders: tests run together, results are told one test at a time."""

from __future__ import annotations

import contextlib
import sys
import time
import unittest
from collections.abc import Iterator, Sequence

from . import _ide
from ._stdlib import IS_311, original_stderr

TYPE_CHECKING = False
if TYPE_CHECKING:
    import io
    from collections.abc import Callable
    from typing import Any, Protocol

    class ResultHooks(Protocol):
        """The optional hooks aiounit calls on a result that has them.

        Any ``unittest.TestResult`` works without them; a result may have any
        of them (``TextTestResult`` and ``-j``'s worker result have some each).
        ``Hooks`` is the one place that looks them up.
        """

        def aiounitMemberStarted(self, test: Any) -> None:
            """A group member (or a test in a worker) begins, long before it is reported."""

        def aiounitTick(self) -> None:
            """Now and then while tests run (the watchdog's beat, a ``-j`` parent's poll)."""

        def aiounitOutputBuffers(self, test: Any) -> tuple[io.StringIO, io.StringIO]:
            """The ``-b`` buffers of group member *test* (a worker streams them)."""

        def addDiagnostic(self, test: Any, message: str) -> None:
            """A warning about *test* that does not fail it."""


__unittest = True

# Result hooks that unittest only calls when the result has them (it falls back
# or warns otherwise).  A recorder has exactly the ones its real result has, so
# that code probing with hasattr() behaves as it would without us.
_OPTIONAL = ("addSkip", "addExpectedFailure", "addUnexpectedSuccess", "addSubTest", "addDuration")


class Recorder:
    """Stands in for the real result while its test runs among others.

    It keeps every call in order and replays them on the real result when the
    test is over, so each result object sees ``startTest``, the outcomes and
    ``stopTest`` of one test with no other test's calls in between, all from
    the thread that runs the loop.
    """

    __slots__ = ("_comparisons", "_real", "_started", "_stopping", "_texts", "calls", "failfast")

    def __init__(self, real: unittest.TestResult) -> None:
        self._real = real
        self._started = 0.0
        self._stopping = False
        self.failfast = getattr(real, "failfast", False)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # id(err) -> the error's text, for a result that shows locals (--locals)
        self._texts: dict[int, str] | None = None
        # id(err) -> teamcity-messages' last failed comparison (PyCharm's diff)
        self._comparisons: dict[int, Any] | None = None

    def _keep_text(self, test: Any, err: Any) -> None:
        """Format *err* now if the result shows locals: at replay they have moved on.

        A subtest that failed at ``i=1`` must not show the ``i = 2`` its test
        went on to.  The text is what the result itself would have written at
        this moment (less any ``-b`` output, which it adds at replay).
        """
        if err is None or not getattr(self._real, "tb_locals", False):
            return
        text = _format_unbuffered(self._real, err, test)
        if text is not None:
            if self._texts is None:
                self._texts = {}
            self._texts[id(err)] = text

    def _keep_comparison(self, err: Any) -> None:
        # What PyCharm's result would take from its thread-local now, at replay.
        comparison = _ide.taken()
        if comparison is not _ide.NOTHING:
            if self._comparisons is None:
                self._comparisons = {}
            self._comparisons[id(err)] = comparison

    def take(self, other: Recorder) -> None:
        """Append what *other* recorded (a sync test's thread) to this recorder."""
        self.calls.extend(other.calls)
        if other._texts:
            if self._texts is None:
                self._texts = {}
            self._texts.update(other._texts)
        if other._comparisons:
            if self._comparisons is None:
                self._comparisons = {}
            self._comparisons.update(other._comparisons)

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

    # A test may look at the result it reports to (``self._outcome.result``),
    # typically to ask "has it failed so far?" in its teardown.  In the stdlib
    # that is the real result, which already holds the test's own errors: answer
    # with the real result's lists plus what this test recorded and has not yet
    # replayed.  A real result without the list has none here either.
    @property
    def errors(self) -> list[tuple[Any, str]]:
        return [*self._real.errors, *self._own(failures=False)]

    @property
    def failures(self) -> list[tuple[Any, str]]:
        return [*self._real.failures, *self._own(failures=True)]

    @property
    def testsRun(self) -> int:
        started = any(name == "startTest" for name, _ in self.calls)
        return int(self._real.testsRun) + started

    def _own(self, failures: bool) -> list[tuple[Any, str]]:
        own = []
        for name, args in self.calls:
            if name in ("addError", "addFailure"):
                test, err = args
                if (name == "addFailure") is not failures:
                    continue
            elif name == "addSubTest" and args[2] is not None:
                test, err = args[1], args[2]
                if issubclass(err[0], args[0].failureException) is not failures:
                    continue
            else:
                continue
            own.append((test, _format_unbuffered(self._real, err, test) or str(err[1])))
        return own

    def startTest(self, test: Any) -> None:
        self._started = time.perf_counter()
        self.calls.append(("startTest", (test,)))

    def stopTest(self, test: Any) -> None:
        if (
            IS_311
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
        self._keep_text(test, err)
        self._keep_comparison(err)
        self.calls.append(("addError", (test, err)))
        self._failed()

    def addFailure(self, test: Any, err: Any) -> None:
        self._keep_text(test, err)
        self._keep_comparison(err)
        self.calls.append(("addFailure", (test, err)))
        self._failed()

    def has_outcome(self) -> bool:
        """Whether a call recorded so far decides the test's outcome (a failing
        subtest does; a passing one does not)."""
        return any(
            name in _OUTCOMES and (name != "addSubTest" or args[2] is not None)
            for name, args in self.calls
        )

    def ensure_outcome(self, test: Any, reason: str) -> None:
        """Give a test that was cut off before any outcome a skip saying why.

        Without ``addSkip`` on the real result, an error: unittest's fallback
        for a skip is a success.
        """
        if self.has_outcome():
            return
        if not any(name == "startTest" for name, _ in self.calls):
            self.calls.insert(0, ("startTest", (test,)))
        if hasattr(self, "addSkip"):
            outcome: tuple[str, tuple[Any, ...]] = ("addSkip", (test, reason))
        else:
            error = RuntimeError(reason)
            outcome = ("addError", (test, (RuntimeError, error, None)))
        stops = [i for i, (name, _) in enumerate(self.calls) if name == "stopTest"]
        if stops:
            self.calls.insert(stops[-1], outcome)
        else:
            self.calls.append(outcome)
            self.calls.append(("stopTest", (test,)))

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
        texts, self._texts = self._texts, None
        comparisons, self._comparisons = self._comparisons, None
        real = self._real
        for name, args in calls:
            if name == "stopTest" and notes:
                tell_notes(real, args[0], notes)
                notes = ()
            if comparisons and name in ("addError", "addFailure"):
                _ide.put_back(comparisons.get(id(args[-1])))
            text = texts.get(id(args[-1])) if texts and name in _WITH_ERRORS else None
            if text is None:
                getattr(real, name)(*args)
            else:
                with _formatted_as(real, args[-1], text):
                    getattr(real, name)(*args)
            if name == "startTest":
                if out:
                    sys.stdout.write(out)
                if err:
                    sys.stderr.write(err)
                out = err = ""


_MISSING = object()
_OUTCOMES = frozenset(
    {
        "addSuccess",
        "addError",
        "addFailure",
        "addSkip",
        "addExpectedFailure",
        "addUnexpectedSuccess",
        "addSubTest",
    }
)
_WITH_ERRORS = frozenset({"addError", "addFailure", "addSubTest", "addExpectedFailure"})


def _format_unbuffered(real: Any, err: Any, test: Any) -> str | None:
    """*real*'s text for *err*, without the ``-b`` output it would append."""
    try:
        clone = object.__new__(type(real))
        state = real.__dict__.copy()
        if getattr(state.get("_exc_info_to_string"), "aiounit_replaying", False):
            del state["_exc_info_to_string"]  # ours, from _formatted_as
        clone.__dict__.update(state)
        clone.buffer = False
        text: str = clone._exc_info_to_string(err, test)
    except Exception:  # an unusual result class: it formats at replay, as before
        return None
    return text


@contextlib.contextmanager
def _formatted_as(real: Any, err: Any, text: str) -> Iterator[None]:
    """While replaying *err*, *real* formats it as *text* (plus its ``-b`` output)."""
    original = real._exc_info_to_string

    def _exc_info_to_string(this_err: Any, test: Any) -> str:
        if this_err is not err:
            return original(this_err, test)  # type: ignore[no-any-return]
        if not getattr(real, "buffer", False):
            return text
        # The output it appends now: the difference between its text with and
        # without buffering, both with the locals as they are now.
        full: str = original(this_err, test)
        bare = _format_unbuffered(real, this_err, test)
        return text + (full[len(bare) :] if bare is not None and full.startswith(bare) else "")

    _exc_info_to_string.aiounit_replaying = True  # type: ignore[attr-defined]
    own = getattr(real, "__dict__", None)
    if own is None:  # no instance attributes: it shows the locals as they are now
        yield
        return
    saved = own.get("_exc_info_to_string", _MISSING)
    own["_exc_info_to_string"] = _exc_info_to_string
    try:
        yield
    finally:
        if saved is _MISSING:
            own.pop("_exc_info_to_string", None)
        else:
            own["_exc_info_to_string"] = saved


class Hooks:
    """The optional hooks (``ResultHooks``) a result has, each None if it lacks it."""

    __slots__ = ("add_diagnostic", "member_started", "output_buffers", "tick")

    def __init__(self, result: object) -> None:
        self.member_started: Callable[[Any], None] | None = getattr(
            result, "aiounitMemberStarted", None
        )
        self.tick: Callable[[], None] | None = getattr(result, "aiounitTick", None)
        self.output_buffers: Callable[[Any], tuple[io.StringIO, io.StringIO]] | None = getattr(
            result, "aiounitOutputBuffers", None
        )
        self.add_diagnostic: Callable[[Any, str], None] | None = getattr(
            result, "addDiagnostic", None
        )


def tell_notes(real: unittest.TestResult, test: Any, notes: Sequence[str]) -> None:
    """Give warnings about *test* to *real*'s ``addDiagnostic``, or to the terminal."""
    add = Hooks(real).add_diagnostic
    if add is not None:
        for note in notes:
            add(test, note)
        return
    # A foreign result: tell the user on the terminal.  Not on sys.stdout or
    # sys.stderr while buffering: a passing test's buffer is thrown away.
    stream = original_stderr(real) if getattr(real, "buffer", False) else None
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
        self._keep_text(test, err)
        self.calls.append(("addExpectedFailure", (test, err)))


class _AddUnexpectedSuccess:
    __slots__ = ()

    def addUnexpectedSuccess(self: Any, test: Any) -> None:
        self.calls.append(("addUnexpectedSuccess", (test,)))
        self._failed()


class _AddSubTest:
    __slots__ = ()

    def addSubTest(self: Any, test: Any, subtest: Any, err: Any) -> None:
        self._keep_text(test, err)
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
