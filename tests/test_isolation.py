"""Process state that members of a group change: each sees its own, and it comes back.

Warning filters are per test during a group; what members patch with
``unittest.mock`` is put back when the group ends; ``assertLogs`` on worker
threads leaves the logger as it found it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import unittest
import warnings
from typing import Any
from unittest import mock

import aiounit
from tests._support import ROOT, LoggingResult, Steps, run_python, suite_of


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
        steps = Steps("a", "b")

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
        steps = Steps("a", "b")

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

    def test_filters_edited_directly_are_as_before_after_the_group(self) -> None:
        """A test that edits or replaces the list warnings.filters itself leaves nothing behind."""

        @aiounit.group()
        class Editors(aiounit.AsyncTestCase):
            async def test_inserts(self) -> None:
                # A list at run time; typeshed declares a Sequence.
                warnings.filters.insert(0, ("ignore", None, Warning, None, 0))  # type: ignore[attr-defined]
                await asyncio.sleep(0)

            async def test_replaces(self) -> None:
                warnings.filters = []
                await asyncio.sleep(0)

        result, _ = self.run_pair(Editors)
        self.assertTrue(result.wasSuccessful(), _reports(result))

    def test_error_filter_of_the_run_raises_in_the_test_that_warned(self) -> None:
        """Under -W error, only the member whose own warning is not expected errs."""
        steps = Steps("a", "b", "c")

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


@unittest.skipUnless(sys.version_info >= (3, 14), "context-aware warnings are new in 3.14")
class TestContextAwareWarnings(unittest.TestCase):
    """With -X context_aware_warnings (free-threaded builds' default) the same holds."""

    def test_the_tests_above_pass_with_context_aware_warnings(self) -> None:
        """TestWarningFiltersPerTest in a child with the flag on: catch_warnings is per context."""
        proc = run_python(
            *("-X", "context_aware_warnings=1", "-m", "unittest"),
            f"{__name__}.TestWarningFiltersPerTest",
            cwd=ROOT,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 4 tests", proc.stderr)


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


class _Settings:
    """A target for the patches of the tests below."""

    mode = "original"
    level = 0


class TestPatchesAreRestored(unittest.TestCase):
    """What members patch with unittest.mock is as before when their group ends."""

    def setUp(self) -> None:
        self.addCleanup(setattr, _Settings, "mode", "original")
        self.env = "AIOUNIT_TEST_ISOLATION"
        self.addCleanup(os.environ.pop, self.env, None)

    def run_group(self, cls: type, after: list[Any]) -> DiagnosticResult:
        """Run *cls* (its group first), then record _Settings.mode in an ungrouped test."""

        class After(unittest.TestCase):
            def test_after(self) -> None:
                after.append(_Settings.mode)

        result = DiagnosticResult()
        suite_of(cls, After, timeout=1.0).run(result)
        self.assertTrue(result.wasSuccessful(), _reports(result))
        return result

    def test_overlapping_patches_undone_out_of_order(self) -> None:
        """Two members patch one attribute; the first to start stops first: put back, named."""
        steps = Steps("a", "b")

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with mock.patch.object(_Settings, "mode", "a"):
                    await steps.step("a", 1)
                await steps.step("a", 2)

            async def test_b(self) -> None:
                await steps.step("b", 1)
                with mock.patch.object(_Settings, "mode", "b"):
                    await steps.step("b", 2)

        after: list[Any] = []
        result = self.run_group(Pair, after)
        self.assertEqual(after, ["original"])
        self.assertEqual(_Settings.mode, "original")
        self.assertEqual(
            result.notes,
            [
                (
                    "test_b",
                    f"left {__name__}._Settings.mode patched when its group ended ('a');"
                    " it was put back",
                )
            ],
        )

    def test_patch_dict_and_a_patcher_never_stopped(self) -> None:
        """patch.dict(os.environ) undone out of order, and a started patch left running."""
        steps = Steps("a", "b")
        env = self.env

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def test_a_environ(self) -> None:
                with mock.patch.dict(os.environ, {env: "a"}):
                    await steps.step("a", 1)
                await steps.step("a", 2)

            async def test_b_environ_and_start(self) -> None:
                await steps.step("b", 1)
                with mock.patch.dict(os.environ, {env: "b"}):
                    await steps.step("b", 2)
                mock.patch.object(_Settings, "mode", "never stopped").start()

        after: list[Any] = []
        result = self.run_group(Pair, after)
        self.assertEqual(after, ["original"])
        self.assertNotIn(env, os.environ)
        self.assertEqual(
            sorted(result.notes),
            [
                (
                    "test_b_environ_and_start",
                    f"left os.environ patched when its group ended ({env}='a'); it was put back",
                ),
                (
                    "test_b_environ_and_start",
                    f"left {__name__}._Settings.mode patched when its group ended"
                    " ('never stopped'); it was put back",
                ),
            ],
        )

    def test_patches_undone_in_order_say_nothing(self) -> None:
        """Patches that each member undoes itself, nested or not, are not reported."""
        steps = Steps("a", "b")
        seen: list[tuple[str, str, str]] = []

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with mock.patch.object(_Settings, "mode", "a"):
                    await steps.step("a", 1)
                    with mock.patch.object(_Settings, "mode", "a2"):
                        await steps.step("a", 2)

            @mock.patch.object(_Settings, "level", 1)
            async def test_b(self) -> None:
                await steps.step("b", 1)
                await steps.step("b", 2)

        from aiounit import _restore

        remove = _restore.add_patch_listener(
            lambda event, patcher, member: seen.append(
                (event, patcher.attribute, member.test._testMethodName)
            )
        )
        self.addCleanup(remove)
        after: list[Any] = []
        result = self.run_group(Pair, after)
        self.assertEqual(after, ["original"])
        self.assertEqual(_Settings.level, 0)
        self.assertEqual(result.notes, [])
        self.assertEqual(
            sorted(seen),
            sorted(
                [
                    ("start", "mode", "test_a"),
                    ("start", "mode", "test_a"),
                    ("stop", "mode", "test_a"),
                    ("stop", "mode", "test_a"),
                    ("start", "level", "test_b"),
                    ("stop", "level", "test_b"),
                ]
            ),
        )


class DiagnosticResult(LoggingResult):
    """A LoggingResult that keeps the warnings aiounit gives about tests.

    The concurrency-hazard warnings these overlapping patches also get (see
    tests/test_hazards.py) are kept apart: here only what is put back matters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, str]] = []
        self.hazards: list[tuple[str, str]] = []

    def addDiagnostic(self, test: Any, message: str) -> None:
        kept = self.hazards if message.startswith("concurrency hazard") else self.notes
        kept.append((self._name(test), message))


if __name__ == "__main__":
    unittest.main()
