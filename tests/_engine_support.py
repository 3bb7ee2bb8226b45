"""Helpers for the engine tests: compare with the stdlib, track overlap, make modules."""

from __future__ import annotations

import contextlib
import importlib.machinery
import itertools
import sys
import threading
import types
import unittest
from collections.abc import Iterable, Iterator
from typing import Any

import aiounit
from tests._support import LoggingResult, suite_of

_module_numbers = itertools.count()


class RawResult(LoggingResult):
    """A LoggingResult that also keeps the exception of every error and failure."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[tuple[str, BaseException]] = []

    def addError(self, test: Any, err: Any) -> None:
        self.raw.append((self._name(test), err[1]))
        super().addError(test, err)

    def addFailure(self, test: Any, err: Any) -> None:
        self.raw.append((self._name(test), err[1]))
        super().addFailure(test, err)


class NotingResult(LoggingResult):
    """A LoggingResult that also keeps aiounit's diagnostics, as (test, note) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, str]] = []

    def addDiagnostic(self, test: Any, note: str) -> None:
        self.notes.append((str(test), note))


class Tracker:
    """Records when tests start and end, and which of them ran at the same time.

    Thread-safe, so that sync tests on worker threads can use it too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: set[str] = set()
        self.log: list[tuple[str, str]] = []
        self.peak = 0
        self.overlaps: set[frozenset[str]] = set()

    def enter(self, name: str) -> None:
        with self._lock:
            for other in self.running:
                self.overlaps.add(frozenset((name, other)))
            self.running.add(name)
            self.peak = max(self.peak, len(self.running))
            self.log.append(("start", name))

    def exit(self, name: str) -> None:
        with self._lock:
            self.running.discard(name)
            self.log.append(("end", name))

    @contextlib.contextmanager
    def track(self, name: str) -> Iterator[None]:
        self.enter(name)
        try:
            yield
        finally:
            self.exit(name)

    def overlapped(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.overlaps


def without_durations(events: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """*events* without addDuration, which 3.11's stdlib never calls."""
    return [e for e in events if e[0] != "addDuration"]


def by_test(events: Iterable[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Each test's events, in order, keyed by test name; addDuration left out."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for event in without_durations(events):
        grouped.setdefault(event[1], []).append(event)
    return grouped


def blocks(events: Iterable[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Split *events* into runs that each end with a stopTest.

    Raises AssertionError if a run holds events of more than one test, i.e. if
    two tests' calls were interleaved.
    """
    runs: list[list[tuple[Any, ...]]] = []
    current: list[tuple[Any, ...]] = []
    for event in events:
        current.append(event)
        if event[0] == "stopTest":
            # A subtest reported as a test (addSkip in a subTest) is named
            # "runTest" by LoggingResult: it belongs to the test around it.
            names = {e[1] for e in current if e[1] != "runTest"}
            if len(names) != 1:
                msg = f"events of several tests interleaved: {current}"
                raise AssertionError(msg)
            runs.append(current)
            current = []
    if current:
        msg = f"events after the last stopTest: {current}"
        raise AssertionError(msg)
    return runs


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def summary(result: unittest.TestResult) -> dict[str, Any]:
    """What a result holds, order-free and without tracebacks' frames."""
    return {
        "testsRun": result.testsRun,
        "errors": sorted((str(t), _last_line(tb)) for t, tb in result.errors),
        "failures": sorted((str(t), _last_line(tb)) for t, tb in result.failures),
        "skipped": sorted((str(t), reason) for t, reason in result.skipped),
        "expectedFailures": sorted((str(t), _last_line(tb)) for t, tb in result.expectedFailures),
        "unexpectedSuccesses": sorted(str(t) for t in result.unexpectedSuccesses),
    }


def run_stdlib(*classes: type, result: Any = None) -> Any:
    """Run *classes* with a plain ``unittest.TestSuite``; return the result."""
    if result is None:
        result = LoggingResult()
    suite_of(*classes, suite_class=unittest.TestSuite).run(result)
    return result


class LoopCounter:
    """A ``loop_factory`` that counts the event loops it made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> Any:
        import asyncio

        self.made += 1
        return asyncio.new_event_loop()


def grouped(cls: type, name: str = "parity") -> LoopCounter:
    """Put every async test of *cls* in one group; return the group's loop counter."""
    counter = LoopCounter()
    aiounit.group(name)(cls)
    cls.loop_factory = counter  # type: ignore[attr-defined]
    return counter


def make_module(case: unittest.TestCase, *classes: type) -> types.ModuleType:
    """A fresh module in sys.modules holding *classes*; removed by *case*'s cleanup."""
    name = f"aiounit_engine_tmp_{next(_module_numbers)}"
    module = fake_module(name)
    sys.modules[name] = module
    case.addCleanup(sys.modules.pop, name, None)
    for cls in classes:
        put(module, cls)
    return module


def fake_module(name: str) -> types.ModuleType:
    """An empty module named *name* that looks imported, as a real test module does.

    It carries a ``__spec__``: a bare ``types.ModuleType`` has ``__spec__ = None``,
    which no imported module has, and 3.15's traceback formatting of a
    ModuleNotFoundError under it (``unittest`` loading ``module.Missing``) calls
    ``importlib.resources.files()`` on it, which raises TypeError for it.
    """
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)
    return module


def put(module: types.ModuleType, cls: type) -> type:
    """Move *cls* into *module*, as if it had been defined there."""
    cls.__module__ = module.__name__
    setattr(module, cls.__name__, cls)
    return cls
