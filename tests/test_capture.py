"""Tests of per-test output, logging and durations while the tests of a group overlap."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
import threading
import unittest
from collections.abc import Iterator
from typing import Any

import aiounit
from tests._support import Steps, suite_of


def _noisy_pair(*, fail: bool = True) -> type:
    """Two overlapping tests that write to stdout and stderr in every way a test can.

    Each writes directly, from a task it spawned, from ``asyncio.to_thread``,
    and to stderr without a final newline; the two are in lockstep, so their
    writes interleave.  With *fail*, test_a fails and test_b errs; test_c, a
    third member, always passes and is noisy too.
    """
    steps = Steps("a", "b", "c")

    async def body(case: unittest.TestCase, me: str) -> None:
        print(f"print {me}")
        await steps.step(me, 1)

        async def child() -> None:
            await steps.step(me, 2)
            print(f"task {me}")

        await asyncio.create_task(child())
        await steps.step(me, 3)
        await asyncio.to_thread(print, f"thread {me}")
        await steps.step(me, 4)
        sys.stderr.write(f"stderr {me}")
        await steps.step(me, 5)

    class Noisy(aiounit.AsyncTestCase):
        @aiounit.group("noisy")
        async def test_a(self) -> None:
            await body(self, "a")
            if fail:
                self.fail("a failed")

        @aiounit.group("noisy")
        async def test_b(self) -> None:
            await body(self, "b")
            if fail:
                raise LookupError("b erred")

        @aiounit.group("noisy")
        async def test_c(self) -> None:
            await body(self, "c")

    return Noisy


def _captured(me: str) -> str:
    """The text unittest appends to a failing test's report for *me*'s output."""
    return f"\nStdout:\nprint {me}\ntask {me}\nthread {me}\n\nStderr:\nstderr {me}\n"


@contextlib.contextmanager
def _fake_streams() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Swap sys.stdout and sys.stderr for string buffers, as a terminal stand-in."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def _reports(result: unittest.TestResult) -> dict[str, str]:
    """Each failed or erred test's report text, by method name."""
    return {test._testMethodName: text for test, text in [*result.failures, *result.errors]}


class TestBufferUnderConcurrency(unittest.TestCase):
    """With -b, what a test writes is shown with its own failure, whatever the result class."""

    def test_output_lands_on_its_own_test_with_aiounit_result(self) -> None:
        """Under TextTestRunner(buffer=True), each failure shows exactly its own test's output."""
        stream = io.StringIO()
        with _fake_streams():
            result = aiounit.TextTestRunner(stream=stream, buffer=True).run(
                suite_of(_noisy_pair(), timeout=1.0)
            )
        reports = _reports(result)
        self.assertEqual(sorted(reports), ["test_a", "test_b"])
        self.assertTrue(reports["test_a"].endswith("AssertionError: a failed\n" + _captured("a")))
        self.assertTrue(reports["test_b"].endswith("LookupError: b erred\n" + _captured("b")))
        output = stream.getvalue()
        self.assertIn(_captured("a"), output)
        self.assertIn(_captured("b"), output)
        self.assertIn("FAILED (failures=1, errors=1)", output)

    def test_output_lands_on_its_own_test_with_a_plain_result(self) -> None:
        """Under a plain unittest.TestResult(buffer=True), the same holds."""
        with _fake_streams():
            result = unittest.TestResult()
            result.buffer = True
            suite_of(_noisy_pair(), timeout=1.0).run(result)
        reports = _reports(result)
        self.assertEqual(sorted(reports), ["test_a", "test_b"])
        self.assertTrue(reports["test_a"].endswith("AssertionError: a failed\n" + _captured("a")))
        self.assertTrue(reports["test_b"].endswith("LookupError: b erred\n" + _captured("b")))
        self.assertEqual(result.testsRun, 3)

    def test_passing_tests_output_is_dropped(self) -> None:
        """A passing member's output appears nowhere, with either result class."""
        for make in ("aiounit", "plain"):
            with self.subTest(result=make):
                stream = io.StringIO()
                with _fake_streams() as (out, err):
                    suite = suite_of(_noisy_pair(fail=False), timeout=1.0)
                    result: unittest.TestResult
                    if make == "aiounit":
                        result = aiounit.TextTestRunner(stream=stream, buffer=True).run(suite)
                    else:
                        result = unittest.TestResult()
                        result.buffer = True
                        suite.run(result)
                self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
                self.assertEqual(result.testsRun, 3)
                everything = out.getvalue() + err.getvalue() + stream.getvalue()
                for me in "abc":
                    for what in ("print", "task", "thread", "stderr"):
                        self.assertNotIn(f"{what} {me}", everything)

    def test_without_buffer_output_is_not_captured(self) -> None:
        """Without -b, tests write straight to sys.stdout/sys.stderr and reports hold no output."""
        with _fake_streams() as (out, err):
            result = unittest.TestResult()
            suite_of(_noisy_pair(), timeout=1.0).run(result)
        for me in "abc":
            with self.subTest(test=me):
                for line in (f"print {me}\n", f"task {me}\n", f"thread {me}\n"):
                    self.assertIn(line, out.getvalue())
                self.assertIn(f"stderr {me}", err.getvalue())
        for text in _reports(result).values():
            self.assertNotIn("Stdout:", text)
            self.assertNotIn("Stderr:", text)

    def test_streams_are_restored_after_the_run(self) -> None:
        """sys.stdout and sys.stderr are the same objects after a buffered group as before."""
        for make in ("aiounit", "plain"):
            with self.subTest(result=make), _fake_streams() as (out, err):
                suite = suite_of(_noisy_pair(), timeout=1.0)
                if make == "aiounit":
                    aiounit.TextTestRunner(stream=io.StringIO(), buffer=True).run(suite)
                else:
                    result = unittest.TestResult()
                    result.buffer = True
                    suite.run(result)
                self.assertIs(sys.stdout, out)
                self.assertIs(sys.stderr, err)

    def test_sync_member_output_lands_on_its_own_test(self) -> None:
        """A sync member, run on a worker thread while an async one runs, has its own output."""
        sync_printed, async_printed = threading.Event(), threading.Event()

        class Mixed(aiounit.AsyncTestCase):
            @aiounit.group("mixed")
            def test_sync(self) -> None:
                print("from sync")
                sync_printed.set()
                self.assertTrue(async_printed.wait(1))
                self.fail("sync")

            @aiounit.group("mixed")
            async def test_async(self) -> None:
                print("from async")
                async_printed.set()
                self.assertTrue(await asyncio.to_thread(sync_printed.wait, 1))
                self.fail("async")

        with _fake_streams():
            result = unittest.TestResult()
            result.buffer = True
            suite_of(Mixed, timeout=1.0).run(result)
        reports = _reports(result)
        for name in ("sync", "async"):
            with self.subTest(test=name):
                self.assertTrue(
                    reports[f"test_{name}"].endswith(
                        f"AssertionError: {name}\n\nStdout:\nfrom {name}\n"
                    )
                )


class TestLoggingUnderConcurrency(unittest.TestCase):
    """Log records are attributed to the test that emitted them."""

    def setUp(self) -> None:
        self.logger = logging.getLogger(f"aiounit.tests.capture.{self._testMethodName}")
        saved = self.logger.handlers[:], self.logger.level, self.logger.propagate
        self.addCleanup(self._restore, saved)

    def _restore(self, saved: tuple[list[logging.Handler], int, bool]) -> None:
        self.logger.handlers, level, self.logger.propagate = saved
        self.logger.setLevel(level)

    def test_records_land_in_their_tests_captured_output(self) -> None:
        """Under -b, a StreamHandler on sys.stderr writes into the emitting test's Stderr."""
        logger = self.logger
        steps = Steps("a", "b")

        class Logging(aiounit.AsyncTestCase):
            async def _body(self, me: str) -> None:
                await steps.step(me, 1)
                logger.info("record of %s", me)
                await steps.step(me, 2)

                async def child() -> None:
                    logger.warning("task record of %s", me)

                await asyncio.create_task(child())
                await steps.step(me, 3)
                self.fail(me)

            @aiounit.group("logging")
            async def test_a(self) -> None:
                await self._body("a")

            @aiounit.group("logging")
            async def test_b(self) -> None:
                await self._body("b")

        with _fake_streams() as (_, err):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            result = unittest.TestResult()
            result.buffer = True
            suite_of(Logging, timeout=1.0).run(result)
            self.assertIs(handler.stream, err)
        reports = _reports(result)
        for me in "ab":
            with self.subTest(test=me):
                self.assertTrue(
                    reports[f"test_{me}"].endswith(
                        f"\nStderr:\nINFO record of {me}\nWARNING task record of {me}\n"
                    )
                )

    def test_assert_logs_and_assert_no_logs_see_only_their_own_records(self) -> None:
        """assertNoLogs in one test passes while a peer logs on the same logger."""
        logger = self.logger
        steps = Steps("quiet", "loud", "bystander")
        seen: dict[str, Any] = {}
        delivered: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                delivered.append(record.getMessage())

        logger.addHandler(Collect())
        logger.setLevel(logging.INFO)

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("logs")
            async def test_quiet(self) -> None:
                with self.assertNoLogs(logger, "DEBUG"):
                    await steps.step("quiet", 1)
                    await steps.step("quiet", 2)

            @aiounit.group("logs")
            async def test_loud(self) -> None:
                with self.assertLogs(logger, "INFO") as cm:
                    await steps.step("loud", 1)
                    logger.info("loud record")
                    await steps.step("loud", 2)
                seen["loud"] = cm.output

            @aiounit.group("logs")
            async def test_bystander(self) -> None:
                await steps.step("bystander", 1)
                logger.info("bystander record")
                await steps.step("bystander", 2)

        result = unittest.TestResult()
        suite_of(Pair, timeout=1.0).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(seen["loud"], [f"INFO:{logger.name}:loud record"])
        # A record of a test in no assertion reaches the logger's own handlers.
        self.assertEqual(delivered, ["bystander record"])

    def test_logger_state_is_restored(self) -> None:
        """Handlers, level and propagate of a logger captured by overlapping tests come back."""
        logger = self.logger
        handler = logging.NullHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        steps = Steps("a", "b")

        class Pair(aiounit.AsyncTestCase):
            async def _body(self, me: str) -> None:
                with self.assertLogs(logger, "DEBUG"):
                    await steps.step(me, 1)
                    logger.debug("in %s", me)
                    await steps.step(me, 2)

            @aiounit.group("logs")
            async def test_a(self) -> None:
                await self._body("a")

            @aiounit.group("logs")
            async def test_b(self) -> None:
                # Leaves before test_a does: the state stays shared until the last one.
                with self.assertNoLogs(logger, "DEBUG"):
                    await steps.step("b", 1)
                await steps.step("b", 2)

        result = unittest.TestResult()
        suite_of(Pair, timeout=1.0).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(logger.handlers, [handler])
        self.assertEqual(logger.level, logging.ERROR)
        self.assertFalse(logger.propagate)


class TestDurations(unittest.TestCase):
    """--durations times each member of a group, setup and teardown included, on 3.11 too."""

    @staticmethod
    def _trio() -> type:
        """test_a waits in asyncSetUp and test_b in asyncTearDown until test_c is over.

        Both start before test_c and end after it, so each one's time covers
        test_c's, although their test methods do nothing: they can only be
        listed as slower if setup and teardown are timed.
        """
        c_done = asyncio.Event()

        class Trio(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                if self._testMethodName == "test_a_slow_set_up":
                    await c_done.wait()

            async def asyncTearDown(self) -> None:
                if self._testMethodName == "test_b_slow_tear_down":
                    await c_done.wait()
                elif self._testMethodName == "test_c_quick":
                    c_done.set()

            @aiounit.group("durations")
            async def test_a_slow_set_up(self) -> None:
                pass

            @aiounit.group("durations")
            async def test_b_slow_tear_down(self) -> None:
                pass

            @aiounit.group("durations")
            async def test_c_quick(self) -> None:
                for _ in range(10):
                    await asyncio.sleep(0)

        return Trio

    def test_durations_include_set_up_and_tear_down(self) -> None:
        """Members slow in setup or teardown only are timed as slower than a quick peer."""
        result = aiounit.TextTestRunner(stream=io.StringIO(), durations=0).run(
            suite_of(self._trio(), timeout=1.0)
        )
        assert isinstance(result, aiounit.TextTestResult)
        self.assertTrue(result.wasSuccessful())
        durations = dict(result.collectedDurations)
        self.assertEqual(len(durations), 3)
        quick = next(v for k, v in durations.items() if "test_c_quick" in k)
        for name in ("test_a_slow_set_up", "test_b_slow_tear_down"):
            with self.subTest(test=name):
                slow = next(v for k, v in durations.items() if name in k)
                self.assertGreater(slow, quick)

    def test_durations_table_lists_the_n_slowest(self) -> None:
        """durations=2 prints the two members slow in setup/teardown, not the quick one."""
        stream = io.StringIO()
        aiounit.TextTestRunner(stream=stream, durations=2, verbosity=2).run(
            suite_of(self._trio(), timeout=1.0)
        )
        table = stream.getvalue().split("Slowest test durations\n", 1)[1].split("\n\n", 1)[0]
        rows = table.splitlines()[1:]  # below the separator
        self.assertEqual(len(rows), 2, table)
        self.assertEqual(
            sorted(row.split()[1] for row in rows),
            ["test_a_slow_set_up", "test_b_slow_tear_down"],
        )


if __name__ == "__main__":
    unittest.main()
