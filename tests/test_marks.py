"""Tests of the @group and @timeout decorators: validation, targets, precedence."""

from __future__ import annotations

import asyncio
import inspect
import sys
import unittest
from typing import Any

import aiounit
from aiounit import _marks
from tests._engine_support import RawResult
from tests._support import run_tests


def _test_function() -> None:
    """A function that looks like a test method."""


class TestGroupArguments(unittest.TestCase):
    """@group checks its arguments when it is applied, not when tests run."""

    def test_bad_arguments_raise_at_decoration(self) -> None:
        """Bad names, timeouts and caps raise TypeError/ValueError naming the argument."""
        cases: list[tuple[tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
            ((3,), {}, TypeError, "group name"),
            ((b"net",), {}, TypeError, "group name"),
            (("",), {}, ValueError, "group name"),
            (("  ",), {}, ValueError, "group name"),
            ((), {"timeout": -1}, ValueError, "timeout"),
            ((), {"timeout": 0}, ValueError, "timeout"),
            ((), {"timeout": float("nan")}, ValueError, "timeout"),
            ((), {"timeout": "5"}, TypeError, "timeout"),
            ((), {"timeout": True}, TypeError, "timeout"),
            ((), {"max_concurrency": 0}, ValueError, "max_concurrency"),
            ((), {"max_concurrency": -2}, ValueError, "max_concurrency"),
            ((), {"max_concurrency": 1.5}, TypeError, "max_concurrency"),
            ((), {"max_concurrency": True}, TypeError, "max_concurrency"),
        ]
        for args, kwargs, error, word in cases:
            with self.subTest(args=args, kwargs=kwargs):
                with self.assertRaises(error) as cm:
                    aiounit.group(*args, **kwargs)
                self.assertIn(word, str(cm.exception))

    def test_bad_timeouts_raise_at_decoration(self) -> None:
        """@timeout rejects non-numbers, bools and limits that are not positive."""
        cases: list[tuple[Any, type[Exception]]] = [
            (-1, ValueError),
            (0, ValueError),
            (float("nan"), ValueError),
            ("5", TypeError),
            (True, TypeError),
        ]
        for value, error in cases:
            with self.subTest(value=value):
                with self.assertRaises(error) as cm:
                    aiounit.timeout(value)
                self.assertIn("timeout", str(cm.exception))

    def test_bare_timeout_raises(self) -> None:
        """@aiounit.timeout without its limit is a TypeError, not a silent no-op."""
        with self.assertRaises(TypeError):
            aiounit.timeout(_test_function)  # type: ignore[arg-type]

    def test_good_arguments_are_accepted(self) -> None:
        """Positive ints and floats, None, and a cap of 1 are all valid."""
        for kwargs in ({"timeout": 1}, {"timeout": 0.5}, {"timeout": None}, {"max_concurrency": 1}):
            with self.subTest(kwargs=kwargs):
                self.assertTrue(callable(aiounit.group("g", **kwargs)))
        for value in (1, 0.01, None):
            with self.subTest(value=value):
                self.assertTrue(callable(aiounit.timeout(value)))


class TestGroupTargets(unittest.TestCase):
    """@group and @timeout only mark test methods and TestCase subclasses."""

    def test_wrong_targets_raise_type_error(self) -> None:
        """A helper function, a non-TestCase class, a staticmethod or classmethod is refused."""

        def helper() -> None:
            pass

        class NotATestCase:
            pass

        targets = {
            "non-test function": helper,
            "non-TestCase class": NotATestCase,
            "staticmethod": staticmethod(_test_function),
            # Only decorated, never called: a classmethod of a function without cls.
            "classmethod": classmethod(_test_function),  # type: ignore[arg-type]
            "lambda": lambda: None,
            "instance": object(),
        }
        decorators = {
            "group()": aiounit.group(),
            "group('g')": aiounit.group("g"),
            "timeout(1)": aiounit.timeout(1),
        }
        for (target_name, target), (deco_name, decorate) in (
            (t, d) for t in targets.items() for d in decorators.items()
        ):
            with (
                self.subTest(target=target_name, decorator=deco_name),
                self.assertRaises(TypeError),
            ):
                decorate(target)

    def test_bare_group_on_staticmethod_raises(self) -> None:
        """A bare @aiounit.group on a staticmethod object is a TypeError."""
        with self.assertRaises(TypeError):
            aiounit.group(staticmethod(_test_function))

    def test_bare_group_on_non_test_class_raises(self) -> None:
        """A bare @aiounit.group on a class that is not a TestCase is a TypeError."""

        class Plain:
            pass

        with self.assertRaises(TypeError):
            aiounit.group(Plain)

    def test_decorators_return_their_target(self) -> None:
        """The decorators return the very function or class they mark."""

        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

        async def test_b() -> None:
            pass

        self.assertIs(aiounit.group()(Case), Case)
        self.assertIs(aiounit.group(test_b), test_b)
        self.assertIs(aiounit.timeout(2)(test_b), test_b)

    def test_class_timeout_attribute_is_checked(self) -> None:
        """An AsyncTestCase subclass with a bad class attribute timeout fails when created."""
        cases = [(-1, ValueError), (0, ValueError), ("5", TypeError), (True, TypeError)]
        for value, error in cases:
            with self.subTest(value=value):
                with self.assertRaises(error) as cm:
                    type("Bad", (aiounit.AsyncTestCase,), {"timeout": value})
                self.assertIn("timeout", str(cm.exception))

    def test_class_timeout_none_and_positive_are_accepted(self) -> None:
        """A class attribute timeout of None or a positive number is fine."""
        for value in (None, 2, 0.5):
            with self.subTest(value=value):
                cls: type[aiounit.AsyncTestCase] = type(
                    "Good", (aiounit.AsyncTestCase,), {"timeout": value}
                )
                self.assertEqual(cls.timeout, value)

    def test_timeout_on_class_sets_class_attribute(self) -> None:
        """@aiounit.timeout on a class sets its ``timeout`` attribute."""

        @aiounit.timeout(3)
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

        self.assertEqual(Case.timeout, 3.0)


class TestBareGroup(unittest.TestCase):
    """A bare ``@aiounit.group`` works like ``@aiounit.group()``."""

    def test_bare_group_on_class_runs_members_together(self) -> None:
        """The async tests of a class marked with a bare @group overlap."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        @aiounit.group
        class Pair(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        result = run_tests(Pair, timeout=1.0)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_bare_group_on_methods_runs_them_together(self) -> None:
        """Methods marked with a bare @group join their class's own group."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            @aiounit.group
            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        result = run_tests(Pair, timeout=1.0)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_group_mark_survives_other_decorators(self) -> None:
        """@group above or below @timeout and @expectedFailure still groups the method."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("g")
            @aiounit.timeout(1)
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            @unittest.expectedFailure
            @aiounit.timeout(1)
            @aiounit.group("g")
            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()
                self.fail("expected")

        result = run_tests(Pair)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(len(result.expectedFailures), 1)
        self.assertTrue(result.wasSuccessful(), result.errors)


class TestTimeoutPrecedence(unittest.TestCase):
    """Method decorator > group argument > class attribute > suite (``--timeout``)."""

    def test_each_level_beats_the_next(self) -> None:
        """The limit named in each timeout message is the one of the winning level."""
        released = asyncio.Event()

        async def hang(case: unittest.TestCase) -> None:
            await asyncio.Event().wait()

        # One group across classes, so all the cases time out together (one wait).
        class NoAttr(aiounit.AsyncTestCase):
            @aiounit.group("p", timeout=0.07)
            @aiounit.timeout(0.05)
            async def test_method_low_over_group(self) -> None:
                await hang(self)

            @aiounit.group("p", timeout=0.05)
            @aiounit.timeout(0.07)
            async def test_method_high_over_group(self) -> None:
                await hang(self)

            @aiounit.group("p")
            async def test_suite_only(self) -> None:
                await hang(self)

            @aiounit.group("p")
            @aiounit.timeout(None)
            async def test_none_lifts_suite_limit(self) -> None:
                # Outlives the suite's 0.06 s: released by the slowest peer's cleanup.
                await released.wait()

        class HighAttr(aiounit.AsyncTestCase):
            timeout = 0.07

            @aiounit.group("p", timeout=0.05)
            async def test_group_low_over_class(self) -> None:
                await hang(self)

            @aiounit.group("p")
            async def test_class_high_over_suite(self) -> None:
                self.addCleanup(released.set)
                await hang(self)

        class LowAttr(aiounit.AsyncTestCase):
            timeout = 0.05

            @aiounit.group("p", timeout=0.07)
            async def test_group_high_over_class(self) -> None:
                await hang(self)

            @aiounit.group("p")
            async def test_class_low_over_suite(self) -> None:
                await hang(self)

        result = RawResult()
        run_tests(NoAttr, HighAttr, LowAttr, result=result, timeout=0.06)
        errors = dict(result.raw)
        expected = {
            "test_method_low_over_group": "0.05 s",
            "test_method_high_over_group": "0.07 s",
            "test_suite_only": "0.06 s",
            "test_group_low_over_class": "0.05 s",
            "test_class_high_over_suite": "0.07 s",
            "test_group_high_over_class": "0.07 s",
            "test_class_low_over_suite": "0.05 s",
        }
        for name, limit in expected.items():
            with self.subTest(test=name):
                self.assertIsInstance(errors.get(name), aiounit.TestTimeoutError)
                self.assertIn(f"within {limit}", str(errors[name]))
        self.assertEqual(result.testsRun, 8)
        self.assertNotIn("test_none_lifts_suite_limit", errors)
        self.assertIn(("addSuccess", "test_none_lifts_suite_limit"), result.events)

    def test_timeout_none_lifts_class_limit(self) -> None:
        """@aiounit.timeout(None) on a method lifts its class attribute limit."""
        released = asyncio.Event()

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            timeout = 0.05

            async def test_hangs(self) -> None:
                self.addCleanup(released.set)
                await asyncio.Event().wait()

            @aiounit.timeout(None)
            async def test_unlimited(self) -> None:
                await released.wait()

        result = run_tests(Case)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([e[1] for e in result.events if e[0] == "addError"], ["test_hangs"])
        self.assertIn(("addSuccess", "test_unlimited"), result.events)

    def test_none_in_a_group_or_a_class_lifts_the_limit(self) -> None:
        """``group(timeout=None)`` and a class attribute ``timeout = None`` mean no limit,
        over the levels below them (class attribute, ``--timeout``), not "not set"."""
        released = asyncio.Event()

        class Limited(aiounit.AsyncTestCase):
            timeout = 0.05

            @aiounit.group("p")
            async def test_hangs(self) -> None:
                self.addCleanup(released.set)
                await asyncio.Event().wait()

            @aiounit.group("p", timeout=None)
            async def test_group_none_over_class(self) -> None:
                await released.wait()

        class Unlimited(aiounit.AsyncTestCase):
            timeout = None

            @aiounit.group("p")
            async def test_class_none_over_suite(self) -> None:
                await released.wait()

        result = run_tests(Limited, Unlimited, timeout=0.05)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([e[1] for e in result.events if e[0] == "addError"], ["test_hangs"])
        self.assertIn(("addSuccess", "test_group_none_over_class"), result.events)
        self.assertIn(("addSuccess", "test_class_none_over_suite"), result.events)

    def test_suite_timeout_bounds_ungrouped_tests(self) -> None:
        """The suite's timeout (``--timeout``) also bounds an AsyncTestCase test with no group."""

        class Alone(aiounit.AsyncTestCase):
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

        result = RawResult()
        run_tests(Alone, result=result, timeout=0.05)
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("within 0.05 s", str(result.raw[0][1]))

    def test_ungrouped_test_uses_method_timeout(self) -> None:
        """A test with no group is bounded by its own @timeout over the suite's."""

        class Alone(aiounit.AsyncTestCase):
            @aiounit.timeout(0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

        result = RawResult()
        run_tests(Alone, result=result, timeout=10)
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("within 0.05 s", str(result.raw[0][1]))


if __name__ == "__main__":
    unittest.main()


class TestCoroutineFunctions(unittest.TestCase):
    @unittest.skipIf(sys.version_info < (3, 12), "inspect.markcoroutinefunction is 3.12+")
    def test_a_function_marked_as_a_coroutine_function_is_one(self) -> None:
        """aiounit's fast check agrees with inspect on a function marked with
        ``inspect.markcoroutinefunction`` (3.12.1 names its mark differently)."""

        async def real() -> None:
            pass

        def marked() -> Any:
            return real()

        inspect.markcoroutinefunction(marked)  # type: ignore[attr-defined,unused-ignore]
        self.assertTrue(inspect.iscoroutinefunction(marked))
        self.assertTrue(_marks.is_coroutine_function(marked))
        self.assertFalse(_marks.is_coroutine_function(lambda: None))
