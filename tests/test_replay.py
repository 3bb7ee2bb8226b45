"""What a result sees of a group member is what it would see of the same test run alone.

A member reports to a recorder that replays its calls on the real result when
the test is over; anything the result reads at that time must still say what
it said when the call was made.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import tempfile
import unittest
import xml.etree.ElementTree as ET
from typing import Any

import aiounit
from tests._support import LoggingResult, suite_of


def _locals_lines(text: str) -> list[str]:
    """The 'name = value' lines that --locals adds under each frame."""
    return re.findall(r"^    (\w+ = .*)$", text, re.MULTILINE)


class TestLocalsAtRecordTime(unittest.TestCase):
    """--locals shows each failure's locals as they were when it failed."""

    @staticmethod
    def _classes() -> tuple[type, type]:
        async def body(case: unittest.TestCase) -> None:
            for i in range(3):
                with case.subTest(i=i):
                    await asyncio.sleep(0)
                    case.assertNotEqual(i, 1)
            note = "after the loop"  # noqa: F841 - shown by --locals
            raise KeyError("at the end")

        class Serial(unittest.IsolatedAsyncioTestCase):
            async def test_sub(self) -> None:
                print("printed by test_sub")
                await body(self)

        @aiounit.group()
        class Grouped(aiounit.AsyncTestCase):
            async def test_sub(self) -> None:
                print("printed by test_sub")
                await body(self)

            async def test_peer(self) -> None:
                await asyncio.sleep(0)

        return Serial, Grouped

    def _texts(self, result: unittest.TestResult) -> list[str]:
        return [text for _, text in result.failures]

    def test_subtest_failure_shows_the_locals_of_its_iteration(self) -> None:
        """A subtest failing at i=1 shows i = 1, as in a serial run; with -b too."""
        serial, grouped = self._classes()
        for buffer in (False, True):
            with self.subTest(buffer=buffer):
                results = []
                for suite in (unittest.TestSuite([serial("test_sub")]), suite_of(grouped)):
                    # Made inside: a buffering result echoes a failure's output
                    # to the stdout it was made with.
                    with contextlib.redirect_stdout(io.StringIO()):
                        # A bare stream: at verbosity 1 only write() and flush() are used.
                        result = unittest.TextTestResult(io.StringIO(), True, 1)  # type: ignore[type-var]
                        result.tb_locals = True
                        result.buffer = buffer
                        suite.run(result)
                    results.append(result)
                expected, actual = (self._texts(r) for r in results)
                self.assertEqual(len(actual), 1)
                self.assertIn("    i = 1", actual[0])
                self.assertEqual(
                    [_locals_lines(t) for t in actual],
                    [
                        [line.replace("Serial", "Grouped") for line in _locals_lines(t)]
                        for t in expected
                    ],
                )
                if buffer:
                    self.assertTrue(actual[0].endswith("\nStdout:\nprinted by test_sub\n"))

    def test_aiounit_runner_with_locals(self) -> None:
        """aiounit.TextTestRunner(tb_locals=True) prints the locals of the failing iteration."""
        _, grouped = self._classes()
        stream = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            aiounit.TextTestRunner(stream=stream, tb_locals=True).run(suite_of(grouped))
        self.assertEqual(out.getvalue(), "printed by test_sub\n")  # no -b: it is the test's
        failure = stream.getvalue().split("FAIL: ")[1]
        self.assertIn("    i = 1\n", failure)
        self.assertNotIn("    i = 2\n", failure)

    def test_sync_member_on_a_thread(self) -> None:
        """A plain TestCase member (run on a thread) keeps the locals of its failure too."""

        @aiounit.group()
        class Plain(unittest.TestCase):
            def test_sub(self) -> None:
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertNotEqual(i, 1)

        result = unittest.TestResult()
        result.tb_locals = True
        suite_of(Plain).run(result)
        (text,) = [text for _, text in result.failures]
        self.assertIn("    i = 1\n", text)


def _interrupted_group() -> type:
    """A group whose test_a raises KeyboardInterrupt while test_b waits and test_c is done.

    KeyboardInterrupt raised by the test is what Ctrl-C without -c (or a second
    Ctrl-C with it) delivers into the running code.
    """
    b_waits = asyncio.Event()

    @aiounit.group(timeout=5)
    class Interrupted(aiounit.AsyncTestCase):
        async def test_a_hit(self) -> None:
            await b_waits.wait()
            for _ in range(10):  # test_c ends, loop turns after its parts included
                await asyncio.sleep(0)
            raise KeyboardInterrupt

        async def test_b_waits(self) -> None:
            b_waits.set()
            await asyncio.Event().wait()

        async def test_c_done(self) -> None:
            pass

    return Interrupted


class TestKeyboardInterrupt(unittest.TestCase):
    """Ctrl-C cuts a group off: no test it stopped looks like a pass."""

    def run_interrupted(self, result: unittest.TestResult) -> None:
        with self.assertRaises(KeyboardInterrupt):
            suite_of(_interrupted_group(), grace=0.5).run(result)

    def test_peers_are_skipped_and_the_hit_test_comes_last_without_outcome(self) -> None:
        """Peers: skipped with the reason; the test it hit: start and stop only, as unittest."""
        result = LoggingResult()
        self.run_interrupted(result)
        events = [e for e in result.events if e[0] != "addDuration"]
        self.assertEqual(
            events,
            [
                ("startTest", "test_c_done"),
                ("addSuccess", "test_c_done"),
                ("stopTest", "test_c_done"),
                ("startTest", "test_b_waits"),
                ("addSkip", "test_b_waits"),
                ("stopTest", "test_b_waits"),
                ("startTest", "test_a_hit"),
                ("stopTest", "test_a_hit"),
            ],
        )
        (reason,) = [reason for _, reason in result.skipped]
        self.assertEqual(
            reason, "not finished: the run was interrupted (KeyboardInterrupt) while it ran"
        )

    def test_without_add_skip_a_peer_errs(self) -> None:
        """A result with no addSkip (unittest would count the skip a success) gets an error."""

        class NoSkip(unittest.TestResult):
            addSkip = None  # type: ignore[assignment]

            def __getattribute__(self, name: str) -> Any:
                if name == "addSkip":
                    raise AttributeError(name)
                return super().__getattribute__(name)

        result = NoSkip()
        self.run_interrupted(result)
        self.assertEqual([test._testMethodName for test, _ in result.errors], ["test_b_waits"])
        self.assertIn("interrupted (KeyboardInterrupt)", result.errors[0][1])

    def test_junit_report_shows_no_pass_for_an_interrupted_test(self) -> None:
        """--junit-xml: the skipped peer is skipped, the test with no outcome an error."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "junit.xml")
            runner = aiounit.TextTestRunner(stream=io.StringIO(), junit_xml=path)
            with self.assertRaises(KeyboardInterrupt):
                runner.run(suite_of(_interrupted_group(), grace=0.5))
            root = ET.parse(path).getroot()
        outcomes = {
            case.get("name"): [child.tag for child in case] for case in root.iter("testcase")
        }
        self.assertEqual(
            outcomes, {"test_c_done": [], "test_b_waits": ["skipped"], "test_a_hit": ["error"]}
        )
        (error,) = root.iter("error")
        self.assertEqual(error.get("type"), "Interrupted")


if __name__ == "__main__":
    unittest.main()
