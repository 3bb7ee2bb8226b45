"""What a result sees of a group member is what it would see of the same test run alone.

A member reports to a recorder that replays its calls on the real result when
the test is over; anything the result reads at that time must still say what
it said when the call was made.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import unittest

import aiounit
from tests._support import suite_of


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
                    result = unittest.TextTestResult(io.StringIO(), True, 1)
                    result.tb_locals = True
                    result.buffer = buffer
                    with contextlib.redirect_stdout(io.StringIO()):
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
        aiounit.TextTestRunner(stream=stream, tb_locals=True).run(suite_of(grouped))
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


if __name__ == "__main__":
    unittest.main()
