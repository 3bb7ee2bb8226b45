"""CPython's test_async_case, ported to aiounit.AsyncTestCase, alone and in a group.

Each test here follows one of ``Lib/test/test_unittest/test_async_case.py``
(3.11-3.15) and runs its test class twice: alone, with ``test.run()`` (and
``debug()`` where the original uses it), which must behave exactly as
``IsolatedAsyncioTestCase``; and as a member of a group, next to a peer member
on the same event loop.  Where aiounit deliberately differs, the test says so
in its docstring and asserts aiounit's documented behaviour.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import unittest
from typing import Any, ClassVar

import aiounit
from tests._engine_support import LoopCounter
from tests._support import LoggingResult

VAR: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("VAR", default=())


class MyException(Exception):
    pass


class _CM:
    def __init__(self, ordering: list[str], enter_result: Any = None) -> None:
        self.ordering = ordering
        self.enter_result = enter_result

    async def __aenter__(self) -> Any:
        self.ordering.append("enter")
        return self.enter_result

    async def __aexit__(self, *exc_info: Any) -> None:
        self.ordering.append("exit")


class LacksEnterAndExit:
    pass


class LacksEnter:
    async def __aexit__(self, *exc_info: Any) -> None:
        pass


class LacksExit:
    async def __aenter__(self) -> None:
        pass


class DiagnosticResult(LoggingResult):
    """A LoggingResult that also takes aiounit's warnings about a test."""

    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: list[tuple[str, str]] = []

    def addDiagnostic(self, test: Any, message: str) -> None:
        self.diagnostics.append((self._name(test), message))


class PortTestCase(unittest.TestCase):
    maxDiff = None

    def run_in_group(self, test: unittest.TestCase, **options: Any) -> DiagnosticResult:
        """Run *test* in the group "port" with a peer member; return the result.

        *options* go to ``aiounit.ConcurrentTestSuite``.

        Both members get one loop factory: the group makes one loop, so had
        *test* run by itself, two loops would have been made.
        """

        class Peer(aiounit.AsyncTestCase):
            @aiounit.group("port")
            async def test_peer(self) -> None:
                for _ in range(5):
                    await asyncio.sleep(0)

        peer = Peer("test_peer")
        counter = LoopCounter()
        test.loop_factory = peer.loop_factory = counter  # type: ignore[attr-defined]
        result = DiagnosticResult()
        aiounit.ConcurrentTestSuite([test, peer], **options).run(result)
        self.assertEqual(counter.made, 1, "the test did not run in the peer's group")
        self.assertIn(("addSuccess", "test_peer"), result.events)
        return result

    def run_as(self, mode: str, test: unittest.TestCase) -> Any:
        """Run *test* ``"alone"`` (``test.run()``) or in a ``"group"``; return the result."""
        if mode == "alone":
            return test.run()
        return self.run_in_group(test)


class TestFullCycle(PortTestCase):
    """setUp, asyncSetUp, the test, the teardowns and cleanups: order and context."""

    expected: ClassVar[list[str]] = [
        "setUp",
        "asyncSetUp",
        "test",
        "asyncTearDown",
        "tearDown",
        "cleanup6",
        "cleanup5",
        "cleanup4",
        "cleanup3",
        "cleanup2",
        "cleanup1",
    ]

    def make(self) -> tuple[type[aiounit.AsyncTestCase], list[str], list[tuple[str, ...]]]:
        expected = self.expected
        events: list[str] = []
        cvar: list[tuple[str, ...]] = []

        def step(case: unittest.TestCase, name: str, before: int) -> None:
            case.assertEqual(events, expected[:before])
            events.append(name)
            VAR.set((*VAR.get(), name))

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                step(self, "setUp", 0)
                self.addCleanup(self.on_cleanup1)
                self.addAsyncCleanup(self.on_cleanup2)

            async def asyncSetUp(self) -> None:
                step(self, "asyncSetUp", 1)
                self.addCleanup(self.on_cleanup3)
                self.addAsyncCleanup(self.on_cleanup4)

            async def test_func(self) -> None:
                step(self, "test", 2)
                self.addCleanup(self.on_cleanup5)
                self.addAsyncCleanup(self.on_cleanup6)

            async def asyncTearDown(self) -> None:
                step(self, "asyncTearDown", 3)

            def tearDown(self) -> None:
                step(self, "tearDown", 4)

            def on_cleanup1(self) -> None:
                step(self, "cleanup1", 10)
                cvar.append(VAR.get())

            async def on_cleanup2(self) -> None:
                step(self, "cleanup2", 9)

            def on_cleanup3(self) -> None:
                step(self, "cleanup3", 8)

            async def on_cleanup4(self) -> None:
                step(self, "cleanup4", 7)

            def on_cleanup5(self) -> None:
                step(self, "cleanup5", 6)

            async def on_cleanup6(self) -> None:
                step(self, "cleanup6", 5)

        return Test, events, cvar

    def test_full_cycle_alone(self) -> None:
        """run() goes through every part in order, in one context, as the stdlib does."""
        Test, events, cvar = self.make()
        result = Test("test_func").run()
        assert result is not None
        self.assertEqual(result.errors, [])
        self.assertEqual(result.failures, [])
        self.assertEqual(events, self.expected)
        self.assertEqual(cvar, [tuple(self.expected)])

    def test_full_cycle_debug(self) -> None:
        """debug() goes through every part in order, in one context; doCleanups is then a no-op."""
        Test, events, cvar = self.make()
        test = Test("test_func")
        test.debug()
        self.assertEqual(events, self.expected)
        self.assertEqual(cvar, [tuple(self.expected)])
        test.doCleanups()
        self.assertEqual(events, self.expected)

    def test_full_cycle_in_a_group(self) -> None:
        """A member goes through every part in the same order, in one context of its own."""
        Test, events, cvar = self.make()
        test = Test("test_func")
        token = VAR.set(("outside",))
        self.addCleanup(VAR.reset, token)
        result = self.run_in_group(test)
        self.assertEqual(result.errors, [])
        self.assertEqual(result.failures, [])
        self.assertEqual(events, self.expected)
        self.assertEqual(cvar, [tuple(self.expected)])
        self.assertEqual(VAR.get(), ("outside",))


class TestExceptions(PortTestCase):
    """An exception in one part: the right later parts still run, the error is reported."""

    def make_setup_error(self) -> tuple[type[aiounit.AsyncTestCase], list[str]]:
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                events.append("asyncSetUp")
                self.addAsyncCleanup(self.on_cleanup)
                raise MyException()

            async def test_func(self) -> None:
                events.append("test")

            async def asyncTearDown(self) -> None:
                events.append("asyncTearDown")

            async def on_cleanup(self) -> None:
                events.append("cleanup")

        return Test, events

    def make_test_error(self) -> tuple[type[aiounit.AsyncTestCase], list[str]]:
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                events.append("asyncSetUp")

            async def test_func(self) -> None:
                events.append("test")
                self.addAsyncCleanup(self.on_cleanup)
                raise MyException()

            async def asyncTearDown(self) -> None:
                events.append("asyncTearDown")

            async def on_cleanup(self) -> None:
                events.append("cleanup")

        return Test, events

    def make_tear_down_error(self) -> tuple[type[aiounit.AsyncTestCase], list[str]]:
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                events.append("asyncSetUp")

            async def test_func(self) -> None:
                events.append("test")
                self.addAsyncCleanup(self.on_cleanup)

            async def asyncTearDown(self) -> None:
                events.append("asyncTearDown")
                raise MyException()

            async def on_cleanup(self) -> None:
                events.append("cleanup")

        return Test, events

    def make_cleanup_errors(self) -> tuple[type[aiounit.AsyncTestCase], list[str]]:
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                events.append("asyncSetUp")

            async def test_func(self) -> None:
                events.append("test")
                self.addAsyncCleanup(self.on_cleanup1)
                self.addAsyncCleanup(self.on_cleanup2)

            async def asyncTearDown(self) -> None:
                events.append("asyncTearDown")

            async def on_cleanup1(self) -> None:
                events.append("cleanup1")
                raise MyException("some error")

            async def on_cleanup2(self) -> None:
                events.append("cleanup2")
                raise MyException("other error")

        return Test, events

    # The three ways of running each class, as the original does for each.

    def check_run(self, make: Any, events_after: list[str], messages: list[str]) -> None:
        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                Test, events = make()
                test = Test("test_func")
                result = self.run_as(mode, test)
                self.assertEqual(events, events_after)
                self.assertEqual(len(result.errors), len(messages))
                for (errored, text), message in zip(result.errors, messages, strict=True):
                    self.assertIs(errored, test)
                    self.assertIn(message, text)

    def check_debug(self, make: Any, events_raised: list[str], events_after: list[str]) -> None:
        Test, events = make()
        test = Test("test_func")
        self.addCleanup(test._tearDownAsyncioRunner)
        with self.assertRaises(MyException):
            test.debug()
        self.assertEqual(events, events_raised)
        test.doCleanups()
        self.assertEqual(events, events_after)

    def test_exception_in_setup(self) -> None:
        """asyncSetUp raising: no test, no teardown, cleanups run; debug() lets it out."""
        self.check_run(self.make_setup_error, ["asyncSetUp", "cleanup"], ["MyException"])
        self.check_debug(self.make_setup_error, ["asyncSetUp"], ["asyncSetUp", "cleanup"])

    def test_exception_in_test(self) -> None:
        """The test raising: teardown and cleanups run; debug() lets it out."""
        self.check_run(
            self.make_test_error,
            ["asyncSetUp", "test", "asyncTearDown", "cleanup"],
            ["MyException"],
        )
        self.check_debug(
            self.make_test_error, ["asyncSetUp", "test"], ["asyncSetUp", "test", "cleanup"]
        )

    def test_exception_in_tear_down(self) -> None:
        """asyncTearDown raising: cleanups still run; debug() lets it out."""
        self.check_run(
            self.make_tear_down_error,
            ["asyncSetUp", "test", "asyncTearDown", "cleanup"],
            ["MyException"],
        )
        self.check_debug(
            self.make_tear_down_error,
            ["asyncSetUp", "test", "asyncTearDown"],
            ["asyncSetUp", "test", "asyncTearDown", "cleanup"],
        )

    def test_exception_in_tear_clean_up(self) -> None:
        """Two failing cleanups: both run, last added first, and both are reported."""
        self.check_run(
            self.make_cleanup_errors,
            ["asyncSetUp", "test", "asyncTearDown", "cleanup2", "cleanup1"],
            ["MyException: other error", "MyException: some error"],
        )
        self.check_debug(
            self.make_cleanup_errors,
            ["asyncSetUp", "test", "asyncTearDown", "cleanup2"],
            ["asyncSetUp", "test", "asyncTearDown", "cleanup2", "cleanup1"],
        )

    def test_base_exception_from_async_method(self) -> None:
        """A BaseException or a CancelledError the test raises itself is an error of that test."""
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_base(self) -> None:
                events.append("test_base")
                raise BaseException()

            async def test_no_err(self) -> None:
                events.append("test_no_err")

            async def test_cancel(self) -> None:
                raise asyncio.CancelledError()

        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                events.clear()
                for name, success in (
                    ("test_base", False),
                    ("test_no_err", True),
                    ("test_cancel", False),
                ):
                    test = Test(name)
                    result = self.run_as(mode, test)
                    assert result is not None
                    self.assertEqual(result.wasSuccessful(), success, name)
                    self.assertEqual(result.testsRun, 1 if mode == "alone" else 2)
                self.assertEqual(events, ["test_base", "test_no_err"])


class TestDeprecationOfReturnValue(PortTestCase):
    """A test that returns a value other than None gets a DeprecationWarning."""

    def make(self) -> type[aiounit.AsyncTestCase]:
        class Nothing:
            def __eq__(self, o: object) -> bool:
                return o is None

            __hash__ = None  # type: ignore[assignment]

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test1(self) -> int:
                return 1

            async def test2(self) -> Any:
                yield 1

            async def test3(self) -> Any:
                return Nothing()

        return Test

    def test_warning_alone_and_in_a_group(self) -> None:
        """Alone and in a group, each such test gets the stdlib's warning naming it."""
        Test = self.make()
        # test2, an async generator function, is no coroutine function: a class
        # mark does not put it in the group, so it only runs alone.
        for name, mode in (
            ("test1", "alone"),
            ("test2", "alone"),
            ("test3", "alone"),
            ("test1", "group"),
            ("test3", "group"),
        ):
            with self.subTest(test=name, mode=mode):
                test = Test(name)
                with self.assertWarns(DeprecationWarning) as w:
                    result = self.run_as(mode, test)
                assert result is not None
                self.assertTrue(result.wasSuccessful())
                self.assertIn("It is deprecated to return a value that is not None", str(w.warning))
                self.assertIn(name, str(w.warning))

    def test_warning_points_at_the_caller_of_run(self) -> None:
        """Alone, the warning is attributed to the caller of run(), as in the stdlib."""
        Test = self.make()
        with self.assertWarns(DeprecationWarning) as w:
            Test("test1").run()
        self.assertEqual(w.filename, __file__)


class TestCleanupsAndContexts(PortTestCase):
    """Cleanups in reverse order; enterAsyncContext; debug() on one loop."""

    def test_cleanups_interleave_order(self) -> None:
        """Sync and async cleanups run last added first, alone and in a group."""
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                self.addAsyncCleanup(self.on_sync_cleanup, 1)
                self.addAsyncCleanup(self.on_async_cleanup, 2)
                self.addAsyncCleanup(self.on_sync_cleanup, 3)
                self.addAsyncCleanup(self.on_async_cleanup, 4)

            async def on_sync_cleanup(self, val: int) -> None:
                events.append(f"sync_cleanup {val}")

            async def on_async_cleanup(self, val: int) -> None:
                events.append(f"async_cleanup {val}")

        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                events.clear()
                test = Test("test_func")
                self.run_as(mode, test)
                self.assertEqual(
                    events,
                    ["async_cleanup 4", "sync_cleanup 3", "async_cleanup 2", "sync_cleanup 1"],
                )

    def test_enter_async_context(self) -> None:
        """enterAsyncContext returns __aenter__'s value and exits among the cleanups."""
        events: list[str] = []
        outer = self

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                # A sync cleanup, as CPython's own test adds: the stdlib calls it.
                self.addAsyncCleanup(events.append, "cleanup1")  # type: ignore[arg-type]
                outer.assertEqual(await self.enterAsyncContext(_CM(events, 42)), 42)
                self.addAsyncCleanup(events.append, "cleanup2")  # type: ignore[arg-type]
                events.append("test")

        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                events.clear()
                test = Test("test_func")
                result = self.run_as(mode, test)
                assert result is not None
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(events, ["enter", "test", "cleanup2", "exit", "cleanup1"])

    def test_enter_async_context_arg_errors(self) -> None:
        """enterAsyncContext refuses what is not an async context manager."""
        outer = self

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                for bad in (LacksEnterAndExit(), LacksEnter(), LacksExit()):
                    with outer.assertRaisesRegex(TypeError, "asynchronous context manager"):
                        # Not async context managers: the TypeError under test.
                        await self.enterAsyncContext(bad)  # type: ignore[arg-type]

        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                test = Test("test_func")
                result = self.run_as(mode, test)
                assert result is not None
                self.assertTrue(result.wasSuccessful(), result.errors)

    def test_debug_cleanup_same_loop(self) -> None:
        """A future made in asyncSetUp can be awaited by a cleanup: one loop per test."""
        events: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                async def coro() -> None:
                    await asyncio.sleep(0)

                fut = asyncio.ensure_future(coro())
                self.addAsyncCleanup(self.cleanup, fut)
                events.append("asyncSetUp")

            async def test_func(self) -> None:
                events.append("test")
                raise MyException()

            async def asyncTearDown(self) -> None:
                events.append("asyncTearDown")

            async def cleanup(self, fut: asyncio.Future[None]) -> None:
                # Raises if the future belongs to another loop.
                await asyncio.wait([fut])
                events.append("cleanup")

        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                events.clear()
                test = Test("test_func")
                result = self.run_as(mode, test)
                assert result is not None
                self.assertEqual(events, ["asyncSetUp", "test", "asyncTearDown", "cleanup"])
                self.assertEqual(len(result.errors), 1)
                self.assertIn("MyException", result.errors[0][1])

        events.clear()
        test = Test("test_func")
        self.addCleanup(test._tearDownAsyncioRunner)
        with self.assertRaises(MyException):
            test.debug()
        self.assertEqual(events, ["asyncSetUp", "test"])
        test.doCleanups()
        self.assertEqual(events, ["asyncSetUp", "test", "cleanup"])


class TestTasksLeftBehind(PortTestCase):
    """Tasks a test leaves running, and exceptions in tasks nobody awaits."""

    def test_cancellation_hanging_tasks_alone(self) -> None:
        """Alone, a task left running is cancelled when the test's loop closes, silently."""
        started: list[str] = []
        cancelled: list[str] = []
        Test = self.make_leaking(started, cancelled)
        for name in ("test_leaking_task", "test_leaking_started_task"):
            with self.subTest(test=name):
                result = Test(name).run()
                assert result is not None
                self.assertTrue(result.wasSuccessful())
                self.assertEqual(cancelled[-1:], [name])

    def make_leaking(self, started: list[str], cancelled: list[str]) -> type[aiounit.AsyncTestCase]:
        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_leaking_task(self) -> None:
                # The original's test: it returns right after creating the task.
                asyncio.create_task(self.coro(), name="leaky")  # noqa: RUF006

            async def test_leaking_started_task(self) -> None:
                asyncio.create_task(self.coro(), name="leaky")  # noqa: RUF006
                await asyncio.sleep(0)

            async def coro(self) -> None:
                started.append(self._testMethodName)
                try:
                    await asyncio.sleep(1)
                except asyncio.CancelledError:
                    cancelled.append(self._testMethodName)
                    raise

        return Test

    def test_cancellation_hanging_tasks_in_a_group(self) -> None:
        """In a group, a task left running is cancelled at the test's end, and named.

        Deliberate difference: the stdlib cancels it silently when the loop
        closes; aiounit cancels it when its test ends (the loop lives on for
        the peers) and gives the test a warning, not a failure.
        """
        started: list[str] = []
        cancelled: list[str] = []
        Test = self.make_leaking(started, cancelled)
        result = self.run_in_group(Test("test_leaking_started_task"))
        self.assertEqual(cancelled, ["test_leaking_started_task"])
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(result.diagnostics), 1)
        name, message = result.diagnostics[0]
        self.assertEqual(name, "test_leaking_started_task")
        self.assertIn("left 1 task(s) running", message)
        self.assertIn("leaky", message)

    def test_cancellation_hanging_tasks_in_a_group_unstarted(self) -> None:
        """In a group, a task made just before the test returned still starts, then is cancelled."""
        started: list[str] = []
        cancelled: list[str] = []
        Test = self.make_leaking(started, cancelled)
        result = self.run_in_group(Test("test_leaking_task"))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(cancelled, ["test_leaking_task"])

    def make_failing_task(self) -> type[aiounit.AsyncTestCase]:
        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                async def fails() -> None:
                    raise MyException("in a task")

                asyncio.create_task(fails())  # noqa: RUF006 - never awaited on purpose
                for _ in range(3):
                    await asyncio.sleep(0)

        return Test

    def test_exception_in_unawaited_task_alone(self) -> None:
        """Alone, as in the stdlib, asyncio only logs an exception nobody retrieved."""
        with self.assertLogs("asyncio", "ERROR") as logs:
            result = self.make_failing_task()("test_func").run()
        assert result is not None
        self.assertTrue(result.wasSuccessful())
        self.assertIn("Task exception was never retrieved", logs.output[0])

    def test_exception_in_unawaited_task_in_a_group(self) -> None:
        """In a group, an exception in a task nobody awaited is a warning of its test.

        The stdlib logs it and the test passes; so does the test here, with a
        warning that names the exception (an error with fail_on_loop_errors).
        """
        test = self.make_failing_task()("test_func")
        result = self.run_in_group(test)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertIn(("addSuccess", "test_func"), result.events)
        [(name, message)] = result.diagnostics
        self.assertEqual(name, "test_func")
        self.assertIn("MyException: in a task", message)
        self.assertIn("which nobody awaited", message)

        test = self.make_failing_task()("test_func")
        result = self.run_in_group(test, fail_on_loop_errors=True)
        self.assertEqual(len(result.errors), 1)
        self.assertIs(result.errors[0][0], test)
        self.assertIn("MyException: in a task", result.errors[0][1])

    def test_exception_of_a_cancelled_leftover_task_in_a_group(self) -> None:
        """With fail_on_loop_errors, what a leftover task raises when cancelled is its test's."""

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                async def raises_on_cancel() -> None:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        raise MyException("on cancel") from None

                asyncio.create_task(raises_on_cancel())  # noqa: RUF006
                await asyncio.sleep(0)

        test = Test("test_func")
        result = self.run_in_group(test, fail_on_loop_errors=True)
        self.assertEqual(len(result.errors), 1)
        self.assertIs(result.errors[0][0], test)
        self.assertIn("MyException: on cancel", result.errors[0][1])

    def test_exception_of_a_cancelled_leftover_task_alone(self) -> None:
        """Alone, as in the stdlib, asyncio logs an exception raised on the final cancellation."""

        class Test(aiounit.AsyncTestCase):
            async def test_func(self) -> None:
                async def raises_on_cancel() -> None:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        raise MyException("on cancel") from None

                asyncio.create_task(raises_on_cancel())  # noqa: RUF006
                await asyncio.sleep(0)

        with self.assertLogs("asyncio", "ERROR") as logs:
            result = Test("test_func").run()
        assert result is not None
        self.assertTrue(result.wasSuccessful())
        self.assertIn("unhandled exception during asyncio.run() shutdown", logs.output[0])


class TestEventLoop(PortTestCase):
    """Which event loop a test sees, and where its sync setUp runs."""

    def test_setup_get_event_loop(self) -> None:
        """With no current loop set, setUp still finds the test's loop (cpython#95736)."""
        loops: list[tuple[Any, Any]] = []

        # 3.14 deprecates the policy functions (gh-127949); CPython's own test
        # goes through the private, undeprecated ones there.
        if sys.version_info >= (3, 14):
            get_policy = asyncio.events._get_event_loop_policy
            set_policy = asyncio.events._set_event_loop_policy
        else:
            get_policy = asyncio.get_event_loop_policy
            set_policy = asyncio.set_event_loop_policy

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                loops.append((get_policy().get_event_loop(), None))

            async def test_demo1(self) -> None:
                loops[-1] = (loops[-1][0], asyncio.get_running_loop())

        self.addCleanup(set_policy, None)
        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                asyncio.set_event_loop(None)
                test = Test("test_demo1")
                result = self.run_as(mode, test)
                assert result is not None
                self.assertTrue(result.wasSuccessful(), result.errors)
                set_up_loop, test_loop = loops[-1]
                self.assertIs(set_up_loop, test_loop)

    def test_sync_set_up_and_tear_down_run_in_the_running_loop_of_a_group(self) -> None:
        """In a group, sync setUp and tearDown run while the group's loop is running.

        Deliberate difference (docs/migration.md): the stdlib calls them
        outside the loop; a group runs a test's parts in one task, so
        ``asyncio.get_running_loop()`` works there too.  Alone, they run outside
        the loop, as in the stdlib.
        """
        seen: list[str] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            loop: asyncio.AbstractEventLoop | None

            def setUp(self) -> None:
                try:
                    self.loop = asyncio.get_running_loop()
                except RuntimeError:
                    self.loop = None
                    seen.append("setUp outside the loop")

            async def test_func(self) -> None:
                if asyncio.get_running_loop() is self.loop:
                    seen.append("same loop")

            def tearDown(self) -> None:
                try:
                    if asyncio.get_running_loop() is self.loop:
                        seen.append("tearDown in loop")
                except RuntimeError:
                    seen.append("tearDown outside the loop")

        expected = {
            "alone": ["setUp outside the loop", "tearDown outside the loop"],
            "group": ["same loop", "tearDown in loop"],
        }
        for mode in ("alone", "group"):
            with self.subTest(mode=mode):
                seen.clear()
                test = Test("test_func")
                result = self.run_as(mode, test)
                assert result is not None
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(seen, expected[mode])

    def test_loop_factory(self) -> None:
        """A class's loop_factory makes the loop, alone and for its group (3.13's test)."""
        counter = LoopCounter()
        loops: list[Any] = []

        @aiounit.group("port")
        class Test(aiounit.AsyncTestCase):
            loop_factory = counter

            async def test_demo1(self) -> None:
                loops.append(asyncio.get_running_loop())

        result = Test("test_demo1").run()
        assert result is not None
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(counter.made, 1)

        other = Test("test_demo1")
        group_result = self.run_in_group(other)  # the helper's own factory for the group
        self.assertTrue(group_result.wasSuccessful())
        self.assertEqual(len(loops), 2)
        self.assertIsNot(loops[0], loops[1])
        if sys.version_info >= (3, 13):
            self.assertIs(unittest.IsolatedAsyncioTestCase.loop_factory, None)


if __name__ == "__main__":
    unittest.main()
