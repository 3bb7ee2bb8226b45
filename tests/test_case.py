"""Tests of one test's lifecycle: stdlib parity inside groups, contextvars, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import math
import os
import threading
import time
import unittest
import warnings
from typing import Any

import aiounit
from aiounit import _alone
from tests._engine_support import (
    RawResult,
    blocks,
    by_test,
    grouped,
    run_stdlib,
    summary,
)
from tests._support import LoggingResult, run_tests


def _by_test_log(log: list[tuple[str, str]]) -> dict[str, list[str]]:
    steps: dict[str, list[str]] = {}
    for name, step in log:
        steps.setdefault(name, []).append(step)
    return steps


class TestStdlibParityInGroups(unittest.TestCase):
    """Inside a group, every unittest feature reports exactly as the stdlib does."""

    def assert_like_stdlib(self, cls: type, log: list[tuple[str, str]] | None = None) -> Any:
        """Run *cls* with the stdlib, then grouped; results, events and *log* must agree."""
        expected = run_stdlib(cls)
        expected_log = _by_test_log(log) if log is not None else None
        if log is not None:
            log.clear()
        loops = grouped(cls)
        actual = run_tests(cls, timeout=1.0)
        blocks(actual.events)  # no interleaving
        self.assertEqual(loops.made, 1, "the tests did not run as one group")
        self.assertEqual(by_test(actual.events), by_test(expected.events))
        self.assertEqual(summary(actual), summary(expected))
        if log is not None:
            self.assertEqual(_by_test_log(log), expected_log)
        return actual

    def test_success_failure_and_error(self) -> None:
        """Passing, failing and erroring tests report as in the stdlib."""

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_pass(self) -> None:
                await asyncio.sleep(0)

            async def test_fail(self) -> None:
                await asyncio.sleep(0)
                self.assertEqual(1, 2)

            async def test_error(self) -> None:
                await asyncio.sleep(0)
                raise KeyError("boom")

        self.assert_like_stdlib(Case)

    def test_skip_decorators(self) -> None:
        """skip, skipIf and skipUnless on methods report as in the stdlib."""
        log: list[tuple[str, str]] = []

        class Case(unittest.IsolatedAsyncioTestCase):
            def setUp(self) -> None:
                log.append((self._testMethodName, "setUp"))

            @unittest.skip("always")
            async def test_skip(self) -> None:
                log.append((self._testMethodName, "test"))

            @unittest.skipIf(True, "if")
            async def test_skip_if(self) -> None:
                log.append((self._testMethodName, "test"))

            @unittest.skipUnless(False, "unless")
            async def test_skip_unless(self) -> None:
                log.append((self._testMethodName, "test"))

            @unittest.skipIf(False, "not skipped")
            async def test_runs(self) -> None:
                log.append((self._testMethodName, "test"))

        self.assert_like_stdlib(Case, log)

    def test_skipped_class(self) -> None:
        """A class-level @skip reports every test skipped, as in the stdlib."""

        @unittest.skip("whole class")
        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_a(self) -> None:
                pass

            async def test_b(self) -> None:
                pass

        self.assert_like_stdlib(Case)

    def test_skip_test_in_test_and_in_async_set_up(self) -> None:
        """self.skipTest in the test or in asyncSetUp skips; cleanups still run."""
        log: list[tuple[str, str]] = []

        class Case(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self) -> None:
                name = self._testMethodName
                self.addCleanup(log.append, (name, "cleanup"))
                if name == "test_skipped_in_set_up":
                    self.skipTest("from asyncSetUp")

            async def asyncTearDown(self) -> None:
                log.append((self._testMethodName, "asyncTearDown"))

            async def test_skipped_in_test(self) -> None:
                await asyncio.sleep(0)
                self.skipTest("from the test")

            async def test_skipped_in_set_up(self) -> None:
                log.append((self._testMethodName, "test"))

        self.assert_like_stdlib(Case, log)

    def test_expected_failure_and_unexpected_success(self) -> None:
        """expectedFailure reports expected failures, unexpected successes, setup errors."""

        class Case(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self) -> None:
                if self._testMethodName == "test_setup_error":
                    raise ValueError("setup")

            @unittest.expectedFailure
            async def test_fails(self) -> None:
                await asyncio.sleep(0)
                self.fail("expected")

            @unittest.expectedFailure
            async def test_errors(self) -> None:
                raise KeyError("expected")

            @unittest.expectedFailure
            async def test_passes(self) -> None:
                await asyncio.sleep(0)

            @unittest.expectedFailure
            async def test_setup_error(self) -> None:
                pass

        self.assert_like_stdlib(Case)

    def test_subtests(self) -> None:
        """Passing, failing and erroring subtests report as in the stdlib."""

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_mixed(self) -> None:
                for i in range(4):
                    with self.subTest(i=i):
                        await asyncio.sleep(0)
                        if i == 1:
                            self.assertEqual(i, 0)
                        if i == 2:
                            raise ValueError(i)

            async def test_all_pass(self) -> None:
                for i in range(2):
                    with self.subTest(i=i):
                        await asyncio.sleep(0)

            @unittest.expectedFailure
            async def test_expected(self) -> None:
                with self.subTest("inner"):
                    self.fail("expected")

            async def test_nested(self) -> None:
                with self.subTest(a=1), self.subTest(b=2):
                    self.fail("nested")

            async def test_skip_in_subtest(self) -> None:
                with self.subTest(i=0):
                    self.skipTest("inside")
                with self.subTest(i=1):
                    await asyncio.sleep(0)

        self.assert_like_stdlib(Case)

    def test_assert_logs_and_no_logs(self) -> None:
        """assertLogs and assertNoLogs pass and fail as in the stdlib."""
        logger = logging.getLogger("aiounit.tests.parity")

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_logs(self) -> None:
                with self.assertLogs(logger, "INFO") as cm:
                    logger.info("hello")
                self.assertEqual(cm.output, ["INFO:aiounit.tests.parity:hello"])

            async def test_logs_missing(self) -> None:
                with self.assertLogs(logger, "INFO"):
                    pass

            async def test_no_logs(self) -> None:
                with self.assertNoLogs(logger, "INFO"):
                    logger.debug("quiet")

            async def test_no_logs_broken(self) -> None:
                with self.assertNoLogs(logger, "INFO"):
                    logger.warning("loud")

        self.assert_like_stdlib(Case)

    def test_assert_warns(self) -> None:
        """assertWarns and assertWarnsRegex pass and fail as in the stdlib."""

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_warns(self) -> None:
                with self.assertWarns(UserWarning):
                    warnings.warn("careful", UserWarning, stacklevel=1)

            async def test_warns_regex(self) -> None:
                with self.assertWarnsRegex(UserWarning, "care"):
                    warnings.warn("careful", UserWarning, stacklevel=1)

            async def test_warns_missing(self) -> None:
                with self.assertWarns(UserWarning):
                    pass

        self.assert_like_stdlib(Case)

    def test_failing_teardown_and_cleanups(self) -> None:
        """Errors in asyncTearDown, tearDown and cleanups are reported; all parts run."""
        log: list[tuple[str, str]] = []

        @contextlib.asynccontextmanager
        async def resource(name: str) -> Any:
            log.append((name, "enter"))
            try:
                yield
            finally:
                log.append((name, "exit"))

        class Case(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self) -> None:
                name = self._testMethodName
                self.addCleanup(log.append, (name, "cleanup 1"))
                self.addAsyncCleanup(self.failing_cleanup, name)
                await self.enterAsyncContext(resource(name))
                self.addCleanup(log.append, (name, "cleanup 3"))

            async def failing_cleanup(self, name: str) -> None:
                log.append((name, "cleanup 2"))
                if name == "test_bad_cleanup":
                    raise RuntimeError("cleanup")

            async def asyncTearDown(self) -> None:
                log.append((self._testMethodName, "asyncTearDown"))
                if self._testMethodName == "test_bad_async_tear_down":
                    raise RuntimeError("asyncTearDown")

            def tearDown(self) -> None:
                log.append((self._testMethodName, "tearDown"))
                if self._testMethodName == "test_bad_tear_down":
                    raise RuntimeError("tearDown")

            async def test_bad_async_tear_down(self) -> None:
                await asyncio.sleep(0)

            async def test_bad_tear_down(self) -> None:
                await asyncio.sleep(0)

            async def test_bad_cleanup(self) -> None:
                await asyncio.sleep(0)

            async def test_fails_too(self) -> None:
                self.fail("test")

        self.assert_like_stdlib(Case, log)

    def test_error_in_set_up(self) -> None:
        """An error in setUp or asyncSetUp skips the test and tearDown, not the cleanups."""
        log: list[tuple[str, str]] = []

        class Case(unittest.IsolatedAsyncioTestCase):
            def setUp(self) -> None:
                name = self._testMethodName
                self.addCleanup(log.append, (name, "cleanup"))
                log.append((name, "setUp"))
                if name == "test_sync_set_up_error":
                    raise ValueError("setUp")

            async def asyncSetUp(self) -> None:
                log.append((self._testMethodName, "asyncSetUp"))
                if self._testMethodName == "test_async_set_up_error":
                    raise ValueError("asyncSetUp")

            async def asyncTearDown(self) -> None:
                log.append((self._testMethodName, "asyncTearDown"))

            def tearDown(self) -> None:
                log.append((self._testMethodName, "tearDown"))

            async def test_sync_set_up_error(self) -> None:
                log.append((self._testMethodName, "test"))

            async def test_async_set_up_error(self) -> None:
                log.append((self._testMethodName, "test"))

            async def test_fine(self) -> None:
                log.append((self._testMethodName, "test"))

        self.assert_like_stdlib(Case, log)

    def test_cancelled_error_raised_by_the_test(self) -> None:
        """A CancelledError the test raises itself is its error; nothing hangs."""
        log: list[tuple[str, str]] = []

        class Case(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self) -> None:
                if self._testMethodName == "test_cancel_in_set_up":
                    raise asyncio.CancelledError

            async def asyncTearDown(self) -> None:
                log.append((self._testMethodName, "asyncTearDown"))

            async def test_cancel_in_test(self) -> None:
                await asyncio.sleep(0)
                raise asyncio.CancelledError

            async def test_cancel_in_set_up(self) -> None:
                pass

            async def test_peer(self) -> None:
                await asyncio.sleep(0)

        self.assert_like_stdlib(Case, log)


class TestOverlappingAssertions(unittest.TestCase):
    """assertLogs and assertWarns keep their meaning while members overlap inside them."""

    def test_overlapping_assert_logs_capture_their_own_records(self) -> None:
        """Two members inside assertLogs on one logger each capture only their own records."""
        logger = logging.getLogger("aiounit.tests.overlap")
        inside = {"test_a": asyncio.Event(), "test_b": asyncio.Event()}
        logged = {"test_a": asyncio.Event(), "test_b": asyncio.Event()}
        outputs: dict[str, list[str]] = {}

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def _body(self, other: str) -> None:
                name = self._testMethodName
                with self.assertLogs(logger, "INFO") as cm:
                    inside[name].set()
                    await inside[other].wait()
                    logger.info("from %s", name)
                    logged[name].set()
                    await logged[other].wait()
                outputs[name] = cm.output

            async def test_a(self) -> None:
                await self._body("test_b")

            async def test_b(self) -> None:
                await self._body("test_a")

        result = run_tests(Pair, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            outputs,
            {
                "test_a": ["INFO:aiounit.tests.overlap:from test_a"],
                "test_b": ["INFO:aiounit.tests.overlap:from test_b"],
            },
        )
        self.assertEqual(logger.handlers, [])

    def test_overlapping_assert_warns_catch_their_own_warnings(self) -> None:
        """Two members inside assertWarns at once each catch only their own warning."""
        inside = {"test_a": asyncio.Event(), "test_b": asyncio.Event()}
        warned = {"test_a": asyncio.Event(), "test_b": asyncio.Event()}
        caught: dict[str, str] = {}

        @aiounit.group()
        class Pair(aiounit.AsyncTestCase):
            async def _body(self, other: str) -> None:
                name = self._testMethodName
                with self.assertWarns(UserWarning) as cm:
                    inside[name].set()
                    await inside[other].wait()
                    warnings.warn(f"from {name}", UserWarning, stacklevel=1)
                    warned[name].set()
                    await warned[other].wait()
                caught[name] = str(cm.warning)

            async def test_a(self) -> None:
                await self._body("test_b")

            async def test_b(self) -> None:
                await self._body("test_a")

        # Keep this process's warning state whatever the members do to it.
        with warnings.catch_warnings():
            result = run_tests(Pair, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(caught, {"test_a": "from test_a", "test_b": "from test_b"})


class TestContextAndSetUp(unittest.TestCase):
    """Each member runs its whole lifecycle in its own task and context."""

    def test_set_ups_overlap(self) -> None:
        """One member's asyncSetUp can wait for another member's asyncSetUp to start."""
        started = {"test_a": asyncio.Event(), "test_b": asyncio.Event()}

        @aiounit.group("g")
        class Pair(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                started[self._testMethodName].set()
                other = "test_b" if self._testMethodName == "test_a" else "test_a"
                await started[other].wait()

            async def test_a(self) -> None:
                pass

            async def test_b(self) -> None:
                pass

        result = run_tests(Pair, timeout=1.0)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_contextvars_are_private_to_a_member(self) -> None:
        """A contextvar set in asyncSetUp is seen by that test's own parts only."""
        var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
        a_set, b_set = asyncio.Event(), asyncio.Event()
        seen: dict[tuple[str, str], str] = {}

        @aiounit.group("g")
        class Pair(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                seen[(self._testMethodName, "setUp")] = var.get("unset")

            async def asyncSetUp(self) -> None:
                name = self._testMethodName
                if name == "test_a":
                    var.set("a")
                    a_set.set()
                    await b_set.wait()
                else:
                    await a_set.wait()
                    seen[(name, "asyncSetUp before set")] = var.get("unset")
                    var.set("b")
                    b_set.set()
                self.addCleanup(self.record, "cleanup")
                self.addAsyncCleanup(self.async_record, "async cleanup")

            def record(self, part: str) -> None:
                seen[(self._testMethodName, part)] = var.get("unset")

            async def async_record(self, part: str) -> None:
                seen[(self._testMethodName, part)] = var.get("unset")

            async def asyncTearDown(self) -> None:
                await self.async_record("asyncTearDown")

            def tearDown(self) -> None:
                self.record("tearDown")

            async def test_a(self) -> None:
                await b_set.wait()
                self.record("test")

            async def test_b(self) -> None:
                await asyncio.sleep(0)
                self.record("test")

        result = run_tests(Pair, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        expected = {("test_b", "asyncSetUp before set"): "unset"}
        for name, value in (("test_a", "a"), ("test_b", "b")):
            expected[(name, "setUp")] = "unset"
            for part in ("test", "asyncTearDown", "tearDown", "cleanup", "async cleanup"):
                expected[(name, part)] = value
        self.assertEqual(seen, expected)

    def test_sync_member_context_reaches_its_tear_down(self) -> None:
        """A contextvar set by a sync test method is seen by its own teardown, as in stdlib."""
        var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
        seen: list[tuple[str, str]] = []

        class Case(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self) -> None:
                var.set("asyncSetUp")

            @aiounit.group("g")
            def test_sync(self) -> None:
                seen.append(("test", var.get()))
                var.set("test")

            async def asyncTearDown(self) -> None:
                seen.append(("asyncTearDown", var.get()))

            def tearDown(self) -> None:
                seen.append(("tearDown", var.get()))

        run_stdlib(Case)
        expected = seen[:]
        seen.clear()
        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            expected, [("test", "asyncSetUp"), ("asyncTearDown", "test"), ("tearDown", "test")]
        )
        self.assertEqual(seen, expected)

    def test_contextvar_set_by_a_test_does_not_leak_to_the_suite(self) -> None:
        """A contextvar set by a grouped test is not seen after the suite has run."""
        var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            async def test_sets(self) -> None:
                var.set("inside")

        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(var.get(), "outside")


class TestTimeouts(unittest.TestCase):
    """A timed-out test fails with TestTimeoutError; its teardown and cleanups run."""

    def test_timed_out_member_is_cleaned_up_and_peer_passes(self) -> None:
        """A hung member errs with TestTimeoutError, runs every cleanup, and spares its peer."""
        ran: list[str] = []
        cleaned = asyncio.Event()

        @contextlib.asynccontextmanager
        async def resource() -> Any:
            try:
                yield
            finally:
                ran.append("async context exit")

        class Pair(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                if self._testMethodName == "test_hangs":
                    self.addCleanup(cleaned.set)
                    self.addCleanup(ran.append, "cleanup")
                    self.addAsyncCleanup(self.async_cleanup)
                    await self.enterAsyncContext(resource())

            async def async_cleanup(self) -> None:
                ran.append("async cleanup")

            async def asyncTearDown(self) -> None:
                if self._testMethodName == "test_hangs":
                    ran.append("asyncTearDown")

            def tearDown(self) -> None:
                if self._testMethodName == "test_hangs":
                    ran.append("tearDown")

            @aiounit.group("g")
            @aiounit.timeout(0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

            @aiounit.group("g")
            async def test_peer(self) -> None:
                # Passes only if it is still running after its peer timed out.
                await cleaned.wait()

        result = RawResult()
        run_tests(Pair, result=result, timeout=1.0)
        self.assertEqual(
            ran, ["asyncTearDown", "tearDown", "async context exit", "async cleanup", "cleanup"]
        )
        self.assertEqual([name for name, _ in result.raw], ["test_hangs"])
        error = result.raw[0][1]
        self.assertIsInstance(error, aiounit.TestTimeoutError)
        self.assertIn("within 0.05 s", str(error))
        self.assertIn("test_hangs", str(error))
        self.assertIn(os.path.basename(__file__), str(error))
        self.assertEqual(len(result.errors), 1)
        self.assertEqual(result.failures, [])
        self.assertIn(("addSuccess", "test_peer"), result.events)

    def test_timeout_message_shows_where_it_waited(self) -> None:
        """The message names the line the test was stuck at."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.group()
            @aiounit.timeout(0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()  # the stuck line

        result = RawResult()
        run_tests(Case, result=result)
        error = result.raw[0][1]
        lines, first = inspect.getsourcelines(Case.test_hangs)
        stuck = first + next(i for i, line in enumerate(lines) if "the stuck line" in line)
        self.assertIn(f"{os.path.basename(__file__)}:{stuck} in test_hangs", str(error))
        self.assertIsInstance(error.__cause__, asyncio.CancelledError)

    def test_timeout_in_set_up_skips_tear_down_not_cleanups(self) -> None:
        """A hung asyncSetUp times out; as after a setup error, only the cleanups run."""
        ran: list[str] = []

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            timeout = 0.05

            async def asyncSetUp(self) -> None:
                self.addCleanup(ran.append, "cleanup")
                await asyncio.Event().wait()

            async def asyncTearDown(self) -> None:
                ran.append("asyncTearDown")

            async def test_a(self) -> None:
                ran.append("test")

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(ran, ["cleanup"])
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("asyncSetUp", str(result.raw[0][1]))

    def test_timeout_in_tear_down_still_runs_cleanups(self) -> None:
        """A hung asyncTearDown times out on its own limit; tearDown is cut, cleanups run."""
        ran: list[str] = []

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            timeout = 0.05

            async def asyncSetUp(self) -> None:
                self.addCleanup(ran.append, "cleanup")

            async def asyncTearDown(self) -> None:
                ran.append("asyncTearDown")
                await asyncio.Event().wait()

            async def test_a(self) -> None:
                ran.append("test")

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(ran, ["test", "asyncTearDown", "cleanup"])
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)

    def test_timeout_in_a_cleanup_still_runs_the_others(self) -> None:
        """A hung cleanup times out; the cleanups after it still run."""
        ran: list[str] = []

        async def hang() -> None:
            ran.append("hang")
            await asyncio.Event().wait()

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            timeout = 0.05

            async def test_a(self) -> None:
                self.addCleanup(ran.append, "last")
                self.addAsyncCleanup(hang)

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(ran, ["hang", "last"])
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)

    def test_swallowed_cancellation_is_still_a_timeout(self) -> None:
        """A test that catches the cancellation and returns still overran its limit."""

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            @aiounit.timeout(0.05)
            async def test_stubborn(self) -> None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)

    def test_own_timeout_error_is_an_ordinary_error(self) -> None:
        """A TimeoutError from the test's own code is not reported as a TestTimeoutError."""

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            timeout = 1

            async def test_own(self) -> None:
                async with asyncio.timeout(0):
                    await asyncio.Event().wait()

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(len(result.raw), 1)
        self.assertIs(type(result.raw[0][1]), TimeoutError)

    def test_timeout_of_expected_failure_is_an_error(self) -> None:
        """A timeout is an error even in an expectedFailure test."""

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            @unittest.expectedFailure
            @aiounit.timeout(0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(result.expectedFailures, [])
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)


class TestAsyncTestCaseAlone(unittest.TestCase):
    """An AsyncTestCase run outside ConcurrentTestSuite behaves like the stdlib's."""

    def test_run_with_result(self) -> None:
        """test.run(result) runs the whole lifecycle and reports to the result."""
        log: list[str] = []

        class Case(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                log.append("setUp")

            async def asyncSetUp(self) -> None:
                log.append("asyncSetUp")

            async def test_a(self) -> None:
                log.append("test")
                self.addAsyncCleanup(self.cleanup)

            async def cleanup(self) -> None:
                log.append("cleanup")

            async def asyncTearDown(self) -> None:
                log.append("asyncTearDown")

            def tearDown(self) -> None:
                log.append("tearDown")

        result = LoggingResult()
        self.assertIs(Case("test_a").run(result), result)
        self.assertEqual(
            log, ["setUp", "asyncSetUp", "test", "asyncTearDown", "tearDown", "cleanup"]
        )
        self.assertEqual(
            [e for e in result.events if e[0] != "addDuration"],
            [("startTest", "test_a"), ("addSuccess", "test_a"), ("stopTest", "test_a")],
        )

    def test_run_without_result(self) -> None:
        """test.run() makes, starts, stops and returns a default result."""

        class Case(aiounit.AsyncTestCase):
            async def test_fails(self) -> None:
                self.fail("no")

        result = Case("test_fails").run()
        assert isinstance(result, unittest.TestResult)
        self.assertEqual(result.testsRun, 1)
        self.assertEqual(len(result.failures), 1)

    def test_plain_test_suite(self) -> None:
        """A plain unittest.TestSuite runs AsyncTestCase tests one at a time, like stdlib."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                await asyncio.sleep(0)

            @aiounit.group("g")
            async def test_b(self) -> None:
                self.fail("b")

        result = run_stdlib(Case)
        blocks(result.events)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(len(result.failures), 1)

    def test_run_alone_honours_class_timeout(self) -> None:
        """A test run by itself still times out on its class attribute limit."""

        class Case(aiounit.AsyncTestCase):
            timeout = 0.05

            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

        result = RawResult()
        Case("test_hangs").run(result)
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("within 0.05 s", str(result.raw[0][1]))

    def test_run_alone_honours_method_timeout(self) -> None:
        """A test run by itself still times out on its @timeout limit."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.timeout(0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

        result = RawResult()
        unittest.TestSuite([Case("test_hangs")]).run(result)
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)

    def test_alarm_waits_at_most_timeout_max(self) -> None:
        """A huge limit (``--timeout inf``) does not kill the alarm thread.

        ``Condition.wait`` raises OverflowError past ``threading.TIMEOUT_MAX``;
        the thread died, and no later test run alone could be given up on.
        """

        class Stop(Exception):
            pass

        waits: list[float | None] = []

        def wait(timeout: float | None = None) -> bool:
            waits.append(timeout)
            raise Stop

        alarm = _alone._Alarm()
        owner: Any = object()
        alarm._armed[owner] = (time.monotonic() + math.inf, lambda phase: None, 1)
        alarm._cond.wait = wait  # type: ignore[method-assign]
        with self.assertRaises(Stop):
            alarm._run()
        self.assertEqual(len(waits), 1)
        assert waits[0] is not None
        self.assertLessEqual(waits[0], threading.TIMEOUT_MAX)

    def test_debug_runs_lifecycle(self) -> None:
        """debug() runs setUp, the test and tearDown, like the stdlib."""
        log: list[str] = []

        class Case(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                log.append("asyncSetUp")

            async def test_a(self) -> None:
                log.append("test")

            async def asyncTearDown(self) -> None:
                log.append("asyncTearDown")

        Case("test_a").debug()
        self.assertEqual(log, ["asyncSetUp", "test", "asyncTearDown"])

    def test_debug_raises(self) -> None:
        """debug() lets the test's exception out, like the stdlib."""

        class Case(aiounit.AsyncTestCase):
            async def test_fails(self) -> None:
                raise KeyError("debug me")

        with self.assertRaises(KeyError):
            Case("test_fails").debug()

    def test_suite_debug_raises(self) -> None:
        """ConcurrentTestSuite.debug() runs tests with debug(), letting errors out."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.group()
            async def test_fails(self) -> None:
                raise KeyError("debug me")

        suite = aiounit.ConcurrentTestSuite([Case("test_fails")])
        with self.assertRaises(KeyError):
            suite.debug()


if __name__ == "__main__":
    unittest.main()
