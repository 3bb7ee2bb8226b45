"""What a test can do to its loop, its task and its peers, and what aiounit still guarantees.

Each case is compared with stock ``IsolatedAsyncioTestCase`` where the stdlib
has an answer: a test that cancels its own task or stops the loop is an error
of that test, its teardown runs, and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
import unittest
import weakref
from typing import Any

import aiounit
from tests._engine_support import RawResult, by_test, run_stdlib
from tests._support import LoggingResult, run_tests, suite_of

# Tiny limits: what is under test is that they are honoured, not how long.
FAST: dict[str, Any] = {"timeout": 0.05, "grace": 0.05}


def _self_cancelling(base: type, log: list[str], *, grouped: bool) -> type:
    """A class whose first test cancels its own task and second stops the loop."""

    class SelfCancel(base):  # type: ignore[misc]
        async def asyncTearDown(self) -> None:
            log.append(f"asyncTearDown {self._testMethodName}")

        async def test_a_cancels_itself(self) -> None:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)

        async def test_b_later(self) -> None:
            log.append("test_b_later ran")

    if grouped:
        aiounit.group("faults")(SelfCancel)
    return SelfCancel


def _outcomes(result: LoggingResult) -> dict[str, list[str]]:
    return {name: [e[0] for e in events] for name, events in by_test(result.events).items()}


def _within(seconds: float, loops: list[asyncio.AbstractEventLoop], run: Any) -> Any:
    """Run *run*; if the group's loop (the first test puts it in *loops*) has not
    ended after *seconds*, interrupt it so that a hang fails the test instead."""
    ended = threading.Event()

    def interrupt() -> None:
        raise KeyboardInterrupt

    def watch() -> None:
        if not ended.wait(seconds) and loops:
            loops[0].call_soon_threadsafe(interrupt)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return run()
    except KeyboardInterrupt:
        raise AssertionError(f"the group had not ended after {seconds} s") from None
    finally:
        ended.set()
        watcher.join()


class TestSelfCancel(unittest.TestCase):
    """A test that cancels its own task: an error of that test, as in the stdlib.

    #15 items 1, 2.
    """

    def check(self, result: RawResult, log: list[str]) -> None:
        self.assertEqual(
            _outcomes(result),
            {
                "test_a_cancels_itself": ["startTest", "addError", "stopTest"],
                "test_b_later": ["startTest", "addSuccess", "stopTest"],
            },
        )
        self.assertIsInstance(result.raw[0][1], asyncio.CancelledError)
        self.assertIn("asyncTearDown test_a_cancels_itself", log)
        self.assertIn("test_b_later ran", log)

    def test_stdlib_reference(self) -> None:
        log: list[str] = []
        result = run_stdlib(
            _self_cancelling(unittest.IsolatedAsyncioTestCase, log, grouped=False),
            result=RawResult(),
        )
        self.check(result, log)

    def test_in_a_group(self) -> None:
        log: list[str] = []
        result = run_tests(
            _self_cancelling(aiounit.AsyncTestCase, log, grouped=True), result=RawResult()
        )
        self.check(result, log)

    def test_alone_under_aiounit(self) -> None:
        log: list[str] = []
        result = run_tests(
            _self_cancelling(aiounit.AsyncTestCase, log, grouped=False), result=RawResult()
        )
        self.check(result, log)

    def test_alone_under_stock_unittest(self) -> None:
        log: list[str] = []
        result = run_stdlib(
            _self_cancelling(aiounit.AsyncTestCase, log, grouped=False), result=RawResult()
        )
        self.check(result, log)

    def test_alone_with_a_limit(self) -> None:
        log: list[str] = []
        result = run_tests(
            _self_cancelling(aiounit.AsyncTestCase, log, grouped=False),
            result=RawResult(),
            timeout=5,
        )
        self.check(result, log)


class TestLoopStop(unittest.TestCase):
    """``loop.stop()`` in a test run alone: an error of that test; the run goes on (#15 item 2)."""

    def make(self, base: type, log: list[str]) -> type:
        class Stops(base):  # type: ignore[misc]
            async def asyncTearDown(self) -> None:
                log.append("asyncTearDown")

            async def test_a_stops_the_loop(self) -> None:
                asyncio.get_running_loop().stop()
                await asyncio.sleep(0)

            async def test_b_later(self) -> None:
                log.append("test_b_later ran")

        return Stops

    def test_same_as_the_stdlib(self) -> None:
        summaries = []
        for base, run in (
            (unittest.IsolatedAsyncioTestCase, run_stdlib),
            (aiounit.AsyncTestCase, run_stdlib),
            (aiounit.AsyncTestCase, run_tests),
        ):
            with self.subTest(base=base.__name__, run=run.__name__):
                log: list[str] = []
                result = run(self.make(base, log), result=RawResult())
                self.assertEqual(log, ["asyncTearDown", "test_b_later ran", "asyncTearDown"])
                self.assertEqual(len(result.raw), 1)
                summaries.append((type(result.raw[0][1]), str(result.raw[0][1])))
        self.assertEqual(len(set(summaries)), 1, summaries)


class TestCancellingEveryTask(unittest.TestCase):
    """A member that cancels every task of the loop (#15 item 3)."""

    def test_the_group_survives_and_peers_learn_who(self) -> None:
        log: list[str] = []
        started = asyncio.Event()

        @aiounit.group("faults")
        class Shutdown(aiounit.AsyncTestCase):
            async def asyncTearDown(self) -> None:
                log.append(f"asyncTearDown {self._testMethodName}")

            async def test_a_peer(self) -> None:
                started.set()
                await asyncio.Event().wait()

            async def test_b_cancels_all(self) -> None:
                await started.wait()
                for task in asyncio.all_tasks():
                    task.cancel()
                await asyncio.sleep(0)

        result = run_tests(Shutdown, result=RawResult())
        self.assertEqual(result.testsRun, 2)
        errors = dict(result.raw)
        self.assertIsInstance(errors["test_a_peer"], asyncio.CancelledError)
        notes = getattr(errors["test_a_peer"], "__notes__", [])
        self.assertTrue(any("test_b_cancels_all" in note for note in notes), notes)
        self.assertIsInstance(errors["test_b_cancels_all"], asyncio.CancelledError)
        self.assertEqual(
            sorted(log), ["asyncTearDown test_a_peer", "asyncTearDown test_b_cancels_all"]
        )

    def test_a_peer_cancelled_between_parts_is_still_reported(self) -> None:
        """Cancelled while no part of it runs (settling its tasks): still one report, an error."""
        peer_settling = asyncio.Event()

        @aiounit.group("faults")
        class Between(aiounit.AsyncTestCase):
            async def test_a_leaks(self) -> None:
                async def stubborn() -> None:
                    try:
                        await asyncio.Event().wait()
                    finally:
                        peer_settling.set()
                        await asyncio.sleep(0)
                        await asyncio.sleep(0)

                asyncio.ensure_future(stubborn())  # noqa: RUF006 (the leftover under test)
                await asyncio.sleep(0)

            async def test_b_cancels_all(self) -> None:
                await peer_settling.wait()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

        result = run_tests(Between, result=RawResult(), grace=1.0)
        self.assertEqual(result.testsRun, 2)
        outcomes = _outcomes(result)
        self.assertEqual(outcomes["test_a_leaks"][0], "startTest")
        self.assertEqual(outcomes["test_a_leaks"][-1], "stopTest")
        self.assertEqual(outcomes["test_a_leaks"].count("startTest"), 1)
        self.assertIn("addError", outcomes["test_a_leaks"])
        self.assertEqual(outcomes["test_b_cancels_all"], ["startTest", "addSuccess", "stopTest"])

    def test_a_member_cancelled_before_it_began_is_reported(self) -> None:
        """With max_concurrency, a member's task exists a moment before its first step; a peer
        that cancels every task then kills it before any of its code runs (FI-27: the group
        waited for it forever).  It is reported once, naming the peer, and its slot is freed."""
        loops: list[asyncio.AbstractEventLoop] = []
        seen: list[str] = []

        @aiounit.group("capped", max_concurrency=2)
        class Capped(aiounit.AsyncTestCase):
            async def test_a_ends(self) -> None:
                loops.append(asyncio.get_running_loop())

            async def test_b_cancels_all(self) -> None:
                me = asyncio.current_task()
                before = asyncio.all_tasks()
                for _ in range(1000):  # until test_a's slot went to test_c
                    await asyncio.sleep(0)
                    if any(not t.done() for t in asyncio.all_tasks() - before):
                        break
                seen.append("c created" if "c ran" not in seen else "c began first")
                for task in asyncio.all_tasks():
                    if task is not me:
                        task.cancel()

            async def test_c_admitted_next(self) -> None:
                seen.append("c ran")

            async def test_d_last(self) -> None:
                seen.append("d ran")

        result = _within(3.0, loops, lambda: run_tests(Capped, result=RawResult()))
        self.assertEqual(seen, ["c created", "d ran"])
        self.assertEqual(result.testsRun, 4)
        outcomes = _outcomes(result)
        self.assertEqual(outcomes["test_c_admitted_next"], ["startTest", "addError", "stopTest"])
        self.assertEqual(outcomes["test_d_last"], ["startTest", "addSuccess", "stopTest"])
        error = dict(result.raw)["test_c_admitted_next"]
        self.assertIsInstance(error, asyncio.CancelledError)
        notes = getattr(error, "__notes__", [])
        self.assertTrue(any("test_b_cancels_all" in note for note in notes), notes)

    def test_the_group_task_survives_a_cancellation_from_outside_any_test(self) -> None:
        """While the group waits to admit the next member, a cancellation from no test (a
        callback a plain thread scheduled) does not kill the run; every test is reported."""
        loops: list[asyncio.AbstractEventLoop] = []
        seen: list[str] = []

        @aiounit.group("capped", max_concurrency=1)
        class Capped(aiounit.AsyncTestCase):
            async def test_a_outsider_cancels(self) -> None:
                loop = asyncio.get_running_loop()
                loops.append(loop)
                me = asyncio.current_task()
                done = asyncio.Event()

                def cancel_others() -> None:  # run in the plain thread's context: no test's
                    for task in asyncio.all_tasks(loop):
                        if task is not me:
                            seen.append("cancelled" if task.cancel() else "refused")
                    done.set()

                thread = threading.Thread(target=loop.call_soon_threadsafe, args=(cancel_others,))
                thread.start()
                thread.join()
                await done.wait()

            async def test_b_next(self) -> None:
                seen.append("b ran")

        result = _within(3.0, loops, lambda: run_tests(Capped, result=RawResult()))
        self.assertEqual(seen, ["cancelled", "b ran"])
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(result.raw, [])


class TestHooks(unittest.TestCase):
    """Every hook keeps its meaning, grouped or alone (#15 item 4)."""

    def test_do_cleanups_override_is_called(self) -> None:
        for grouped in (False, True):
            with self.subTest(grouped=grouped):
                log: list[str] = []

                class Cleans(aiounit.AsyncTestCase):
                    def doCleanups(self) -> Any:
                        log.append("doCleanups")  # noqa: B023 (the class runs within this iteration)
                        return super().doCleanups()

                    async def test_a(self) -> None:
                        self.addAsyncCleanup(self.cleanup)

                    async def test_b(self) -> None:
                        await asyncio.sleep(0)

                    async def cleanup(self) -> None:
                        log.append("cleanup")  # noqa: B023 (the class runs within this iteration)

                if grouped:
                    aiounit.group("faults")(Cleans)
                result = run_tests(Cleans)
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(sorted(log), ["cleanup", "doCleanups", "doCleanups"])

    def test_run_override_is_called_for_a_member(self) -> None:
        log: list[str] = []

        @aiounit.group("faults")
        class Runs(aiounit.AsyncTestCase):
            def run(self, result: Any = None) -> Any:
                log.append(f"run {self._testMethodName}")
                return super().run(result)

            async def test_a(self) -> None:
                await asyncio.sleep(0)

        class Peer(aiounit.AsyncTestCase):
            @aiounit.group("faults")
            async def test_peer(self) -> None:
                await asyncio.sleep(0)

        result = run_tests(Runs, Peer)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(log, ["run test_a"])

    def test_member_run_alone_keeps_its_time_limit(self) -> None:
        """A plain IsolatedAsyncioTestCase member that overrides run() runs alone,
        still bounded by the run's limit."""
        log: list[str] = []

        class Plain(unittest.IsolatedAsyncioTestCase):
            def run(self, result: Any = None) -> Any:
                log.append("run")
                return super().run(result)

            async def test_swallows(self) -> None:
                for _ in range(20):  # bounded
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.sleep(0.1)

        result = run_tests(Plain, result=RawResult(), default_group="class", **FAST)
        self.assertEqual(log, ["run"])
        self.assertEqual(len(result.raw), 1, result.raw)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("given up on", str(result.raw[0][1]))

    def test_sync_async_set_up_is_an_error(self) -> None:
        """``def asyncSetUp`` (not async): "is not an async function", as in the stdlib."""
        messages = {}
        for name, base, grouped in (
            ("stdlib", unittest.IsolatedAsyncioTestCase, False),
            ("alone", aiounit.AsyncTestCase, False),
            ("group", aiounit.AsyncTestCase, True),
        ):
            log: list[str] = []

            class SyncSetUp(base):  # type: ignore[valid-type,misc]
                def asyncSetUp(self) -> None:
                    log.append("asyncSetUp")  # noqa: B023 (the class runs within this iteration)

                async def test_a(self) -> None:
                    log.append("test")  # noqa: B023 (the class runs within this iteration)

            if grouped:
                aiounit.group("faults")(SyncSetUp)
            result = run_tests(SyncSetUp, result=RawResult())
            self.assertEqual(log, [], name)
            self.assertEqual(len(result.raw), 1, name)
            error = result.raw[0][1]
            self.assertIsInstance(error, AssertionError, name)
            messages[name] = str(error)
        for name, message in messages.items():
            self.assertTrue(message.endswith(" is not an async function"), (name, message))


class TestSyncMethodAlone(unittest.TestCase):
    """A sync test method runs outside the loop alone, as in the stdlib (#15 item 9)."""

    def test_it_can_call_asyncio_run(self) -> None:
        class SyncTest(aiounit.AsyncTestCase):
            def test_sync(self) -> None:
                async def answer() -> int:
                    return 42

                self.assertEqual(asyncio.run(answer()), 42)

        for run in (run_stdlib, run_tests):
            with self.subTest(run=run.__name__):
                result = run(SyncTest)
                self.assertTrue(result.wasSuccessful(), result.errors)

    def test_a_sync_method_that_overran_its_limit_fails(self) -> None:
        """A sync test method alone that ends past its limit (before the
        interrupt, limit + grace, comes) is a TestTimeoutError, as the same
        method gets in a group, where it runs on a thread."""
        finished = threading.Event()

        class Slow(aiounit.AsyncTestCase):
            @aiounit.timeout(0.02)
            def test_sync(self) -> None:
                # Bounded on purpose: the test must overrun its 0.02 s limit
                # (three times over), and end well before the 1 s grace.
                finished.wait(0.06)

        for run in (run_stdlib, run_tests):
            with self.subTest(run=run.__name__):
                result = run(Slow)
                self.assertEqual(len(result.errors), 1, result.errors)
                self.assertIn("TestTimeoutError", result.errors[0][1])
                self.assertIn("did not finish within 0.02 s", result.errors[0][1])


class TestLimitAlone(unittest.TestCase):
    """A time limit bounds a test run alone, on every runner path (#15 item 13)."""

    def make(self, release: threading.Event) -> type:
        class Hangs(aiounit.AsyncTestCase):
            timeout = FAST["timeout"]

            async def test_blocks(self) -> None:
                release.wait(5)  # bounded, so that a failure does not hang the suite

            async def test_swallows(self) -> None:
                for _ in range(50):  # bounded too
                    if release.is_set():
                        return
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.sleep(0.1)

            def test_sync_blocks(self) -> None:
                release.wait(5)

        return Hangs

    def check(self, result: RawResult, release: threading.Event) -> None:
        self.assertFalse(release.is_set(), "a test outlived its limit: the run waited for it")
        errors = dict(result.raw)
        self.assertEqual(sorted(errors), ["test_blocks", "test_swallows", "test_sync_blocks"])
        for name, error in errors.items():
            self.assertIsInstance(error, aiounit.TestTimeoutError, name)
        self.assertIn("interrupted", str(errors["test_blocks"]))
        self.assertIn("interrupted", str(errors["test_sync_blocks"]))
        self.assertIn("given up on", str(errors["test_swallows"]))

    # The alarm of a test alone looks _alone._MARGIN (0.1 s) after the test's
    # give-up is due, so that a loop that is busy, not blocked, on a loaded
    # machine runs the give-up first: test_swallows keeps that margin.  A
    # blocked test is interrupted whatever the margin (its loop cannot run the
    # give-up), so the two that block are run without it.
    RUNS = ((("test_blocks", "test_sync_blocks"), 0.0), (("test_swallows",), None))

    def run_path(self, path: str) -> None:
        from unittest import mock

        from aiounit import _alone

        release = threading.Event()
        cls = self.make(release)
        result = RawResult()
        try:
            for names, margin in self.RUNS:
                tests = [cls(name) for name in names]
                with contextlib.ExitStack() as stack:
                    if margin is not None:
                        stack.enter_context(mock.patch.object(_alone, "_MARGIN", margin))
                    if path == "aiounit":
                        aiounit.ConcurrentTestSuite(tests, grace=FAST["grace"]).run(result)
                        continue
                    stack.enter_context(_grace(FAST["grace"]))
                    if path == "stock suite":
                        unittest.TestSuite(tests).run(result)
                    else:
                        for test in tests:
                            test.run(result)
            self.check(result, release)
        finally:
            release.set()

    @unittest.skipUnless(hasattr(__import__("signal"), "pthread_kill"), "POSIX signals")
    def test_python_m_aiounit_path(self) -> None:
        self.run_path("aiounit")

    @unittest.skipUnless(hasattr(__import__("signal"), "pthread_kill"), "POSIX signals")
    def test_stock_unittest_suite_path(self) -> None:
        self.run_path("stock suite")

    @unittest.skipUnless(hasattr(__import__("signal"), "pthread_kill"), "POSIX signals")
    def test_plain_run_path(self) -> None:
        self.run_path("run")


def _grace(grace: float) -> Any:
    """The run's settings with *grace*, as a ConcurrentTestSuite would publish them."""
    from aiounit import _config

    return _config.using(_config.current().merged(grace=grace))


class TestMaxConcurrencyGiveUp(unittest.TestCase):
    """A member given up on frees its max_concurrency slot (#15 item 14)."""

    def test_next_member_starts_while_the_stuck_one_still_runs(self) -> None:
        released = asyncio.Event()
        seen: list[str] = []

        @aiounit.group("capped", max_concurrency=1, timeout=FAST["timeout"])
        class Capped(aiounit.AsyncTestCase):
            async def test_a_ignores_cancellation(self) -> None:
                seen.append("a started")
                try:
                    for _ in range(3):  # bounded: about 3 s without the fix
                        try:
                            await asyncio.wait_for(released.wait(), 1)
                            return
                        except (asyncio.CancelledError, TimeoutError):
                            pass
                finally:
                    seen.append("a ended")

            async def test_b_next(self) -> None:
                seen.append("b started")
                released.set()

        result = run_tests(Capped, result=RawResult(), grace=FAST["grace"])
        self.assertEqual(seen, ["a started", "b started", "a ended"])
        self.assertEqual(result.testsRun, 2)
        self.assertIn("given up on", str(dict(result.raw)["test_a_ignores_cancellation"]))


class TestLoopTurnsBetweenParts(unittest.TestCase):
    """Callbacks made ready at the end of a part run before the next, as in the stdlib.

    #15 item 17.
    """

    def make(self, base: type, seen: list[str]) -> type:
        class Turns(base):  # type: ignore[misc]
            async def asyncSetUp(self) -> None:
                self.finished = False

                async def worker() -> None:
                    try:
                        await asyncio.Event().wait()
                    finally:
                        self.finished = True

                self.task = asyncio.ensure_future(worker())
                await asyncio.sleep(0)

            async def test_cancels_at_its_end(self) -> None:
                self.task.cancel()

            async def asyncTearDown(self) -> None:
                seen.append(f"worker finished: {self.finished}, done: {self.task.done()}")

        return Turns

    def test_same_as_the_stdlib(self) -> None:
        expected: list[str] = []
        run_stdlib(self.make(unittest.IsolatedAsyncioTestCase, expected))
        self.assertEqual(expected, ["worker finished: True, done: True"])
        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                seen: list[str] = []
                cls = self.make(aiounit.AsyncTestCase, seen)
                if mode == "group":
                    aiounit.group("turns")(cls)
                result = run_tests(cls)
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(seen, expected)


class TestLoopTurnsCounted(unittest.TestCase):
    """Exactly the stdlib's loop turns between parts, counted with a callback chain.

    #15 item 17.
    """

    def make(self, base: type, seen: list[tuple[str, int]]) -> type:
        class Chain(base):  # type: ignore[misc]
            async def test_chain(self) -> None:
                loop = asyncio.get_running_loop()
                self.depth = 0

                def step(n: int) -> None:
                    self.depth = n
                    if n < 20:
                        loop.call_soon(step, n + 1)

                loop.call_soon(step, 1)

            async def asyncTearDown(self) -> None:
                seen.append(("asyncTearDown", self.depth))

            def tearDown(self) -> None:
                seen.append(("tearDown", self.depth))

        return Chain

    def test_same_as_the_stdlib(self) -> None:
        expected: list[tuple[str, int]] = []
        run_stdlib(self.make(unittest.IsolatedAsyncioTestCase, expected))
        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                seen: list[tuple[str, int]] = []
                cls = self.make(aiounit.AsyncTestCase, seen)
                if mode == "group":
                    aiounit.group("chain")(cls)
                run_tests(cls)
                self.assertEqual(seen, expected)


class TestSpawnedTasksReleased(unittest.TestCase):
    """A task the test created is not kept alive by the group once done (#15 item 18)."""

    def test_teardown_sees_it_collected(self) -> None:
        class Payload:
            pass

        seen: list[bool] = []

        @aiounit.group("gc")
        class Collects(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                async def holder(payload: Payload) -> None:
                    await asyncio.Event().wait()

                payload = Payload()
                self.ref = weakref.ref(payload)
                task = asyncio.ensure_future(holder(payload))
                await asyncio.sleep(0)
                task.cancel()
                del payload, task

            async def asyncTearDown(self) -> None:
                gc.collect()
                seen.append(self.ref() is None)

        result = run_tests(Collects)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(seen, [True])


if __name__ == "__main__":
    unittest.main()


class TestOwnFramesHidden(unittest.TestCase):
    """Reports show the test's frames, not aiounit's (#15 item 16)."""

    @unittest.skipUnless(hasattr(__import__("signal"), "pthread_kill"), "POSIX signals")
    def test_interrupted_test_traceback(self) -> None:
        from unittest import mock

        from aiounit import _alone

        # Blocked, it is interrupted whatever the alarm's margin (see TestLimitAlone).
        self.enterContext(mock.patch.object(_alone, "_MARGIN", 0.0))
        for grouped in (False, True):
            with self.subTest(grouped=grouped):
                release = threading.Event()

                class Blocks(aiounit.AsyncTestCase):
                    async def test_blocks(self) -> None:
                        release.wait(5)  # noqa: B023 - bounded, so a failure cannot hang

                if grouped:
                    aiounit.group("frames")(Blocks)
                result = unittest.TestResult()
                try:
                    suite_of(Blocks, **FAST, blocking_threshold=None).run(result)
                finally:
                    self.assertFalse(release.is_set())
                    release.set()
                self.assertEqual(len(result.errors), 1, result.errors)
                text = result.errors[0][1]
                self.assertIn("TestTimeoutError", text)
                self.assertIn("in test_blocks", text)
                self.assertNotRegex(text, r"aiounit[/\\]_\w+\.py", text)

    def test_thread_member_stack_note(self) -> None:
        """A cancelled sync member's note shows the test's frames, not aiounit's."""
        started, release = threading.Event(), threading.Event()
        self.addCleanup(release.set)

        @aiounit.group("thread")
        class Threads(aiounit.AsyncTestCase):
            @aiounit.group("thread")  # a sync method joins a group by its own mark
            def test_sync(self) -> None:
                started.set()
                release.wait(5)  # bounded

            async def test_cancels_all(self) -> None:
                await asyncio.to_thread(started.wait, 5)
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()
                await asyncio.sleep(0)
                release.set()

        result = run_tests(Threads, result=RawResult())
        errors = dict(result.raw)
        notes = "\n".join(getattr(errors["test_sync"], "__notes__", []))
        self.assertIn("cannot be stopped and is at", notes)
        self.assertIn("in test_sync", notes)
        self.assertNotRegex(notes, r"aiounit[/\\]_\w+\.py")
        self.assertNotIn("threading.py", notes)

    def test_foreign_loop_future_names_the_test_coroutine(self) -> None:
        """asyncio's message names the task's coroutine: the test's, as in the stdlib."""
        other = asyncio.new_event_loop()
        self.addCleanup(other.close)

        class Foreign(aiounit.AsyncTestCase):
            async def test_foreign(self) -> None:
                await other.create_future()

        messages = {}
        for mode in ("stdlib", "group"):
            cls: type = Foreign
            if mode == "stdlib":
                cls = type("Foreign", (unittest.IsolatedAsyncioTestCase,), dict(Foreign.__dict__))
            else:
                aiounit.group("foreign")(Foreign)
            result = run_tests(cls, result=RawResult())
            messages[mode] = str(result.raw[0][1])
        for mode, message in messages.items():
            self.assertRegex(message, r"coro=<\S*Foreign.test_foreign\(\) running at", mode)
            self.assertIn("<Task pending", message, mode)


class TestCancelledByAPeer(unittest.TestCase):
    """A test that swallows a peer's cancellation does not pass (#15 item 3)."""

    def test_swallowed_cancellation_from_a_peer_is_an_error(self) -> None:
        waiting = asyncio.Event()

        @aiounit.group("faults")
        class Swallows(aiounit.AsyncTestCase):
            async def test_a_swallows(self) -> None:
                try:
                    waiting.set()
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    pass

            async def test_b_cancels_all(self) -> None:
                await waiting.wait()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

        result = run_tests(Swallows, result=RawResult())
        errors = dict(result.raw)
        self.assertEqual(sorted(errors), ["test_a_swallows"])
        notes = getattr(errors["test_a_swallows"], "__notes__", [])
        self.assertTrue(any("test_b_cancels_all" in note for note in notes), notes)

    def test_a_peer_cancellation_inside_a_subtest_stops_the_test(self) -> None:
        """As outside a subTest: an error of the test naming the peer, no later subtest runs,
        the teardown still does (FI-24: a bare subtest error, and the test went on)."""
        inside = asyncio.Event()
        log: list[str] = []

        @aiounit.group("faults")
        class InSubtest(aiounit.AsyncTestCase):
            async def asyncTearDown(self) -> None:
                log.append(f"asyncTearDown {self._testMethodName}")

            async def test_a_cancels_all(self) -> None:
                await inside.wait()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            async def test_b_subtests(self) -> None:
                for i in range(3):
                    with self.subTest(i=i):
                        log.append(f"subtest {i}")
                        if i == 1:
                            inside.set()
                            await asyncio.Event().wait()

        result = run_tests(InSubtest, result=RawResult())
        self.assertEqual([e for e in log if e.startswith("subtest")], ["subtest 0", "subtest 1"])
        self.assertIn("asyncTearDown test_b_subtests", log)
        outcomes = _outcomes(result)
        # i=0 passed; i=1 is no subtest error: the test's own error ends it.
        self.assertEqual(
            outcomes["test_b_subtests"], ["startTest", "addSubTest", "addError", "stopTest"]
        )
        self.assertEqual([e[-1] for e in result.events if e[0] == "addSubTest"], ["ok"])
        errors = dict(result.raw)
        self.assertEqual(sorted(errors), ["test_b_subtests"])
        self.assertIsInstance(errors["test_b_subtests"], asyncio.CancelledError)
        notes = getattr(errors["test_b_subtests"], "__notes__", [])
        self.assertTrue(any("test_a_cancels_all" in note for note in notes), notes)

    def test_its_own_cancellation_inside_a_subtest_is_the_subtests_error(self) -> None:
        """The stdlib's answer, kept: a self-cancel inside a subTest fails that subtest only."""
        log: list[str] = []

        class Own(aiounit.AsyncTestCase):
            async def test_own(self) -> None:
                for i in range(2):
                    with self.subTest(i=i):
                        log.append(f"subtest {i}")
                        if i == 0:
                            task = asyncio.current_task()
                            assert task is not None
                            task.cancel()
                            await asyncio.sleep(0)

        for base_run in (run_stdlib, run_tests):
            with self.subTest(run=base_run.__name__):
                log.clear()
                result = base_run(
                    aiounit.group("faults")(Own) if base_run is run_tests else Own,
                    result=RawResult(),
                )
                self.assertEqual(log, ["subtest 0", "subtest 1"])
                self.assertEqual(result.testsRun, 1)
                self.assertEqual(len(result.errors), 1)
                self.assertIn("(i=0)", str(result.errors[0][0]))


class TestBlockPastLimitAlone(unittest.TestCase):
    """Alone, a part that blocks past its deadline and then ends is still over its limit.

    #15 item 13.
    """

    def test_reported_like_in_a_group(self) -> None:
        for grouped in (False, True):
            with self.subTest(grouped=grouped):

                class Blocks(aiounit.AsyncTestCase):
                    @aiounit.timeout(0.02)
                    async def test_blocks_briefly(self) -> None:
                        threading.Event().wait(0.06)  # a bounded wait: 3 times its limit
                        await asyncio.sleep(0)

                if grouped:
                    aiounit.group("brief")(Blocks)
                result = run_tests(Blocks, result=RawResult(), blocking_threshold=None)
                self.assertEqual(len(result.raw), 1, result.raw)
                self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)


class TestGiveUpOfAnEndedPart(unittest.TestCase):
    """Alone: a part that ends in the loop turn its give-up callback falls due in is not
    given up on, and the next part's loop is not stopped (#15, FI-23)."""

    def test_teardown_runs_after_a_part_that_ended_past_its_grace(self) -> None:
        log: list[str] = []

        class Late(aiounit.AsyncTestCase):
            def run(self, result: Any = None) -> Any:  # the stdlib's lifecycle, alone
                return super().run(result)

            @aiounit.timeout(0.05)
            async def test_ends_late(self) -> None:
                # The loop's clock jumps past the deadline and the grace, as if the
                # test had blocked that long: the part's last step, its timeout and
                # its give-up callback are then due in one and the same loop turn.
                loop = asyncio.get_running_loop()
                clock = loop.time
                loop.time = lambda: clock() + 10  # type: ignore[method-assign]
                await asyncio.sleep(0)

            async def asyncTearDown(self) -> None:
                log.append("asyncTearDown")
                await asyncio.sleep(0)
                log.append("asyncTearDown ended")

            def tearDown(self) -> None:
                log.append("tearDown")

        for run in (run_tests, run_stdlib):
            with self.subTest(run=run.__name__):
                log.clear()
                with _grace(0.05):
                    result = run(Late, result=RawResult())
                self.assertEqual(log, ["asyncTearDown", "asyncTearDown ended", "tearDown"])
                self.assertEqual(len(result.raw), 1, result.raw)
                error = result.raw[0][1]
                self.assertIsInstance(error, aiounit.TestTimeoutError)
                self.assertNotIn("given up", str(error))


class TestBlameForABlockedLoop(unittest.TestCase):
    """Time a peer held the loop is not charged to a waiting test (#15 item 15)."""

    def make(self, a_waits_for_b: bool) -> type:
        a_waiting, b_done = asyncio.Event(), asyncio.Event()

        @aiounit.group("blame", timeout=0.05)
        class Blame(aiounit.AsyncTestCase):
            async def test_a_waits(self) -> None:
                a_waiting.set()
                if a_waits_for_b:
                    await b_done.wait()
                else:
                    await asyncio.wait_for(asyncio.Event().wait(), 2)  # bounded

            @aiounit.timeout(5)
            async def test_b_blocks(self) -> None:
                await a_waiting.wait()
                # A bounded wait: it holds the loop four times a_waits' limit, and
                # long enough for the watchdog's thread (every 25 ms), however
                # late it is woken, to see who holds it.
                threading.Event().wait(0.2)
                b_done.set()

        return Blame

    def test_waiting_test_is_not_charged(self) -> None:
        result = run_tests(self.make(True), result=RawResult(), grace=0.05, blocking_threshold=None)
        self.assertEqual(result.raw, [])

    def test_a_real_timeout_names_the_peer(self) -> None:
        result = run_tests(
            self.make(False), result=RawResult(), grace=0.05, blocking_threshold=None
        )
        errors = dict(result.raw)
        self.assertEqual(sorted(errors), ["test_a_waits"])
        message = str(errors["test_a_waits"])
        self.assertIsInstance(errors["test_a_waits"], aiounit.TestTimeoutError)
        self.assertIn("did not finish within 0.05 s", message)
        self.assertIn("kept the event loop blocked", message)
        self.assertIn("test_b_blocks", message)
        self.assertNotIn("given up", message)


class TestPushedBackByTheTimeHeld(unittest.TestCase):
    """A deadline a peer's block made late is pushed back by the time the peer held
    the loop, counted from when it was due, not from when it fired late: the
    lateness is that same time, and must not be added twice.

    Played on a clock the test sets: a 0.05 s limit (and 0.05 s grace) fires 10 s
    late, peers having held the loop 9.9 s of those, so it is due at once; with
    the wait counted from the late firing, it would come 9.9 s later still.
    """

    @staticmethod
    def clock(*modules: Any) -> tuple[list[float], contextlib.ExitStack]:
        """A monotonic clock the test sets (``now[0]``), in place of *modules*' ``time``."""
        from types import SimpleNamespace
        from unittest import mock

        now = [1000.0]
        fake = SimpleNamespace(monotonic=lambda: now[0])
        stack = contextlib.ExitStack()
        for module in modules:
            stack.enter_context(mock.patch.object(module, "time", fake))
        return now, stack

    def test_deadline(self) -> None:
        from aiounit import _outcome

        class Member:  # a stand-in: only what Limit uses of a group member
            deadline_pending = False

            def __init__(self) -> None:
                self.held = [9.9]

            def held_back(self, since: float) -> float:
                return self.held.pop() if self.held else 0.0

            def watch(self, limit: float) -> None:
                pass

        async def fire_late() -> float:
            limit = _outcome.Limit(0.05, self, None, Member())  # type: ignore[arg-type]
            now, stack = self.clock(_outcome)
            with stack:
                await limit.__aenter__()
                assert limit._timer is not None
                limit._timer.cancel()
                now[0] += 10
                limit._expire()
            assert limit._timer is not None
            return limit._timer.when() - asyncio.get_running_loop().time()

        self.assertLess(asyncio.run(fire_late()), 1)

    def test_give_up(self) -> None:
        from types import SimpleNamespace

        from aiounit import _member, _scheduler

        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        member = _member.Member(self, 0.05)
        group: Any = SimpleNamespace(
            loop=loop, config=SimpleNamespace(grace=0.05), held_back=lambda *a, **k: 9.9
        )
        group.abandon = lambda member: _scheduler.Group.abandon(group, member)
        member._group = group
        now, stack = self.clock(_member, _scheduler)
        with stack:
            member.watch(0.05)
            assert member._watch is not None
            member._watch.cancel()
            now[0] += 10
            _scheduler.Group.abandon(group, member)
        self.assertFalse(member.abandoned)  # 9.9 s held: not given up on yet...
        assert member._watch is not None
        self.assertLess(member._watch.when() - loop.time(), 1)  # ...but at once
        member._watch.cancel()


class TestOwnBlockIsNotAPeers(unittest.TestCase):
    """A test's own block is not counted as a peer's when a peer's step follows it in
    the same loop turn (#15, FI-25: a grouped test past its limit passed)."""

    def test_block_then_peer_step_in_one_turn(self) -> None:
        from types import SimpleNamespace

        from aiounit._watchdog import Watchdog

        class Member:
            limit = None
            finished = False

            def __init__(self) -> None:
                self.blocked: list[tuple[float, Any]] = []

        # Stand-ins for aiounit's Member: only what the watchdog reads of one.
        blocker: Any = Member()
        peer: Any = Member()
        blocker_task, peer_task = object(), object()
        group = SimpleNamespace(
            config=SimpleNamespace(blocking_threshold=1.0, grace=0.05),
            member_of={blocker_task: blocker, peer_task: peer}.get,
            result=SimpleNamespace(shouldStop=False),
            stopping=False,
            tick=None,
        )
        # No loop: the test plays it (and the watchdog thread).
        dog = Watchdog(group, None)  # type: ignore[arg-type]
        dog._stopped.set()  # no thread, no loop: the test plays both
        # The watchdog thread's samples, at times given here: the loop last beat
        # 10 s ago, the blocker's code held it for 9.8 s, then the peer's step ran.
        t0 = time.monotonic() - 10
        dog.last_beat = t0
        dog._sample(t0 + 0.1, blocker_task)
        dog._sample(t0 + 9.8, blocker_task)
        dog._sample(t0 + 9.9, peer_task)
        held, who = dog.held_by_others(t0, blocker)
        self.assertLess(held, 5, "the blocker's own block was counted as the peer's")
        self.assertIs(who, peer)
        held, who = dog.held_by_others(t0, peer)
        self.assertGreater(held, 9)
        self.assertIs(who, blocker)
        # Once the loop beats again, the spans are kept with the same owners.
        dog.beat()
        # ...and the blocker is the one warned about blocking (not only a claim).
        self.assertEqual(len(blocker.blocked), 1)
        self.assertGreater(blocker.blocked[0][0], 9)
        self.assertLess(dog.held_by_others(t0, blocker)[0], 5)
        self.assertGreater(dog.held_by_others(t0, peer)[0], 9)


class TestOnAFixtureLoop(unittest.TestCase):
    """A test on its class's shared fixture loop that stops it or cancels itself (#15 item 2)."""

    def test_errors_of_that_test_and_the_run_goes_on(self) -> None:
        log: list[str] = []

        class Scoped(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                log.append("asyncSetUpClass")

            async def test_a_stops_the_loop(self) -> None:
                asyncio.get_running_loop().stop()
                await asyncio.sleep(0)

            async def test_b_cancels_itself(self) -> None:
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
                await asyncio.sleep(0)

            async def test_c_later(self) -> None:
                log.append("test_c_later")

        for run in (run_tests, run_stdlib):
            with self.subTest(run=run.__name__):
                log.clear()
                result = run(Scoped, result=RawResult())
                self.assertEqual(log, ["asyncSetUpClass", "test_c_later"])
                errors = dict(result.raw)
                self.assertEqual(sorted(errors), ["test_a_stops_the_loop", "test_b_cancels_itself"])
                self.assertIsInstance(errors["test_a_stops_the_loop"], RuntimeError)
                self.assertIsInstance(errors["test_b_cancels_itself"], asyncio.CancelledError)
