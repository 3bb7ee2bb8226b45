"""Exceptions that asyncio only logs: in loop callbacks and in tasks nobody awaited.

Stock unittest lets a test pass when a callback it scheduled raises (asyncio
logs "Exception in callback ...").  In a group, such an exception is charged to
the test that scheduled it, as a warning by default, so that an unchanged
suite keeps its outcomes; with ``fail_on_loop_errors`` (``--fail-on-loop-errors``)
it is an error of that test.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib.util
import unittest
from collections.abc import Callable
from typing import Any

import aiounit
from tests._engine_support import RawResult
from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_tests,
    run_warm,
    suite_of,
    write_files,
)

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None
LIMITS: dict[str, Any] = {"timeout": 1.0, "grace": 0.05}


class NotedResult(RawResult):
    """A RawResult that also keeps aiounit's warnings, by test name."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, str]] = []

    def addDiagnostic(self, test: Any, message: str) -> None:
        self.notes.append((self._name(test), message))


def explode() -> None:
    raise ZeroDivisionError("from a callback")


def _faulty(base: type = aiounit.AsyncTestCase, loop_factory: Any = None) -> type:
    """A class whose tests raise where asyncio only logs: a callback, an orphan task."""

    class Faulty(base):  # type: ignore[misc]
        async def test_callback(self) -> None:
            asyncio.get_running_loop().call_soon(explode)
            for _ in range(3):
                await asyncio.sleep(0)

        async def test_done_callback(self) -> None:
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda _: explode())
            future.set_result(None)
            for _ in range(3):
                await asyncio.sleep(0)

        async def test_orphan_task(self) -> None:
            async def fails() -> None:
                raise KeyError("nobody awaited me")

            asyncio.create_task(fails())  # noqa: RUF006
            for _ in range(3):
                await asyncio.sleep(0)

        async def test_quiet(self) -> None:
            for _ in range(3):
                await asyncio.sleep(0)

    if loop_factory is not None:
        Faulty.loop_factory = staticmethod(loop_factory)
    return Faulty


_FAULTY = ("test_callback", "test_done_callback", "test_orphan_task")


_LOOP_ERRORS_MODULE = """
    import asyncio
    import aiounit

    @aiounit.group()
    class T(aiounit.AsyncTestCase):
        async def test_callback(self):
            asyncio.get_running_loop().call_soon(lambda: 1 / 0)
            for _ in range(3):
                await asyncio.sleep(0)
"""


class TestLoopErrorsWarnByDefault(BackgroundCase):
    """By default a group keeps the stdlib's outcomes and warns about each exception."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # test_command_line_flag's two runs, made in the background lane.
        directory = background_directory()
        write_files(directory, {"loop_errors_mod.py": _LOOP_ERRORS_MODULE})
        env = child_env()
        jobs = {
            flags: (directory, ("-m", "aiounit", *flags, "loop_errors_mod"), env)
            for flags in ((), ("--fail-on-loop-errors",))
        }
        return functools.partial(run_warm, jobs, werror=False)

    def test_same_outcomes_as_the_stdlib_with_a_warning_each(self) -> None:
        """--default-group class: every test passes, as in unittest; each faulty one is warned."""
        stock = unittest.TestResult()
        with self.assertLogs("asyncio", "ERROR"):  # what the stdlib does with them
            unittest.TestLoader().loadTestsFromTestCase(
                _faulty(unittest.IsolatedAsyncioTestCase)
            ).run(stock)
        self.assertTrue(stock.wasSuccessful())

        result = NotedResult()
        run_tests(
            _faulty(unittest.IsolatedAsyncioTestCase),
            result=result,
            default_group="class",
            **LIMITS,
        )
        self.assertEqual(result.testsRun, stock.testsRun)
        self.assertTrue(result.wasSuccessful(), result.raw)
        self.assertEqual(sorted(name for name, _ in result.notes), sorted(_FAULTY))
        notes = dict(result.notes)
        self.assertIn("ZeroDivisionError: from a callback", notes["test_callback"])
        self.assertIn("Exception in callback", notes["test_callback"])
        self.assertIn("ZeroDivisionError: from a callback", notes["test_done_callback"])
        self.assertIn("KeyError: 'nobody awaited me'", notes["test_orphan_task"])
        self.assertIn("--fail-on-loop-errors", notes["test_orphan_task"])

    def test_fail_on_loop_errors_makes_each_an_error_of_its_test(self) -> None:
        """With fail_on_loop_errors=True each faulty test errs with its exception; no warnings."""
        result = NotedResult()
        run_tests(aiounit.group()(_faulty()), result=result, fail_on_loop_errors=True, **LIMITS)
        errors = {name: type(error) for name, error in result.raw}
        self.assertEqual(
            errors,
            {
                "test_callback": ZeroDivisionError,
                "test_done_callback": ZeroDivisionError,
                "test_orphan_task": KeyError,
            },
        )
        self.assertIn(("addSuccess", "test_quiet"), result.events)
        self.assertEqual(result.notes, [])

    def test_an_error_no_test_scheduled_is_the_groups(self) -> None:
        """A callback outside any test's context: a warning of the group, an error with the flag."""

        @aiounit.group("g")
        class Orphan(aiounit.AsyncTestCase):
            async def test_schedules_outside(self) -> None:
                loop = asyncio.get_running_loop()
                contextvars.Context().run(loop.call_soon, explode)
                for _ in range(3):
                    await asyncio.sleep(0)

        result = NotedResult()
        run_tests(Orphan, result=result, **LIMITS)
        self.assertTrue(result.wasSuccessful(), result.raw)
        [(name, message)] = result.notes
        self.assertEqual(name, f"event loop of group 'g' of {__name__}")
        self.assertIn("ZeroDivisionError: from a callback", message)

        result = NotedResult()
        run_tests(Orphan, result=result, fail_on_loop_errors=True, **LIMITS)
        self.assertEqual(
            [(name, type(error)) for name, error in result.raw],
            [(f"event loop of group 'g' of {__name__}", ZeroDivisionError)],
        )
        self.assertEqual(result.notes, [])

    def test_command_line_flag(self) -> None:
        """python -m aiounit: OK with a warning; --fail-on-loop-errors: an error, exit 1."""
        runs = self.background_runs
        default, failing = runs[()], runs[("--fail-on-loop-errors",)]
        self.assertEqual(default.returncode, 0, default.stderr)
        self.assertIn("OK (warnings=1)", default.stderr)
        self.assertIn("WARNING: test_callback", default.stderr)
        self.assertIn("ZeroDivisionError: division by zero", default.stderr)
        self.assertEqual(failing.returncode, 1, failing.stderr)
        self.assertIn("ERROR: test_callback", failing.stderr)
        self.assertIn("FAILED (errors=1)", failing.stderr)


@unittest.skipUnless(HAVE_UVLOOP, "uvloop is not installed")
class TestUvloop(unittest.TestCase):
    """With uvloop as the loop factory, loop errors are still charged to their test."""

    def test_errors_are_charged_to_the_test_that_scheduled_them(self) -> None:
        """uvloop's handles carry no _context: the test is found all the same."""
        import uvloop

        cls = aiounit.group()(_faulty(loop_factory=uvloop.new_event_loop))
        result = NotedResult()
        run_tests(cls, result=result, fail_on_loop_errors=True, **LIMITS)
        self.assertEqual(sorted(name for name, _ in result.raw), sorted(_FAULTY), result.raw)
        self.assertIn(("addSuccess", "test_quiet"), result.events)

        result = NotedResult()
        suite_of(cls, **LIMITS).run(result)
        self.assertTrue(result.wasSuccessful(), result.raw)
        self.assertEqual(sorted(name for name, _ in result.notes), sorted(_FAULTY))


if __name__ == "__main__":
    unittest.main()
