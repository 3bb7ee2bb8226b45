"""Tests for aiounit.TextTestResult: unittest's output, one write per test."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import unittest
from typing import Any

import aiounit

from ._support import mixed_outcome_classes, suite_of

# What TextTestRunner hands its result: a stream with writeln().
_Decorated = unittest.runner._WritelnDecorator

_TIMING = re.compile(r"^Ran (\d+ tests?) in \d+\.\d{3}s$", re.MULTILINE)


def _normalise(text: str) -> str:
    """*text* with the run's wall time replaced; nothing else may differ."""
    return _TIMING.sub(r"Ran \1 in X.XXXs", text)


class _Writes(io.StringIO):
    """A text stream that also keeps each write() separately."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)


class TestOutputMatchesStdlib(unittest.TestCase):
    """In unittest's own runner, aiounit's result prints exactly what unittest's does."""

    def _run(self, resultclass: type, **kwargs: Any) -> str:
        stream = io.StringIO()
        runner = unittest.TextTestRunner(stream=stream, resultclass=resultclass, **kwargs)
        runner.run(
            unittest.TestSuite(
                unittest.TestLoader().loadTestsFromTestCase(cls) for cls in mixed_outcome_classes()
            )
        )
        return _normalise(stream.getvalue())

    def test_same_output_at_every_verbosity(self) -> None:
        """-q, dots and -v output, with and without descriptions, is unittest's byte for byte."""
        for verbosity in (0, 1, 2):
            for descriptions in (True, False):
                with self.subTest(verbosity=verbosity, descriptions=descriptions):
                    kwargs = {"verbosity": verbosity, "descriptions": descriptions}
                    self.assertEqual(
                        self._run(aiounit.TextTestResult, **kwargs),
                        self._run(unittest.TextTestResult, **kwargs),
                    )

    def test_same_output_with_failfast(self) -> None:
        """With failfast the output stops where unittest's stops."""
        self.assertEqual(
            self._run(aiounit.TextTestResult, verbosity=2, failfast=True),
            self._run(unittest.TextTestResult, verbosity=2, failfast=True),
        )


class TestOneWritePerTest(unittest.TestCase):
    """What one test prints reaches the stream in one write, when the test ends."""

    def _tests(self) -> list[unittest.TestCase]:
        class Three(unittest.TestCase):
            def test_a_ok(self) -> None:
                pass

            def test_b_fail(self) -> None:
                self.fail("no")

            def test_c_subtests(self) -> None:
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertEqual(i % 2, 0)

        return [Three(name) for name in unittest.TestLoader().getTestCaseNames(Three)]

    def test_nothing_is_written_before_stop_test(self) -> None:
        """startTest and the outcome write nothing; stopTest writes the whole line."""
        test = self._tests()[0]
        stream = _Writes()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        result.startTest(test)
        result.addSuccess(test)
        self.assertEqual(stream.getvalue(), "")
        result.stopTest(test)
        self.assertEqual(stream.writes, [f"{test} ... ok\n"])

    def test_verbose_line_and_subtest_lines_are_one_write(self) -> None:
        """At -v, each test's line and its subtest lines are written in a single write."""
        stream = _Writes()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        tests = self._tests()
        for test in tests:
            before = len(stream.writes)
            test(result)
            with self.subTest(test=test._testMethodName):
                self.assertEqual(len(stream.writes), before + 1)
        a, b, c = tests
        self.assertEqual(
            stream.writes,
            [
                f"{a} ... ok\n",
                f"{b} ... FAIL\n",
                f"{c} ... \n  {c} (i=1) ... FAIL\n",
            ],
        )

    def test_dots_are_one_write_per_test(self) -> None:
        """At verbosity 1, each test's characters are written in a single write."""
        stream = _Writes()
        result = aiounit.TextTestResult(_Decorated(stream), True, 1)
        for test in self._tests():
            test(result)
        self.assertEqual(stream.writes, [".", "F", "F"])

    def test_quiet_writes_nothing_per_test(self) -> None:
        """At verbosity 0 no test writes anything."""
        stream = _Writes()
        result = aiounit.TextTestResult(_Decorated(stream), True, 0)
        for test in self._tests():
            test(result)
        self.assertEqual(stream.writes, [])

    def test_print_errors_first_flushes_a_pending_line(self) -> None:
        """printErrors() (as after Ctrl-C mid-test) writes the pending test line first."""
        test = self._tests()[0]
        stream = io.StringIO()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        result.startTest(test)
        result.addSuccess(test)
        result.printErrors()
        # unittest's printErrors() starts with a newline at -v.
        self.assertEqual(stream.getvalue(), f"{test} ... ok\n\n")

    def test_stop_test_without_start_test_is_harmless(self) -> None:
        """Outcomes reported outside a test (class fixtures) are written straight away."""
        stream = io.StringIO()
        result = aiounit.TextTestResult(_Decorated(stream), True, 1)
        test = self._tests()[0]
        try:
            raise OSError("fixture")
        except OSError:
            result.addError(test, sys.exc_info())
        self.assertEqual(stream.getvalue(), "E")
        self.assertEqual(len(result.errors), 1)


class TestBufferAfterFixtureError(unittest.TestCase):
    """-b: an error outside a test never leaves the next stopTest reading the wrong stream (#15)."""

    def test_stop_test_after_a_class_fixture_error_restores_the_streams(self) -> None:
        # What the suite does for a failing tearDownClass, then what 3.12.1's
        # TestCase.run does for a skipped test: stopTest with no startTest.
        stream = io.StringIO()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        result.buffer = True
        test = TestOneWritePerTest("test_nothing_is_written_before_stop_test")
        saved = sys.stdout, sys.stderr
        # unittest.TestResult's private stream attributes, which typeshed does not list.
        result._original_stdout, result._original_stderr = real = io.StringIO(), io.StringIO()  # type: ignore[attr-defined]
        try:
            result._setupStdout()  # type: ignore[attr-defined]
            print("from the fixture")
            try:
                raise OSError("tearDownClass")
            except OSError:
                result.addError(test, sys.exc_info())
            result._restoreStdout()
            result.stopTest(test)
            after = sys.stdout, sys.stderr
        finally:
            sys.stdout, sys.stderr = saved
        self.assertEqual(after, real)
        self.assertEqual(real[0].getvalue().count("from the fixture"), 1)

    def test_failed_test_output_is_shown_when_sys_stdout_was_replaced(self) -> None:
        # The test's output is in the result's own buffer, whatever replaced
        # sys.stdout meanwhile (the stdlib read it back from sys.stdout).
        stream = io.StringIO()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        result.buffer = True
        test = TestOneWritePerTest("test_nothing_is_written_before_stop_test")
        saved = sys.stdout, sys.stderr
        real_out = io.StringIO()
        try:
            result._original_stdout = real_out  # type: ignore[attr-defined]
            result.startTest(test)
            print("captured line")
            try:
                raise OSError("boom")
            except OSError:
                result.addError(test, sys.exc_info())
            sys.stdout = _Writes()  # no getvalue() of the captured text
            result.stopTest(test)
            after = sys.stdout
        finally:
            sys.stdout, sys.stderr = saved
        self.assertIs(after, real_out)
        self.assertIn("captured line", real_out.getvalue())

    def test_skipped_test_after_a_failing_tear_down_class_does_not_crash_the_run(self) -> None:
        class A(unittest.TestCase):
            @classmethod
            def tearDownClass(cls) -> None:
                raise RuntimeError("tearDownClass of A")

            def test_a(self) -> None:
                pass

        class B(unittest.TestCase):
            @unittest.skip("why")
            def test_b(self) -> None:
                pass

            def test_c(self) -> None:
                pass

        stream = io.StringIO()
        suite = unittest.TestSuite(
            unittest.TestLoader().loadTestsFromTestCase(cls) for cls in (A, B)
        )
        result = aiounit.TextTestRunner(stream=stream, buffer=True, verbosity=2).run(suite)
        self.assertEqual(len(result.errors), 1)
        self.assertEqual(len(result.skipped), 1)
        self.assertIn("FAILED (errors=1, skipped=1)", stream.getvalue())


class TestConstructor(unittest.TestCase):
    """TextTestResult takes unittest's arguments, plus durations on every Python."""

    def test_takes_unittest_positional_arguments(self) -> None:
        """(stream, descriptions, verbosity) are taken positionally, as unittest's are."""
        stream = _Decorated(io.StringIO())
        result = aiounit.TextTestResult(stream, False, 2)
        self.assertIs(result.stream, stream)
        self.assertFalse(result.descriptions)
        self.assertTrue(result.showAll)
        self.assertFalse(result.dots)

    def test_takes_durations_on_every_python(self) -> None:
        """durations= is accepted and stored, and collectedDurations starts empty."""
        result = aiounit.TextTestResult(io.StringIO(), True, 1, durations=3)
        self.assertEqual(result.durations, 3)
        self.assertEqual(result.collectedDurations, [])

    def test_durations_defaults_to_none(self) -> None:
        """Without durations=, result.durations is None, as in unittest 3.12+."""
        result = aiounit.TextTestResult(io.StringIO(), True, 1)
        self.assertIsNone(result.durations)

    def test_add_duration_collects_on_every_python(self) -> None:
        """addDuration(test, elapsed) appends (str(test), elapsed) to collectedDurations."""
        test = unittest.FunctionTestCase(lambda: None)
        result = aiounit.TextTestResult(io.StringIO(), True, 1, durations=0)
        result.addDuration(test, 0.25)
        self.assertEqual(result.collectedDurations, [(str(test), 0.25)])

    def test_plain_test_cases_get_durations_on_every_python(self) -> None:
        """Each plain TestCase run gets one collectedDurations entry, on 3.11 too."""

        class Plain(unittest.TestCase):
            def test_a(self) -> None:
                pass

            def test_b(self) -> None:
                self.fail("no")

        result = aiounit.TextTestResult(_Decorated(io.StringIO()), True, 1, durations=0)
        unittest.TestLoader().loadTestsFromTestCase(Plain).run(result)
        self.assertEqual(
            [name for name, _ in result.collectedDurations],
            [str(Plain("test_a")), str(Plain("test_b"))],
        )

    def test_passes_other_keywords_on(self) -> None:
        """Unknown keywords go on along the MRO, so cooperative subclasses get them."""

        class Tagged(unittest.TextTestResult):
            def __init__(self, *args: Any, tag: str | None = None, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.tag = tag

        class Result(aiounit.TextTestResult, Tagged):
            pass

        result = Result(io.StringIO(), True, 1, durations=2, tag="ci")
        self.assertEqual(result.tag, "ci")
        self.assertEqual(result.durations, 2)


class TestConcurrentTests(unittest.TestCase):
    """Tests of a group run together, yet each one's output stays whole."""

    def test_group_output_keeps_each_test_whole(self) -> None:
        """Overlapping tests in a group each get their own intact -v line."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("pair")
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()
                with self.subTest(side="a"):
                    self.fail("a")

            @aiounit.group("pair")
            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        stream = io.StringIO()
        result = aiounit.TextTestResult(_Decorated(stream), True, 2)
        suite_of(Pair, timeout=1.0).run(result)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(len(result.failures), 1)
        self.assertEqual(result.errors, [])
        name = f"{Pair.__module__}.{Pair.__qualname__}"
        block_a = f"test_a ({name}.test_a) ... \n  test_a ({name}.test_a) (side='a') ... FAIL\n"
        block_b = f"test_b ({name}.test_b) ... ok\n"
        self.assertIn(stream.getvalue(), (block_a + block_b, block_b + block_a))


if __name__ == "__main__":
    unittest.main()
