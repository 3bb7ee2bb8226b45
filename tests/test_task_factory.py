"""The group's task factory: every ``create_task`` argument of each Python reaches the task.

3.14 passes ``create_task``'s keyword arguments to the task factory as they
are (``name``, ``context``, ``eager_start``), and an eager task runs
its first step inside ``create_task``, before the factory returns it: that
step must already be charged to the test that created the task.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import sys
import time
import unittest
from typing import Any

import aiounit
from tests._support import LoggingResult, run_tests, suite_of

LIMITS: dict[str, Any] = {"timeout": 1.0, "grace": 0.05, "blocking_threshold": 0.05}
VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


class TestCreateTaskArguments(unittest.TestCase):
    """name and context reach a task created in a group, as on a plain loop."""

    def test_name_and_context(self) -> None:
        seen: list[tuple[str, str]] = []

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                ctx = contextvars.copy_context()
                ctx.run(VAR.set, "from the context argument")

                async def child() -> None:
                    task = asyncio.current_task()
                    assert task is not None
                    seen.append((task.get_name(), VAR.get()))

                await asyncio.get_running_loop().create_task(child(), name="child", context=ctx)
                await asyncio.create_task(child())

            @aiounit.group("g")
            async def test_b(self) -> None:
                pass

        result = run_tests(Case, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(seen[0], ("child", "from the context argument"))
        self.assertRegex(seen[1][0], r"^Task-\d+$")  # not "None" (3.13's set_name(None))
        self.assertEqual(seen[1][1], "unset")

    def test_bad_argument_raises_to_the_test(self) -> None:
        """create_task with no coroutine raises TypeError in the test; nothing is left tracked."""
        raised: list[BaseException] = []

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                with self.assertRaises(TypeError) as caught:
                    asyncio.get_running_loop().create_task("not a coroutine")  # type: ignore[arg-type]
                raised.append(caught.exception)

            @aiounit.group("g")
            async def test_b(self) -> None:
                pass

        # Nothing half-made may be left to judge as a leaked task.
        result = run_tests(Case, fail_on_leaks=True, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(raised), 1)


@unittest.skipUnless(sys.version_info >= (3, 14), "create_task(eager_start=...) is 3.14+")
class TestEagerStart(unittest.TestCase):
    """``create_task(..., eager_start=True)`` in a group: eager, and charged to its test."""

    def test_eager_task_starts_inside_create_task(self) -> None:
        """The first step runs before create_task returns, as on a plain 3.14 loop."""
        events: list[str] = []

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                async def child() -> None:
                    events.append("first step")
                    await asyncio.sleep(0)
                    events.append("second step")

                loop = asyncio.get_running_loop()
                task = loop.create_task(child(), eager_start=True, name="eager")  # type: ignore[call-arg]  # 3.14+
                events.append("created")
                await task
                self.assertEqual(task.get_name(), "eager")

            @aiounit.group("g")
            async def test_b(self) -> None:
                pass

        result = run_tests(Case, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(events, ["first step", "created", "second step"])

    def test_eager_step_that_blocks_is_charged_to_its_test(self) -> None:
        """A first step that blocks the loop is its test's block, named in its warning."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_blocks(self) -> None:
                a_started.set()
                await b_started.wait()

                async def child() -> None:
                    time.sleep(0.15)  # noqa: ASYNC251  # the mistake under test, in its eager step

                # eager_start is 3.14+ (the class is skipped before); mypy checks as 3.11.
                await asyncio.get_running_loop().create_task(child(), eager_start=True)  # type: ignore[call-arg]

            @aiounit.group("g")
            async def test_peer(self) -> None:
                b_started.set()
                await a_started.wait()

        stream = io.StringIO()
        result = aiounit.TextTestRunner(stream=stream).run(suite_of(Case, **LIMITS))
        assert isinstance(result, aiounit.TextTestResult)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            [t._testMethodName for t, _ in result.diagnostics], ["test_blocks"], result.diagnostics
        )
        self.assertIn("blocked the event loop for", result.diagnostics[0][1])

    def test_eager_task_left_running_is_charged_to_its_test(self) -> None:
        """An eager task still pending when its test ends is reported as left running."""
        never = asyncio.Event()

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_leaks(self) -> None:
                # eager_start is 3.14+ (the class is skipped before); mypy checks as 3.11.
                asyncio.get_running_loop().create_task(never.wait(), eager_start=True)  # type: ignore[call-arg]

            @aiounit.group("g")
            async def test_peer(self) -> None:
                pass

        result = run_tests(Case, result=LoggingResult(), fail_on_leaks=True, **LIMITS)
        self.assertEqual([str(t).split()[0] for t, _ in result.errors], ["test_leaks"])
        self.assertIn("left 1 task(s) running", result.errors[0][1])


if __name__ == "__main__":
    unittest.main()
