"""Tests for ``-j/--workers N``: groups in worker processes, reported by the parent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET
from collections import Counter
from typing import ClassVar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CRASH = r"aiounit\.WorkerCrashedError: worker \d+ was killed by signal 9 while this test ran"
# "test_x (module.Class.test_x) ... ok" and the other verbose outcomes.
_VERBOSE = re.compile(r"^(\w+) \(([\w.]+)\) \.\.\. (.+)$", re.MULTILINE)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = ROOT if not path else ROOT + os.pathsep + path
    return env


def _run(directory: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "aiounit", *args],
        cwd=directory,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _write(directory: str, files: dict[str, str]) -> None:
    for name, source in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))


def _outcomes(output: str) -> Counter[tuple[str, str]]:
    """(test id, verbose outcome) -> how often -v reported it; fixture errors left out.

    (unittest writes a failed setUpClass's line as "ERROR" or with its name,
    depending on what came before it.)
    """
    found = _VERBOSE.findall(output)
    return Counter((test_id, outcome) for name, test_id, outcome in found if name != "setUpClass")


def _skips_counted() -> bool:
    """Whether this Python's unittest counts a skipped test in testsRun."""

    class Skipped(unittest.TestCase):
        @unittest.skip("why")
        def test_skipped(self):
            pass

    result = unittest.TestResult()
    Skipped("test_skipped").run(result)
    return result.testsRun == 1


class _TempDirCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name


class _SharedRun(unittest.TestCase):
    """One ``python -m aiounit`` run in setUpClass; each test checks one thing about it."""

    files: ClassVar[dict[str, str]]
    args: ClassVar[tuple[str, ...]]
    proc: ClassVar[subprocess.CompletedProcess[str]]
    dir: ClassVar[str]

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        _write(cls.dir, cls.files)
        cls.proc = _run(cls.dir, *cls.args)


_MEET = """
    import asyncio
    import os

    import aiounit


    class TestHERE(aiounit.AsyncTestCase):
        @aiounit.group("meet")
        async def test_meet(self):
            with open("HERE.marker", "w") as f:
                f.write(str(os.getpid()))
            for _ in range(500):  # 5 s at most
                if os.path.exists("OTHER.marker"):
                    return
                await asyncio.sleep(0.01)
            self.fail("OTHER did not run while HERE did")

        @aiounit.group("meet")
        async def test_peer(self):
            pass
"""


class TestParallelism(_TempDirCase):
    """Two workers run two modules' groups at the same time."""

    def test_groups_of_two_modules_overlap(self):
        """Each module's test waits for the other's marker: both pass only if run at once."""
        _write(
            self.dir,
            {
                "test_left.py": _MEET.replace("HERE", "left").replace("OTHER", "right"),
                "test_right.py": _MEET.replace("HERE", "right").replace("OTHER", "left"),
            },
        )
        proc = _run(self.dir, "-j", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 4 tests", proc.stderr)
        pids = set()
        for name in ("left", "right"):
            with open(os.path.join(self.dir, f"{name}.marker"), encoding="utf-8") as f:
                pids.add(f.read())
        self.assertEqual(len(pids), 2)


_FIXTURES = """
    import os
    import unittest

    import aiounit


    def log(event):
        with open("events.log", "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {event}\\n")


    log("import NAME")


    def setUpModule():
        log("setUpModule NAME")


    def tearDownModule():
        log("tearDownModule NAME")


    class TestNAME(aiounit.AsyncTestCase):
        @classmethod
        def setUpClass(cls):
            log("setUpClass NAME")

        @classmethod
        def tearDownClass(cls):
            log("tearDownClass NAME")

        @aiounit.group("g")
        async def test_a(self):
            log("test NAME")

        @aiounit.group("g")
        async def test_b(self):
            log("test NAME")

        async def test_c(self):
            log("test NAME")

        def test_d(self):
            log("test NAME")
"""


class TestFixtures(_SharedRun):
    """Module and class fixtures with -j 2: once per batch, in the worker that runs it."""

    files: ClassVar[dict[str, str]] = {
        "test_one.py": _FIXTURES.replace("NAME", "one"),
        "test_two.py": _FIXTURES.replace("NAME", "two"),
    }
    args = ("-j", "2")

    def events(self, name: str) -> list[tuple[str, str]]:
        """(pid, event) for module *name*, in the order they happened."""
        with open(os.path.join(self.dir, "events.log"), encoding="utf-8") as f:
            lines = [line.split(" ", 1) for line in f.read().splitlines()]
        return [(pid, event.rsplit(" ", 1)[0]) for pid, event in lines if event.endswith(name)]

    def test_run_passes(self):
        """The run passes: every test ran inside its module's and class's fixtures."""
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("Ran 8 tests", self.proc.stderr)

    def test_fixtures_run_once_around_the_batch(self):
        """setUpModule, setUpClass, the 4 tests, tearDownClass, tearDownModule, in that order."""
        for name in ("one", "two"):
            with self.subTest(name):
                events = [event for _, event in self.events(name)]
                self.assertEqual(
                    events,
                    ["import", "setUpModule", "setUpClass"]
                    + ["test"] * 4
                    + ["tearDownClass", "tearDownModule"],
                )

    def test_fixtures_and_tests_share_a_worker_process(self):
        """A batch's fixtures and tests run in one worker, not in the parent that imported it."""
        for name in ("one", "two"):
            with self.subTest(name):
                (parent, _), *rest = self.events(name)
                self.assertEqual(len({pid for pid, _ in rest}), 1, rest)
                self.assertNotEqual(rest[0][0], parent)


_FLAGS = """
    import time
    import unittest

    import aiounit


    class TestFlagsNAME(aiounit.AsyncTestCase):
        async def test_quiet(self):
            print("quiet output NAME")

        async def test_loud(self):
            print("loud output NAME")
            self.fail("loud NAME")

        @aiounit.group("g")
        async def test_grouped(self):
            pass


    class TestSyncNAME(unittest.TestCase):
        def test_sleeps(self):
            time.sleep(0.05)
"""


class TestFlags(_SharedRun):
    """-v, -b, --durations and --junit-xml with -j 2."""

    files: ClassVar[dict[str, str]] = {
        "test_flags_one.py": _FLAGS.replace("NAME", "One"),
        "test_flags_two.py": _FLAGS.replace("NAME", "Two"),
    }
    args = ("-j", "2", "-v", "-b", "--durations", "0", "--junit-xml", "junit.xml")
    ids: ClassVar[list[str]] = [
        f"test_flags_{m.lower()}.{cls}{m}.{test}"
        for m in ("One", "Two")
        for cls, test in (
            ("TestFlags", "test_quiet"),
            ("TestFlags", "test_loud"),
            ("TestFlags", "test_grouped"),
            ("TestSync", "test_sleeps"),
        )
    ]

    def test_exit_status_and_summary(self):
        """The run fails with the two failures in the summary."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        self.assertTrue(self.proc.stderr.endswith("\nFAILED (failures=2)\n"), self.proc.stderr)

    def test_verbose_line_per_test(self):
        """-v prints one line per test, with its outcome."""
        expected = Counter((i, "FAIL" if "loud" in i else "ok") for i in self.ids)
        self.assertEqual(_outcomes(self.proc.stderr), expected)

    def test_buffer_shows_only_failed_tests_output(self):
        """-b keeps a passing test's output back and shows a failed one's."""
        output = self.proc.stdout + self.proc.stderr
        self.assertNotIn("quiet output", output)
        for name in ("One", "Two"):
            self.assertIn(f"Stdout:\nloud output {name}\n", self.proc.stderr)

    def test_durations_table_lists_every_test(self):
        """--durations 0 -v lists every test under "Slowest test durations"."""
        table = self.proc.stderr.split("Slowest test durations\n", 1)[1].split("\n\n", 1)[0]
        listed = re.findall(r"^\d+\.\d{3}s +\w+ \(([\w.]+)\)$", table, re.MULTILINE)
        self.assertEqual(sorted(listed), sorted(self.ids))

    def test_durations_are_the_time_in_the_worker(self):
        """A test that slept 0.05 s in a worker is listed with at least 0.05 s."""
        for name in ("One", "Two"):
            with self.subTest(name):
                test = f"test_sleeps (test_flags_{name.lower()}.TestSync{name}.test_sleeps)"
                match = re.search(rf"^(\d+\.\d+)s +{re.escape(test)}$", self.proc.stderr, re.M)
                self.assertGreaterEqual(float(match.group(1)), 0.05)

    def test_junit_report_lists_every_test(self):
        """--junit-xml lists each test once; a failed test's -b output is its system-out."""
        root = ET.parse(os.path.join(self.dir, "junit.xml")).getroot()
        cases = {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}
        self.assertEqual(sorted(cases), sorted(self.ids))
        self.assertEqual(len(list(root.iter("testcase"))), len(self.ids))
        loud = cases["test_flags_one.TestFlagsOne.test_loud"]
        self.assertEqual([c.tag for c in loud], ["failure", "system-out"])
        self.assertEqual(loud.find("system-out").text, "loud output One\n")


_CRASH_MODULE = """
    import asyncio
    import os
    import signal
    import unittest

    import aiounit

    EVENTS = {}


    def event(name):
        return EVENTS.setdefault(name, asyncio.Event())


    class TestCrash(aiounit.AsyncTestCase):
        def test_0_before(self):
            pass

        @aiounit.group("g")
        async def test_1_kills(self):
            await event("peer_a").wait()
            await event("peer_b").wait()
            os.kill(os.getpid(), signal.SIGKILL)

        @aiounit.group("g")
        async def test_2_peer(self):
            event("peer_a").set()
            await asyncio.Event().wait()

        @aiounit.group("g")
        async def test_3_peer(self):
            event("peer_b").set()
            await asyncio.Event().wait()

        def test_4_after(self):
            pass


    class TestCrashLater(unittest.TestCase):
        def test_later(self):
            pass
"""
_FINE_MODULE = """
    import unittest


    class TestFine(unittest.TestCase):
        def test_pass(self):
            pass

        def test_fail(self):
            self.fail("fine")

        @unittest.skip("fine")
        def test_skip(self):
            pass
"""


class TestKilledWorker(_SharedRun):
    """A worker SIGKILLed mid-group: the run still reports every test once."""

    files: ClassVar[dict[str, str]] = {"test_crash.py": _CRASH_MODULE, "test_fine.py": _FINE_MODULE}
    args = ("-j", "2", "-v", "--junit-xml", "junit.xml")
    killed: ClassVar[list[str]] = [
        "test_crash.TestCrash.test_1_kills",
        "test_crash.TestCrash.test_2_peer",
        "test_crash.TestCrash.test_3_peer",
    ]

    def test_exit_status_and_summary(self):
        """The run exits 1 and counts the killed tests as errors."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        # 3.12.1's unittest does not count a skipped test as run.
        self.assertIn(f"\nRan {8 + _skips_counted()} tests in ", self.proc.stderr)
        self.assertTrue(
            self.proc.stderr.endswith("\nFAILED (failures=1, errors=3, skipped=1)\n"),
            self.proc.stderr,
        )

    def test_every_test_reported_once(self):
        """Each test has one outcome: the killed group's begun members are errors."""
        expected = Counter(
            {
                ("test_crash.TestCrash.test_0_before", "ok"): 1,
                ("test_crash.TestCrash.test_1_kills", "ERROR"): 1,
                ("test_crash.TestCrash.test_2_peer", "ERROR"): 1,
                ("test_crash.TestCrash.test_3_peer", "ERROR"): 1,
                ("test_crash.TestCrash.test_4_after", "ok"): 1,
                ("test_crash.TestCrashLater.test_later", "ok"): 1,
                ("test_fine.TestFine.test_pass", "ok"): 1,
                ("test_fine.TestFine.test_fail", "FAIL"): 1,
                ("test_fine.TestFine.test_skip", "skipped 'fine'"): 1,
            }
        )
        self.assertEqual(_outcomes(self.proc.stderr), expected)

    def test_error_names_the_crash(self):
        """Each killed test's error says which worker died, how, and that the test was running."""
        for test_id in self.killed:
            with self.subTest(test_id):
                name = test_id.rsplit(".", 1)[1]
                entry = rf"ERROR: {name} \({re.escape(test_id)}\)\n-+\n{_CRASH}\n\n"
                self.assertRegex(self.proc.stderr, entry)

    def test_junit_report_has_the_crash_errors(self):
        """The JUnit report has every test, the killed ones as WorkerCrashedError errors."""
        root = ET.parse(os.path.join(self.dir, "junit.xml")).getroot()
        cases = {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}
        self.assertEqual(len(cases), 9)
        for test_id in self.killed:
            with self.subTest(test_id):
                error = cases[test_id].find("error")
                self.assertEqual(error.get("type"), "aiounit.WorkerCrashedError")
                self.assertRegex(error.get("message"), _CRASH)


class TestWorkerFailfast(unittest.TestCase):
    """-f in a worker: the worker's own result stops its batch."""

    def test_failfast_result_stops_at_its_own_failure(self):
        """With failfast, a worker's result stops on a failure, error or unexpected success."""
        import threading
        from multiprocessing import Pipe

        from aiounit._workers import _WireResult

        class Sample(unittest.TestCase):
            def test_x(self):
                pass

        test = Sample("test_x")
        try:
            raise AssertionError("failed")
        except AssertionError:
            err = sys.exc_info()
        calls = {
            "addFailure": lambda r: r.addFailure(test, err),
            "addError": lambda r: r.addError(test, err),
            "addUnexpectedSuccess": lambda r: r.addUnexpectedSuccess(test),
            "addSubTest": lambda r: r.addSubTest(
                test, unittest.case._SubTest(test, "sub", {}), err
            ),
        }
        for name, call in calls.items():
            with self.subTest(name):
                receiver, sender = Pipe(duplex=False)
                self.addCleanup(receiver.close)
                self.addCleanup(sender.close)
                result = _WireResult(sender, {id(test): 0}, threading.Event())
                result.failfast = True
                call(result)
                self.assertTrue(result.shouldStop)


_MIXED_ONE = """
    import asyncio
    import unittest

    import aiounit


    class TestMixed(aiounit.AsyncTestCase):
        async def test_pass(self):
            pass

        async def test_fail(self):
            self.assertEqual(1, 2)

        async def test_error(self):
            raise RuntimeError("mixed")

        @unittest.skip("why")
        async def test_skip(self):
            pass

        @unittest.expectedFailure
        async def test_xfail(self):
            self.fail("known")

        @unittest.expectedFailure
        async def test_xpass(self):
            pass

        async def test_subtests(self):
            for i in range(3):
                with self.subTest(i=i):
                    self.assertNotEqual(i, 1)

        @aiounit.group("g", timeout=0.05)
        async def test_times_out(self):
            await asyncio.Event().wait()

        @aiounit.group("g")
        async def test_grouped(self):
            pass
"""
_MIXED_TWO = """
    import unittest


    class TestBrokenClass(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise ValueError("class fixture")

        def test_never(self):
            pass


    class TestSync(unittest.TestCase):
        def test_ok(self):
            pass

        def test_teardown_error(self):
            self.addCleanup(self.fail, "cleanup")
"""


class TestParity(_TempDirCase):
    """-j 2 gives the same outcomes as one process."""

    def test_same_outcomes_as_one_process(self):
        """A mixed suite reports the same outcomes, tracebacks and summary with -j 1 and -j 2."""
        _write(self.dir, {"test_mixed_one.py": _MIXED_ONE, "test_mixed_two.py": _MIXED_TWO})

        def report(workers: str) -> tuple[int, Counter[tuple[str, str]], list[str]]:
            proc = _run(self.dir, "-v", "-j", workers)
            # The error list and summary; their order follows completion, so sorted.
            errors = proc.stderr[proc.stderr.index("\n=====") :].splitlines()
            errors = sorted(line for line in errors if not line.startswith("Ran "))
            return proc.returncode, _outcomes(proc.stderr), errors

        single, parallel = report("1"), report("2")
        self.assertEqual(single[0], 1)
        self.assertEqual(len(single[1]), 10)  # all but test_subtests, whose line ends "... "
        self.assertIn(
            "FAILED (failures=3, errors=3, skipped=1, expected failures=1, unexpected successes=1)",
            single[2],
        )
        self.assertEqual(parallel, single)


if __name__ == "__main__":
    unittest.main()
