"""Tests of @aiounit.lock and @aiounit.isolated: who may start when, inside a group."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import threading
import unittest
from typing import Any

import aiounit
from aiounit._admission import Admission
from tests._engine_support import RawResult, Tracker, blocks
from tests._support import LoggingResult, run_tests, tests_of


async def _yield(times: int = 3) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


class TestMarks(unittest.TestCase):
    """The decorators check their input at import time and leave their marks."""

    def test_bad_lock_arguments_raise_naming_the_argument(self) -> None:
        """No name, a non-str or empty name, a non-bool shared: clear errors."""
        cases: list[tuple[tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
            ((), {}, TypeError, "at least one name"),
            ((1,), {}, TypeError, "lock names must be non-empty str, got 1"),
            (("a", None), {}, TypeError, "got None"),
            (("",), {}, ValueError, "got ''"),
            (("  ",), {}, ValueError, "got '  '"),
            # would alias the lock every member of a group shares with @isolated
            (("\0isolation",), {}, ValueError, "must not contain NUL, got '\\x00isolation'"),
            (("a",), {"shared": 1}, TypeError, "shared must be a bool, got 1"),
        ]
        for args, kwargs, error, text in cases:
            with self.subTest(args=args, kwargs=kwargs):
                with self.assertRaises(error) as cm:
                    aiounit.lock(*args, **kwargs)
                self.assertIn(text, str(cm.exception))

    def test_bare_lock_raises(self) -> None:
        """``@aiounit.lock`` without names is a mistake, named as such."""
        with self.assertRaises(TypeError) as cm:

            @aiounit.lock  # type: ignore[arg-type]
            async def test_a() -> None:
                pass

        self.assertIn('use @aiounit.lock("name")', str(cm.exception))

    def test_wrong_targets_raise_type_error(self) -> None:
        """Both marks go on test methods and TestCase classes only."""
        for decorator in (aiounit.lock("x"), aiounit.isolated):

            def helper() -> None:
                pass

            for target in (helper, object, staticmethod(helper), "test_x"):
                with self.subTest(decorator=decorator, target=target), self.assertRaises(TypeError):
                    decorator(target)

    def test_module_level_function_raises(self) -> None:
        """A mark on a module-level ``test_*`` function (no class will ever run it
        as a method) raises at import instead of doing nothing, silently."""
        namespace: dict[str, Any] = {}
        exec("async def test_orders(): pass", namespace)  # as at a module's top level
        for decorator, name in ((aiounit.lock("x"), "@lock"), (aiounit.isolated, "@isolated")):
            with self.subTest(decorator=name):
                with self.assertRaises(TypeError) as cm:
                    decorator(namespace["test_orders"])
                self.assertIn(name, str(cm.exception))
                self.assertIn("test_orders", str(cm.exception))
                self.assertIn("module-level function", str(cm.exception))

    def test_isolated_bare_and_called_are_the_same(self) -> None:
        """``@aiounit.isolated`` and ``@aiounit.isolated()`` mark the method alike."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.isolated
            async def test_a(self) -> None:
                pass

            @aiounit.isolated()
            async def test_b(self) -> None:
                pass

            async def test_c(self) -> None:
                pass

        from aiounit._marks import admission_marks_of

        self.assertEqual(admission_marks_of(Case("test_a")), ((), True))
        self.assertEqual(admission_marks_of(Case("test_b")), ((), True))
        self.assertEqual(admission_marks_of(Case("test_c")), ((), False))

    def test_class_marks_apply_to_each_test_and_combine_with_method_marks(self) -> None:
        """A class's locks join each method's; exclusive wins over shared."""
        from aiounit._marks import admission_marks_of

        @aiounit.lock("db", shared=True)
        @aiounit.lock("cache")
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

            @aiounit.lock("db")
            @aiounit.lock("queue", shared=True)
            async def test_b(self) -> None:
                pass

        self.assertEqual(
            admission_marks_of(Case("test_a")), ((("cache", False), ("db", True)), False)
        )
        self.assertEqual(
            admission_marks_of(Case("test_b")),
            ((("cache", False), ("db", False), ("queue", True)), False),
        )

    def test_marks_outside_a_group_change_nothing(self) -> None:
        """Ungrouped tests with marks run one at a time, exactly as without them."""

        class Case(aiounit.AsyncTestCase):
            @aiounit.lock("x")
            async def test_a(self) -> None:
                pass

            @aiounit.isolated
            async def test_b(self) -> None:
                pass

        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(tests_of(result.events), ["test_a", "test_b"])


def _locked_case(tracker: Tracker, marks: dict[str, Any], body: Any = None, **group: Any) -> type:
    """A group class with one test per entry of *marks* (name -> decorator or None)."""
    namespace: dict[str, Any] = {}
    for name, mark in marks.items():

        async def test(self: Any, _name: str = name) -> None:
            with tracker.track(_name):
                if body is not None:
                    await body(self, _name)
                else:
                    await _yield()

        test.__name__ = name
        namespace[name] = mark(test) if mark is not None else test
    return aiounit.group("locks", **group)(type("Locked", (aiounit.AsyncTestCase,), namespace))


class TestLocks(unittest.TestCase):
    """Exclusive holders never overlap; shared ones do; everyone else goes on."""

    def test_exclusive_holders_never_overlap_but_others_do(self) -> None:
        """Two holders of "x" run one after the other, in loader order, while a
        free member overlaps both."""
        tracker = Tracker()
        free_running = asyncio.Event()
        seen: list[str] = []
        both_seen = asyncio.Event()

        async def body(test: Any, name: str) -> None:
            if name == "test_3_free":
                free_running.set()
                await both_seen.wait()  # so it overlaps both holders
            else:
                await free_running.wait()
                seen.append(name)
                if len(seen) == 2:
                    both_seen.set()
                await _yield()

        case = _locked_case(
            tracker,
            {"test_1": aiounit.lock("x"), "test_2": aiounit.lock("x"), "test_3_free": None},
            body,
        )
        result = run_tests(case, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertFalse(tracker.overlapped("test_1", "test_2"))
        self.assertTrue(tracker.overlapped("test_1", "test_3_free"))
        self.assertTrue(tracker.overlapped("test_2", "test_3_free"))
        self.assertEqual(seen, ["test_1", "test_2"])

    def test_shared_holders_overlap_and_exclude_a_writer(self) -> None:
        """Three shared holders pass a barrier of three (so they overlap); the
        exclusive holder after them overlaps none of them, nor the reader after it."""
        tracker = Tracker()
        barrier = asyncio.Barrier(3)

        async def body(test: Any, name: str) -> None:
            if name.startswith("test_r"):
                await barrier.wait()
            await _yield()

        shared = aiounit.lock("inventory", shared=True)
        case = _locked_case(
            tracker,
            {
                "test_r1": shared,
                "test_r2": shared,
                "test_r3": shared,
                "test_w": aiounit.lock("inventory"),
                "test_x_reader_after": aiounit.lock("inventory", shared=True),
            },
            body,
        )
        result = run_tests(case, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        for reader in ("test_r1", "test_r2", "test_r3", "test_x_reader_after"):
            self.assertFalse(tracker.overlapped(reader, "test_w"), reader)
        self.assertTrue(tracker.overlapped("test_r1", "test_r2"))
        self.assertEqual(tracker.log.index(("start", "test_w")), 3 + 3)  # after 3 starts, 3 ends

    def test_all_locks_at_once_no_deadlock(self) -> None:
        """Members naming the same locks in any order never deadlock: all-or-nothing."""
        tracker = Tracker()
        marks = {
            "test_1": aiounit.lock("a", "b"),
            "test_2": aiounit.lock("b", "a"),
            "test_3": aiounit.lock("b"),
            "test_4": aiounit.lock("a", "b"),
        }
        result = run_tests(_locked_case(tracker, marks), timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.testsRun, 4)
        self.assertEqual(tracker.peak, 1)
        self.assertEqual(
            [name for kind, name in tracker.log if kind == "start"],
            ["test_1", "test_2", "test_3", "test_4"],
        )

    def test_waiting_member_blocks_only_conflicting_later_members(self) -> None:
        """test_2 waits for test_1's lock; test_3 conflicts with test_2 and waits
        behind it (no overtaking); test_4 is independent and runs at once: it is
        the one that lets test_1 finish, so holding it back would hang the group."""
        tracker = Tracker()
        release = asyncio.Event()

        async def body(test: Any, name: str) -> None:
            if name == "test_1":
                await release.wait()
            elif name == "test_4_free":
                release.set()
            await _yield()

        marks = {
            "test_1": aiounit.lock("x"),
            "test_2": aiounit.lock("x", "y"),
            "test_3": aiounit.lock("y"),
            "test_4_free": aiounit.lock("z"),
        }
        result = run_tests(_locked_case(tracker, marks, body), timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        starts = [name for kind, name in tracker.log if kind == "start"]
        self.assertEqual(starts, ["test_1", "test_4_free", "test_2", "test_3"])
        self.assertFalse(tracker.overlapped("test_2", "test_3"))

    def test_waiting_for_a_lock_holds_no_slot(self) -> None:
        """With max_concurrency=2, a member waiting for a lock leaves the second
        slot to an independent member, which is the one that frees the lock."""
        tracker = Tracker()
        release = asyncio.Event()

        async def body(test: Any, name: str) -> None:
            if name == "test_1":
                await release.wait()
            elif name == "test_3_free":
                release.set()
            await _yield()

        marks = {"test_1": aiounit.lock("x"), "test_2": aiounit.lock("x"), "test_3_free": None}
        result = run_tests(_locked_case(tracker, marks, body, max_concurrency=2), timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(tracker.peak, 2)
        self.assertTrue(tracker.overlapped("test_1", "test_3_free"))

    def test_waiting_for_a_lock_is_not_charged_to_the_timeout(self) -> None:
        """test_2's limit (0.05 s) is shorter than test_1 holds the lock (a bounded
        wait of 0.1 s); test_2 still passes: its clock starts when it does."""
        tracker = Tracker()

        async def body(test: Any, name: str) -> None:
            if name == "test_1":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.Event().wait(), 0.1)

        marks = {
            "test_1": aiounit.lock("x"),
            "test_2": lambda f: aiounit.timeout(0.05)(aiounit.lock("x")(f)),
        }
        result = run_tests(_locked_case(tracker, marks, body), timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            tracker.log,
            [("start", "test_1"), ("end", "test_1"), ("start", "test_2"), ("end", "test_2")],
        )

    def test_lock_is_released_when_a_member_is_given_up_on(self) -> None:
        """A holder that ignores its cancellation is given up on; the member
        waiting for its lock then runs, and the group ends."""
        self.addCleanup(gc.collect)  # the given-up coroutine, outside any loop

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            @aiounit.lock("x")
            async def test_1_stubborn(self) -> None:
                while True:
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.Event().wait()

            @aiounit.group("g")
            @aiounit.lock("x")
            async def test_2(self) -> None:
                pass

        result = RawResult()
        run_tests(Case, result=result, timeout=0.05, grace=0.05)
        blocks(result.events)
        self.assertEqual([name for name, _ in result.raw], ["test_1_stubborn"])
        self.assertIn(("addSuccess", "test_2"), result.events)

    def test_timed_out_thread_keeps_its_lock_while_it_runs(self) -> None:
        """A sync member that overruns its limit is reported at once, but its
        thread still runs the test: the member waiting for its lock starts only
        when that thread has ended (or a grace period later), not beside it."""
        events: list[str] = []
        peer_ran = threading.Event()

        @aiounit.group("g")
        class Case(unittest.TestCase):
            @aiounit.lock("db")
            def test_1(self) -> None:
                events.append("1 enter")
                # Six times its limit, long enough for a peer let in at the
                # limit to overlap it (it returns early if one does).
                peer_ran.wait(0.12)
                events.append("1 exit")

            @aiounit.lock("db")
            @aiounit.timeout(30)  # only test_1 overruns, however loaded the machine
            def test_2(self) -> None:
                events.append("2 enter")
                peer_ran.set()

        class AsyncCase(aiounit.AsyncTestCase):  # its sync method alone is on a thread
            test_1 = aiounit.group("g")(Case.test_1)
            test_2 = aiounit.group("g")(Case.test_2)

        for case in (Case, AsyncCase):
            with self.subTest(case=case.__name__):
                events.clear()
                peer_ran.clear()
                result = run_tests(case, timeout=0.02, grace=1.0)
                self.assertEqual(events, ["1 enter", "1 exit", "2 enter"])
                errors = [e[1] for e in result.events if e[0] == "addError"]
                self.assertEqual(errors, ["test_1"])
                self.assertIn(("addSuccess", "test_2"), [e[:2] for e in result.events])


class TestIsolated(unittest.TestCase):
    """An isolated member waits for the running ones, runs alone, then the group goes on."""

    def test_isolated_runs_alone_between_the_others(self) -> None:
        """1 and 2 overlap; 3 starts after both end; 4 and 5 start after 3 ends
        and overlap each other."""
        tracker = Tracker()
        met = {n: asyncio.Event() for n in ("test_1", "test_2", "test_4", "test_5")}
        partner = {"test_1": "test_2", "test_2": "test_1", "test_4": "test_5", "test_5": "test_4"}

        async def body(test: Any, name: str) -> None:
            if name in met:
                met[name].set()
                await met[partner[name]].wait()
            await _yield()

        marks = {
            "test_1": None,
            "test_2": None,
            "test_3": aiounit.isolated,
            "test_4": None,
            "test_5": None,
        }
        result = run_tests(_locked_case(tracker, marks, body), timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        log = tracker.log
        start3, end3 = log.index(("start", "test_3")), log.index(("end", "test_3"))
        self.assertEqual(log[start3 + 1], ("end", "test_3"))  # nothing in between
        for name in ("test_1", "test_2"):
            self.assertLess(log.index(("end", name)), start3)
        for name in ("test_4", "test_5"):
            self.assertGreater(log.index(("start", name)), end3)

    def test_isolated_class_makes_each_test_alone(self) -> None:
        """@isolated on a grouped class: its tests never overlap anything."""
        tracker = Tracker()

        @aiounit.isolated
        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with tracker.track("a"):
                    await _yield()

            async def test_b(self) -> None:
                with tracker.track("b"):
                    await _yield()

        aiounit.group("g")(Case)
        result = run_tests(Case, timeout=1.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(tracker.peak, 1)

    def test_isolated_under_default_group(self) -> None:
        """--default-group class honours @isolated too: the migration's main tool."""
        tracker = Tracker()

        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                with tracker.track("a"):
                    await _yield()

            async def test_b(self) -> None:
                with tracker.track("b"):
                    await _yield()

            @aiounit.isolated
            async def test_c(self) -> None:
                with tracker.track("c"):
                    await _yield()

        result = run_tests(Case, timeout=1.0, default_group="class")
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertFalse(tracker.overlapped("a", "c") or tracker.overlapped("b", "c"))
        self.assertTrue(tracker.overlapped("a", "b"))


class _Checker:
    """Asserts the admission rule on every start, from recorded holds."""

    def __init__(self, case: unittest.TestCase) -> None:
        self.case = case
        self.holding: dict[str, tuple[dict[str, bool], bool]] = {}
        self.starts: list[str] = []
        self.shared_overlaps = 0

    def enter(self, name: str, locks: dict[str, bool], alone: bool) -> None:
        for other, (their_locks, their_alone) in self.holding.items():
            self.case.assertFalse(alone or their_alone, f"{name} overlaps {other}")
            for lock, shared in locks.items():
                if lock in their_locks:
                    both_shared = shared and their_locks[lock]
                    self.case.assertTrue(both_shared, f"{name} and {other} both hold {lock}")
                    self.shared_overlaps += 1
        self.holding[name] = (locks, alone)
        self.starts.append(name)

    def exit(self, name: str) -> None:
        del self.holding[name]


class TestRandomLockSets(unittest.TestCase):
    """Many members with random locks: the rule holds, everyone runs, in order."""

    def test_random_lock_sets(self) -> None:
        """Seeded: never two holders of an exclusive lock, isolated alone, shared
        holders do overlap, every member runs, conflicting members start in loader
        order, the cap holds, and the group ends (no deadlock)."""
        for seed in range(6):
            with self.subTest(seed=seed):
                self._run_seed(seed)

    def _run_seed(self, seed: int) -> None:
        rng = random.Random(seed)
        checker = _Checker(self)
        names = ["a", "b", "c", "d"]
        count = 120
        cap = rng.choice([None, 3, 8])
        plan: dict[str, tuple[dict[str, bool], bool, int]] = {}
        namespace: dict[str, Any] = {}
        for index in range(count):
            name = f"test_{index:03d}"
            alone = rng.random() < 0.03
            locks = {n: rng.random() < 0.6 for n in rng.sample(names, rng.randint(0, 2))}
            turns = rng.randint(0, 6)
            plan[name] = (locks, alone, turns)

            async def test(self: Any, _name: str = name) -> None:
                locks, alone, turns = plan[_name]
                checker.enter(_name, locks, alone)
                await _yield(turns)
                checker.exit(_name)

            test.__name__ = name
            for lock, shared in locks.items():
                test = aiounit.lock(lock, shared=shared)(test)
            if alone:
                test = aiounit.isolated(test)
            namespace[name] = test
        case = aiounit.group("random", max_concurrency=cap)(
            type("Random", (aiounit.AsyncTestCase,), namespace)
        )
        result = run_tests(case, timeout=2.0)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(sorted(checker.starts), sorted(plan))
        self.assertGreater(checker.shared_overlaps, 0)
        position = {name: i for i, name in enumerate(checker.starts)}
        ordered = sorted(plan)
        for i, first in enumerate(ordered):
            locks1, alone1, _ = plan[first]
            for second in ordered[i + 1 :]:
                locks2, alone2, _ = plan[second]
                conflict = (
                    alone1
                    or alone2
                    or any(not (locks1[n] and locks2[n]) for n in locks1.keys() & locks2.keys())
                )
                if conflict:
                    self.assertLess(position[first], position[second], (first, second))


class TestAdmissionUnit(unittest.TestCase):
    """The controller itself: slots, exactly-once release."""

    class _M:
        def __init__(self, test: Any) -> None:
            self.test = test

    def test_release_counts_once(self) -> None:
        """Releasing a member twice (finished, and earlier given up on) frees one slot."""

        class Case(unittest.TestCase):
            def test_a(self) -> None:
                pass

        members = [self._M(Case("test_a")) for _ in range(4)]
        admission = Admission(members, 2)
        first, second = admission.take(), admission.take()
        self.assertIsNone(admission.take())
        admission.release(first)
        admission.release(first)
        self.assertIs(admission.take(), members[2])
        self.assertIsNone(admission.take())
        admission.release(second)
        self.assertIs(admission.take(), members[3])
        self.assertTrue(admission.exhausted)

    def test_capped_group_creates_tasks_only_when_admitted(self) -> None:
        """A capped group of 500 never has more than cap + 2 tasks alive (the
        main task, the members, nothing waiting)."""
        peak = [0]

        class Many(aiounit.AsyncTestCase):
            async def _work(self) -> None:
                peak[0] = max(peak[0], len(asyncio.all_tasks()))
                await asyncio.sleep(0)

        for i in range(500):
            setattr(Many, f"test_{i:04d}", Many._work)
        aiounit.group("many", max_concurrency=5)(Many)
        result = run_tests(Many, result=LoggingResult())
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(result.testsRun, 500)
        self.assertLessEqual(peak[0], 5 + 1)
