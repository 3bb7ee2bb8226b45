"""Tests of what a group reports about tests that misbehave: blocking, leaks, hangs, stops."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import io
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import aiounit
from tests._engine_support import RawResult, blocks
from tests._support import (
    BackgroundCase,
    LoggingResult,
    background_directory,
    child_env,
    run_parallel,
    run_python,
    run_tests,
    sigint_by_default,
    suite_of,
    write_files,
)

# Generous: a child that hangs fails its test instead of hanging the suite.
CHILD_TIMEOUT = 60

# Small limits keep every case fast; what is under test is that they are honoured.
# The timeout leaves room for the 0.15 s blocks under test; HANG is for hangs.
LIMITS: dict[str, Any] = {"timeout": 1.0, "grace": 0.05, "blocking_threshold": 0.05}
HANG: dict[str, Any] = {**LIMITS, "timeout": 0.05}
STOP_REASON = "not finished: the run was stopped (failfast or Ctrl-C) while it ran"


async def _meet(mine: asyncio.Event, other: asyncio.Event) -> None:
    """Pass only if the other test is running at the same time."""
    mine.set()
    await other.wait()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[io.StringIO]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        yield err


def _run_text(case: type, **kwargs: Any) -> tuple[Any, str]:
    """Run *case* under aiounit.TextTestRunner; return the result and the output."""
    stream = io.StringIO()
    result = aiounit.TextTestRunner(stream=stream).run(suite_of(case, **{**LIMITS, **kwargs}))
    return result, stream.getvalue()


def _blocker() -> type:
    """A group of a test that blocks the loop for 0.15 s and a peer that overlaps it."""
    a_started, b_started = asyncio.Event(), asyncio.Event()

    class Blocking(aiounit.AsyncTestCase):
        @aiounit.group("blocking")
        async def test_blocks(self) -> None:
            await _meet(a_started, b_started)
            time.sleep(0.15)  # noqa: ASYNC251 (the mistake under test)

        @aiounit.group("blocking")
        async def test_peer(self) -> None:
            # Ends before the block starts: only the blocking test can be named.
            await _meet(b_started, a_started)

    return Blocking


class TestBlockingDetection(unittest.TestCase):
    """A test that blocks the shared loop is named; it fails only when asked to."""

    def test_blocking_test_gets_a_warning(self) -> None:
        """The blocking test is named with how long it blocked and where; it still passes."""
        result, output = _run_text(_blocker())
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(result.diagnostics), 1)
        test, message = result.diagnostics[0]
        self.assertEqual(test._testMethodName, "test_blocks")
        self.assertRegex(message, r"^blocked the event loop for \d+\.\d\d s \(threshold 0.05 s\)")
        self.assertIn("test_diagnostics.py", message)
        self.assertIn("in test_blocks", message)
        self.assertIn("WARNING: test_blocks (", output)
        self.assertTrue(output.endswith("OK (warnings=1)\n"), output)

    def test_block_between_awaits_gets_a_warning(self) -> None:
        """A block followed by more awaits is charged to the test that blocked."""

        class Blocking(aiounit.AsyncTestCase):
            @aiounit.group("blocking")
            async def test_blocks(self) -> None:
                await asyncio.sleep(0)
                time.sleep(0.15)  # noqa: ASYNC251 (the block under test)
                await asyncio.sleep(0)

            @aiounit.group("blocking")
            async def test_peer(self) -> None:
                pass

        result, _ = _run_text(Blocking)
        self.assertEqual(
            [t._testMethodName for t, _ in result.diagnostics], ["test_blocks"], result.diagnostics
        )

    def test_plain_result_gets_a_warning_line_on_stderr(self) -> None:
        """Without addDiagnostic: "aiounit: warning: ..." on stderr, on a line of its own."""
        result = LoggingResult()
        with _quiet_stderr() as err:
            run_tests(_blocker(), result=result, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertTrue(err.getvalue().startswith("\naiounit: warning:"), err.getvalue())
        lines = err.getvalue().splitlines()[1:]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(
            lines[0],
            r"^aiounit: warning: test_blocks \(.*\): blocked the event loop for .* s"
            r" \(threshold 0.05 s\) at .*test_diagnostics.py:\d+ in test_blocks$",
        )

    def test_fail_on_blocking_makes_it_an_error(self) -> None:
        """With fail_on_blocking=True the blocking test errs and its peer passes."""
        result = RawResult()
        run_tests(_blocker(), result=result, fail_on_blocking=True, **LIMITS)
        self.assertEqual([name for name, _ in result.raw], ["test_blocks"])
        self.assertIsInstance(result.raw[0][1], RuntimeError)
        self.assertIn("blocked the event loop for", str(result.raw[0][1]))
        self.assertIn(("addSuccess", "test_peer"), result.events)

    def test_no_threshold_reports_nothing(self) -> None:
        """With blocking_threshold=None a blocking test is not reported at all."""
        result, output = _run_text(_blocker(), blocking_threshold=None)
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(result.diagnostics, [])
        self.assertNotIn("WARNING", output)

    @staticmethod
    def _many(count: int, body: Any) -> type:
        members = {f"test_{i:03}": body for i in range(count)}
        return aiounit.group("many")(type("Many", (aiounit.AsyncTestCase,), members))

    def test_a_garbage_collection_is_no_block_of_the_test_that_allocated(self) -> None:
        """A collection (long in a big group) is charged to no test; a block after it is."""

        def slow_collection(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                # What a full collection over 15 000 members takes: twice the
                # threshold, named if it were taken for a block of the test.
                time.sleep(0.1)

        def collect() -> None:
            gc.callbacks.append(slow_collection)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(slow_collection)

        class Collects(aiounit.AsyncTestCase):
            @aiounit.group("collects")
            async def test_collects(self) -> None:
                collect()
                await asyncio.sleep(0)

        class ThenBlocks(aiounit.AsyncTestCase):
            @aiounit.group("blocks")
            async def test_then_blocks(self) -> None:
                collect()
                time.sleep(0.15)  # noqa: ASYNC251 (the block under test)

        for cls, blamed in ((Collects, []), (ThenBlocks, ["test_then_blocks"])):
            with self.subTest(cls.__name__):
                result, _ = _run_text(cls)
                self.assertEqual(result.testsRun, 1)
                self.assertEqual(
                    [t._testMethodName for t, _ in result.diagnostics], blamed, result.diagnostics
                )
                for _, message in result.diagnostics:
                    self.assertIn("in test_then_blocks", message)

    def test_many_trivial_tests_starting_together_are_not_blocking(self) -> None:
        """Twenty trivial members starting in one loop step are not taken for a block."""

        async def trivial(self: unittest.TestCase) -> None:
            pass

        result, _ = _run_text(self._many(20, trivial))
        self.assertEqual(result.testsRun, 20)
        self.assertEqual(result.diagnostics, [])

    def test_many_short_blocks_in_a_row_are_not_one_block(self) -> None:
        """Twelve members each blocking 10 ms in one loop step are not named (threshold 50 ms)."""

        async def short_block(self: unittest.TestCase) -> None:
            time.sleep(0.01)  # noqa: ASYNC251 (the block under test)

        result, _ = _run_text(self._many(12, short_block))
        self.assertEqual(result.testsRun, 12)
        self.assertEqual(result.diagnostics, [])


class TestLeakedTasks(unittest.TestCase):
    """Tasks a test leaves running are cancelled at its end and reported against it."""

    def _leaker(self, events: list[tuple[Any, ...]]) -> type:
        class Leaky(aiounit.AsyncTestCase):
            @aiounit.group("leaks")
            async def test_leaks(self) -> None:
                started = asyncio.Event()

                async def forever() -> None:
                    started.set()
                    try:
                        await asyncio.Event().wait()
                    finally:
                        events.append(("finally", "forever"))

                asyncio.create_task(forever(), name="the-leak")  # noqa: RUF006 (the leaked task under test)
                await started.wait()

            @aiounit.group("leaks")
            async def test_tidy(self) -> None:
                await asyncio.create_task(asyncio.sleep(0))

        return Leaky

    def test_leaked_task_is_cancelled_before_its_test_is_reported(self) -> None:
        """The leaked task's finally ran before the test's result saw anything of it."""
        result = LoggingResult()
        with _quiet_stderr():  # the warning, for a result without addDiagnostic
            run_tests(self._leaker(result.events), result=result, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertLess(
            result.events.index(("finally", "forever")),
            result.events.index(("startTest", "test_leaks")),
        )

    def test_leaked_task_is_a_warning_by_default(self) -> None:
        """The test passes, with a warning naming the task; its tidy peer gets none."""
        result, output = _run_text(self._leaker([]))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(result.diagnostics), 1)
        test, message = result.diagnostics[0]
        self.assertEqual(test._testMethodName, "test_leaks")
        self.assertTrue(
            message.startswith("left 1 task(s) running, cancelled at its end: the-leak ("), message
        )
        self.assertIn("forever", message)
        self.assertTrue(output.endswith("OK (warnings=1)\n"), output)

    def test_fail_on_leaks_makes_it_an_error(self) -> None:
        """With fail_on_leaks=True the leaking test errs; the task was still cancelled."""
        events: list[tuple[Any, ...]] = []
        result = RawResult()
        run_tests(self._leaker(events), result=result, fail_on_leaks=True, **LIMITS)
        self.assertEqual([name for name, _ in result.raw], ["test_leaks"])
        self.assertIsInstance(result.raw[0][1], RuntimeError)
        self.assertIn("the-leak", str(result.raw[0][1]))
        self.assertIn(("addSuccess", "test_tidy"), result.events)
        self.assertEqual(events, [("finally", "forever")])

    @staticmethod
    def _stubborn() -> type:
        class Stubborn(aiounit.AsyncTestCase):
            @aiounit.group("leaks")
            async def test_leaks(self) -> None:
                async def stubborn() -> None:
                    while True:
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.Event().wait()

                asyncio.create_task(stubborn())  # noqa: RUF006 (the leaked task under test)
                await asyncio.sleep(0)

        return Stubborn

    # What these wait for is the stubborn task, which never ends: for the grace
    # period at the test's end, and again as the group ends.
    SHORT_GRACE = 0.02

    def test_leak_that_ignores_cancellation_is_named(self) -> None:
        """A leaked task that swallows its cancellation is reported so; the run ends."""
        with _quiet_stderr():
            result, _ = _run_text(self._stubborn(), grace=self.SHORT_GRACE)
            passed, messages = result.wasSuccessful(), [m for _, m in result.diagnostics]
            del result  # it holds the test, which holds the task
            gc.collect()  # asyncio's complaint about the task, if any, lands here
        self.assertTrue(passed)
        self.assertEqual(len(messages), 1)
        self.assertTrue(messages[0].endswith("; 1 ignored the cancellation"))

    def test_leak_that_ignores_cancellation_is_reported_once(self) -> None:
        """Nothing more is said about the stubborn task after its test's warning."""
        with _quiet_stderr() as err:
            _run_text(self._stubborn(), grace=self.SHORT_GRACE)
            gc.collect()
        self.assertEqual(err.getvalue(), "")


class TestLoopCallbackErrors(unittest.TestCase):
    """An exception in a loop callback is charged to the test that scheduled it.

    With fail_on_loop_errors it is an error of that test; see TestLoopErrorsWarn
    for the default.
    """

    def test_call_soon_error_is_charged_to_its_test(self) -> None:
        """A call_soon callback that raises errs its test; the overlapping peer passes."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        def explode() -> None:
            raise ZeroDivisionError("from a callback")

        class Callbacks(aiounit.AsyncTestCase):
            @aiounit.group("callbacks")
            async def test_schedules(self) -> None:
                await _meet(a_started, b_started)
                asyncio.get_running_loop().call_soon(explode)
                for _ in range(3):
                    await asyncio.sleep(0)

            @aiounit.group("callbacks")
            async def test_peer(self) -> None:
                await _meet(b_started, a_started)
                for _ in range(3):
                    await asyncio.sleep(0)

        result = RawResult()
        run_tests(Callbacks, result=result, fail_on_loop_errors=True, **LIMITS)
        blocks(result.events)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([name for name, _ in result.raw], ["test_schedules"])
        self.assertIsInstance(result.raw[0][1], ZeroDivisionError)
        self.assertIn(("addSuccess", "test_peer"), result.events)

    def test_unretrieved_task_exception_is_charged_to_its_test(self) -> None:
        """A task the test spawned and never awaited, which raised, errs that test."""

        class Unawaited(aiounit.AsyncTestCase):
            @aiounit.group("callbacks")
            async def test_spawns(self) -> None:
                async def fails() -> None:
                    raise KeyError("nobody awaited me")

                asyncio.create_task(fails())  # noqa: RUF006 (the leaked task under test)
                for _ in range(3):
                    await asyncio.sleep(0)

            @aiounit.group("callbacks")
            async def test_peer(self) -> None:
                await asyncio.sleep(0)

        result = RawResult()
        run_tests(Unawaited, result=result, fail_on_loop_errors=True, **LIMITS)
        self.assertEqual([name for name, _ in result.raw], ["test_spawns"])
        self.assertIsInstance(result.raw[0][1], KeyError)
        self.assertIn(("addSuccess", "test_peer"), result.events)


class TestMisbehavingTests(unittest.TestCase):
    """Whatever a member does, it errs alone: its peers pass and the run goes on."""

    @staticmethod
    def _pair(misbehave: Any) -> type:
        bad_started, peer_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("pair")
            async def test_bad(self) -> None:
                await _meet(bad_started, peer_started)
                await misbehave()

            @aiounit.group("pair")
            async def test_peer(self) -> None:
                await _meet(peer_started, bad_started)
                for _ in range(3):
                    await asyncio.sleep(0)

            def test_z_after(self) -> None:
                pass  # not in the group: runs once the group is over

        return Pair

    def _assert_only_bad_errs(self, misbehave: Any) -> BaseException:
        result = RawResult()
        run_tests(self._pair(misbehave), result=result, **LIMITS)
        blocks(result.events)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([name for name, _ in result.raw], ["test_bad"], result.raw)
        self.assertIn(("addSuccess", "test_peer"), result.events)
        self.assertIn(("addSuccess", "test_z_after"), result.events)
        return result.raw[0][1]

    def test_each_misbehaviour_is_an_error_of_that_test_only(self) -> None:
        """loop.stop(), nested asyncio.run(), SystemExit, RecursionError, a bad __str__."""

        async def stops_the_loop() -> None:
            asyncio.get_running_loop().stop()

        async def nested_run() -> None:
            async def inner() -> None:
                pass

            coro = inner()
            try:
                asyncio.run(coro)
            finally:
                coro.close()  # 3.11 leaves it unawaited

        async def system_exit() -> None:
            raise SystemExit(3)

        async def recursion() -> None:
            def down() -> None:
                down()

            down()

        class Unprintable(Exception):
            def __str__(self) -> str:
                raise ValueError("no str for you")

        async def bad_str() -> None:
            raise Unprintable

        cases = [
            (stops_the_loop, RuntimeError, "a test must not stop the shared event loop"),
            (nested_run, RuntimeError, "cannot be called from a running event loop"),
            (system_exit, SystemExit, "3"),
            (recursion, RecursionError, "maximum recursion depth"),
            (bad_str, Unprintable, None),
        ]
        for misbehave, kind, text in cases:
            with self.subTest(misbehaviour=misbehave.__name__):
                error = self._assert_only_bad_errs(misbehave)
                self.assertIsInstance(error, kind)
                if text is not None:
                    self.assertIn(text, str(error))

    def test_bad_str_is_still_reported_by_the_text_result(self) -> None:
        """An exception whose str() raises shows up as an ERROR with the stdlib's placeholder."""

        class Unprintable(Exception):
            def __str__(self) -> str:
                raise ValueError("no str for you")

        async def bad_str() -> None:
            raise Unprintable

        result, output = _run_text(self._pair(bad_str))
        self.assertEqual(result.testsRun, 3)
        self.assertIn("ERROR: test_bad (", output)
        self.assertIn("<exception str() failed>", output)
        self.assertTrue(output.endswith("FAILED (errors=1)\n"), output)

    def _assert_system_exit_is_charged(self, misbehave: Any) -> None:
        try:
            error = self._assert_only_bad_errs(misbehave)
        except SystemExit:
            self.fail("SystemExit escaped the run")
        self.assertIsInstance(error, SystemExit)

    def test_system_exit_in_a_spawned_task_is_an_error_of_that_test(self) -> None:
        """SystemExit raised in a task the test spawned errs that test only."""

        async def exits() -> None:
            raise SystemExit(3)

        async def spawns() -> None:
            await asyncio.create_task(exits())

        self._assert_system_exit_is_charged(spawns)

    def test_system_exit_in_a_callback_is_an_error_of_that_test(self) -> None:
        """SystemExit raised in a call_soon callback errs the test that scheduled it."""

        async def schedules() -> None:
            asyncio.get_running_loop().call_soon(sys.exit, 3)
            for _ in range(3):
                await asyncio.sleep(0)

        self._assert_system_exit_is_charged(schedules)


def _stubborn_member() -> type:
    """A group whose member swallows every cancellation, and an overlapping peer."""
    stubborn_started, peer_started = asyncio.Event(), asyncio.Event()

    class Stubborn(aiounit.AsyncTestCase):
        @aiounit.group("hang")
        async def test_stubborn(self) -> None:
            await _meet(stubborn_started, peer_started)
            while True:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()

        @aiounit.group("hang")
        async def test_peer(self) -> None:
            await _meet(peer_started, stubborn_started)

        def test_z_after(self) -> None:
            pass

    return Stubborn


class TestHangSafety(unittest.TestCase):
    """A test that will not stop is given up on; the run ends and nothing else is lost."""

    def setUp(self) -> None:
        # A member given up on stays a pending coroutine in a reference cycle;
        # collect it here, outside any event loop, so that it cannot disturb a
        # later test (see test_given_up_member_collected_later_leaves_others_alone).
        self.addCleanup(gc.collect)

    def test_test_ignoring_cancellation_is_given_up_on(self) -> None:
        """Past timeout + grace, it errs with TestTimeoutError; peers and later tests still run."""
        result = RawResult()
        run_tests(_stubborn_member(), result=result, **HANG)
        blocks(result.events)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([name for name, _ in result.raw], ["test_stubborn"])
        error = result.raw[0][1]
        self.assertIsInstance(error, aiounit.TestTimeoutError)
        self.assertIn("did not finish within 0.05 s and ignored its cancellation", str(error))
        self.assertIn("it was given up on", str(error))
        self.assertIn(("addSuccess", "test_peer"), result.events)
        self.assertIn(("addSuccess", "test_z_after"), result.events)

    def test_given_up_member_collected_later_leaves_others_alone(self) -> None:
        """Collecting a given-up member during a later group does not touch that group."""
        if gc.isenabled():
            gc.disable()  # collect exactly when the test below says so
            self.addCleanup(gc.enable)
        gc.collect()
        run_tests(_stubborn_member(), **HANG)  # its result is dropped at once

        class Later(aiounit.AsyncTestCase):
            @aiounit.group("later")
            async def test_innocent(self) -> None:
                gc.collect()
                await asyncio.sleep(0.1)  # a test that takes a while, nothing more

        result = RawResult()
        run_tests(Later, result=result, **LIMITS)
        self.assertIn(("addSuccess", "test_innocent"), result.events)


# The watchdog interrupts with SIGUSR2 (pthread_kill); -c is tested with SIGINT.
_POSIX_ONLY = unittest.skipUnless(hasattr(signal, "pthread_kill"), "needs POSIX signals")


class _ChildRun(unittest.TestCase):
    """Runs ``python -m aiounit`` on a temp dir holding one generated test module."""

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def write(self, source: str) -> None:
        with open(os.path.join(self.dir, "test_child.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))

    def env(self) -> dict[str, str]:
        return child_env(drop=["PYTHONWARNINGS"])

    def run_child(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_python(
            "-m",
            "aiounit",
            *args,
            cwd=self.dir,
            env=self.env(),
            timeout=CHILD_TIMEOUT,
            werror=False,
        )

    def start_child(self, *args: str) -> subprocess.Popen[str]:
        with sigint_by_default():  # TestCatch presses Ctrl-C
            proc = subprocess.Popen(
                [sys.executable, "-m", "aiounit", *args],
                cwd=self.dir,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        self.addCleanup(self._reap, proc)
        return proc

    @staticmethod
    def _reap(proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    def read_line(self, proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:  # the child ended early: show why
            _, err = proc.communicate(timeout=CHILD_TIMEOUT)
            self.fail(f"child ended with {proc.returncode} before printing a line:\n{err}")
        return line


_BLOCKS_PAST_TIMEOUT = """
    import asyncio
    import time
    import unittest

    import aiounit


    @aiounit.group(timeout=0.05)
    class TestGroup(aiounit.AsyncTestCase):
        async def test_a_blocks(self):
            time.sleep(5)

        async def test_b_peer(self):
            await asyncio.sleep(0)


    class TestAfter(unittest.TestCase):
        def test_after(self):
            pass
"""

_SHORT_BLOCK_AFTER_A_LONG_ONE = """
    import time

    import aiounit


    @aiounit.group(timeout=0.1)
    class TestGroup(aiounit.AsyncTestCase):
        async def test_a_blocks(self):
            time.sleep(5)

        async def test_b_blocks_briefly(self):
            time.sleep(0.06)  # under its timeout and under the threshold
"""

_CANNOT_BE_INTERRUPTED = """
    import asyncio
    import time

    import aiounit
    import aiounit._watchdog

    # The least time the interrupt gets to be answered before the run is aborted
    # (1 s, for a loaded machine; TestLateAnswer keeps it): this test never
    # answers it, so the run need not wait that long to abort.
    aiounit._watchdog.ABORT_AFTER_AT_LEAST = 0.05


    @aiounit.group(timeout=0.05)
    class TestGroup(aiounit.AsyncTestCase):
        async def test_1_quick(self):
            pass

        async def test_2_waits(self):
            await asyncio.Event().wait()

        async def test_3_stuck(self):
            for _ in range(5):  # test_1 ends (with the loop turns after its parts)
                await asyncio.sleep(0)
            while True:
                try:
                    time.sleep(5)
                except BaseException:
                    pass
"""


# Tests whose main thread gets aiounit's interrupt (SIGUSR2) late: held back
# until it is sent, then 0.1 s more, as a loaded machine may leave a thread
# unscheduled.  Past the 0.05 s grace, but the interrupt still lands.
_ANSWERS_LATE = """
    import signal
    import time
    import unittest

    import aiounit
    import aiounit._alone

    # How much later than a lone test's give-up its alarm looks, lest it take a
    # busy loop for a blocked one (0.1 s): TestAlone's sync test has no loop.
    aiounit._alone._MARGIN = 0.0


    def answer_late():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
        try:
            signal.sigwait({signal.SIGUSR2})  # the interrupt was sent
            time.sleep(0.1)  # not scheduled for a while
            signal.raise_signal(signal.SIGUSR2)  # pending until unblocked
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})


    class TestAlone(aiounit.AsyncTestCase):
        timeout = 0.05

        def test_sync_alone(self):
            answer_late()


    @aiounit.group(timeout=0.05)
    class TestGroup(aiounit.AsyncTestCase):
        async def test_in_group(self):
            answer_late()

        async def test_peer(self):
            pass
"""


def _child_runs(
    runs: dict[str, tuple[str, tuple[str, ...]]],
) -> Callable[[], dict[str, subprocess.CompletedProcess[str]]] | None:
    """A background job: for each of *runs* (a test module's source, arguments),
    ``python -m aiounit ARGS`` in a directory holding the module as test_child.py.

    For children whose test of time is their own (a block, a limit, a grace, an
    answer to the interrupt): they may run while other tests do.
    """
    if not hasattr(signal, "pthread_kill"):
        return None  # the classes skip (_POSIX_ONLY)
    env = child_env(drop=["PYTHONWARNINGS"])
    jobs = {}
    for name, (source, args) in runs.items():
        directory = background_directory()
        write_files(directory, {"test_child.py": source})
        jobs[name] = functools.partial(
            run_python,
            *("-m", "aiounit", *args),
            cwd=directory,
            env=env,
            timeout=CHILD_TIMEOUT,
            werror=False,
        )
    return functools.partial(run_parallel, jobs)


_LATE_ARGS = ("-v", "--grace", "0.05", "--blocking-threshold", "0")


@_POSIX_ONLY
class TestLateAnswer(BackgroundCase):
    """A blocked test whose thread answers the interrupt late is interrupted, not aborted."""

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        return _child_runs(
            {
                target: (_ANSWERS_LATE, (*_LATE_ARGS, f"test_child.{target}"))
                for target in ("TestAlone", "TestGroup")
            }
        )

    def check(self, target: str, failing: str, *more: str) -> None:
        proc = self.background_runs[target]
        err = proc.stderr
        self.assertNotIn("aborting the run", err)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(f"ERROR: {failing} (test_child.", err)
        self.assertEqual(err.count("aiounit.TestTimeoutError: "), 1, err)
        self.assertIn("; interrupted", err)
        for line in more:
            self.assertIn(line, err)
        self.assertTrue(err.endswith("\nFAILED (errors=1)\n"), err)

    def test_alone(self) -> None:
        """A sync test alone: a TestTimeoutError, and the run ends normally."""
        self.check("TestAlone", "test_sync_alone")

    def test_in_a_group(self) -> None:
        """A group member: a TestTimeoutError, its peer passes, the run ends normally."""
        self.check(
            "TestGroup", "test_in_group", "test_peer (test_child.TestGroup.test_peer) ... ok"
        )


@_POSIX_ONLY
class TestBlockedLoop(BackgroundCase):
    """A test that blocks the loop past timeout + grace is interrupted, or the run aborts."""

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        return _child_runs(
            {
                "past": (_BLOCKS_PAST_TIMEOUT, ("--grace", "0.05", "--blocking-threshold", "0.05")),
                "short": (
                    _SHORT_BLOCK_AFTER_A_LONG_ONE,
                    ("--grace", "0.05", "--blocking-threshold", "0.1"),
                ),
            }
        )

    def test_block_past_timeout_is_interrupted(self) -> None:
        """time.sleep(5) with timeout 0.05 s errs with TestTimeoutError; the run goes on."""
        proc = self.background_runs["past"]
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("ERROR: test_a_blocks (", proc.stderr)
        self.assertIn("TestTimeoutError: test_a_blocks (", proc.stderr)
        self.assertIn("past its 0.05 s timeout and 0.05 s grace; interrupted", proc.stderr)
        self.assertIn("WARNING: test_a_blocks (", proc.stderr)
        self.assertIn("Ran 3 tests", proc.stderr)
        self.assertIn("FAILED (errors=1, warnings=1)", proc.stderr)

    def test_short_block_after_an_interrupted_one_is_left_alone(self) -> None:
        """A member that blocks briefly right after an interrupted one passes, unnamed."""
        proc = self.background_runs["short"]
        self.assertIn("ERROR: test_a_blocks (", proc.stderr)
        self.assertNotIn("ERROR: test_b_blocks_briefly", proc.stderr)
        self.assertNotIn("WARNING: test_b_blocks_briefly", proc.stderr)
        self.assertIn("FAILED (errors=1, warnings=1)", proc.stderr)


@_POSIX_ONLY
class TestAbort(BackgroundCase):
    """A block that survives the interrupt ends the run with stacks and status 1."""

    proc: ClassVar[subprocess.CompletedProcess[str]]

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        # One run for both tests: it takes the timeout, the grace and the time
        # the interrupt gets to be answered (lowered in the child: see there).
        return _child_runs({"abort": (_CANNOT_BE_INTERRUPTED, ("--grace", "0.05"))})

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proc = cls.background_runs["abort"]

    def test_abort_names_the_stuck_test_and_what_ran(self) -> None:
        """It names the stuck test, prints every thread's stack and what ran, and exits 1."""
        err = self.proc.stderr
        self.assertEqual(self.proc.returncode, 1, err)
        self.assertIn("test_3_stuck (test_child.TestGroup.test_3_stuck) has blocked", err)
        self.assertIn("could not be interrupted; aborting the run", err)
        self.assertIn("Stacks of all threads:", err)
        self.assertRegex(err, r'test_child.py", line \d+ in test_3_stuck')
        self.assertIn("Before that, 1 test(s) ran: 0 failed, 0 errored", err)
        self.assertIn("Stuck: test_3_stuck (test_child.TestGroup.test_3_stuck)", err)

    def test_abort_shows_where_each_task_waits(self) -> None:
        """The abort report shows the stack of a member that was waiting, not only threads."""
        self.assertIn("test_2_waits", self.proc.stderr)


_CTRL_C = """
    import asyncio

    import aiounit


    class TestInFlight(aiounit.AsyncTestCase):
        async def asyncTearDown(self):
            print(f"teardown {self._testMethodName}", flush=True)
            if self._testMethodName == "test_waits" and HOLD:
                print("teardown waiting", flush=True)
                await asyncio.Event().wait()

        @aiounit.group("inflight")
        async def test_quick(self):
            pass

        @aiounit.group("inflight")
        async def test_waits(self):
            print("ready", flush=True)
            await asyncio.Event().wait()

        @aiounit.group("inflight")
        async def test_peer(self):
            await asyncio.Event().wait()


    class TestLater(aiounit.AsyncTestCase):
        @aiounit.group("later")
        async def test_never_started(self):
            print("later group started", flush=True)
"""


@_POSIX_ONLY
class TestCatch(_ChildRun):
    """-c: Ctrl-C stops the run cleanly; a second Ctrl-C aborts it."""

    def test_ctrl_c_cancels_in_flight_tests_and_prints_the_summary(self) -> None:
        """After SIGINT the in-flight members are torn down, reported as skips, and summed up."""
        self.write(_CTRL_C.replace("HOLD", "False"))
        proc = self.start_child("-c", "-v", "--grace", "30")
        while self.read_line(proc) != "ready\n":
            pass
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)  # as unittest -c: nothing failed
        self.assertIn("teardown test_waits\n", out)
        self.assertIn("teardown test_peer\n", out)
        self.assertNotIn("later group started", out)
        reason = f"skipped {STOP_REASON!r}"
        self.assertIn(f"test_waits (test_child.TestInFlight.test_waits) ... {reason}", err)
        self.assertIn(f"test_peer (test_child.TestInFlight.test_peer) ... {reason}", err)
        self.assertIn("test_quick (test_child.TestInFlight.test_quick) ... ok", err)
        self.assertIn("\nRan 3 tests in ", err)
        self.assertTrue(err.endswith("\nOK (skipped=2)\n"), err)

    def test_second_ctrl_c_aborts_at_once(self) -> None:
        """A second SIGINT while a teardown waits ends the run with a non-zero status."""
        self.write(_CTRL_C.replace("HOLD", "True"))
        # A long grace: only the second SIGINT can end this run in time.
        proc = self.start_child("-c", "-v", "--grace", "300")
        while self.read_line(proc) != "ready\n":
            pass
        proc.send_signal(signal.SIGINT)
        while self.read_line(proc) != "teardown waiting\n":
            pass
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        self.assertNotEqual(proc.returncode, 0, err)
        self.assertIn("KeyboardInterrupt", err)
        self.assertNotIn("later group started", out)
        self.assertNotIn("\nRan ", err)


class TestFailfast(unittest.TestCase):
    """failfast in a group: nothing new starts, in-flight members stop cleanly."""

    def test_failfast_cancels_in_flight_members_cleanly(self) -> None:
        """Running members are torn down and skipped, later ones never start; the summary shows."""
        log: list[tuple[str, str]] = []
        started = {"test_2": asyncio.Event(), "test_3": asyncio.Event()}

        @aiounit.group("failfast", max_concurrency=3)
        class Five(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                log.append(("asyncSetUp", self._testMethodName))
                self.addAsyncCleanup(self._cleanup)

            async def _cleanup(self) -> None:
                await asyncio.sleep(0)  # a stopped member can still await in cleanups
                log.append(("cleanup", self._testMethodName))

            async def asyncTearDown(self) -> None:
                await asyncio.sleep(0)
                log.append(("asyncTearDown", self._testMethodName))

            async def test_1(self) -> None:
                for event in started.values():
                    await event.wait()
                self.fail("first failure")

            async def test_2(self) -> None:
                started["test_2"].set()
                await asyncio.Event().wait()

            async def test_3(self) -> None:
                started["test_3"].set()
                await asyncio.Event().wait()

            async def test_4(self) -> None:
                pass

            async def test_5(self) -> None:
                pass

        stream = io.StringIO()
        result = aiounit.TextTestRunner(stream=stream, failfast=True).run(
            suite_of(Five, timeout=1.0, grace=1.0)
        )
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([t._testMethodName for t, _ in result.failures], ["test_1"])
        self.assertEqual(
            sorted((t._testMethodName, reason) for t, reason in result.skipped),
            [("test_2", STOP_REASON), ("test_3", STOP_REASON)],
        )
        for name in ("test_1", "test_2", "test_3"):
            with self.subTest(test=name):
                mine = [what for what, test in log if test == name]
                self.assertEqual(mine, ["asyncSetUp", "asyncTearDown", "cleanup"])
        self.assertNotIn("test_4", {test for _, test in log})
        self.assertNotIn("test_5", {test for _, test in log})
        self.assertTrue(
            stream.getvalue().endswith("FAILED (failures=1, skipped=2)\n"), stream.getvalue()
        )


if __name__ == "__main__":
    unittest.main()
