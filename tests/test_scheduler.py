"""Tests of how a group's members are scheduled and reported."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import unittest
import unittest.mock
import warnings
from typing import Any

import aiounit
from aiounit import _scheduler
from aiounit._scheduler import FREEZE_EVERY
from tests._engine_support import (
    RawResult,
    Tracker,
    blocks,
    by_test,
    grouped,
    run_stdlib,
    summary,
)
from tests._support import LoggingResult, run_tests, tests_of


async def _meet(mine: asyncio.Event, other: asyncio.Event) -> None:
    """Pass only if the other test is running at the same time."""
    mine.set()
    await other.wait()


async def _yield(times: int = 3) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


class TestOverlap(unittest.TestCase):
    """Members of a group overlap; nothing else does."""

    def test_members_of_a_group_overlap(self) -> None:
        """Two tests in one group can pass only if they run at the same time."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("net")
            async def test_a(self) -> None:
                await _meet(a_started, b_started)

            @aiounit.group("net")
            async def test_b(self) -> None:
                await _meet(b_started, a_started)

        result = run_tests(Pair, timeout=1.0)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_only_members_of_one_group_overlap(self) -> None:
        """Different groups never overlap, and ungrouped tests overlap with nothing."""
        tracker = Tracker()
        events = {n: asyncio.Event() for n in ("2", "3", "5", "6")}

        class Mixed(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                tracker.enter(self._testMethodName)

            async def asyncTearDown(self) -> None:
                await _yield()
                tracker.exit(self._testMethodName)

            async def test_1_serial(self) -> None:
                await _yield()

            @aiounit.group("a")
            async def test_2_a(self) -> None:
                await _meet(events["2"], events["5"])

            @aiounit.group("b")
            async def test_3_b(self) -> None:
                await _meet(events["3"], events["6"])

            async def test_4_serial(self) -> None:
                await _yield()

            @aiounit.group("a")
            async def test_5_a(self) -> None:
                await _meet(events["5"], events["2"])

            @aiounit.group("b")
            async def test_6_b(self) -> None:
                await _meet(events["6"], events["3"])

            async def test_7_serial(self) -> None:
                await _yield()

        result = run_tests(Mixed, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.overlaps,
            {frozenset(("test_2_a", "test_5_a")), frozenset(("test_3_b", "test_6_b"))},
        )

    def test_group_runs_at_the_place_of_its_first_member(self) -> None:
        """Tests run in loader order, each group as a whole where its first member is."""
        tracker = Tracker()

        class Mixed(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                tracker.enter(self._testMethodName)

            async def asyncTearDown(self) -> None:
                tracker.exit(self._testMethodName)

            async def test_1_serial(self) -> None:
                pass

            @aiounit.group("a")
            async def test_2_a(self) -> None:
                pass

            @aiounit.group("b")
            async def test_3_b(self) -> None:
                pass

            async def test_4_serial(self) -> None:
                pass

            @aiounit.group("a")
            async def test_5_a(self) -> None:
                pass

        result = run_tests(Mixed)
        self.assertTrue(result.wasSuccessful(), result.errors)
        starts = [name for what, name in tracker.log if what == "start"]
        self.assertEqual(
            starts, ["test_1_serial", "test_2_a", "test_5_a", "test_3_b", "test_4_serial"]
        )
        self.assertEqual(
            tests_of(result.events),
            ["test_1_serial", "test_2_a", "test_5_a", "test_3_b", "test_4_serial"],
        )

    def test_same_name_in_two_classes_of_a_module_is_one_group(self) -> None:
        """Group names are module-scoped: two classes' members of "g" overlap."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class First(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                await _meet(a_started, b_started)

        class Second(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_b(self) -> None:
                await _meet(b_started, a_started)

        result = run_tests(First, Second, timeout=1.0)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_unnamed_groups_of_two_classes_do_not_overlap(self) -> None:
        """An unnamed group belongs to its class: two such classes run one after another."""
        tracker = Tracker()

        class Base(aiounit.AsyncTestCase):
            async def asyncSetUp(self) -> None:
                tracker.enter(f"{type(self).__name__}.{self._testMethodName}")

            async def asyncTearDown(self) -> None:
                await _yield()
                tracker.exit(f"{type(self).__name__}.{self._testMethodName}")

            async def test_a(self) -> None:
                await _yield()

            async def test_b(self) -> None:
                await _yield()

        first = aiounit.group()(type("First", (Base,), {}))
        second = aiounit.group()(type("Second", (Base,), {}))
        result = run_tests(first, second)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.overlaps,
            {
                frozenset(("First.test_a", "First.test_b")),
                frozenset(("Second.test_a", "Second.test_b")),
            },
        )

    def test_run_inside_a_running_loop_is_refused(self) -> None:
        """Running a group from inside an event loop raises RuntimeError."""

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

        async def main() -> None:
            run_tests(Case)

        with self.assertRaises(RuntimeError) as cm:
            asyncio.run(main())
        self.assertIn("running event loop", str(cm.exception))


class TestMaxConcurrency(unittest.TestCase):
    """max_concurrency caps the running members and still lets them overlap."""

    def test_cap_is_reached_and_never_passed(self) -> None:
        """With cap N, N members run together (a barrier of N passes) and never more."""
        cases: list[tuple[dict[str, Any], dict[str, Any], int]] = [
            ({"max_concurrency": 1}, {}, 1),
            ({"max_concurrency": 2}, {}, 2),
            ({"max_concurrency": 3}, {}, 3),
            ({}, {"max_concurrency": 2}, 2),
            ({"max_concurrency": 2}, {"max_concurrency": 3}, 2),
            ({}, {}, 6),
        ]
        for group_kwargs, suite_kwargs, cap in cases:
            with self.subTest(group=group_kwargs, suite=suite_kwargs):
                tracker = Tracker()
                barrier = asyncio.Barrier(cap)

                @aiounit.group("cap", **group_kwargs)
                class Six(aiounit.AsyncTestCase):
                    async def asyncSetUp(self) -> None:
                        tracker.enter(self._testMethodName)  # noqa: B023 (the class runs within this iteration)

                    async def asyncTearDown(self) -> None:
                        await _yield()
                        tracker.exit(self._testMethodName)  # noqa: B023 (the class runs within this iteration)

                    async def _work(self) -> None:
                        await _yield()
                        await barrier.wait()  # noqa: B023 (the class runs within this iteration)
                        await _yield()

                    async def test_1(self) -> None:
                        await self._work()

                    async def test_2(self) -> None:
                        await self._work()

                    async def test_3(self) -> None:
                        await self._work()

                    async def test_4(self) -> None:
                        await self._work()

                    async def test_5(self) -> None:
                        await self._work()

                    async def test_6(self) -> None:
                        await self._work()

                result = run_tests(Six, timeout=1.0, **suite_kwargs)
                self.assertEqual(result.testsRun, 6)
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(tracker.peak, cap)

    def test_timed_out_member_frees_its_slot(self) -> None:
        """With cap 1, a member that times out lets the next one start."""

        @aiounit.group("g", max_concurrency=1)
        class Case(aiounit.AsyncTestCase):
            @aiounit.timeout(0.05)
            async def test_1_hangs(self) -> None:
                await asyncio.Event().wait()

            async def test_2(self) -> None:
                pass

        result = RawResult()
        run_tests(Case, result=result)
        self.assertEqual(tests_of(result.events), ["test_1_hangs", "test_2"])
        self.assertEqual([name for name, _ in result.raw], ["test_1_hangs"])
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)

    def test_strictest_member_cap_wins(self) -> None:
        """When members' caps disagree, the smallest one applies to the group."""
        tracker = Tracker()

        class Case(aiounit.AsyncTestCase):
            async def _work(self) -> None:
                with tracker.track(self._testMethodName):
                    await _yield()

            @aiounit.group("g", max_concurrency=3)
            async def test_a(self) -> None:
                await self._work()

            @aiounit.group("g", max_concurrency=1)
            async def test_b(self) -> None:
                await self._work()

            @aiounit.group("g")
            async def test_c(self) -> None:
                await self._work()

        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(tracker.peak, 1)


class TestReporting(unittest.TestCase):
    """Any TestResult sees each test's calls in one piece, on the loop's thread."""

    def _trio(self, barrier: asyncio.Barrier) -> type:
        @aiounit.group("trio")
        class Trio(aiounit.AsyncTestCase):
            async def _steps(self, fail: bool) -> None:
                with self.subTest(step=1):
                    await barrier.wait()
                with self.subTest(step=2):
                    await asyncio.sleep(0)
                    self.assertFalse(fail)

            async def test_a(self) -> None:
                await self._steps(fail=False)

            async def test_b(self) -> None:
                await self._steps(fail=True)

            async def test_c(self) -> None:
                await barrier.wait()
                self.fail("c")

        return Trio

    def test_a_test_sees_its_own_failures_on_the_result_it_reports_to(self) -> None:
        """``self._outcome.result.errors``/``failures``/``testsRun`` in a teardown
        count the test's own outcome so far, as in the stdlib (aiocoap's fixtures
        ask "has this test failed?" that way)."""
        seen: dict[str, tuple[int, int, bool]] = {}

        def make() -> type:
            class Case(aiounit.AsyncTestCase):
                async def asyncTearDown(self) -> None:
                    result = self._outcome.result  # type: ignore[attr-defined]
                    mine = [t for t, _ in [*result.errors, *result.failures] if t is self]
                    has = hasattr(result, "errors")
                    seen[self._testMethodName] = (len(mine), result.testsRun, has)

                async def test_error(self) -> None:
                    raise ValueError("boom")

                async def test_failure(self) -> None:
                    self.fail("no")

                async def test_pass(self) -> None:
                    pass

            return Case

        run_stdlib(make())
        stdlib = {name: (mine, has) for name, (mine, _run, has) in seen.items()}
        seen.clear()
        case = make()
        grouped(case)
        run_tests(case)
        self.assertEqual({name: (mine, has) for name, (mine, _run, has) in seen.items()}, stdlib)
        self.assertEqual(stdlib["test_error"], (1, True))
        self.assertEqual(stdlib["test_pass"], (0, True))
        self.assertTrue(all(run >= 1 for _mine, run, _has in seen.values()))

    def test_foreign_result_sees_whole_tests(self) -> None:
        """Overlapping tests' events (subtests included) reach a result one test at a time."""
        result = run_tests(self._trio(asyncio.Barrier(3)), timeout=1.0)
        runs = blocks(result.events)
        self.assertEqual(sorted(run[0][1] for run in runs), ["test_a", "test_b", "test_c"])
        self.assertEqual(
            by_test(result.events),
            {
                "test_a": [
                    ("startTest", "test_a"),
                    ("addSubTest", "test_a", "(step=1)", "ok"),
                    ("addSubTest", "test_a", "(step=2)", "ok"),
                    ("addSuccess", "test_a"),
                    ("stopTest", "test_a"),
                ],
                "test_b": [
                    ("startTest", "test_b"),
                    ("addSubTest", "test_b", "(step=1)", "ok"),
                    ("addSubTest", "test_b", "(step=2)", "FAIL"),
                    ("stopTest", "test_b"),
                ],
                "test_c": [
                    ("startTest", "test_c"),
                    ("addFailure", "test_c"),
                    ("stopTest", "test_c"),
                ],
            },
        )

    def test_add_duration_reported_per_test_when_result_has_it(self) -> None:
        """A result with addDuration gets one call per test, just before the final outcome.

        As in the stdlib: on 3.11, whose TestCase.run reports no duration, none.
        """
        result = run_tests(self._trio(asyncio.Barrier(3)), timeout=1.0)
        for run in blocks(result.events):
            with self.subTest(test=run[0][1]):
                kinds = [e[0] for e in run]
                if sys.version_info < (3, 12):
                    self.assertNotIn("addDuration", kinds)
                    continue
                self.assertEqual(kinds.count("addDuration"), 1)
                # As in the stdlib: after the parts' errors, before the final outcome.
                after = kinds[kinds.index("addDuration") + 1 :]
                self.assertIn(after, (["stopTest"], ["addSuccess", "stopTest"]))

    def test_plain_test_result(self) -> None:
        """A plain unittest.TestResult gets the right counts and outcomes."""
        result = unittest.TestResult()
        run_tests(self._trio(asyncio.Barrier(3)), result=result, timeout=1.0)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual(
            sorted(str(t).split(" ")[0] for t, _ in result.failures), ["test_b", "test_c"]
        )
        self.assertEqual(result.errors, [])
        self.assertFalse(result.wasSuccessful())
        if hasattr(result, "collectedDurations"):  # 3.12+
            self.assertEqual(
                sorted(name.split(" ")[0] for name, _ in result.collectedDurations),
                ["test_a", "test_b", "test_c"],
            )

    def test_results_are_reported_on_the_loop_thread(self) -> None:
        """Even sync members on worker threads are reported from the suite's thread."""
        threads: set[threading.Thread] = set()

        class Recording(LoggingResult):
            def startTest(self, test: Any) -> None:
                threads.add(threading.current_thread())
                super().startTest(test)

            def addSuccess(self, test: Any) -> None:
                threads.add(threading.current_thread())
                super().addSuccess(test)

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            def test_sync(self) -> None:
                pass

            async def test_async(self) -> None:
                pass

        @aiounit.group()
        class Plain(unittest.TestCase):
            def test_plain(self) -> None:
                pass

        result = run_tests(Case, Plain, result=Recording())
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(threads, {threading.current_thread()})

    def test_result_without_optional_hooks_gets_stdlib_fallbacks(self) -> None:
        """A result lacking addSkip, addSubTest and friends sees what the stdlib gives it."""

        class Minimal:
            """A duck-typed result with only the required hooks."""

            def __init__(self) -> None:
                self.events: list[tuple[str, str]] = []
                self.shouldStop = False
                self.failfast = False

            def startTest(self, test: Any) -> None:
                self.events.append(("startTest", test._testMethodName))

            def stopTest(self, test: Any) -> None:
                self.events.append(("stopTest", test._testMethodName))

            def addSuccess(self, test: Any) -> None:
                self.events.append(("addSuccess", test._testMethodName))

            def addError(self, test: Any, err: Any) -> None:
                self.events.append(("addError", test._testMethodName))

            def addFailure(self, test: Any, err: Any) -> None:
                self.events.append(("addFailure", test._testMethodName))

        class Case(unittest.IsolatedAsyncioTestCase):
            @unittest.skip("decorated")
            async def test_skip(self) -> None:
                pass

            async def test_skip_test(self) -> None:
                self.skipTest("called")

            async def test_subtests(self) -> None:
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertEqual(i, 0)

            @unittest.expectedFailure
            async def test_expected_failure(self) -> None:
                self.fail("expected")

            @unittest.expectedFailure
            async def test_unexpected_success(self) -> None:
                pass

            async def test_pass(self) -> None:
                pass

        def run(runner: Any) -> tuple[Any, list[str]]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = runner(Case, result=Minimal())
            return result, sorted(str(w.message) for w in caught)

        expected, expected_warnings = run(run_stdlib)
        grouped(Case)
        actual, actual_warnings = run(run_tests)
        self.assertEqual(by_test(actual.events), by_test(expected.events))
        self.assertEqual(actual_warnings, expected_warnings)
        self.assertIn("TestResult has no addSkip method, skips not reported", actual_warnings)


class TestStopping(unittest.TestCase):
    """Once the real result's shouldStop is set, no new member starts."""

    def _three(self, first_body: Any, **group_kwargs: Any) -> type:
        @aiounit.group("g", **group_kwargs)
        class Three(aiounit.AsyncTestCase):
            async def test_1(self) -> None:
                await first_body(self)

            async def test_2(self) -> None:
                pass

            async def test_3(self) -> None:
                pass

        return Three

    def test_failfast_stops_a_capped_group(self) -> None:
        """With failfast, a failing member keeps the waiting members from starting."""

        async def fail(case: unittest.TestCase) -> None:
            await asyncio.sleep(0)
            case.fail("first")

        result = LoggingResult()
        result.failfast = True
        run_tests(self._three(fail, max_concurrency=1), result=result)
        self.assertEqual(tests_of(result.events), ["test_1"])
        self.assertEqual(result.testsRun, 1)

    def test_stop_from_a_member_stops_a_capped_group(self) -> None:
        """result.stop() (as Ctrl-C does) keeps the waiting members from starting."""
        result = LoggingResult()

        async def stop(case: unittest.TestCase) -> None:
            await asyncio.sleep(0)
            result.stop()

        run_tests(self._three(stop, max_concurrency=1), result=result)
        self.assertEqual(tests_of(result.events), ["test_1"])

    def test_failfast_stops_members_not_yet_started(self) -> None:
        """With failfast, members whose task has not begun yet do not start."""

        async def fail(case: unittest.TestCase) -> None:
            case.fail("first")

        result = LoggingResult()
        result.failfast = True
        run_tests(self._three(fail), result=result, grace=0.05)
        self.assertEqual(tests_of(result.events), ["test_1"])

    def test_failfast_stops_a_member_at_its_first_failing_subtest(self) -> None:
        """With failfast, a member stops at its first failing subtest, as in the stdlib."""

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_a(self) -> None:
                for i in range(3):
                    with self.subTest(i=i):
                        await asyncio.sleep(0)
                        self.assertEqual(i, 5)

        expected = LoggingResult()
        expected.failfast = True
        run_stdlib(Case, result=expected)
        grouped(Case)
        actual = LoggingResult()
        actual.failfast = True
        run_tests(Case, result=actual)
        self.assertEqual(by_test(actual.events), by_test(expected.events))
        self.assertEqual(len(actual.failures), 1)

    def test_stopped_result_runs_nothing(self) -> None:
        """A result that is already stopped runs no member at all."""
        result = LoggingResult()
        result.stop()

        async def nothing(case: unittest.TestCase) -> None:
            pass

        run_tests(self._three(nothing), result=result)
        self.assertEqual(result.events, [])


class TestThreads(unittest.TestCase):
    """Sync members run on worker threads, concurrently with their peers."""

    def test_sync_methods_of_a_group_overlap(self) -> None:
        """Two sync test methods in a group can pass only if they run at the same time."""
        a_started, b_started = threading.Event(), threading.Event()
        main = threading.current_thread()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("g")
            def test_a(self) -> None:
                self.assertIsNot(threading.current_thread(), main)
                a_started.set()
                self.assertTrue(b_started.wait(1))

            @aiounit.group("g")
            def test_b(self) -> None:
                b_started.set()
                self.assertTrue(a_started.wait(1))

        result = run_tests(Pair)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_sync_member_overlaps_async_member(self) -> None:
        """A sync member on its thread runs while an async member awaits on the loop."""
        sync_started, async_started = threading.Event(), threading.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("g")
            def test_sync(self) -> None:
                sync_started.set()
                self.assertTrue(async_started.wait(1))

            @aiounit.group("g")
            async def test_async(self) -> None:
                async_started.set()
                self.assertTrue(await asyncio.to_thread(sync_started.wait, 1))

        result = run_tests(Pair)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)

    def test_class_mark_leaves_sync_methods_of_async_case_alone(self) -> None:
        """@group on an AsyncTestCase class groups its async tests, not its sync ones."""
        tracker = Tracker()
        a_started, b_started = asyncio.Event(), asyncio.Event()

        @aiounit.group()
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with tracker.track("test_a"):
                    await _meet(a_started, b_started)

            async def test_b(self) -> None:
                with tracker.track("test_b"):
                    await _meet(b_started, a_started)

            def test_sync(self) -> None:
                with tracker.track("test_sync"):
                    pass

        result = run_tests(Case, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(tracker.overlaps, {frozenset(("test_a", "test_b"))})

    def test_plain_test_case_class_in_a_group_overlaps(self) -> None:
        """A plain unittest.TestCase class marked @group runs its tests concurrently."""
        a_started, b_started = threading.Event(), threading.Event()
        log: list[tuple[str, str, int]] = []

        @aiounit.group()
        class Pair(unittest.TestCase):
            def setUp(self) -> None:
                log.append((self._testMethodName, "setUp", threading.get_ident()))

            def tearDown(self) -> None:
                log.append((self._testMethodName, "tearDown", threading.get_ident()))

            def test_a(self) -> None:
                a_started.set()
                self.assertTrue(b_started.wait(1))

            def test_b(self) -> None:
                b_started.set()
                self.assertTrue(a_started.wait(1))

        result = run_tests(Pair)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.errors)
        for name in ("test_a", "test_b"):
            with self.subTest(test=name):
                idents = {ident for test, _, ident in log if test == name}
                self.assertEqual(len(idents), 1)
                self.assertNotEqual(idents, {threading.get_ident()})

    def test_plain_test_case_reports_like_stdlib(self) -> None:
        """A grouped plain TestCase's skips, failures and subtests report as in the stdlib."""

        class Case(unittest.TestCase):
            @unittest.skip("why")
            def test_skip(self) -> None:
                pass

            def test_fail(self) -> None:
                self.assertEqual(1, 2)

            def test_subtests(self) -> None:
                for i in range(2):
                    with self.subTest(i=i):
                        self.assertEqual(i, 0)

            @unittest.expectedFailure
            def test_expected(self) -> None:
                raise ValueError

        expected = run_stdlib(Case)
        aiounit.group()(Case)
        actual = run_tests(Case)
        blocks(actual.events)
        self.assertEqual(by_test(actual.events), by_test(expected.events))
        self.assertEqual(summary(actual), summary(expected))

    def test_plain_test_case_times_out(self) -> None:
        """A hung plain TestCase member errs with TestTimeoutError; its peer passes."""
        release = threading.Event()
        self.addCleanup(release.set)  # lets the abandoned thread finish

        @aiounit.group(timeout=0.05)
        class Pair(unittest.TestCase):
            def test_hangs(self) -> None:
                release.wait(1)

            def test_quick(self) -> None:
                pass

        result = RawResult()
        # A short grace: a timed-out thread keeps its slot until it ends or the
        # grace runs out, and this one ends only when the test is over.
        run_tests(Pair, result=result, grace=0.05)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([name for name, _ in result.raw], ["test_hangs"])
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertIn("within 0.05 s", str(result.raw[0][1]))
        self.assertIn(("addSuccess", "test_quick"), result.events)
        blocks(result.events)

    def test_sync_member_of_async_case_times_out(self) -> None:
        """A hung sync method in an AsyncTestCase group errs with TestTimeoutError."""
        release = threading.Event()
        self.addCleanup(release.set)
        ran: list[str] = []

        class Case(aiounit.AsyncTestCase):
            async def asyncTearDown(self) -> None:
                ran.append("asyncTearDown")

            @aiounit.group("g", timeout=0.05)
            def test_hangs(self) -> None:
                release.wait(1)

        result = RawResult()
        run_tests(Case, result=result, grace=0.05)  # short: see test_plain_test_case_times_out
        self.assertEqual(len(result.raw), 1)
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertEqual(ran, ["asyncTearDown"])


if __name__ == "__main__":
    unittest.main()


def _many(count: int, on_step: Any) -> type:
    """An AsyncTestCase class of *count* tests; test *i* awaits ``on_step(i)``."""

    def make(index: int) -> Any:
        async def test(self: Any) -> None:
            await on_step(index)

        return test

    methods = {f"test_{i:05d}": make(i) for i in range(count)}
    return type("Many", (aiounit.AsyncTestCase,), methods)


class TestManyMembers(unittest.TestCase):
    """A group of thousands of waiting members: starts pause, and what the members
    hold is kept out of the garbage collector's way until the group ends."""

    COUNT = FREEZE_EVERY + 10

    def run_many(self, last: int, *, unfreeze: bool = True, **kwargs: Any) -> dict[str, int]:
        """Run COUNT members, each waiting until member *last* has started (after
        unfreezing what was frozen, unless told not to)."""
        seen: dict[str, int] = {}
        release = asyncio.Event()

        async def on_step(index: int) -> None:
            if index == 0:
                seen["tasks at the first step"] = len(asyncio.all_tasks())
                seen["frozen at the first step"] = gc.get_freeze_count()
            if index == last:
                seen["frozen at the last step"] = gc.get_freeze_count()
                release.set()
            await release.wait()

        if unfreeze and gc.get_freeze_count():  # main(exit=True) in this process froze all
            gc.unfreeze()
            self.addCleanup(gc.freeze)
        before = gc.get_freeze_count()
        result = run_tests(aiounit.group("many")(_many(self.COUNT, on_step)), **kwargs)
        passed = [e for e in result.events if e[0] == "addSuccess"]
        self.assertEqual(len(passed), self.COUNT)
        # (Frozen objects freed meanwhile make the count smaller, never larger.)
        self.assertLessEqual(gc.get_freeze_count(), before, "the group left objects frozen")
        return seen

    def test_a_burst_of_starts_pauses_and_its_members_are_frozen(self) -> None:
        seen = self.run_many(self.COUNT - 1)
        # The first members took their first step before the rest were made
        # (it was all of them, the loop held for as long as that took).
        self.assertLessEqual(seen["tasks at the first step"], FREEZE_EVERY + 1)
        # What the first FREEZE_EVERY members hold (tasks, coroutines, contexts,
        # records: dozens of objects each) was frozen before the last one started.
        frozen = seen["frozen at the last step"] - seen["frozen at the first step"]
        self.assertGreater(frozen, 10 * FREEZE_EVERY)

    def test_objects_frozen_before_aiounit_was_imported_are_not_someone_elses(self) -> None:
        """CPython 3.12 starts with objects of its own frozen: a group still freezes
        (it kept every group from freezing anything on 3.12)."""
        if gc.get_freeze_count():
            gc.unfreeze()
            self.addCleanup(gc.freeze)
        kept = [[n] for n in range(10)]  # frozen "before aiounit was imported"
        gc.freeze()
        self.addCleanup(gc.unfreeze)
        frozen_at_import = gc.get_freeze_count()
        with unittest.mock.patch.object(
            _scheduler, "FROZEN_AT_IMPORT", frozen_at_import, create=True
        ):
            seen = self.run_many(self.COUNT - 1, unfreeze=False)
        frozen = seen["frozen at the last step"] - seen["frozen at the first step"]
        self.assertGreater(frozen, 10 * FREEZE_EVERY)
        self.assertEqual(len(kept), 10)

    def test_a_capped_group_freezes_nothing_of_its_own(self) -> None:
        cap = FREEZE_EVERY - 1
        seen = self.run_many(cap - 1, max_concurrency=cap)
        self.assertLessEqual(seen["frozen at the last step"], seen["frozen at the first step"])
