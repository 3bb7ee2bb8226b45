"""Async class and module fixtures under every runner: the same calls, the same outcomes.

Two test modules with async class and module fixtures record each fixture call
and test (process, name, loop) into a log file.  They run in subprocesses under
``python -m aiounit`` (also ``-j 2``, ``--shard``, ``-k``, one test by name),
stock ``python -m unittest`` with and without ``load_tests``, VS Code's way
(plain ``unittest.TestSuite``s rebuilt from the loaded tests), PyCharm's
teamcity runner and pytest (the last two only where installed).  Every run
must show one async setup and teardown per class and module, cleanups last in
first out, every test on its scope's loop, and the same failing fixtures
reported the way a failing ``setUpClass`` is.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from collections.abc import Callable
from typing import Any, ClassVar

from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_python,
    run_warm,
    sigint_by_default,
    write_files,
)

HAVE_TEAMCITY = importlib.util.find_spec("teamcity") is not None
HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

_COMMON = """
import asyncio
import json
import os

import aiounit

if os.environ.get("FX_LOAD_TESTS"):
    from aiounit import load_tests  # noqa: F401


def record(*event):
    with open(os.environ["FX_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps([os.getpid(), *event]) + "\\n")


def loop():
    return id(asyncio.get_running_loop())
"""

# A module scope: every test of the module on one loop; a class scope inside it.
_MODULE_SCOPED = (
    _COMMON
    + """

async def asyncSetUpModule():
    record("setup", "module", loop())
    aiounit.addAsyncModuleCleanup(record, "cleanup 1", "module")
    aiounit.addAsyncModuleCleanup(record, "cleanup 2", "module")


async def asyncTearDownModule():
    record("teardown", "module", loop())


class TestOrders(aiounit.AsyncTestCase):
    @classmethod
    async def asyncSetUpClass(cls):
        record("setup", "TestOrders", loop())
        cls.session = {"loop": loop()}
        cls.addAsyncClassCleanup(record, "cleanup 1", "TestOrders")
        cls.addAsyncClassCleanup(record, "cleanup 2", "TestOrders")

    @classmethod
    async def asyncTearDownClass(cls):
        record("teardown", "TestOrders", loop())

    @aiounit.group("orders")
    async def test_create(self):
        assert self.session["loop"] == loop()
        record("test", "TestOrders.test_create", loop())

    @aiounit.group("orders")
    async def test_cancel(self):
        record("test", "TestOrders.test_cancel", loop())

    async def test_alone(self):
        record("test", "TestOrders.test_alone", loop())


class TestStock(aiounit.AsyncTestCase):
    @aiounit.group("stock")
    async def test_read(self):
        record("test", "TestStock.test_read", loop())

    async def test_write(self):
        record("test", "TestStock.test_write", loop())
"""
)

# Class scopes only, and two classes whose setup fails: in sync and in async code.
_CLASS_SCOPED = (
    _COMMON
    + """

class TestLogin(aiounit.AsyncTestCase):
    @classmethod
    async def asyncSetUpClass(cls):
        record("setup", "TestLogin", loop())
        cls.addAsyncClassCleanup(record, "cleanup 1", "TestLogin")
        cls.addAsyncClassCleanup(record, "cleanup 2", "TestLogin")

    @classmethod
    async def asyncTearDownClass(cls):
        record("teardown", "TestLogin", loop())

    @aiounit.group()
    async def test_one(self):
        record("test", "TestLogin.test_one", loop())

    @aiounit.group()
    async def test_two(self):
        record("test", "TestLogin.test_two", loop())

    async def test_three(self):
        record("test", "TestLogin.test_three", loop())


class TestBrokenAsync(aiounit.AsyncTestCase):
    @classmethod
    async def asyncSetUpClass(cls):
        raise OSError("login refused")

    async def test_never(self):
        record("test", "TestBrokenAsync.test_never", loop())


class TestBrokenSync(aiounit.AsyncTestCase):
    @classmethod
    def setUpClass(cls):
        raise OSError("login refused")

    async def test_never(self):
        record("test", "TestBrokenSync.test_never", loop())
"""
)

_VSCODE = """
import unittest

loaded = unittest.TestLoader().discover(".", pattern="test_fx_*.py")


def leaves(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from leaves(test)
        else:
            yield test


suite = unittest.TestSuite(unittest.TestSuite([test]) for test in leaves(loaded))
result = unittest.TextTestRunner(verbosity=2).run(suite)
raise SystemExit(not result.wasSuccessful())
"""

_TEAMCITY = """
import unittest
from teamcity.unittestpy import TeamcityTestRunner

unittest.main(argv=["pycharm", "test_fx_mod", "test_fx_cls"], module=None,
              testRunner=TeamcityTestRunner, buffer=True, exit=False)
"""

ALL_TESTS = {
    "TestOrders.test_create",
    "TestOrders.test_cancel",
    "TestOrders.test_alone",
    "TestStock.test_read",
    "TestStock.test_write",
    "TestLogin.test_one",
    "TestLogin.test_two",
    "TestLogin.test_three",
}
MODULE_TESTS = {t for t in ALL_TESTS if t.startswith(("TestOrders", "TestStock"))}

RUNS: dict[str, tuple[list[str], dict[str, str]]] = {
    "aiounit": (["-m", "aiounit", "-v"], {}),
    "aiounit -j 2": (["-m", "aiounit", "-v", "-j", "2"], {}),
    "shard 1/2": (["-m", "aiounit", "-v", "--shard", "1/2"], {}),
    "shard 2/2": (["-m", "aiounit", "-v", "--shard", "2/2"], {}),
    "aiounit -k": (["-m", "aiounit", "-v", "-k", "test_cancel", "-k", "test_three"], {}),
    "aiounit one test": (["-m", "aiounit", "-v", "test_fx_mod.TestOrders.test_alone"], {}),
    "unittest": (["-m", "unittest", "-v"], {}),
    "unittest + load_tests": (["-m", "unittest", "-v"], {"FX_LOAD_TESTS": "1"}),
    "unittest one test": (["-m", "unittest", "-v", "test_fx_mod.TestOrders.test_alone"], {}),
    "vscode": (["-c", _VSCODE], {}),
}
if HAVE_TEAMCITY:
    RUNS["teamcity"] = (["-c", _TEAMCITY], {})
if HAVE_PYTEST:
    RUNS["pytest"] = (
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fx_mod.py", "test_fx_cls.py"],
        # pytest's own unittest support, not the plugins a machine may have
        # (pytest-asyncio warns under -W error when it is not configured).
        {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
FULL = [
    "aiounit",
    "aiounit -j 2",
    "unittest",
    "unittest + load_tests",
    "vscode",
    *(["teamcity"] if HAVE_TEAMCITY else []),
    *(["pytest"] if HAVE_PYTEST else []),
]


class TestUnderEveryRunner(BackgroundCase):
    runs: ClassVar[dict[str, tuple[subprocess.CompletedProcess[str], list[list[Any]]]]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any]:
        directory = background_directory()
        for name, text in (("test_fx_mod.py", _MODULE_SCOPED), ("test_fx_cls.py", _CLASS_SCOPED)):
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))
        logs = {name: os.path.join(directory, f"log{i}.jsonl") for i, name in enumerate(RUNS)}
        jobs = {
            name: (directory, tuple(args), child_env(**extra, FX_LOG=logs[name]))
            for name, (args, extra) in RUNS.items()
        }

        def run() -> dict[str, tuple[subprocess.CompletedProcess[str], list[list[Any]]]]:
            runs = {}
            for name, done in run_warm(jobs).items():
                events = []
                if os.path.exists(logs[name]):
                    with open(logs[name], encoding="utf-8") as f:
                        events = [json.loads(line) for line in f]
                runs[name] = (done, events)
            return runs

        return run

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.runs = cls.background_runs

    def check_scopes(self, name: str, events: list[list[Any]]) -> set[str]:
        """The scope rules in one run's events; the tests that ran."""
        ran: set[str] = set()
        by_pid: dict[int, list[list[Any]]] = collections.defaultdict(list)
        for event in events:
            by_pid[event[0]].append(event[1:])
        for pid_events in by_pid.values():
            kinds = [tuple(e[:2]) for e in pid_events]
            setups = {e[1]: (i, e[2]) for i, e in enumerate(pid_events) if e[0] == "setup"}
            for owner, (at, loop) in setups.items():
                self.assertEqual(kinds.count(("setup", owner)), 1, (name, owner, events))
                self.assertEqual(kinds.count(("teardown", owner)), 1, (name, owner, events))
                down = kinds.index(("teardown", owner))
                # LIFO cleanups right after the teardown (the module's after
                # its classes' whole teardown).
                self.assertLess(down, kinds.index(("cleanup 2", owner)), name)
                self.assertLess(
                    kinds.index(("cleanup 2", owner)), kinds.index(("cleanup 1", owner))
                )
                teardown_loop = pid_events[down][2]
                self.assertEqual(teardown_loop, loop, (name, owner))
                prefix = "" if owner == "module" else owner + "."
                for i, event in enumerate(pid_events):
                    if event[0] != "test" or not event[1].startswith(prefix):
                        continue
                    if owner == "module" and event[1] not in MODULE_TESTS:
                        continue
                    self.assertTrue(at < i < down, (name, owner, event))
                    self.assertEqual(event[2], loop, (name, owner, event))
            here = [event[1] for event in pid_events if event[0] == "test"]
            for test in here:
                self.assertNotIn(test, ran, (name, "ran twice"))
                ran.add(test)
                # A class with fixtures whose tests ran had its fixtures run.
                if test.startswith(("TestOrders", "TestLogin")):
                    self.assertIn(test.split(".")[0], setups, (name, test))
                if test in MODULE_TESTS:
                    self.assertIn("module", setups, (name, test))
        return ran

    def test_full_runs_make_the_same_calls_with_the_same_outcomes(self) -> None:
        for name in FULL:
            with self.subTest(run=name):
                proc, events = self.runs[name]
                # PyCharm's runner is called with exit=False.
                expected = 0 if name == "teamcity" else 1
                self.assertEqual(proc.returncode, expected, proc.stdout + proc.stderr)
                self.assertEqual(self.check_scopes(name, events), ALL_TESTS)

    def test_shards_together_run_everything_once(self) -> None:
        first = self.check_scopes("shard 1/2", self.runs["shard 1/2"][1])
        second = self.check_scopes("shard 2/2", self.runs["shard 2/2"][1])
        self.assertFalse(first & second)
        self.assertEqual(first | second, ALL_TESTS)

    def test_a_selection_still_runs_the_fixtures_of_what_it_selected(self) -> None:
        expected = {
            "aiounit -k": {"TestOrders.test_cancel", "TestLogin.test_three"},
            "aiounit one test": {"TestOrders.test_alone"},
            "unittest one test": {"TestOrders.test_alone"},
        }
        for name, tests in expected.items():
            with self.subTest(run=name):
                proc, events = self.runs[name]
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                self.assertEqual(self.check_scopes(name, events), tests)

    def test_a_failing_async_setup_is_reported_as_a_failing_setUpClass(self) -> None:
        for name in ("aiounit", "aiounit -j 2", "unittest", "unittest + load_tests", "vscode"):
            with self.subTest(run=name):
                text = self.runs[name][0].stderr
                for cls in ("TestBrokenAsync", "TestBrokenSync"):
                    self.assertIn(f"ERROR: setUpClass (test_fx_cls.{cls})", text)
                self.assertIn("Ran 8 tests", text)

    @unittest.skipUnless(HAVE_TEAMCITY, "teamcity-messages is not installed")
    def test_pycharm_shows_both_failing_setups_the_same_way(self) -> None:
        from tests.test_teamcity import service_messages

        messages = service_messages(self.runs["teamcity"][0].stdout)
        for cls in ("TestBrokenAsync", "TestBrokenSync"):
            test = f"test_fx_cls.{cls}.setUpClass"
            kinds = [m for m, a in messages if a.get("name") == test]
            self.assertEqual(kinds, ["testStarted", "testFailed", "testFinished"], cls)

    @unittest.skipUnless(HAVE_PYTEST, "pytest is not installed")
    def test_pytest_shows_both_failing_setups_the_same_way(self) -> None:
        out = self.runs["pytest"][0].stdout
        for cls in ("TestBrokenAsync", "TestBrokenSync"):
            self.assertIn(f"ERROR test_fx_cls.py::{cls}::test_never - OSError: login refused", out)
        self.assertIn("8 passed, 2 errors", out)


class TestUsageError(BackgroundCase):
    @classmethod
    def background(cls) -> Callable[[], Any]:
        # The run of test_a_group_over_two_loop_scopes_exits_2_before_any_test,
        # made in the background lane.
        directory = background_directory()
        write_files(
            directory,
            {
                "test_two.py": """
                    import aiounit

                    class TestA(aiounit.AsyncTestCase):
                        @classmethod
                        async def asyncSetUpClass(cls):
                            print("setup ran")

                        @aiounit.group("both")
                        async def test_a(self):
                            print("test ran")

                    class TestB(TestA):
                        pass
                    """
            },
        )
        return functools.partial(run_warm, {"run": (directory, ("-m", "aiounit"), child_env())})

    def test_a_group_over_two_loop_scopes_exits_2_before_any_test(self) -> None:
        proc = self.background_runs["run"]
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("error: group 'both' of test_two has members in test_two.TestA", proc.stderr)
        self.assertIn("test_two.TestB", proc.stderr)
        self.assertIn("asyncSetUpModule", proc.stderr)
        self.assertIn("split the group", proc.stderr)


_INTERRUPTED = """
import asyncio
import os
import signal

import aiounit


class TestC(aiounit.AsyncTestCase):
    @classmethod
    async def asyncSetUpClass(cls):
        print("asyncSetUpClass")

    @classmethod
    async def asyncTearDownClass(cls):
        print("asyncTearDownClass")

    @aiounit.group("g")
    async def test_a(self):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        await asyncio.Event().wait()

    @aiounit.group("g")
    async def test_b(self):
        await asyncio.Event().wait()

    async def test_c(self):
        print("test_c ran")
"""


class TestInterrupt(unittest.TestCase):
    def run_module(self, *flags: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "test_interrupted.py"), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(_INTERRUPTED))
            with sigint_by_default():  # the test presses Ctrl-C
                return run_python("-m", "aiounit", *flags, cwd=tmp)

    @unittest.skipIf(sys.platform == "win32", "no SIGINT to oneself")
    def test_ctrl_c_still_runs_the_async_teardown(self) -> None:
        # With -c the run stops gracefully; without, KeyboardInterrupt ends it.
        for flags in (["-c"], []):
            with self.subTest(flags=flags):
                proc = self.run_module(*flags)
                self.assertEqual(
                    proc.stdout.split(), ["asyncSetUpClass", "asyncTearDownClass"], proc.stderr
                )
                if flags:
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertIn("OK (skipped=2)", proc.stderr)
                else:
                    self.assertIn("KeyboardInterrupt", proc.stderr)
