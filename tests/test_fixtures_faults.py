"""Async class fixtures that misbehave: cancelled, blocking, raising in the loop.

Each test defines a tiny class whose fixture misbehaves one way, runs it in
aiounit's suite (and in stock unittest's where the runner matters), and checks
what the result was told: the fault is the fixture's, reported as a failing
``setUpClass``/``tearDownClass`` (or a warning of it), and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import unittest
from typing import Any

import aiounit
from aiounit import _config
from tests._engine_support import NotingResult, make_module
from tests._support import LoggingResult, suite_of


def noting_result() -> NotingResult:
    return NotingResult()


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Other(aiounit.AsyncTestCase):
    async def test_other(self) -> None:
        pass


class TestCancelledFixtures(unittest.TestCase):
    """A CancelledError is a BaseException: raised from setUpClass as it is,
    unittest would not catch it and the whole run would end."""

    def cancelled_class(self, where: str) -> type:
        class T(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                if where == "setup":
                    task = asyncio.current_task()
                    assert task is not None
                    task.cancel()
                    await asyncio.sleep(0)

            @classmethod
            async def asyncTearDownClass(cls) -> None:
                if where == "teardown":
                    raise asyncio.CancelledError

            async def test_x(self) -> None:
                pass

        return T

    def test_a_setup_that_cancels_itself_is_a_failing_setUpClass(self) -> None:
        cls = self.cancelled_class("setup")
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            with self.subTest(suite=suite_class.__name__):
                result = LoggingResult()
                suite_of(cls, Other, suite_class=suite_class).run(result)
                self.assertIn(("addError", f"setUpClass ({name_of(cls)})"), result.events)
                self.assertIn("asyncSetUpClass of", result.errors[0][1])
                self.assertIn("was cancelled", result.errors[0][1])
                self.assertIn(("addSuccess", "test_other"), result.events)
                self.assertNotIn(("startTest", "test_x"), result.events)

    def test_a_cancelled_teardown_is_a_failing_tearDownClass(self) -> None:
        cls = self.cancelled_class("teardown")
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            with self.subTest(suite=suite_class.__name__):
                result = LoggingResult()
                suite_of(cls, Other, suite_class=suite_class).run(result)
                self.assertIn(("addError", f"tearDownClass ({name_of(cls)})"), result.events)
                self.assertIn("asyncTearDownClass of", result.errors[0][1])
                self.assertIn(("addSuccess", "test_other"), result.events)


class TestBadHooks(unittest.TestCase):
    def test_a_sync_class_hook_is_a_type_error_naming_it(self) -> None:
        for name in ("asyncSetUpClass", "asyncTearDownClass"):
            pattern = rf"T\.{name} must be a coroutine function"
            with self.subTest(name=name), self.assertRaisesRegex(TypeError, pattern):
                type("T", (aiounit.AsyncTestCase,), {name: classmethod(lambda cls: None)})


class TestInheritedFixtures(unittest.TestCase):
    def test_a_subclass_sets_up_once_for_itself_as_with_setUpClass(self) -> None:
        calls: list[str] = []

        class Base(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                calls.append(cls.__name__)

            async def test_x(self) -> None:
                pass

        class Sub(Base):
            pass

        result = LoggingResult()
        suite_of(Base, Sub).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(calls, ["Base", "Sub"])

    def test_a_group_inherited_with_the_fixtures_says_how_to_split_it(self) -> None:
        class Base(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                pass

            @aiounit.group("store")
            async def test_x(self) -> None:
                pass

        class Sub(Base):
            pass

        make_module(self, Base, Sub)
        with self.assertRaises(aiounit._scope.LoopScopeError) as caught:
            suite_of(Base, Sub).run(LoggingResult())
        message = str(caught.exception)
        self.assertIn("by inheritance", message)
        self.assertIn("@aiounit.group('...') on each class", message)
        self.assertIn("asyncSetUpModule", message)


class TestBlockingFixture(unittest.TestCase):
    def test_a_setup_blocking_the_loop_past_its_limit_is_a_timeout(self) -> None:
        class T(aiounit.AsyncTestCase):
            timeout = 0.05

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                time.sleep(0.1)  # noqa: ASYNC251 (blocks the loop: no asyncio timeout can fire)

            async def test_x(self) -> None:
                pass

        result = LoggingResult()
        suite_of(T).run(result)
        self.assertEqual(result.events, [("addError", f"setUpClass ({name_of(T)})")])
        self.assertIn("TestTimeoutError", result.errors[0][1])
        self.assertIn("blocked the event loop", result.errors[0][1])

    def test_a_peers_block_is_not_charged_to_a_fixture_set_up_with_it(self) -> None:
        started = asyncio.Event

        class Blocks(aiounit.AsyncTestCase):
            timeout = 0.05

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                await Waits.waiting.wait()
                time.sleep(0.1)  # noqa: ASYNC251 (keeps the peer's deadline from firing)

            @aiounit.group("together")
            async def test_b(self) -> None:
                pass

        class Waits(aiounit.AsyncTestCase):
            timeout = 0.05
            waiting: asyncio.Event

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                cls.waiting.set()
                await asyncio.sleep(0.01)  # its deadline passes while the peer blocks

            @aiounit.group("together")
            async def test_w(self) -> None:
                pass

        Waits.waiting = started()
        module = make_module(self, Blocks, Waits)

        async def one_loop_for_both_classes() -> None:
            pass

        # A module made at run time: mypy knows none of its attributes.
        module.asyncSetUpModule = one_loop_for_both_classes  # type: ignore[attr-defined]
        result = LoggingResult()
        suite_of(Blocks, Waits, suite_class=aiounit.ConcurrentTestSuite).run(result)
        errors = [e for e in result.events if e[0] == "addError"]
        self.assertEqual(errors, [("addError", f"setUpClass ({name_of(Blocks)})")], result.errors)
        self.assertIn(("addSuccess", "test_w"), result.events)


class TestUngroupedTestsOnTheScopesLoop(unittest.TestCase):
    """An ungrouped test of a class with async class fixtures runs on the
    class's loop, which must go on after it: it gets the limits a test alone
    on a loop of its own gets."""

    def test_one_that_ignores_its_cancellation_is_given_up_on_and_the_run_goes_on(self) -> None:
        class T(aiounit.AsyncTestCase):
            timeout = 0.05

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                pass

            async def test_a_stubborn(self) -> None:
                while True:
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.Event().wait()

            async def test_b(self) -> None:
                pass

        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            with self.subTest(suite=suite_class.__name__):
                result = LoggingResult()
                with _config.using(_config.current().merged(grace=0.01)):
                    suite_of(T, suite_class=suite_class).run(result)
                self.assertIn(("addError", "test_a_stubborn"), result.events)
                self.assertIn("given up on", result.errors[0][1])
                self.assertIn(("addSuccess", "test_b"), result.events)

    def test_one_that_blocks_the_loop_past_its_limit_is_a_timeout(self) -> None:
        class T(aiounit.AsyncTestCase):
            timeout = 0.05

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                pass

            async def test_blocks(self) -> None:
                time.sleep(0.1)  # noqa: ASYNC251 (returns after its deadline)

        result = LoggingResult()
        suite_of(T, grace=0.01).run(result)
        self.assertIn(("addError", "test_blocks"), result.events)
        self.assertIn("TestTimeoutError", result.errors[0][1])


class TestLoopErrorsOfFixtures(unittest.TestCase):
    """What a fixture schedules on its loop and raises there is the fixture's."""

    def raising_class(self, how: str, *, grouped: bool = False) -> type:
        class T(aiounit.AsyncTestCase):
            ran: asyncio.Event
            tick: asyncio.Event
            task: asyncio.Task[None]

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                loop = asyncio.get_running_loop()
                cls.ran = asyncio.Event()
                if how == "callback":
                    loop.call_soon(lambda: 1 / 0)
                    loop.call_soon(cls.ran.set)
                elif how == "task":

                    async def dies() -> None:
                        cls.ran.set()
                        raise ValueError("background task died")

                    cls.task = asyncio.create_task(dies())
                elif how == "dropped":

                    async def dies_unseen() -> None:
                        cls.ran.set()
                        raise ValueError("dropped task died")

                    asyncio.create_task(dies_unseen())  # noqa: RUF006 (collected, then logged)
                elif how == "later":
                    cls.tick = asyncio.Event()

                    async def ticker() -> None:
                        await cls.tick.wait()
                        loop.call_soon(lambda: dict[str, int]()["missing"])
                        loop.call_soon(cls.ran.set)

                    cls.task = asyncio.create_task(ticker())

            async def test_a(self) -> None:
                if how == "later":
                    self.tick.set()
                await self.ran.wait()

            async def test_b(self) -> None:
                await self.ran.wait()

        if grouped:
            aiounit.group("pair")(T.test_a)
            aiounit.group("pair")(T.test_b)
        return T

    def check_warning(self, result: Any, cls: type, text: str) -> None:
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(result.notes), 1, result.notes)
        [(where, note)] = result.notes
        self.assertEqual(where, f"tearDownClass ({name_of(cls)})")
        self.assertIn("raised in the event loop", note)
        self.assertIn(text, note)

    def test_a_callback_the_setup_scheduled_warns_on_the_fixture(self) -> None:
        for grouped in (False, True):
            with self.subTest(grouped=grouped):
                cls = self.raising_class("callback", grouped=grouped)
                result = noting_result()
                suite_of(cls).run(result)
                self.check_warning(result, cls, "ZeroDivisionError")

    def test_a_fixture_task_nobody_awaited_warns_on_the_fixture(self) -> None:
        cls = self.raising_class("task")
        result = noting_result()
        suite_of(cls).run(result)
        self.check_warning(result, cls, "background task died")

    def test_a_fixture_task_nobody_kept_warns_on_the_fixture(self) -> None:
        cls = self.raising_class("dropped")
        result = noting_result()
        suite_of(cls).run(result)
        self.check_warning(result, cls, "dropped task died")

    def test_a_fixture_tasks_callback_during_a_group_is_not_the_groups(self) -> None:
        for grouped in (False, True):
            with self.subTest(grouped=grouped):
                cls = self.raising_class("later", grouped=grouped)
                result = noting_result()
                suite_of(cls).run(result)
                self.check_warning(result, cls, "KeyError")

    def test_with_fail_on_loop_errors_it_is_an_error_of_the_fixture(self) -> None:
        cls = self.raising_class("callback", grouped=True)
        result = noting_result()
        suite_of(cls, fail_on_loop_errors=True).run(result)
        self.assertEqual(result.events[-1], ("addError", f"tearDownClass ({name_of(cls)})"))
        self.assertIn("ZeroDivisionError", result.errors[0][1])
        self.assertEqual(result.notes, [])


if __name__ == "__main__":
    unittest.main()
