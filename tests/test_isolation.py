"""Process state that members of a group change: each sees its own, and it comes back.

Warning filters are per test during a group; what members patch with
``unittest.mock`` is put back when the group ends; ``assertLogs`` on worker
threads leaves the logger as it found it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import unittest
import warnings
from typing import Any

import aiounit
from tests._support import LoggingResult, suite_of


class _Steps:
    """Lockstep for async tests: a step ends once every named test reached it."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.reached: dict[tuple[str, int], asyncio.Event] = {}

    def _event(self, name: str, step: int) -> asyncio.Event:
        return self.reached.setdefault((name, step), asyncio.Event())

    async def step(self, me: str, step: int) -> None:
        self._event(me, step).set()
        for name in self.names:
            await self._event(name, step).wait()


def _reports(result: unittest.TestResult) -> dict[str, str]:
    return {test._testMethodName: text for test, text in [*result.failures, *result.errors]}


class TestWarningFiltersPerTest(unittest.TestCase):
    """Each member of a group has its own warning filters; the process's come back whole."""

    def run_pair(self, cls: type) -> tuple[unittest.TestResult, list[Any]]:
        """Run *cls*'s group inside a recording catch_warnings; return the result and log."""
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always")
            before, before_list = warnings.filters[:], warnings.filters
            result = LoggingResult()
            suite_of(cls, timeout=1.0).run(result)
            self.assertIs(warnings.filters, before_list)
            self.assertEqual(warnings.filters, before)
        return result, log

    def test_assert_warns_beside_a_peer_that_ignores_warnings(self) -> None:
        """assertWarns in one member while a peer is in catch_warnings + simplefilter('ignore')."""
        steps = _Steps("a", "b")

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def test_a_expects(self) -> None:
                with self.assertWarns(UserWarning):
                    await steps.step("a", 1)
                    await steps.step("a", 2)  # the peer now ignores every warning
                    warnings.warn("expected by a", UserWarning, stacklevel=1)
                await steps.step("a", 3)

            async def test_b_ignores(self) -> None:
                await steps.step("b", 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    await steps.step("b", 2)
                    warnings.warn("ignored by b", UserWarning, stacklevel=1)
                    await steps.step("b", 3)

        result, log = self.run_pair(Pair)
        self.assertTrue(result.wasSuccessful(), _reports(result))
        self.assertEqual(log, [])

    def test_filters_set_by_a_test_are_its_own(self) -> None:
        """A plain simplefilter('error') in one member raises there only, and is gone after."""
        steps = _Steps("a", "b")

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def test_a_warns(self) -> None:
                await steps.step("a", 1)
                warnings.warn("shown for a", UserWarning, stacklevel=1)
                await steps.step("a", 2)

            async def test_b_errors(self) -> None:
                warnings.simplefilter("error")
                await steps.step("b", 1)
                await steps.step("b", 2)
                warnings.warn("raised in b", UserWarning, stacklevel=1)

        result, log = self.run_pair(Pair)
        self.assertEqual([str(w.message) for w in log], ["shown for a"])
        reports = _reports(result)
        self.assertEqual(sorted(reports), ["test_b_errors"])
        self.assertIn("UserWarning: raised in b", reports["test_b_errors"])

    def test_error_filter_of_the_run_raises_in_the_test_that_warned(self) -> None:
        """Under -W error, only the member whose own warning is not expected errs."""
        steps = _Steps("a", "b", "c")

        @aiounit.group()
        class Trio(aiounit.AsyncTestCase):
            async def test_a_expects(self) -> None:
                with self.assertWarns(DeprecationWarning):
                    await steps.step("a", 1)
                    warnings.warn("expected", DeprecationWarning, stacklevel=1)
                    await steps.step("a", 2)

            async def test_b_ignores(self) -> None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    await steps.step("b", 1)
                    await steps.step("b", 2)

            async def test_c_warns(self) -> None:
                await steps.step("c", 1)
                await steps.step("c", 2)
                warnings.warn("not expected", DeprecationWarning, stacklevel=1)

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            before = warnings.filters[:]
            result = LoggingResult()
            suite_of(Trio, timeout=1.0).run(result)
            self.assertEqual(warnings.filters, before)
        reports = _reports(result)
        self.assertEqual(sorted(reports), ["test_c_warns"])
        self.assertIn("DeprecationWarning: not expected", reports["test_c_warns"])


if __name__ == "__main__":
    unittest.main()


class TestAssertLogsOnThreads(unittest.TestCase):
    """Sync members on worker threads using assertLogs on one logger at once."""

    def test_many_threads_capture_one_logger(self) -> None:
        """Each sees its own records; the logger's handlers, level and propagate come back."""
        logger = logging.getLogger("aiounit.tests.threads")
        handler = logging.NullHandler()
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        count = 12
        # Every member enters, logs and leaves together, many times over.
        barrier = threading.Barrier(count, timeout=5)
        rounds = 20

        def body(case: unittest.TestCase, me: int) -> None:
            try:
                for round_ in range(rounds):
                    barrier.wait()
                    with case.assertLogs(logger, "INFO") as cm:
                        barrier.wait()
                        logger.info("%d in round %d", me, round_)
                        barrier.wait()
                    case.assertEqual(cm.output, [f"INFO:{logger.name}:{me} in round {round_}"])
            except threading.BrokenBarrierError:
                case.skipTest("a peer failed")
            except BaseException:
                barrier.abort()
                raise

        @aiounit.group()
        class Many(unittest.TestCase):
            pass

        for i in range(count):
            setattr(Many, f"test_{i:02}", lambda self, i=i: body(self, i))

        # Switch threads as often as possible, so that their bookkeeping interleaves.
        self.addCleanup(sys.setswitchinterval, sys.getswitchinterval())
        sys.setswitchinterval(1e-6)
        result = LoggingResult()
        suite_of(Many, timeout=10).run(result)
        self.assertEqual(result.testsRun, count)
        failed = [text.splitlines()[-1] for _, text in result.errors + result.failures]
        self.assertEqual(failed, [])
        self.assertEqual(result.skipped, [])
        self.assertEqual(logger.handlers, [handler])
        self.assertEqual(logger.level, logging.NOTSET)
        self.assertTrue(logger.propagate)
