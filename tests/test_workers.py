"""Tests for ``-j/--workers N``: groups in worker processes, reported by the parent."""

from __future__ import annotations

import functools
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_python,
    run_warm,
    sigint_by_default,
)
from tests.test_junit import attr_of, child_of

_CRASH_ANY = (
    r"^aiounit\.WorkerCrashedError: worker \d+ (exited \(1\)|was killed by signal 11)"
    r" while this test ran$"
)
_CRASH = r"aiounit\.WorkerCrashedError: worker \d+ was killed by signal 9 while this test ran"
# "test_x (module.Class.test_x) ... ok" and the other verbose outcomes.
_VERBOSE = re.compile(r"^(\w+) \(([\w.]+)\) \.\.\. (.+)$", re.MULTILINE)


def _run(directory: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "aiounit", *args, cwd=directory)


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
        def test_skipped(self) -> None:
            pass

    result = unittest.TestResult()
    Skipped("test_skipped").run(result)
    return result.testsRun == 1


class _TempDirCase(unittest.TestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name


class _SharedRun(BackgroundCase):
    """One ``python -m aiounit`` run (in the background lane); each test checks one thing of it."""

    files: ClassVar[dict[str, str]]
    args: ClassVar[tuple[str, ...]]
    proc: ClassVar[subprocess.CompletedProcess[str]]
    dir: ClassVar[str]

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if not hasattr(cls, "args"):
            return None  # this base class
        cls.dir = background_directory()
        _write(cls.dir, cls.files)
        job = (cls.dir, ("-m", "aiounit", *cls.args), child_env())
        return functools.partial(run_warm, {"run": job})

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proc = cls.background_runs["run"]


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

    def test_groups_of_two_modules_overlap(self) -> None:
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

    def test_run_passes(self) -> None:
        """The run passes: every test ran inside its module's and class's fixtures."""
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("Ran 8 tests", self.proc.stderr)

    def test_fixtures_run_once_around_the_batch(self) -> None:
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

    def test_fixtures_and_tests_share_a_worker_process(self) -> None:
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

    def test_exit_status_and_summary(self) -> None:
        """The run fails with the two failures in the summary."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        self.assertTrue(self.proc.stderr.endswith("\nFAILED (failures=2)\n"), self.proc.stderr)

    def test_verbose_line_per_test(self) -> None:
        """-v prints one line per test, with its outcome."""
        expected = Counter((i, "FAIL" if "loud" in i else "ok") for i in self.ids)
        self.assertEqual(_outcomes(self.proc.stderr), expected)

    def test_buffer_shows_only_failed_tests_output(self) -> None:
        """-b keeps a passing test's output back and shows a failed one's."""
        output = self.proc.stdout + self.proc.stderr
        self.assertNotIn("quiet output", output)
        for name in ("One", "Two"):
            self.assertIn(f"Stdout:\nloud output {name}\n", self.proc.stderr)

    def test_durations_table_lists_every_test(self) -> None:
        """--durations 0 -v lists every test under "Slowest test durations"."""
        table = self.proc.stderr.split("Slowest test durations\n", 1)[1].split("\n\n", 1)[0]
        listed = re.findall(r"^\d+\.\d{3}s +\w+ \(([\w.]+)\)$", table, re.MULTILINE)
        self.assertEqual(sorted(listed), sorted(self.ids))

    def test_durations_are_the_time_in_the_worker(self) -> None:
        """A test that slept 0.05 s in a worker is listed with at least 0.05 s."""
        for name in ("One", "Two"):
            with self.subTest(name):
                test = f"test_sleeps (test_flags_{name.lower()}.TestSync{name}.test_sleeps)"
                match = re.search(rf"^(\d+\.\d+)s +{re.escape(test)}$", self.proc.stderr, re.M)
                assert match is not None, self.proc.stderr
                self.assertGreaterEqual(float(match.group(1)), 0.05)

    def test_junit_report_lists_every_test(self) -> None:
        """--junit-xml lists each test once; a failed test's -b output is its system-out."""
        root = ET.parse(os.path.join(self.dir, "junit.xml")).getroot()
        cases = {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}
        self.assertEqual(sorted(cases), sorted(self.ids))
        self.assertEqual(len(list(root.iter("testcase"))), len(self.ids))
        loud = cases["test_flags_one.TestFlagsOne.test_loud"]
        self.assertEqual([c.tag for c in loud], ["failure", "system-out"])
        self.assertEqual(child_of(loud, "system-out").text, "loud output One\n")


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

    def test_exit_status_and_summary(self) -> None:
        """The run exits 1 and counts the killed tests as errors."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        # 3.12.1's unittest does not count a skipped test as run.
        self.assertIn(f"\nRan {8 + _skips_counted()} tests in ", self.proc.stderr)
        self.assertTrue(
            self.proc.stderr.endswith("\nFAILED (failures=1, errors=3, skipped=1)\n"),
            self.proc.stderr,
        )

    def test_every_test_reported_once(self) -> None:
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

    def test_error_names_the_crash(self) -> None:
        """Each killed test's error says which worker died, how, and that the test was running."""
        for test_id in self.killed:
            with self.subTest(test_id):
                name = test_id.rsplit(".", 1)[1]
                entry = rf"ERROR: {name} \({re.escape(test_id)}\)\n-+\n{_CRASH}\n\n"
                self.assertRegex(self.proc.stderr, entry)

    def test_junit_report_has_the_crash_errors(self) -> None:
        """The JUnit report has every test, the killed ones as WorkerCrashedError errors."""
        root = ET.parse(os.path.join(self.dir, "junit.xml")).getroot()
        cases = {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}
        self.assertEqual(len(cases), 9)
        for test_id in self.killed:
            with self.subTest(test_id):
                error = child_of(cases[test_id], "error")
                self.assertEqual(error.get("type"), "aiounit.WorkerCrashedError")
                self.assertRegex(attr_of(error, "message"), _CRASH)


_FIXTURE_CRASHES = """
    import ctypes
    import os
    import resource
    import signal
    import sys
    import unittest


    class TestExits(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            os._exit(1)

        def test_never(self):
            pass


    class TestKilled(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            os.kill(os.getpid(), signal.SIGKILL)

        def test_never(self):
            pass


    class TestLives(unittest.TestCase):
        def test_lives(self):
            pass


    class TestSegfaults(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            ctypes.string_at(0)

        def test_never(self):
            pass


    class TestSysExit(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            sys.exit()

        def test_never(self):
            pass
"""
_MODULE_CRASH = """
    import os
    import unittest


    def setUpModule():
        os._exit(5)


    class TestNever(unittest.TestCase):
        def test_never(self):
            pass
"""
_TEARDOWN_CRASHES = """
    import atexit
    import os
    import unittest


    def tearDownModule():
        os._exit(4)


    class TestA(unittest.TestCase):
        @classmethod
        def tearDownClass(cls):
            os._exit(1)

        def test_before(self):
            pass


    class TestB(unittest.TestCase):
        def test_after(self):
            pass
"""
_AT_EXIT = """
    import atexit
    import os
    import unittest


    class TestAtExit(unittest.TestCase):
        def test_registers(self):
            atexit.register(os._exit, 3)
"""
_TEST_CRASHES = """
    import asyncio
    import ctypes
    import os
    import resource
    import sys
    import time
    import unittest

    import aiounit


    def burn(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass


    class TestCrash(aiounit.AsyncTestCase):
        def test_sync(self):
            print("sync out")
            sys.stderr.write("sync err\\n")
            burn(0.05)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            ctypes.string_at(0)

        @aiounit.group("g")
        async def test_member(self):
            print("member out")
            burn(0.05)
            await asyncio.sleep(0)
            os._exit(1)

        @aiounit.group("g")
        async def test_peer(self):
            print("peer out")
            await asyncio.Event().wait()
"""
_RUN_CRASHES = """
    import os
    import unittest


    class TestRunCrashes(unittest.TestCase):
        def run(self, result=None):
            os._exit(7)

        def test_one(self):
            pass

        def test_two(self):
            pass
"""
_MESSAGES = """
    import unittest


    class TestMessages(unittest.TestCase):
        def test_list_diff(self):
            self.assertEqual([1, 2, 3], [1, 2, 4])

        def test_control_characters(self):
            raise ValueError("one\\vtwo\\fthree\\nfour")
"""


class TestCrashes(_SharedRun):
    """Workers that die in fixtures, in tests and at exit: charged once, the run ends, exit 1."""

    cases: ClassVar[dict[str, ET.Element]]
    files: ClassVar[dict[str, str]] = {
        "test_a_fixtures.py": _FIXTURE_CRASHES,
        "test_b_module.py": _MODULE_CRASH,
        "test_c_teardown.py": _TEARDOWN_CRASHES,
        "test_e_tests.py": _TEST_CRASHES,
        "test_f_messages.py": _MESSAGES,
        "test_g_run.py": _RUN_CRASHES,
    }
    args = ("-j", "2", "-v", "-b", "--junit-xml", "junit.xml")

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        root = ET.parse(os.path.join(cls.dir, "junit.xml")).getroot()
        cls.cases = {f"{c.get('classname')}.{c.get('name')}": c for c in root.iter("testcase")}

    def error(self, name: str) -> str:
        """The one error entry of *name* (a test or a fixture) in the error list."""
        entries: list[str] = re.findall(
            rf"^ERROR: {re.escape(name)}\n-+\n(.*?)\n(?:=====|-----)", self.proc.stderr, re.S | re.M
        )
        self.assertEqual(len(entries), 1, self.proc.stderr)
        return entries[0]

    def test_run_ends_with_exit_1(self) -> None:
        """The run ends (it re-forked forever before) with exit 1 and every crash counted once."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        self.assertTrue(
            self.proc.stderr.endswith("\nFAILED (failures=1, errors=13)\n"), self.proc.stderr
        )
        self.assertIn("\nRan 10 tests in ", self.proc.stderr)

    def test_class_fixture_crash_is_charged_to_the_fixture(self) -> None:
        """os._exit, SIGKILL, a segfault and sys.exit() in setUpClass: an error of setUpClass."""
        crashes = {
            "TestExits": r"exited \(1\)",
            "TestKilled": r"was killed by signal 9",
            "TestSegfaults": r"was killed by signal 11",
            "TestSysExit": r"exited \(0\)",
        }
        for name, how in crashes.items():
            with self.subTest(name):
                fixture = f"setUpClass (test_a_fixtures.{name})"
                self.assertRegex(
                    self.error(fixture),
                    rf"^aiounit\.WorkerCrashedError: worker \d+ {how} in {re.escape(fixture)}",
                )
                error = child_of(self.cases[f"test_a_fixtures.{name}.setUpClass"], "error")
                self.assertEqual(error.get("type"), "aiounit.WorkerCrashedError")
        self.assertRegex(
            self.error("setUpClass (test_a_fixtures.TestSysExit)"),
            r"\nTraceback \(most recent call last\):\n"
            r'  File ".*test_a_fixtures\.py", line \d+, in setUpClass\n'
            r"    sys\.exit\(\)\n(?:    [~^]+\n)?SystemExit$",
        )

    def test_module_fixture_crash_is_charged_to_the_fixture(self) -> None:
        """os._exit in setUpModule is an error of setUpModule."""
        self.assertRegex(
            self.error("setUpModule (test_b_module)"),
            r"^aiounit\.WorkerCrashedError: worker \d+ exited \(5\)"
            r" in setUpModule \(test_b_module\)$",
        )

    def test_tests_behind_a_crashed_set_up_do_not_run(self) -> None:
        """As for a failed set-up, its tests are not run; the module's other tests are."""
        outcomes = _outcomes(self.proc.stderr)
        self.assertNotIn("test_never", self.proc.stderr)
        self.assertEqual(outcomes[("test_a_fixtures.TestLives.test_lives", "ok")], 1)
        self.assertEqual(outcomes[("test_c_teardown.TestB.test_after", "ok")], 1)

    def test_crash_before_any_test_is_charged_to_the_tests(self) -> None:
        """A crash with no test begun and no fixture to blame: each test of the batch, once."""
        worker = re.search(r"worker (\d+) exited \(7\)", self.proc.stderr)
        assert worker is not None, self.proc.stderr
        for name in ("test_one", "test_two"):
            with self.subTest(name):
                self.assertEqual(
                    self.error(f"{name} (test_g_run.TestRunCrashes.{name})").rstrip("\n"),
                    "aiounit.WorkerCrashedError: worker "
                    + worker.group(1)
                    + " exited (7) before this test began",
                )

    def test_crash_after_tests_reported_is_an_error(self) -> None:
        """os._exit in tearDownClass and tearDownModule: errors naming where."""
        self.assertRegex(
            self.error("tearDownClass (test_c_teardown.TestA)"),
            r"^aiounit\.WorkerCrashedError: worker \d+ exited \(1\) in tearDownClass",
        )
        self.assertRegex(
            self.error("tearDownModule (test_c_teardown)"),
            r"^aiounit\.WorkerCrashedError: worker \d+ exited \(4\) in tearDownModule",
        )
        self.assertEqual(
            _outcomes(self.proc.stderr)[("test_c_teardown.TestA.test_before", "ok")], 1
        )

    def test_crashed_test_keeps_its_output_and_time(self) -> None:
        """A test that crashed its worker (os._exit, a segfault) keeps its -b output and time."""
        for name, out, err in (
            ("test_sync", "sync out\n", "sync err\n"),
            ("test_member", "member out\n", None),
            ("test_peer", "peer out\n", None),
        ):
            with self.subTest(name):
                self.assertRegex(self.error(f"{name} (test_e_tests.TestCrash.{name})"), _CRASH_ANY)
                case = self.cases[f"test_e_tests.TestCrash.{name}"]
                self.assertEqual(child_of(case, "system-out").text, out)
                self.assertEqual(getattr(case.find("system-err"), "text", None), err)
        for name in ("test_sync", "test_member"):
            with self.subTest(name):
                self.assertGreaterEqual(
                    float(attr_of(self.cases[f"test_e_tests.TestCrash.{name}"], "time")), 0.05
                )

    def test_junit_report_is_valid(self) -> None:
        """The report of all these crashes validates against junit-10.xsd and parses."""
        from tests.test_junit import junitparser, lxml, parsed_outcomes, xsd_problems

        path = os.path.join(self.dir, "junit.xml")
        if lxml is not None:
            self.assertEqual(xsd_problems(path), [])
        if junitparser is not None:
            self.assertEqual(len(parsed_outcomes(path)), len(self.cases))

    def test_junit_messages_are_the_serial_ones(self) -> None:
        """A JUnit message from a worker is the whole exception, as one process writes it."""
        try:
            unittest.TestCase().assertEqual([1, 2, 3], [1, 2, 4])
        except AssertionError as exc:
            diff = f"AssertionError: {exc}"
        messages = {
            "test_list_diff": diff,
            "test_control_characters": "ValueError: one\\x0btwo\\x0cthree\nfour",
        }
        for name, message in messages.items():
            with self.subTest(name):
                case = self.cases[f"test_f_messages.TestMessages.{name}"]
                self.assertEqual(case[0].get("message"), message)


class TestAtExitCrash(_SharedRun):
    """A worker that dies in an atexit handler, after its last batch: an error of its exit.

    A run of its own: among TestCrashes' modules, the worker that registered the
    handler may take a batch that crashes it later (the rest of a crashed batch
    goes to whichever worker is free), and then never runs its atexit handlers.
    """

    files: ClassVar[dict[str, str]] = {"test_z_atexit.py": _AT_EXIT}
    args = ("-j", "2", "-v")

    def test_exit_after_the_last_batch_is_an_error(self) -> None:
        """Named after the worker's last batch and what it ran last; the run fails."""
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        self.assertTrue(self.proc.stderr.endswith("\nFAILED (errors=1)\n"), self.proc.stderr)
        entries = re.findall(
            r"^ERROR: workerExit \(test_z_atexit\)\n-+\n(.*?)\n(?:=====|-----)",
            self.proc.stderr,
            re.S | re.M,
        )
        self.assertEqual(len(entries), 1, self.proc.stderr)
        self.assertRegex(
            entries[0],
            r"^aiounit\.WorkerCrashedError: worker \d+ exited \(3\) after its last batch;"
            r" the last it ran was test_z_atexit\.TestAtExit\.test_registers$",
        )


_ASYNC_MODULE_CRASH = """
    import os

    import aiounit


    async def asyncSetUpModule():
        os._exit(5)


    class TestNever(aiounit.AsyncTestCase):
        async def test_never(self):
            pass
"""
_ASYNC_TEARDOWN_CRASH = """
    import os

    import aiounit


    class TestT(aiounit.AsyncTestCase):
        @classmethod
        async def asyncTearDownClass(cls):
            os._exit(4)

        async def test_t(self):
            pass


    class TestU(aiounit.AsyncTestCase):
        async def test_u(self):
            pass
"""
_ASYNC_GROUP_CRASH = """
    import os

    import aiounit


    @aiounit.group("g")
    class TestA(aiounit.AsyncTestCase):
        @classmethod
        async def asyncSetUpClass(cls):
            os._exit(7)

        async def test_never(self):
            pass


    @aiounit.group("g")
    class TestB(aiounit.AsyncTestCase):
        @classmethod
        def setUpClass(cls):
            super().setUpClass()

        async def test_b(self):
            pass
"""


class TestAsyncFixtureCrashes(_SharedRun):
    """Crashes in async class and module fixtures are charged to them, not to a neighbour."""

    files: ClassVar[dict[str, str]] = {
        "test_a_module.py": _ASYNC_MODULE_CRASH,
        "test_b_teardown.py": _ASYNC_TEARDOWN_CRASH,
        "test_c_group.py": _ASYNC_GROUP_CRASH,
    }
    args = ("-j", "2", "-v")

    def errors(self) -> list[str]:
        return re.findall(r"^ERROR: (.*)$", self.proc.stderr, re.M)

    def test_async_set_up_module_crash_is_set_up_module(self) -> None:
        """It was charged to the module's tests, as if nothing of theirs had run."""
        self.assertIn("setUpModule (test_a_module)", self.errors())
        self.assertRegex(
            self.proc.stderr,
            r"WorkerCrashedError: worker \d+ exited \(5\) in setUpModule \(test_a_module\)\n",
        )
        self.assertNotIn("test_never", self.proc.stderr)

    def test_async_tear_down_class_crash_is_tear_down_class(self) -> None:
        """It was charged to the worker's exit, 'between tests'."""
        self.assertIn("tearDownClass (test_b_teardown.TestT)", self.errors())
        self.assertNotIn("workerExit (test_b_teardown)", self.errors())
        outcomes = _outcomes(self.proc.stderr)
        self.assertEqual(outcomes[("test_b_teardown.TestT.test_t", "ok")], 1)
        self.assertEqual(outcomes[("test_b_teardown.TestU.test_u", "ok")], 1)

    def test_async_set_up_class_crash_is_its_own_class(self) -> None:
        """It was charged to the group's other class, whose test then never ran, while the
        crashing asyncSetUpClass ran again in a new worker."""
        self.assertIn("setUpClass (test_c_group.TestA)", self.errors())
        self.assertNotIn("setUpClass (test_c_group.TestB)", self.errors())
        self.assertEqual(_outcomes(self.proc.stderr)[("test_c_group.TestB.test_b", "ok")], 1)

    def test_every_crash_once(self) -> None:
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr)
        self.assertEqual(len(self.errors()), 3, self.proc.stderr)


_FORKS = """
    import concurrent.futures
    import multiprocessing
    import os

    import aiounit


    class TestForks(aiounit.AsyncTestCase):
        async def test_forks(self):
            if os.fork():
                os.wait()

        async def test_after(self):
            pass

        def test_process_pool(self):
            context = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
                self.assertEqual(list(pool.map(abs, [-1, -2])), [1, 2])

        def test_child_prints(self):
            pid = os.fork()
            if not pid:
                print("child")
                os._exit(0)
            os.waitpid(pid, 0)
"""


class TestForkedChild(_TempDirCase):
    def test_child_that_returns_into_the_runner_exits(self) -> None:
        """A test's forked child that does not exit: the run hung (it shared the worker's
        pipe, reported with it and waited for batches with it).  And a test that starts a
        process pool failed: workers were daemons, which may not have children."""
        _write(self.dir, {"test_forks.py": _FORKS})
        proc = run_python("-m", "aiounit", "-j", "2", "-v", "-b", cwd=self.dir, timeout=10)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        outcomes = _outcomes(proc.stderr)
        self.assertEqual(outcomes[("test_forks.TestForks.test_forks", "ok")], 1, proc.stderr)
        self.assertEqual(outcomes[("test_forks.TestForks.test_after", "ok")], 1, proc.stderr)
        self.assertEqual(outcomes[("test_forks.TestForks.test_child_prints", "ok")], 1)
        # Workers are no daemons, which may not start processes.
        self.assertEqual(outcomes[("test_forks.TestForks.test_process_pool", "ok")], 1)
        self.assertEqual(sum(outcomes.values()), 4, proc.stderr)
        # Only the child that came back; the one that printed under -b and exited is fine.
        self.assertEqual(proc.stderr.count("returned into the test runner"), 1, proc.stderr)


_WAITS = """
    import os
    import threading
    import unittest


    class TestWaits(unittest.TestCase):
        def test_waits(self):
            os.write(1, f"READY {os.getpid()}\\n".encode())  # one write: the workers share fd 1
            threading.Event().wait(30)
"""


def _alive(pid: int) -> bool:
    """Whether process *pid* still runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


class TestParentKilled(_TempDirCase):
    """Workers die with their parent and let go of its stdout."""

    def test_workers_die_with_a_killed_parent(self) -> None:
        """SIGKILL the parent of two busy workers: its stdout reaches EOF, the workers are gone."""
        _write(self.dir, {"test_one.py": _WAITS, "test_two.py": _WAITS})
        proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "aiounit", "-j", "2"],
            cwd=self.dir,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        stdout = proc.stdout
        assert stdout is not None
        self.addCleanup(stdout.close)
        deadline = time.monotonic() + 20
        output = b""
        pids: list[int] = []
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(stdout, selectors.EVENT_READ)

                def read() -> bytes:
                    """The next bytes of the parent's stdout (b"" at EOF), by the deadline."""
                    if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                        self.fail(f"stdout still open; so far {output!r}")
                    return os.read(stdout.fileno(), 4096)

                while len(re.findall(rb"^READY (\d+)$", output, re.M)) < 2:
                    chunk = read()
                    self.assertTrue(chunk, output)
                    output += chunk
                pids = [int(pid) for pid in re.findall(rb"^READY (\d+)$", output, re.M)]
                self.assertEqual(len(set(pids) - {proc.pid}), 2, output)
                proc.kill()
                proc.wait(timeout=10)
                while chunk := read():
                    output += chunk  # until EOF: every worker let go of it
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)  # the workers' exit is not ours to wait for: poll it
        self.assertEqual([pid for pid in pids if _alive(pid)], [])


class TestParentWatch(unittest.TestCase):
    """The portable death watch (used where PR_SET_PDEATHSIG is not available)."""

    def test_watch_fires_at_end_of_file(self) -> None:
        """The watch thread calls its function once the pipe's writer is gone, not before."""
        import threading

        from aiounit._wire import watch_parent

        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        fired = threading.Event()
        thread = watch_parent(read_end, fired.set)
        self.assertFalse(fired.is_set())
        self.assertTrue(thread.is_alive())
        os.close(write_end)
        self.assertTrue(fired.wait(5))
        thread.join(5)
        self.assertFalse(thread.is_alive())


class TestWorkerFailfast(unittest.TestCase):
    """-f in a worker: the worker's own result stops its batch."""

    def test_failfast_result_stops_at_its_own_failure(self) -> None:
        """With failfast, a worker's result stops on a failure, error or unexpected success."""
        import threading
        from multiprocessing import Pipe

        from aiounit._wire import _WireResult

        class Sample(unittest.TestCase):
            def test_x(self) -> None:
                pass

        test = Sample("test_x")
        try:
            raise AssertionError("failed")
        except AssertionError:
            err = sys.exc_info()
        calls: dict[str, Callable[[_WireResult], None]] = {
            "addFailure": lambda r: r.addFailure(test, err),
            "addError": lambda r: r.addError(test, err),
            "addUnexpectedSuccess": lambda r: r.addUnexpectedSuccess(test),
            "addSubTest": lambda r: r.addSubTest(
                test,
                # unittest's private _SubTest, which typeshed does not list.
                unittest.case._SubTest(test, "sub", {}),  # type: ignore[attr-defined]
                err,
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


class TestParity(BackgroundCase):
    """-j 2 gives the same outcomes as one process."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        directory = background_directory()
        _write(directory, {"test_mixed_one.py": _MIXED_ONE, "test_mixed_two.py": _MIXED_TWO})
        env = child_env()
        jobs = {n: (directory, ("-m", "aiounit", "-v", "-j", n), env) for n in ("1", "2")}
        return functools.partial(run_warm, jobs)

    def test_same_outcomes_as_one_process(self) -> None:
        """A mixed suite reports the same outcomes, tracebacks and summary with -j 1 and -j 2."""

        def report(workers: str) -> tuple[int, Counter[tuple[str, str]], list[str]]:
            proc = self.background_runs[workers]
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


class TestInterruptedParent(_TempDirCase):
    """Ctrl-C in the parent of -j: the tests its workers had begun are not lost."""

    def test_begun_tests_are_interrupted_errors_in_the_report(self) -> None:
        """As in one process, each test cut off is started, stopped, and no pass in JUnit."""
        _write(self.dir, {"test_one.py": _WAITS, "test_two.py": _WAITS})
        report = os.path.join(self.dir, "report.xml")
        args = ["-j", "2", "-v", "--junit-xml", report]
        with sigint_by_default():  # the test presses Ctrl-C
            proc = subprocess.Popen(
                [sys.executable, "-W", "error", "-m", "aiounit", *args],
                cwd=self.dir,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        assert proc.stdout is not None and proc.stderr is not None
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.stderr.close)
        try:
            output = b""
            with selectors.DefaultSelector() as selector:
                selector.register(proc.stdout, selectors.EVENT_READ)
                while len(re.findall(rb"^READY \d+$", output, re.M)) < 2:
                    self.assertTrue(selector.select(timeout=20), output)
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    self.assertTrue(chunk, output)
                    output += chunk
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = err.decode()
        self.assertNotEqual(proc.returncode, 0, text)
        self.assertIn("KeyboardInterrupt", text)
        for module in ("test_one", "test_two"):
            self.assertIn(f"test_waits ({module}.TestWaits.test_waits) ... ", text)
        root = ET.parse(report).getroot()
        self.assertEqual((root.get("tests"), root.get("errors")), ("2", "2"), text)
        cases = {case.get("classname"): case for case in root.iter("testcase")}
        self.assertEqual(sorted(cases), ["test_one.TestWaits", "test_two.TestWaits"])
        for case in cases.values():
            self.assertEqual(child_of(case, "error").get("type"), "Interrupted")


if __name__ == "__main__":
    unittest.main()
