"""Async class and module fixtures (loop scopes): calls, loops, order, faults.

Each test defines tiny classes that record what runs, on which loop, into a
list, runs them (in aiounit's suite and in stock unittest's), and checks the
list.  Concurrency is proven with events, never with time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import io
import os
import tempfile
import unittest
import xml.etree.ElementTree as ET
from typing import Any

import aiounit
from aiounit import _scope
from tests._engine_support import NotingResult, make_module
from tests._support import LoggingResult, run_text, suite_of
from tests.test_junit import attr_of

WAIT = 2.0  # bound of a wait for an event that a concurrent peer sets


def loop_id() -> int:
    return id(asyncio.get_running_loop())


def fixture_class(events: list[Any], name: str = "Fixtured", *, grouped: bool = True) -> type:
    """A class with sync and async class fixtures, two cleanups, grouped and
    ungrouped tests, all recording into *events*."""

    class Fixtured(aiounit.AsyncTestCase):
        loop: asyncio.AbstractEventLoop
        queue: asyncio.Queue[str]

        @classmethod
        def setUpClass(cls) -> None:
            events.append("setUpClass")
            cls.addClassCleanup(events.append, "sync class cleanup")

        @classmethod
        async def asyncSetUpClass(cls) -> None:
            cls.loop = asyncio.get_running_loop()
            events.append(("asyncSetUpClass", loop_id()))
            # A loop-bound resource, usable by every test of the class.
            cls.queue = asyncio.Queue()
            cls.addAsyncClassCleanup(events.append, "async cleanup 1")

            async def second() -> None:
                events.append(("async cleanup 2", loop_id()))

            cls.addAsyncClassCleanup(second)

        @classmethod
        async def asyncTearDownClass(cls) -> None:
            events.append(("asyncTearDownClass", loop_id()))

        @classmethod
        def tearDownClass(cls) -> None:
            events.append("tearDownClass")

        async def _use(self, name: str) -> None:
            await self.queue.put(name)
            self.assertEqual(await self.queue.get(), name)
            events.append((name, loop_id()))

        async def test_a(self) -> None:
            await self._use("test_a")

        async def test_b(self) -> None:
            await self._use("test_b")

        async def test_c(self) -> None:
            await self._use("test_c")

    if grouped:
        aiounit.group("pair")(Fixtured.test_a)
        aiounit.group("pair")(Fixtured.test_b)
    Fixtured.__name__ = Fixtured.__qualname__ = name
    return Fixtured


def run_suite(
    *classes: type, suite_class: type = aiounit.ConcurrentTestSuite, **kwargs: Any
) -> Any:
    result = LoggingResult()
    suite_of(*classes, suite_class=suite_class, **kwargs).run(result)
    return result


def flat_suite(*classes: type) -> unittest.TestSuite:
    """VS Code's way: the loaded tests, rebuilt into plain TestSuites."""
    loaded = unittest.TestLoader().loadTestsFromTestCase
    return unittest.TestSuite(unittest.TestSuite(list(loaded(cls))) for cls in classes)


class TestClassFixtures(unittest.TestCase):
    def check_class_run(self, events: list[Any]) -> None:
        names = [e[0] if isinstance(e, tuple) else e for e in events]
        self.assertEqual(names[:2], ["setUpClass", "asyncSetUpClass"])
        self.assertCountEqual(names[2:5], ["test_a", "test_b", "test_c"])
        self.assertEqual(
            names[5:],
            [
                "asyncTearDownClass",
                "async cleanup 2",
                "async cleanup 1",
                "tearDownClass",
                "sync class cleanup",
            ],
        )
        loops = {e[1] for e in events if isinstance(e, tuple)}
        self.assertEqual(len(loops), 1, events)

    def test_once_per_class_on_the_loop_of_every_test_in_aiounits_suite(self) -> None:
        events: list[Any] = []
        result = run_suite(fixture_class(events))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.testsRun, 3)
        self.check_class_run(events)

    def test_the_same_calls_under_stock_unittest(self) -> None:
        events: list[Any] = []
        result = run_suite(fixture_class(events), suite_class=unittest.TestSuite)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.check_class_run(events)

    def test_a_class_that_drives_its_tests_runs_them_on_its_loop_too(self) -> None:
        """A run() or _callSetUp override: each test runs alone, on the class's loop.

        Such a test goes through the stdlib's own lifecycle; it used to come
        back to aiounit's scope from there, forever (RecursionError).
        """
        for hook in ("run", "_callSetUp"):
            for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
                with self.subTest(hook=hook, suite=suite_class.__name__):
                    events: list[Any] = []
                    driven: list[str] = []
                    cls = fixture_class(events)
                    stock = getattr(aiounit.AsyncTestCase, hook)

                    def override(
                        self: Any, *args: Any, stock: Any = stock, driven: list[str] = driven
                    ) -> Any:
                        driven.append(self._testMethodName)
                        return stock(self, *args)

                    setattr(cls, hook, override)
                    result = run_suite(cls, suite_class=suite_class)
                    self.assertTrue(result.wasSuccessful(), result.errors)
                    self.assertEqual(sorted(driven), ["test_a", "test_b", "test_c"])
                    self.check_class_run(events)

    def test_the_same_calls_when_the_suite_is_rebuilt_as_plain_suites(self) -> None:
        events: list[Any] = []
        result = unittest.TestResult()
        flat_suite(fixture_class(events)).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.check_class_run(events)

    def test_one_test_selected_alone_still_runs_the_fixtures_once(self) -> None:
        events: list[Any] = []
        cls = fixture_class(events)
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            events.clear()
            result = unittest.TestResult()
            suite_class([cls("test_b")]).run(result)
            self.assertTrue(result.wasSuccessful(), result.errors)
            names = [e[0] if isinstance(e, tuple) else e for e in events]
            self.assertEqual(names.count("asyncSetUpClass"), 1, suite_class)
            self.assertEqual(names.count("asyncTearDownClass"), 1, suite_class)
            self.assertEqual(names[2], "test_b")

    def test_a_test_run_by_hand_runs_the_class_fixtures_around_it(self) -> None:
        # No suite, so no setUpClass: the async class fixtures still run.
        events: list[Any] = []
        cls = fixture_class(events)
        result = unittest.TestResult()
        cls("test_c").run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        names = [e[0] if isinstance(e, tuple) else e for e in events]
        self.assertEqual(
            names,
            [
                "asyncSetUpClass",
                "test_c",
                "asyncTearDownClass",
                "async cleanup 2",
                "async cleanup 1",
            ],
        )

    def test_an_override_without_super_is_still_hooked(self) -> None:
        events: list[Any] = []

        class Base(aiounit.AsyncTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                events.append("base setUpClass")

        class Child(Base):
            @classmethod
            def setUpClass(cls) -> None:
                super().setUpClass()
                events.append("child setUpClass")

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                events.append("asyncSetUpClass")

            async def test_x(self) -> None:
                events.append("test_x")

        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            events.clear()
            result = run_suite(Child, suite_class=suite_class)
            self.assertTrue(result.wasSuccessful(), result.errors)
            self.assertEqual(
                events, ["base setUpClass", "child setUpClass", "asyncSetUpClass", "test_x"]
            )

    def test_enter_async_class_context_exits_as_a_cleanup(self) -> None:
        events: list[Any] = []

        class Session:
            async def __aenter__(self) -> str:
                events.append("enter")
                return "session"

            async def __aexit__(self, *exc: object) -> None:
                events.append(("exit", exc))

        class T(aiounit.AsyncTestCase):
            session: str

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                cls.session = await cls.enterAsyncClassContext(Session())

            async def test_x(self) -> None:
                events.append(self.session)

        result = run_suite(T)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(events, ["enter", "session", ("exit", (None, None, None))])

    def test_misuse_is_a_clear_error(self) -> None:
        class T(aiounit.AsyncTestCase):
            pass

        with self.assertRaisesRegex(RuntimeError, "addAsyncClassCleanup"):
            T.addAsyncClassCleanup(print)
        with self.assertRaisesRegex(TypeError, "function must be callable"):
            T.addAsyncClassCleanup(None)  # type: ignore[arg-type]  # the misuse under test
        with self.assertRaisesRegex(RuntimeError, "addAsyncModuleCleanup"):
            aiounit.addAsyncModuleCleanup(print)
        with self.assertRaisesRegex(TypeError, r"asyncSetUpClass must be a classmethod"):

            class Bad(aiounit.AsyncTestCase):
                async def asyncSetUpClass(self) -> None:  # type: ignore[override]  # the misuse
                    pass

        with self.assertRaisesRegex(TypeError, "asynchronous context manager"):
            asyncio.run(T.enterAsyncClassContext(object()))


class TestGroupsAndScopes(unittest.TestCase):
    def test_two_classes_of_a_group_set_up_and_tear_down_together(self) -> None:
        events: list[Any] = []
        gates: dict[str, asyncio.Event] = {}

        async def meet(me: str, peer: str) -> None:
            # Each waits for the other: only concurrent calls both get through.
            gates.setdefault(me, asyncio.Event()).set()
            await asyncio.wait_for(gates.setdefault(peer, asyncio.Event()).wait(), WAIT)

        def make(name: str, peer: str) -> type:
            class C(aiounit.AsyncTestCase):
                @classmethod
                async def asyncSetUpClass(cls) -> None:
                    events.append(f"{name} setup starts")
                    await meet(f"{name} up", f"{peer} up")
                    events.append(f"{name} setup ends")

                @classmethod
                async def asyncTearDownClass(cls) -> None:
                    events.append(f"{name} teardown starts")
                    await meet(f"{name} down", f"{peer} down")
                    events.append(f"{name} teardown ends")

                @aiounit.group("both")
                async def test_member(self) -> None:
                    events.append(f"{name} member")

            C.__name__ = C.__qualname__ = name
            return C

        a, b = make("A", "B"), make("B", "A")
        module = make_module(self, a, b)

        # Two classes with loops of their own cannot share a group; a module
        # scope gives them one loop.
        async def module_set_up() -> None:
            events.append("module")

        module.asyncSetUpModule = module_set_up  # type: ignore[attr-defined]
        result = run_suite(a, b)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(events[0], "module")
        self.assertCountEqual(
            events[1:5], ["A setup starts", "B setup starts", "A setup ends", "B setup ends"]
        )
        self.assertCountEqual(events[5:7], ["A member", "B member"])
        self.assertCountEqual(
            events[7:],
            ["A teardown starts", "B teardown starts", "A teardown ends", "B teardown ends"],
        )

    def test_a_group_needing_two_loops_is_a_usage_error_before_anything_runs(self) -> None:
        events: list[Any] = []
        a = fixture_class(events, "First")
        b = fixture_class(events, "Second")
        make_module(self, a, b)
        with self.assertRaises(_scope.LoopScopeError) as caught:
            run_suite(a, b)
        message = str(caught.exception)
        self.assertIn("group 'pair'", message)
        self.assertIn(f"{a.__module__}.First and {a.__module__}.Second", message)
        self.assertIn("asyncSetUpModule", message)
        self.assertIn("split the group", message)
        self.assertEqual(events, [])

    def test_a_plain_class_in_the_group_runs_on_the_fixture_classs_loop(self) -> None:
        events: list[Any] = []
        fixtured = fixture_class(events)

        class Plain(aiounit.AsyncTestCase):
            @aiounit.group("pair")
            async def test_p(self) -> None:
                events.append(("test_p", loop_id()))

        make_module(self, fixtured, Plain)
        result = run_suite(fixtured, Plain)
        self.assertTrue(result.wasSuccessful(), result.errors)
        loops = {e[1] for e in events if isinstance(e, tuple)}
        self.assertEqual(len(loops), 1, events)


class TestDefaultGroups(unittest.TestCase):
    def test_module_default_group_keeps_a_class_with_a_loop_of_its_own_apart(self) -> None:
        events: list[Any] = []
        first = fixture_class(events, "First", grouped=False)
        second = fixture_class(events, "Second", grouped=False)

        class Plain(aiounit.AsyncTestCase):
            async def test_p(self) -> None:
                events.append(("test_p", loop_id()))

            async def test_q(self) -> None:
                events.append(("test_q", loop_id()))

        make_module(self, first, second, Plain)
        result = run_suite(first, second, Plain, default_group="module")
        self.assertTrue(result.wasSuccessful(), result.errors)
        # First's fixtures and tests on one loop, Second's on another, and
        # Plain's module group on a third.
        names = [e[0] if isinstance(e, tuple) else e for e in events]
        self.assertEqual(names.count("asyncSetUpClass"), 2)
        plain = {e[1] for e in events if isinstance(e, tuple) and e[0] in ("test_p", "test_q")}
        fixtured = [
            e[1] for e in events if isinstance(e, tuple) and e[0] not in ("test_p", "test_q")
        ]
        self.assertEqual(len(plain), 1)
        self.assertEqual(len(set(fixtured)), 2)
        self.assertFalse(plain & set(fixtured))
        # Each class's run is one block on one loop.
        half = len(fixtured) // 2
        self.assertEqual(len(set(fixtured[:half])), 1, events)


class TestModuleFixtures(unittest.TestCase):
    def make(self, events: list[Any]) -> tuple[Any, type, type]:
        class Plain(aiounit.AsyncTestCase):
            async def test_plain(self) -> None:
                events.append(("test_plain", loop_id()))

            @aiounit.group("g")
            async def test_grouped(self) -> None:
                events.append(("test_grouped", loop_id()))

        class WithClass(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                events.append(("asyncSetUpClass", loop_id()))

            async def test_w(self) -> None:
                events.append(("test_w", loop_id()))

        module = make_module(self, Plain, WithClass)

        class Resource:
            async def __aenter__(self) -> None:
                events.append(("enter", loop_id()))

            async def __aexit__(self, *exc: object) -> None:
                events.append(("exit", loop_id()))

        async def set_up() -> None:
            events.append(("asyncSetUpModule", loop_id()))
            aiounit.addAsyncModuleCleanup(events.append, "module cleanup")
            await aiounit.enterAsyncModuleContext(Resource())

        async def tear_down() -> None:
            events.append(("asyncTearDownModule", loop_id()))

        # A module made at run time: mypy knows none of its attributes.
        module.setUpModule = lambda: events.append("setUpModule")  # type: ignore[attr-defined]
        module.tearDownModule = lambda: events.append("tearDownModule")  # type: ignore[attr-defined]
        module.asyncSetUpModule = set_up  # type: ignore[attr-defined]
        module.asyncTearDownModule = tear_down  # type: ignore[attr-defined]
        return module, Plain, WithClass

    def check(self, events: list[Any]) -> None:
        names = [e[0] if isinstance(e, tuple) else e for e in events]
        self.assertEqual(names[:3], ["setUpModule", "asyncSetUpModule", "enter"])
        self.assertEqual(
            names[-4:], ["asyncTearDownModule", "exit", "module cleanup", "tearDownModule"]
        )
        self.assertCountEqual(
            names[3:-4], ["test_plain", "test_grouped", "asyncSetUpClass", "test_w"]
        )
        self.assertEqual(len({e[1] for e in events if isinstance(e, tuple)}), 1, events)

    def test_every_test_of_the_module_on_one_loop(self) -> None:
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            with self.subTest(suite=suite_class.__name__):
                events: list[Any] = []
                module, plain, with_class = self.make(events)
                result = run_suite(plain, with_class, suite_class=suite_class)
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.check(events)
                # The module's own tearDownModule is back in place.
                self.assertEqual(module.tearDownModule.__name__, "<lambda>")

    def test_a_failing_async_module_setup_is_reported_as_setUpModule(self) -> None:
        events: list[Any] = []
        module, plain, with_class = self.make(events)

        async def broken() -> None:
            aiounit.addAsyncModuleCleanup(events.append, "cleanup after failure")
            raise OSError("no database")

        module.asyncSetUpModule = broken
        result = run_suite(plain, with_class)
        self.assertEqual(result.testsRun, 0)
        self.assertEqual(result.events, [("addError", f"setUpModule ({module.__name__})")])
        self.assertIn("OSError: no database", result.errors[0][1])
        self.assertEqual(events, ["setUpModule", "cleanup after failure"])

    def test_a_sync_async_module_hook_is_a_setUpModule_error(self) -> None:
        """A plain def as asyncSetUpModule or asyncTearDownModule: no test runs, no hook runs."""
        for name in ("asyncSetUpModule", "asyncTearDownModule"):
            with self.subTest(name):
                events: list[Any] = []
                module, plain, with_class = self.make(events)
                setattr(module, name, functools.partial(events.append, name))
                result = run_suite(plain, with_class)
                self.assertEqual(result.testsRun, 0)
                self.assertEqual(result.events, [("addError", f"setUpModule ({module.__name__})")])
                self.assertIn(
                    f"TypeError: {module.__name__}.{name} must be a coroutine function (async def)",
                    result.errors[0][1],
                )
                self.assertNotIn(name, events)


class TestFaults(unittest.TestCase):
    def sync_and_async(self, what: str, raise_it: Any) -> tuple[type, type]:
        """A class failing in sync setUpClass/tearDownClass, and one failing the
        same way in its async counterpart."""

        class Sync(aiounit.AsyncTestCase):
            async def test_x(self) -> None:
                pass

        class Async(aiounit.AsyncTestCase):
            async def test_x(self) -> None:
                pass

        async def async_hook(cls: type) -> None:
            raise_it()

        def sync_hook(cls: type) -> None:
            raise_it()

        Sync.__qualname__, Async.__qualname__ = "Sync", "Async"
        setattr(Sync, what, classmethod(sync_hook))
        setattr(Async, "async" + what[0].upper() + what[1:], classmethod(async_hook))
        make_module(self, Sync, Async)
        return Sync, Async

    def test_a_failing_async_setup_is_reported_exactly_as_a_failing_setUpClass(self) -> None:
        def boom() -> None:
            raise OSError("login refused")

        sync, async_ = self.sync_and_async("setUpClass", boom)
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            results = [run_suite(cls, suite_class=suite_class) for cls in (sync, async_)]
            events = [r.events for r in results]
            self.assertEqual(events[0], [("addError", f"setUpClass ({sync.__module__}.Sync)")])
            self.assertEqual(events[1], [("addError", f"setUpClass ({sync.__module__}.Async)")])
            for r in results:
                self.assertEqual(r.testsRun, 0)
                self.assertTrue(r.errors[0][1].rstrip().endswith("OSError: login refused"))

    def test_text_and_junit_show_it_the_same(self) -> None:
        def boom() -> None:
            raise OSError("login refused")

        sync, async_ = self.sync_and_async("setUpClass", boom)
        texts = [
            run_text(suite_of(cls), verbosity=2).replace("Async", "Sync") for cls in (sync, async_)
        ]
        strip = [
            "\n".join(
                line for line in t.splitlines() if not line.startswith(("  File", "    ", "Ran "))
            )
            for t in texts
        ]
        self.assertEqual(strip[0], strip[1])
        with tempfile.TemporaryDirectory() as tmp:
            cases = []
            for cls in (sync, async_):
                path = os.path.join(tmp, f"{cls.__name__}.xml")
                aiounit.TextTestRunner(stream=io.StringIO(), junit_xml=path).run(suite_of(cls))
                case = ET.parse(path).getroot().find(".//testcase")
                assert case is not None
                cases.append(
                    (attr_of(case, "name"), attr_of(case, "classname"), [c.tag for c in case])
                )
        self.assertIn(f"{sync.__module__}.Sync", cases[0][0] + cases[0][1])
        self.assertEqual(
            cases[0], (*(c.replace("Async", "Sync") for c in cases[1][:2]), cases[1][2])
        )
        self.assertIn("error", cases[0][2])

    def test_with_buffer_the_output_of_a_failing_setup_is_shown_as_for_setUpClass(self) -> None:
        def boom() -> None:
            print("logging in as demo")
            raise OSError("login refused")

        sync, async_ = self.sync_and_async("setUpClass", boom)
        texts = []
        for cls in (sync, async_):
            # A buffering result echoes a failure's output to the real stdout too.
            with contextlib.redirect_stdout(io.StringIO()):
                text = run_text(suite_of(cls), buffer=True).replace("Async", "Sync")
            texts.append(
                [line for line in text.splitlines() if not line.startswith(("  ", "Ran "))]
            )
        self.assertIn("logging in as demo", texts[0])
        self.assertEqual(texts[0], texts[1])

    def test_skip_in_async_setup_skips_the_class_as_in_setUpClass(self) -> None:
        def skip() -> None:
            raise unittest.SkipTest("no server here")

        sync, async_ = self.sync_and_async("setUpClass", skip)
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            for cls in (sync, async_):
                result = run_suite(cls, suite_class=suite_class)
                self.assertEqual(
                    result.events, [("addSkip", f"setUpClass ({cls.__module__}.{cls.__name__})")]
                )
                self.assertEqual(result.skipped[0][1], "no server here")

    def test_a_failing_async_teardown_is_reported_as_tearDownClass(self) -> None:
        def boom() -> None:
            raise OSError("logout failed")

        sync, async_ = self.sync_and_async("tearDownClass", boom)
        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            for cls in (sync, async_):
                result = run_suite(cls, suite_class=suite_class)
                name = f"tearDownClass ({cls.__module__}.{cls.__name__})"
                self.assertEqual(result.events[-1], ("addError", name))
                self.assertIn("OSError: logout failed", result.errors[0][1])

    def test_failing_cleanups_are_reported_and_the_others_still_run(self) -> None:
        events: list[Any] = []

        class T(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                cls.addAsyncClassCleanup(events.append, "first")
                cls.addAsyncClassCleanup(self_fail)

            @classmethod
            def tearDownClass(cls) -> None:
                events.append("tearDownClass")

            async def test_x(self) -> None:
                pass

        async def self_fail() -> None:
            raise OSError("cleanup broke")

        for suite_class in (aiounit.ConcurrentTestSuite, unittest.TestSuite):
            events.clear()
            result = run_suite(T, suite_class=suite_class)
            self.assertEqual(events, ["first", "tearDownClass"])
            self.assertEqual(
                result.events[-1][1], f"tearDownClass ({T.__module__}.{T.__qualname__})"
            )
            self.assertIn("OSError: cleanup broke", result.errors[0][1])

    def test_a_setup_past_the_class_timeout_is_a_timeout_error(self) -> None:
        class Slow(aiounit.AsyncTestCase):
            timeout = 0.05

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                await asyncio.Event().wait()

            async def test_x(self) -> None:
                pass

        result = run_suite(Slow)
        self.assertEqual(result.testsRun, 0)
        self.assertEqual(len(result.errors), 1)
        text = result.errors[0][1]
        self.assertIn("TestTimeoutError: asyncSetUpClass of", text)
        self.assertIn("did not finish within 0.05 s; it was waiting at", text)
        self.assertIn("in asyncSetUpClass", text)

    def test_failfast_still_tears_down(self) -> None:
        events: list[Any] = []

        class T(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                events.append("up")

            @classmethod
            async def asyncTearDownClass(cls) -> None:
                events.append("down")

            async def test_a(self) -> None:
                self.fail("first")

            async def test_b(self) -> None:
                events.append("test_b")

        result = LoggingResult()
        result.failfast = True
        suite_of(T).run(result)
        self.assertEqual(events, ["up", "down"])

    def test_an_interrupt_still_runs_the_async_teardown(self) -> None:
        events: list[Any] = []

        class T(aiounit.AsyncTestCase):
            @classmethod
            async def asyncSetUpClass(cls) -> None:
                events.append("up")

            @classmethod
            async def asyncTearDownClass(cls) -> None:
                events.append("down")

            async def test_a(self) -> None:
                raise KeyboardInterrupt

        with self.assertNoLogs("asyncio", "ERROR"):
            with self.assertRaises(KeyboardInterrupt):
                suite_of(T).run(LoggingResult())
            # The interrupt reached the caller: asyncio must not also log it as
            # "Task exception was never retrieved" when the test's task goes.
            gc.collect()
        self.assertEqual(events, ["up", "down"])
        self.assertNotIn(T, _scope.class_scopes)


class TestTasks(unittest.TestCase):
    def server_class(self, events: list[Any], *, leave_running: bool) -> type:
        class T(aiounit.AsyncTestCase):
            requests: asyncio.Queue[asyncio.Future[str]]
            server: asyncio.Task[None]

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                cls.requests = asyncio.Queue()

                async def serve() -> None:
                    while True:
                        reply = await cls.requests.get()
                        reply.set_result("pong")

                cls.server = asyncio.create_task(serve())

            @classmethod
            async def asyncTearDownClass(cls) -> None:
                if not leave_running:
                    cls.server.cancel()

            async def ask(self) -> None:
                reply = asyncio.get_running_loop().create_future()
                await self.requests.put(reply)
                events.append(await reply)

            @aiounit.group("g")
            async def test_grouped(self) -> None:
                await self.ask()

            async def test_alone(self) -> None:
                await self.ask()

        return T

    def test_a_background_task_serves_the_tests_and_is_not_their_leak(self) -> None:
        events: list[Any] = []
        result = NotingResult()
        suite_of(self.server_class(events, leave_running=False)).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(events, ["pong", "pong"])
        self.assertEqual(result.notes, [])

    def test_left_running_after_teardown_it_is_the_fixtures_leak(self) -> None:
        events: list[Any] = []
        cls = self.server_class(events, leave_running=True)
        result = NotingResult()
        suite_of(cls).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        [(where, note)] = result.notes
        self.assertEqual(where, f"tearDownClass ({cls.__module__}.{cls.__qualname__})")
        self.assertIn("left 1 task(s) running, cancelled when its loop scope ended", note)
        self.assertIn("serve", note)

    def test_with_fail_on_leaks_it_is_an_error_of_the_fixture(self) -> None:
        cls = self.server_class([], leave_running=True)
        result = LoggingResult()
        suite_of(cls, fail_on_leaks=True).run(result)
        self.assertEqual(
            result.events[-1], ("addError", f"tearDownClass ({cls.__module__}.{cls.__qualname__})")
        )
        self.assertIn("LeakedTaskError", result.errors[0][1])

    def test_a_fixture_task_that_ignores_cancellation_cannot_hang_the_run(self) -> None:
        class T(aiounit.AsyncTestCase):
            task: asyncio.Task[None]

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                async def stubborn() -> None:
                    while True:
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.Event().wait()

                cls.task = asyncio.create_task(stubborn())

            async def test_x(self) -> None:
                pass

        result = LoggingResult()
        suite_of(T, fail_on_leaks=True, grace=0.01).run(result)
        self.assertEqual(result.testsRun, 1)
        self.assertIn("1 ignored the cancellation", result.errors[0][1])
        # Its loop is closed: nothing of it can run again.  Quiet asyncio's
        # "destroyed but pending" about it, the truth but noise here.
        T.task.get_coro().close()
        T.task._log_destroy_pending = False  # type: ignore[attr-defined]  # asyncio's private flag

    def test_a_task_an_ungrouped_test_leaves_is_cancelled_at_its_end(self) -> None:
        seen: list[Any] = []

        class T(aiounit.AsyncTestCase):
            task: asyncio.Task[None]

            @classmethod
            async def asyncSetUpClass(cls) -> None:
                pass

            async def test_a(self) -> None:
                async def forever() -> None:
                    try:
                        await asyncio.Event().wait()
                    except asyncio.CancelledError:
                        seen.append("cancelled")
                        raise

                type(self).task = asyncio.create_task(forever())
                await asyncio.sleep(0)

            async def test_b(self) -> None:
                seen.append(("test_b sees", self.task.done()))

        with contextlib.redirect_stderr(io.StringIO()) as err:
            result = run_suite(T, suite_class=unittest.TestSuite)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(seen, ["cancelled", ("test_b sees", True)])
        # A plain TestResult has no addDiagnostic: the leak warning goes to stderr.
        self.assertIn("test_a", err.getvalue())
        self.assertIn("left 1 task(s) running", err.getvalue())
