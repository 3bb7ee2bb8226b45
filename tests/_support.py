"""Helpers for aiounit's own tests: run tiny test classes, record what results see."""

from __future__ import annotations

import asyncio
import io
import os
import unittest
from collections.abc import Iterable
from typing import Any

import aiounit


class LoggingResult(unittest.TestResult):
    """A foreign TestResult that records every call it gets, in order.

    ``events`` holds tuples such as ``("startTest", "test_a")``,
    ``("addSuccess", "test_a")``, ``("addSubTest", "test_a", "(i=1)", "FAIL")``,
    ``("stopTest", "test_a")``; class and module fixtures show up as
    ``("addError", "setUpClass (mod.Class)")``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []

    @staticmethod
    def _name(test: Any) -> str:
        return getattr(test, "_testMethodName", None) or str(test)

    def startTest(self, test: Any) -> None:
        self.events.append(("startTest", self._name(test)))
        super().startTest(test)

    def stopTest(self, test: Any) -> None:
        self.events.append(("stopTest", self._name(test)))
        super().stopTest(test)

    def addSuccess(self, test: Any) -> None:
        self.events.append(("addSuccess", self._name(test)))
        super().addSuccess(test)

    def addError(self, test: Any, err: Any) -> None:
        self.events.append(("addError", self._name(test)))
        super().addError(test, err)

    def addFailure(self, test: Any, err: Any) -> None:
        self.events.append(("addFailure", self._name(test)))
        super().addFailure(test, err)

    def addSkip(self, test: Any, reason: str) -> None:
        self.events.append(("addSkip", self._name(test)))
        super().addSkip(test, reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self.events.append(("addExpectedFailure", self._name(test)))
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test: Any) -> None:
        self.events.append(("addUnexpectedSuccess", self._name(test)))
        super().addUnexpectedSuccess(test)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is None:
            status = "ok"
        elif issubclass(err[0], test.failureException):
            status = "FAIL"
        else:
            status = "ERROR"
        self.events.append(("addSubTest", self._name(test), subtest._subDescription(), status))
        super().addSubTest(test, subtest, err)

    def addDuration(self, test: Any, elapsed: float) -> None:
        self.events.append(("addDuration", self._name(test)))
        parent = getattr(super(), "addDuration", None)  # 3.12+
        if parent is not None:
            parent(test, elapsed)


def suite_of(*classes: type, suite_class: type = aiounit.ConcurrentTestSuite, **kwargs: Any) -> Any:
    """A suite of the tests of *classes*, in the loader's order."""
    loader = unittest.TestLoader()
    return suite_class([loader.loadTestsFromTestCase(cls) for cls in classes], **kwargs)


def run_tests(*classes: type, result: unittest.TestResult | None = None, **kwargs: Any) -> Any:
    """Run the tests of *classes* in a ConcurrentTestSuite; return the result.

    Keyword arguments go to ConcurrentTestSuite (``timeout``, ``max_concurrency``,
    ``default_group``).
    """
    if result is None:
        result = LoggingResult()
    suite_of(*classes, **kwargs).run(result)
    return result


def run_text(suite: Any, *, runner: type = aiounit.TextTestRunner, **kwargs: Any) -> str:
    """Run *suite* with a text runner writing to a string; return the output."""
    stream = io.StringIO()
    runner(stream=stream, **kwargs).run(suite)
    return stream.getvalue()


def tests_of(events: Iterable[tuple[Any, ...]]) -> list[str]:
    """The test names in *events*, in the order their startTest came."""
    return [e[1] for e in events if e[0] == "startTest"]


def mixed_outcome_classes() -> list[type]:
    """Sync test classes with every kind of outcome unittest reports (fresh ones per call)."""

    class Mixed(unittest.TestCase):
        def test_pass(self) -> None:
            pass

        def test_doc(self) -> None:
            """First line of a docstring.

            Only the first line is shown.
            """

        def test_fail(self) -> None:
            self.assertEqual([1, 2], [1, 3])

        def test_error(self) -> None:
            raise RuntimeError("boom")

        @unittest.skip("decorated")
        def test_skip(self) -> None:
            pass

        def test_skip_inside(self) -> None:
            self.skipTest("inside")

        @unittest.expectedFailure
        def test_xfail(self) -> None:
            self.fail("expected")

        @unittest.expectedFailure
        def test_xpass(self) -> None:
            pass

        def test_subtests(self) -> None:
            for i in range(4):
                with self.subTest(i=i):
                    if i == 2:
                        raise ValueError(i)
                    self.assertLess(i, 1)

        def test_subtests_pass(self) -> None:
            for i in range(2):
                with self.subTest(i=i):
                    pass

        def test_cleanup_error(self) -> None:
            self.addCleanup(self.fail, "in cleanup")

    @unittest.skip("whole class")
    class Skipped(unittest.TestCase):
        def test_never(self) -> None:
            pass

    class BrokenClass(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise OSError("no fixture")

        def test_unreached(self) -> None:
            pass

    class BrokenTearDownClass(unittest.TestCase):
        @classmethod
        def tearDownClass(cls) -> None:
            raise OSError("no teardown")

        def test_fine(self) -> None:
            pass

    return [Mixed, Skipped, BrokenClass, BrokenTearDownClass]


class Steps:
    """Lockstep for async tests: a step ends only once every named test reached it.

    A test that passes a step has seen its peer reach the same step, so
    everything the two tests do is interleaved, step by step.
    """

    def __init__(self, *names: str) -> None:
        self.names = names
        self.reached: dict[tuple[str, int], asyncio.Event] = {}

    def _event(self, name: str, step: int) -> asyncio.Event:
        return self.reached.setdefault((name, step), asyncio.Event())

    async def step(self, me: str, step: int) -> None:
        self._event(me, step).set()
        for name in self.names:
            await self._event(name, step).wait()


def read_terminal(master: int) -> bytes:
    """Everything a child writes to the pseudo-terminal *master* until it closes
    its side; *master* is closed afterwards."""
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return b"".join(chunks)
