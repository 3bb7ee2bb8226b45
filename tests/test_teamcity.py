"""PyCharm's runner: teamcity-messages' TeamcityTestRunner on a module with aiounit groups.

PyCharm runs ``unittest.main(..., testRunner=TeamcityTestRunner, buffer=True)``
and keeps the suite that ``load_tests`` returns, so with ``from aiounit import
load_tests`` a group runs concurrently there.  These tests run the real client
(``pip install teamcity-messages``; ``.ci/run`` installs it) in a subprocess and
check its service messages.  They are skipped when it is not installed.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import re
import subprocess
import sys
import threading
import unittest
from collections.abc import Callable
from typing import Any, ClassVar

import aiounit
from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_tests,
    run_warm,
    write_files,
)

HAVE_TEAMCITY = importlib.util.find_spec("teamcity") is not None

_MODULE = '''
import asyncio
import sys
import unittest

import aiounit
from aiounit import load_tests  # noqa: F401

EVENTS = {}


def event(name):
    # Made on first use, inside the group's running loop.
    return EVENTS.setdefault(name, asyncio.Event())


class TestGroup(aiounit.AsyncTestCase):
    @aiounit.group("g", timeout=5)
    async def test_a(self):
        print("output of test_a")
        event("a").set()
        await event("b").wait()
        await event("c").wait()

    @aiounit.group("g", timeout=5)
    async def test_b(self):
        print("output of test_b")
        print("error output of test_b", file=sys.stderr)
        event("b").set()
        await event("a").wait()
        await event("c").wait()

    @aiounit.group("g", timeout=5)
    async def test_c_fails(self):
        """Fails once both peers are running."""
        print("output of test_c_fails")
        event("c").set()
        await event("a").wait()
        await event("b").wait()
        self.assertEqual("c", "failed on purpose")

    @aiounit.group("g", timeout=5)
    async def test_d_skips(self):
        print("output of test_d_skips")
        self.skipTest("skipped on purpose")

    @aiounit.group("g", timeout=5)
    async def test_e_subtests(self):
        for i in range(2):
            with self.subTest(i=i):
                print(f"output of test_e_subtests {i}")
                await event("a").wait()
                self.assertEqual(i, 0)

    @aiounit.group("g", timeout=5)
    def test_f_sync(self):
        print("output of test_f_sync")

    def test_serial(self):
        print("output of test_serial")


@aiounit.group("g", timeout=5)
class TestPlain(unittest.TestCase):
    def test_g_plain(self):
        print("output of test_g_plain")


class TestBrokenFixture(aiounit.AsyncTestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("setUpClass failed on purpose")

    @aiounit.group("g", timeout=5)
    async def test_never_runs(self):
        print("output of test_never_runs")
'''

_TESTS = {
    "test_a": "ok",
    "test_b": "ok",
    "test_c_fails": "failed",
    "test_d_skips": "ignored",
    "test_e_subtests": "failed",
    "test_f_sync": "ok",
    "test_serial": "ok",
    "TestPlain.test_g_plain": "ok",
}

# What PyCharm's _jb_unittest_runner.py does, for a module target and for the
# module object as the brief of this test has it.
_RUN_MODULE_OBJECT = (
    "import unittest, tc_mod\n"
    "from teamcity.unittestpy import TeamcityTestRunner\n"
    "unittest.main(module=tc_mod, testRunner=TeamcityTestRunner, buffer=True, exit=False)\n"
)
_RUN_BY_NAME = (
    "import unittest\n"
    "from teamcity.unittestpy import TeamcityTestRunner\n"
    "unittest.main(argv=['pycharm', 'tc_mod'], module=None,"
    " testRunner=TeamcityTestRunner, buffer=True, exit=False)\n"
)

_MESSAGE = re.compile(r"##teamcity\[(\w+)((?: [\w]+='(?:[^'|]|\|.)*')*)\]")
_ATTRIBUTE = re.compile(r"(\w+)='((?:[^'|]|\|.)*)'")
_ESCAPES = {"n": "\n", "r": "\r", "'": "'", "|": "|", "[": "[", "]": "]"}


def _unescape(value: str) -> str:
    def one(found: re.Match[str]) -> str:
        code = found.group(1)
        if code.startswith("0x"):
            return chr(int(code[2:], 16))
        return _ESCAPES.get(code, code)

    return re.sub(r"\|(0x[0-9a-fA-F]{4}|.)", one, value)


def service_messages(text: str) -> list[tuple[str, dict[str, str]]]:
    """The ##teamcity[...] messages in *text*, in order, with unescaped attributes."""
    return [
        (name, {key: _unescape(value) for key, value in _ATTRIBUTE.findall(attrs)})
        for name, attrs in _MESSAGE.findall(text)
    ]


@unittest.skipUnless(HAVE_TEAMCITY, "teamcity-messages is not installed")
class TestTeamcityRunner(BackgroundCase):
    """The teamcity-messages client sees each test once, whole, with its own output."""

    runs: ClassVar[dict[str, subprocess.CompletedProcess[str]]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if not HAVE_TEAMCITY:
            return None
        directory = background_directory()
        write_files(directory, {"tc_mod.py": _MODULE})
        env = child_env()
        jobs = {
            name: (directory, ("-c", code), env)
            for name, code in (("module", _RUN_MODULE_OBJECT), ("by_name", _RUN_BY_NAME))
        }
        return functools.partial(run_warm, jobs)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.runs = cls.background_runs

    def messages(self, run: str) -> list[tuple[str, dict[str, str]]]:
        proc = self.runs[run]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 8 tests", proc.stderr)
        return service_messages(proc.stdout)

    def check_run(self, run: str) -> None:
        messages = self.messages(run)
        prefix = "tc_mod.TestGroup."
        started = [a["name"] for m, a in messages if m == "testStarted"]
        finished = [a["name"] for m, a in messages if m == "testFinished"]
        tests = [prefix + name if "." not in name else "tc_mod." + name for name in _TESTS]
        # The docstring of test_c_fails becomes part of its name, as PyCharm shows it.
        tests[2] = prefix + "test_c_fails (Fails once both peers are running_)"
        fixture = "tc_mod.TestBrokenFixture.setUpClass"
        self.assertCountEqual(started, [*tests, fixture])
        self.assertCountEqual(finished, [*tests, fixture])

        # Each test's messages form one block: started ... finished, nothing of
        # another test in between.
        blocks: dict[str | None, list[tuple[str, dict[str, str]]]] = {}
        current: str | None = None
        for message, attrs in messages:
            if message in ("testCount",):
                continue
            name = attrs.get("name")
            flow = attrs.get("flowId")
            if message == "testStarted":
                self.assertIsNone(current, f"{name} started inside {current}")
                current = name
                blocks[name] = []
            self.assertIsNotNone(current, f"{message} outside any test: {attrs}")
            if message in ("blockOpened", "blockClosed"):
                self.assertEqual(flow, current)
            else:
                self.assertEqual(name if message.startswith("test") else flow, current)
                self.assertEqual(flow, current)
            blocks[current].append((message, attrs))
            if message == "testFinished":
                current = None
        self.assertIsNone(current)

        def kinds(test: str) -> list[str]:
            return [m for m, _ in blocks[test]]

        def output(test: str) -> str:
            return "".join(a["out"] for m, a in blocks[test] if m == "testStdOut")

        for test, outcome in zip(tests, _TESTS.values(), strict=True):
            with self.subTest(run=run, test=test):
                method = test.split()[0].rsplit(".", 1)[1]
                if outcome == "ok":
                    self.assertNotIn("testFailed", kinds(test))
                    self.assertNotIn("testIgnored", kinds(test))
                elif outcome == "failed":
                    self.assertEqual(kinds(test).count("testFailed"), 1)
                else:
                    self.assertEqual(kinds(test).count("testIgnored"), 1)
                # Its own output, and nobody else's.
                if method == "test_e_subtests":
                    self.assertIn("output of test_e_subtests 0\n", output(test))
                    self.assertIn("output of test_e_subtests 1\n", output(test))
                else:
                    self.assertIn(f"output of {method}\n", output(test))
                self.assertEqual(set(re.findall(r"output of (test_\w+)", output(test))), {method})

        errors = "".join(a["out"] for m, a in blocks[tests[1]] if m == "testStdErr")
        self.assertEqual(errors, "error output of test_b\n")
        for test in tests[2:]:
            self.assertNotIn("error output of test_b", str(blocks[test]))
        (failed,) = [a for m, a in blocks[tests[2]] if m == "testFailed"]
        self.assertIn("failed on purpose", failed["details"])
        self.assertIn("test_c_fails", failed["details"])
        self.assertIn("AssertionError", failed["details"])
        (ignored,) = [a for m, a in blocks[tests[3]] if m == "testIgnored"]
        self.assertIn("skipped on purpose", ignored["message"])
        (fixture_failed,) = [a for m, a in blocks[fixture] if m == "testFailed"]
        self.assertIn("setUpClass failed on purpose", fixture_failed["details"])
        subtest_blocks = [a.get("subTestResult") for m, a in blocks[tests[4]] if m == "blockOpened"]
        self.assertEqual(subtest_blocks, ["Success", "Failure"])
        count = [a["count"] for m, a in messages if m == "testCount"]
        self.assertEqual(count, ["9"])  # countTestCases() of the suite load_tests returned

    def test_unittest_main_with_the_module(self) -> None:
        """unittest.main(module=mod, TeamcityTestRunner, buffer=True): paired, output per test."""
        self.check_run("module")

    def test_unittest_main_by_name_as_pycharm_does(self) -> None:
        """unittest.main(argv=[..., "mod"], module=None), as PyCharm starts a module target."""
        self.check_run("by_name")

    def test_group_ran_concurrently(self) -> None:
        """The group's members met each other: they can pass only if they overlapped."""
        for run in self.runs:
            with self.subTest(run=run):
                messages = self.messages(run)
                failed = {a["name"].split()[0] for m, a in messages if m == "testFailed"}
                self.assertEqual(
                    failed,
                    {
                        "tc_mod.TestGroup.test_c_fails",
                        "tc_mod.TestGroup.test_e_subtests",
                        "tc_mod.TestBrokenFixture.setUpClass",
                    },
                )
                for _, attrs in messages:
                    self.assertNotIn("TestTimeoutError", attrs.get("details", ""))


_DIFFS_MODULE = """
import asyncio
import unittest

import aiounit
from aiounit import load_tests  # noqa: F401

EVENTS = {}


def event(name):
    return EVENTS.setdefault(name, asyncio.Event())


@aiounit.group(timeout=5)
class TestDiffs(aiounit.AsyncTestCase):
    async def test_a_subtest_compares(self):
        with self.subTest(part=1):
            self.assertEqual("a expected", "a actual")
        await event("b failed").wait()

    async def test_b_plain_error(self):
        await event("c failing").wait()
        await asyncio.sleep(0)  # test_c's comparison has failed
        try:
            raise RuntimeError("b is a plain error")
        finally:
            event("b failed").set()

    async def test_c_compares(self):
        self.addAsyncCleanup(event("d failed").wait)
        event("c failing").set()
        self.assertEqual("c expected", "c actual")

    async def test_d_compares(self):
        await event("b failed").wait()
        try:
            self.assertEqual("d expected", "d actual")
        finally:
            event("d failed").set()
"""


@unittest.skipUnless(HAVE_TEAMCITY, "teamcity-messages is not installed")
class TestComparisonPerTest(BackgroundCase):
    """PyCharm's expected/actual of a failed assertEqual goes with its own test's failure."""

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if not HAVE_TEAMCITY:
            return None
        # _DIFFS_MODULE as module tc_diffs under TeamcityTestRunner, as PyCharm
        # runs it, in the background lane.
        directory = background_directory()
        write_files(directory, {"tc_diffs.py": _DIFFS_MODULE})
        code = _RUN_MODULE_OBJECT.replace("tc_mod", "tc_diffs")
        return functools.partial(run_warm, {"run": (directory, ("-c", code), child_env())})

    def test_each_failure_shows_its_own_comparison(self) -> None:
        """Interleaved members: no peer's comparison, and none on a plain error."""
        proc = self.background_runs["run"]
        self.assertIn("Ran 4 tests", proc.stderr)
        failed = {
            a["name"].rsplit(".", 1)[1]: (a.get("expected"), a.get("actual"))
            for m, a in service_messages(proc.stdout)
            if m == "testFailed"
        }
        self.assertEqual(
            failed,
            {
                "test_a_subtest_compares": (None, None),
                "test_b_plain_error": (None, None),
                "test_c_compares": ("c expected", "c actual"),
                "test_d_compares": ("d expected", "d actual"),
            },
        )


class ExcInfoResult(unittest.TestResult):
    """A result that records whether an exception was being handled at stopTest."""

    def __init__(self) -> None:
        super().__init__()
        self.handling: list[tuple[str, Any]] = []
        self.stopped: list[str] = []
        self.diagnostics: list[tuple[Any, str]] = []

    def addDiagnostic(self, test: Any, message: str) -> None:
        self.diagnostics.append((test, message))

    def stopTest(self, test: Any) -> None:
        self.stopped.append(test.id())
        if sys.exc_info() != (None, None, None):
            self.handling.append((test.id(), sys.exc_info()[1]))
        super().stopTest(test)


class TestStopTestOutsideExceptions(unittest.TestCase):
    """aiounit never calls stopTest while an exception is being handled."""

    def check(self, *classes: type, failfast: bool = False, **kwargs: Any) -> ExcInfoResult:
        result = ExcInfoResult()
        result.failfast = failfast
        run_tests(*classes, result=result, **kwargs)
        self.assertEqual(result.handling, [])
        return result

    def test_every_outcome_in_a_group_and_alone(self) -> None:
        """Passes, failures, errors, skips, expected failures, timeouts, sync and alone tests."""
        release = threading.Event()
        self.addCleanup(release.set)

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g", timeout=0.05)
            async def test_pass(self) -> None:
                await asyncio.sleep(0)

            @aiounit.group("g", timeout=0.05)
            async def test_fail(self) -> None:
                self.fail("no")

            @aiounit.group("g", timeout=0.05)
            async def test_error(self) -> None:
                raise KeyError("no")

            @aiounit.group("g", timeout=0.05)
            async def test_skip(self) -> None:
                self.skipTest("no")

            @aiounit.group("g", timeout=0.05)
            @unittest.expectedFailure
            async def test_expected_failure(self) -> None:
                raise ValueError

            @aiounit.group("g", timeout=0.05)
            async def test_hangs(self) -> None:
                await asyncio.Event().wait()

            @aiounit.group("g", timeout=0.05)
            def test_sync_hangs(self) -> None:
                release.wait(1)

            @aiounit.group("g", timeout=0.05)
            async def test_error_in_cleanup(self) -> None:
                self.addCleanup(self._raise)

            @aiounit.group("g", timeout=0.05)
            async def test_leaves_a_task(self) -> None:
                asyncio.create_task(asyncio.sleep(10))  # noqa: RUF006
                await asyncio.sleep(0)

            @aiounit.timeout(0.05)
            async def test_alone_hangs(self) -> None:
                await asyncio.Event().wait()

            async def test_alone_error(self) -> None:
                raise KeyError("alone")

            def _raise(self) -> None:
                raise OSError("cleanup")

        @aiounit.group(timeout=0.05)
        class Plain(unittest.TestCase):
            def test_hangs(self) -> None:
                release.wait(1)

            def test_fail(self) -> None:
                self.fail("plain")

        # A short grace: timed-out threads hold their slots until they end or
        # the grace runs out, and these end only when the test is over.
        result = self.check(Case, Plain, grace=0.1)
        self.assertEqual(len(result.stopped), 13)

    def test_fixture_errors_and_failfast(self) -> None:
        """A failing setUpClass, and failfast cancelling running members."""

        class Broken(aiounit.AsyncTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                raise RuntimeError("setUpClass")

            @aiounit.group("g")
            async def test_never(self) -> None:
                pass

        class Stopping(aiounit.AsyncTestCase):
            @aiounit.group("g", timeout=1)
            async def test_fails_first(self) -> None:
                self.fail("first")

            @aiounit.group("g", timeout=1)
            async def test_still_running(self) -> None:
                await asyncio.Event().wait()

            @aiounit.group("g", timeout=1)
            async def test_never_started(self) -> None:
                pass

        result = self.check(Broken, Stopping, failfast=True, max_concurrency=2, grace=0.05)
        self.assertTrue(result.shouldStop)


if __name__ == "__main__":
    unittest.main()
