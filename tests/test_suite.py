"""Tests of ConcurrentTestSuite: planning, class and module fixtures, default groups."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Callable
from typing import Any, ClassVar

import aiounit
from tests._engine_support import Tracker, make_module, run_stdlib
from tests._support import LoggingResult, run_tests, suite_of, tests_of


async def _meet(mine: asyncio.Event, other: asyncio.Event) -> None:
    """Pass only if the other test is running at the same time."""
    mine.set()
    await other.wait()


async def _async_test(self: unittest.TestCase) -> None:
    await asyncio.sleep(0)


def _sync_test(self: unittest.TestCase) -> None:
    pass


def _fixture_class(
    name: str, fixture: Callable[[str], None], base: type = aiounit.AsyncTestCase, **methods: Any
) -> type:
    """A TestCase class whose class fixtures and class cleanup call *fixture*."""

    def setUpClass(cls: type) -> None:
        cls.addClassCleanup(fixture, f"classCleanup {name}")  # type: ignore[attr-defined]
        fixture(f"setUpClass {name}")

    def tearDownClass(cls: type) -> None:
        fixture(f"tearDownClass {name}")

    namespace = {
        "setUpClass": classmethod(setUpClass),
        "tearDownClass": classmethod(tearDownClass),
        **methods,
    }
    return type(name, (base,), namespace)


def _leaves(suite: unittest.TestSuite) -> list[Any]:
    """The tests still held by *suite* and its nested suites."""
    found = []
    for test in suite._tests:
        if isinstance(test, unittest.TestSuite):
            found.extend(_leaves(test))
        elif test is not None:
            found.append(test)
    return found


class _Custom(unittest.TestSuite):
    """A nested suite with a run() of its own, which must not be flattened."""

    def run(self, result: Any, debug: bool = False) -> Any:
        return super().run(result, debug)


class TestFixturesLikeStdlib(unittest.TestCase):
    """Without groups, fixtures run exactly as unittest.TestSuite runs them."""

    def _scenario(
        self, failing: dict[str, type[BaseException]], grouped: bool = False
    ) -> tuple[list[Any], Any]:
        """Two modules, three classes; fixtures named in *failing* raise.

        With *grouped*, each class is its own group (plain unittest.TestSuite
        ignores the marks, so the stdlib order stays the reference).

        Returns the list whose first item is the result the fixtures report to,
        and a function that builds the three per-class suites with a suite class.
        """
        current: list[Any] = [None]

        def fixture(name: str) -> None:
            current[0].events.append(("fixture", name))
            if name in failing:
                raise failing[name](name)

        first = _fixture_class("A", fixture, test_1=_async_test, test_2=_sync_test)
        second = _fixture_class("B", fixture, test_3=_async_test)
        third = _fixture_class("C", fixture, unittest.TestCase, test_4=_sync_test)
        if grouped:
            for cls in (first, second, third):
                aiounit.group()(cls)
        m1 = make_module(self, first, second)
        m2 = make_module(self, third)
        for module in (m1, m2):
            label = "m1" if module is m1 else "m2"
            # Modules made at run time: mypy knows none of their attributes.
            module.setUpModule = lambda label=label: fixture(f"setUpModule {label}")  # type: ignore[attr-defined]
            module.tearDownModule = lambda label=label: fixture(f"tearDownModule {label}")  # type: ignore[attr-defined]
        loader = unittest.TestLoader()

        def suites(cls: type = unittest.TestSuite) -> list[Any]:
            return [cls(loader.loadTestsFromTestCase(c)) for c in (first, second, third)]

        return current, suites

    _FAILURES: ClassVar[dict[str, dict[str, type[BaseException]]]] = {
        "nothing fails": {},
        "setUpModule fails": {"setUpModule m1": ValueError},
        "second setUpModule fails": {"setUpModule m2": ValueError},
        "tearDownModule fails": {"tearDownModule m1": ValueError},
        "setUpClass fails": {"setUpClass A": ValueError},
        "setUpClass skips": {"setUpClass B": unittest.SkipTest},
        "tearDownClass fails": {"tearDownClass A": ValueError},
        "class cleanup fails": {"classCleanup B": ValueError},
        "setUpModule skips": {"setUpModule m1": unittest.SkipTest},
    }

    def assert_like_stdlib(
        self, build: Callable[[Callable[..., list[Any]], type], Any], grouped: bool
    ) -> None:
        """For every failure case, compare our events with the stdlib's.

        *build(suites, suite_class)* makes the suite to run from the per-class
        suites; it is run once with unittest.TestSuite, once with ours.  With
        *grouped*, each class is a group of its own.
        """
        for case, failing in self._FAILURES.items():
            with self.subTest(case=case):
                current, suites = self._scenario(failing, grouped)
                expected = current[0] = LoggingResult()
                build(suites, unittest.TestSuite).run(expected)
                actual = current[0] = LoggingResult()
                build(suites, aiounit.ConcurrentTestSuite).run(actual)
                self.assertEqual(actual.events, expected.events)
                self.assertEqual(
                    [str(t) for t, _ in actual.errors], [str(t) for t, _ in expected.errors]
                )

    @staticmethod
    def _flat(suites: Callable[..., list[Any]], outer: type) -> Any:
        return outer(suites())

    @staticmethod
    def _nested(suites: Callable[..., list[Any]], outer: type) -> Any:
        return unittest.TestSuite(suites(outer))

    @staticmethod
    def _custom(suites: Callable[..., list[Any]], outer: type) -> Any:
        return outer([suites()[0], _Custom(suites()[1]), suites()[2]])

    def test_flat_suite_matches_stdlib(self) -> None:
        """Fixture calls, their errors and tests' events come in the stdlib's order."""
        self.assert_like_stdlib(self._flat, grouped=False)

    def test_flat_suite_of_grouped_classes_matches_stdlib(self) -> None:
        """Classes that are each a group keep the stdlib's fixture order and errors."""
        self.assert_like_stdlib(self._flat, grouped=True)

    def test_nested_concurrent_suites_match_stdlib(self) -> None:
        """ConcurrentTestSuites inside a plain TestSuite (load_tests) keep stdlib order."""
        self.assert_like_stdlib(self._nested, grouped=False)

    def test_nested_concurrent_suites_of_groups_match_stdlib(self) -> None:
        """Nested ConcurrentTestSuites of grouped classes keep the stdlib's order."""
        self.assert_like_stdlib(self._nested, grouped=True)

    def test_custom_nested_suite_matches_stdlib(self) -> None:
        """A nested suite with its own run() between ours keeps the stdlib's order."""
        self.assert_like_stdlib(self._custom, grouped=False)

    def test_custom_nested_suite_among_groups_matches_stdlib(self) -> None:
        """A custom nested suite among grouped classes keeps the stdlib's order."""
        self.assert_like_stdlib(self._custom, grouped=True)

    def test_set_up_class_error_names_the_class(self) -> None:
        """A failing setUpClass is reported as "setUpClass (module.Class)"; its tests are not."""
        current, suites = self._scenario({"setUpClass A": ValueError})
        result = current[0] = LoggingResult()
        aiounit.ConcurrentTestSuite(suites()).run(result)
        module = suites()[0]._tests[0].__class__.__module__
        self.assertIn(("addError", f"setUpClass ({module}.A)"), result.events)
        self.assertEqual(tests_of(result.events), ["test_3", "test_4"])


class TestGroupFixtures(unittest.TestCase):
    """A group spanning classes gets every class set up first and torn down after."""

    def _spanning(self, fixture: Callable[[str], None]) -> tuple[type, type]:
        a_started, b_started = asyncio.Event(), asyncio.Event()

        @aiounit.group("g")
        async def test_g_a(self: unittest.TestCase) -> None:
            await _meet(a_started, b_started)

        @aiounit.group("g")
        async def test_g_b(self: unittest.TestCase) -> None:
            await _meet(b_started, a_started)

        first = _fixture_class("A", fixture, test_g_a=test_g_a, test_s=_async_test)
        second = _fixture_class("B", fixture, test_g_b=test_g_b)
        module = make_module(self, first, second)
        # A module made at run time: mypy knows none of its attributes.
        module.setUpModule = lambda: fixture("setUpModule")  # type: ignore[attr-defined]
        module.tearDownModule = lambda: fixture("tearDownModule")  # type: ignore[attr-defined]
        return first, second

    def test_both_classes_set_up_before_and_torn_down_after(self) -> None:
        """setUpClass of both classes runs before any member; tearDownClass after all."""
        result = LoggingResult()

        def fixture(name: str) -> None:
            result.events.append(("fixture", name))

        run_tests(*self._spanning(fixture), result=result, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        order = [e[1] for e in result.events if e[0] in ("fixture", "startTest")]
        self.assertEqual(order[:3], ["setUpModule", "setUpClass A", "setUpClass B"])
        self.assertEqual(sorted(order[3:5]), ["test_g_a", "test_g_b"])
        # B is torn down as soon as no later test needs it; A after its serial test.
        self.assertEqual(
            order[5:],
            [
                "tearDownClass B",
                "classCleanup B",
                "test_s",
                "tearDownClass A",
                "classCleanup A",
                "tearDownModule",
            ],
        )

    def test_set_up_class_failure_spares_the_other_class(self) -> None:
        """If one class of a group fails setUpClass, the other class's members still run."""
        result = LoggingResult()

        def fixture(name: str) -> None:
            result.events.append(("fixture", name))
            if name == "setUpClass A":
                raise ValueError(name)

        first, second = self._spanning(fixture)

        # Without A's member, B's member would have nobody to meet.
        @aiounit.group("g")
        async def test_g_b(self: unittest.TestCase) -> None:
            await asyncio.sleep(0)

        second.test_g_b = test_g_b  # type: ignore[attr-defined]
        run_tests(first, second, result=result, timeout=1.0)
        self.assertEqual(tests_of(result.events), ["test_g_b"])
        self.assertIn(("addError", f"setUpClass ({first.__module__}.A)"), result.events)
        self.assertIn(("addSuccess", "test_g_b"), result.events)

    def test_same_name_in_two_modules_is_two_groups(self) -> None:
        """Group names are module-scoped: "g" in two modules gives two groups in turn."""
        tracker = Tracker()
        events = {n: asyncio.Event() for n in ("x1", "x2", "y1", "y2")}
        fixtures: list[str] = []

        def member(mine: str, other: str) -> Any:
            @aiounit.group("g")
            async def test(self: unittest.TestCase) -> None:
                with tracker.track(f"{type(self).__name__}.{self._testMethodName}"):
                    await _meet(events[mine], events[other])

            return test

        first = type(
            "X",
            (aiounit.AsyncTestCase,),
            {"test_1": member("x1", "x2"), "test_2": member("x2", "x1")},
        )
        second = type(
            "Y",
            (aiounit.AsyncTestCase,),
            {"test_1": member("y1", "y2"), "test_2": member("y2", "y1")},
        )
        for cls in (first, second):
            module = make_module(self, cls)
            # Modules made at run time: mypy knows none of their attributes.
            module.setUpModule = lambda n=cls.__name__: fixtures.append(f"setUpModule {n}")  # type: ignore[attr-defined]
            module.tearDownModule = lambda n=cls.__name__: fixtures.append(f"tearDownModule {n}")  # type: ignore[attr-defined]
        result = run_tests(first, second, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.overlaps,
            {frozenset(("X.test_1", "X.test_2")), frozenset(("Y.test_1", "Y.test_2"))},
        )
        self.assertEqual(
            fixtures, ["setUpModule X", "tearDownModule X", "setUpModule Y", "tearDownModule Y"]
        )

    def test_nested_plain_suites_are_flattened_into_one_group(self) -> None:
        """Members in different nested plain suites still run together."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class First(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                await _meet(a_started, b_started)

        class Second(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_b(self) -> None:
                await _meet(b_started, a_started)

        suite = aiounit.ConcurrentTestSuite(
            [
                unittest.TestSuite([First("test_a")]),
                unittest.TestSuite([unittest.TestSuite([Second("test_b")])]),
            ],
            timeout=1.0,
        )
        result = LoggingResult()
        suite.run(result)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_suite_with_own_run_is_not_flattened(self) -> None:
        """A nested suite with a custom run() is run by itself, its tests one at a time."""
        tracker = Tracker()
        calls: list[str] = []

        class Counting(unittest.TestSuite):
            def run(self, result: Any, debug: bool = False) -> Any:
                calls.append("run")
                return super().run(result, debug)

        @aiounit.group("g")
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with tracker.track("test_a"):
                    await asyncio.sleep(0)

            async def test_b(self) -> None:
                with tracker.track("test_b"):
                    await asyncio.sleep(0)

        suite = aiounit.ConcurrentTestSuite([Counting([Case("test_a"), Case("test_b")])])
        result = LoggingResult()
        suite.run(result)
        self.assertEqual(calls, ["run"])
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(tracker.overlaps, set())


class TestDefaultGroup(unittest.TestCase):
    """``default_group`` groups unmarked async tests of IsolatedAsyncioTestCase classes."""

    def _classes(self, tracker: Tracker, pairs: dict[str, tuple[str, str]]) -> list[type]:
        """Two async classes and a plain one; tests in *pairs* must meet their partner."""
        events = {label: asyncio.Event() for pair in pairs.values() for label in pair}

        async def body(self: unittest.TestCase) -> None:
            name = f"{type(self).__name__}.{self._testMethodName}"
            with tracker.track(name):
                if name in pairs:
                    mine, other = pairs[name]
                    await _meet(events[mine], events[other])
                else:
                    await asyncio.sleep(0)

        def sync_body(self: unittest.TestCase) -> None:
            with tracker.track(f"{type(self).__name__}.{self._testMethodName}"):
                pass

        first = type(
            "First",
            (aiounit.AsyncTestCase,),
            {"test_a": body, "test_b": body, "test_sync": sync_body},
        )
        second = type(
            "Second", (unittest.IsolatedAsyncioTestCase,), {"test_a": body, "test_b": body}
        )
        plain = type("Plain", (unittest.TestCase,), {"test_a": sync_body, "test_b": sync_body})
        make_module(self, first, second, plain)
        return [first, second, plain]

    def test_class(self) -> None:
        """With "class", each class's async tests form a group; sync tests stay alone."""
        tracker = Tracker()
        pairs = {
            "First.test_a": ("First.test_a", "First.test_b"),
            "First.test_b": ("First.test_b", "First.test_a"),
            "Second.test_a": ("Second.test_a", "Second.test_b"),
            "Second.test_b": ("Second.test_b", "Second.test_a"),
        }
        result = run_tests(*self._classes(tracker, pairs), default_group="class", timeout=1.0)
        self.assertEqual(result.testsRun, 7)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.overlaps,
            {
                frozenset(("First.test_a", "First.test_b")),
                frozenset(("Second.test_a", "Second.test_b")),
            },
        )

    def test_module(self) -> None:
        """With "module", the async tests of every class of a module form one group."""
        tracker = Tracker()
        pairs = {
            "First.test_a": ("1a", "2b"),
            "Second.test_b": ("2b", "1a"),
        }
        result = run_tests(*self._classes(tracker, pairs), default_group="module", timeout=1.0)
        self.assertEqual(result.testsRun, 7)
        self.assertTrue(result.wasSuccessful(), result.errors)
        grouped = {"First.test_a", "First.test_b", "Second.test_a", "Second.test_b"}
        self.assertIn(frozenset(("First.test_a", "Second.test_b")), tracker.overlaps)
        for pair in tracker.overlaps:
            self.assertLessEqual(pair, grouped)

    def test_none(self) -> None:
        """With "none" (the default), unmarked tests never overlap."""
        all_kwargs: tuple[dict[str, Any], ...] = ({}, {"default_group": "none"})
        for kwargs in all_kwargs:
            with self.subTest(kwargs=kwargs):
                tracker = Tracker()
                result = run_tests(*self._classes(tracker, {}), **kwargs)
                self.assertEqual(result.testsRun, 7)
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(tracker.overlaps, set())

    def test_marked_tests_keep_their_group(self) -> None:
        """An explicit @group wins over the default group."""
        tracker = Tracker()
        own_a, own_b = asyncio.Event(), asyncio.Event()

        class Case(aiounit.AsyncTestCase):
            async def _tracked(self) -> None:
                with tracker.track(self._testMethodName):
                    await asyncio.sleep(0)

            async def test_1(self) -> None:
                await self._tracked()

            async def test_2(self) -> None:
                await self._tracked()

            @aiounit.group("own")
            async def test_3(self) -> None:
                with tracker.track("test_3"):
                    await _meet(own_a, own_b)

            @aiounit.group("own")
            async def test_4(self) -> None:
                with tracker.track("test_4"):
                    await _meet(own_b, own_a)

        result = run_tests(Case, default_group="class", timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.overlaps, {frozenset(("test_1", "test_2")), frozenset(("test_3", "test_4"))}
        )

    def test_bad_value(self) -> None:
        """An unknown default_group is a ValueError when the suite is made."""
        with self.assertRaises(ValueError):
            aiounit.ConcurrentTestSuite(default_group="everything")


class TestSuiteBehaviour(unittest.TestCase):
    """ConcurrentTestSuite keeps the rest of unittest.TestSuite's behaviour."""

    def test_bad_arguments(self) -> None:
        """A bad timeout or max_concurrency is refused when the suite is made."""
        cases: list[tuple[dict[str, Any], type[Exception]]] = [
            ({"timeout": -1}, ValueError),
            ({"timeout": "5"}, TypeError),
            ({"max_concurrency": 0}, ValueError),
            ({"max_concurrency": 1.5}, TypeError),
        ]
        for kwargs, error in cases:
            with self.subTest(kwargs=kwargs), self.assertRaises(error):
                aiounit.ConcurrentTestSuite(**kwargs)

    def test_failfast_stops_later_tests_and_groups(self) -> None:
        """With failfast, a failing serial test stops every later test and group."""

        class Case(aiounit.AsyncTestCase):
            async def test_1(self) -> None:
                self.fail("first")

            @aiounit.group("g")
            async def test_2(self) -> None:
                pass

            async def test_3(self) -> None:
                pass

        result = LoggingResult()
        result.failfast = True
        run_tests(Case, result=result)
        self.assertEqual(tests_of(result.events), ["test_1"])

    def test_failfast_after_a_group_stops_later_tests(self) -> None:
        """With failfast, a failing group member stops the tests after the group."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_1(self) -> None:
                await asyncio.sleep(0)
                self.fail("first")

            async def test_2(self) -> None:
                pass

        result = LoggingResult()
        result.failfast = True
        run_tests(Case, result=result)
        self.assertEqual(tests_of(result.events), ["test_1"])

    def test_tests_are_released_after_running(self) -> None:
        """As with unittest.TestSuite, run tests are released but still counted."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                pass

            async def test_b(self) -> None:
                pass

        suite = suite_of(Case)
        stdlib = suite_of(Case, suite_class=unittest.TestSuite)
        suite.run(LoggingResult())
        stdlib.run(LoggingResult())
        self.assertEqual(suite.countTestCases(), stdlib.countTestCases())
        self.assertEqual(_leaves(suite), [])

    def test_ungrouped_suite_matches_stdlib_events(self) -> None:
        """A suite with no groups reports exactly what unittest.TestSuite reports."""

        class Case(aiounit.AsyncTestCase):
            async def test_pass(self) -> None:
                pass

            async def test_fail(self) -> None:
                self.fail("no")

            @unittest.skip("why")
            async def test_skip(self) -> None:
                pass

            def test_sync(self) -> None:
                pass

        expected = run_stdlib(Case)
        actual = run_tests(Case)
        self.assertEqual(actual.events, expected.events)


if __name__ == "__main__":
    unittest.main()
