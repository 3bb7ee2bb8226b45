"""Tests for aiounit.TextTestRunner: unittest's output, 3.12+ behaviour everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sys
import unittest
from typing import Any

import aiounit

from ._support import mixed_outcome_classes, run_text, suite_of

_TIMING = re.compile(r"^Ran (\d+ tests?) in \d+\.\d{3}s$", re.MULTILINE)
_SEPARATOR = "-" * 70


def _normalise(text: str) -> str:
    """*text* with the run's wall time replaced; nothing else may differ."""
    return _TIMING.sub(r"Ran \1 in X.XXXs", text)


def _suite(suite_class: type[unittest.TestSuite] = unittest.TestSuite) -> unittest.TestSuite:
    loader = unittest.TestLoader()
    return suite_class([loader.loadTestsFromTestCase(cls) for cls in mixed_outcome_classes()])


class TestSequentialOutput(unittest.TestCase):
    """For suites without groups, the output is unittest's byte for byte (but the time)."""

    def _both(self, suite_class: type = unittest.TestSuite, **kwargs: object) -> tuple[str, str]:
        ours = run_text(_suite(suite_class), runner=aiounit.TextTestRunner, **kwargs)
        theirs = run_text(_suite(), runner=unittest.TextTestRunner, **kwargs)
        return _normalise(ours), _normalise(theirs)

    def test_same_output_at_every_verbosity(self) -> None:
        """-q, dots and -v, with and without descriptions, print what unittest prints."""
        for verbosity in (0, 1, 2):
            for descriptions in (True, False):
                with self.subTest(verbosity=verbosity, descriptions=descriptions):
                    ours, theirs = self._both(verbosity=verbosity, descriptions=descriptions)
                    self.assertEqual(ours, theirs)

    def test_same_output_for_a_concurrent_suite_without_groups(self) -> None:
        """A ConcurrentTestSuite with no groups prints what unittest's TestSuite prints."""
        for verbosity in (1, 2):
            with self.subTest(verbosity=verbosity):
                ours, theirs = self._both(aiounit.ConcurrentTestSuite, verbosity=verbosity)
                self.assertEqual(ours, theirs)

    def test_output_has_the_expected_shape(self) -> None:
        """The -v output shows docstrings, statuses and unittest's summary line."""
        ours, _ = self._both(verbosity=2)
        self.assertIn("\nFirst line of a docstring. ... ok\n", ours)
        self.assertIn(" ... skipped 'decorated'\n", ours)
        self.assertIn(" ... unexpected success\n", ours)
        self.assertTrue(
            ours.endswith(
                "FAILED (failures=4, errors=4, skipped=3,"
                " expected failures=1, unexpected successes=1)\n"
            ),
            ours[-200:],
        )

    def test_same_output_with_failfast(self) -> None:
        """With failfast, the run stops where unittest's stops and prints the same."""
        ours, theirs = self._both(verbosity=2, failfast=True)
        self.assertEqual(ours, theirs)

    def test_same_output_with_tb_locals(self) -> None:
        """tb_locals=True shows the same locals in the same tracebacks."""
        ours, theirs = self._both(verbosity=1, tb_locals=True)
        self.assertEqual(ours, theirs)
        self.assertIn("self = <", ours)

    def test_same_output_with_buffer(self) -> None:
        """buffer=True replays a failing test's output exactly where unittest does."""

        def make() -> unittest.TestSuite:
            class Noisy(unittest.TestCase):
                def test_quiet_pass(self) -> None:
                    print("hidden stdout")

                def test_loud_fail(self) -> None:
                    print("shown stdout")
                    print("shown stderr", file=sys.stderr)
                    self.fail("loud")

                def test_loud_error(self) -> None:
                    print("error stdout")
                    raise KeyError("k")

            return unittest.TestLoader().loadTestsFromTestCase(Noisy)

        outputs = []
        for runner in (aiounit.TextTestRunner, unittest.TextTestRunner):
            for verbosity in (1, 2):
                stream = io.StringIO()
                # One stream for the report and the replayed output, so their
                # relative order is compared too.
                with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                    runner(stream=stream, verbosity=verbosity, buffer=True).run(make())
                outputs.append(_normalise(stream.getvalue()))
        ours_1, ours_2, theirs_1, theirs_2 = outputs
        self.assertEqual(ours_1, theirs_1)
        self.assertEqual(ours_2, theirs_2)
        self.assertIn("shown stderr", ours_2)
        self.assertNotIn("hidden stdout", ours_2)

    def test_same_summary_for_async_tests_run_alone(self) -> None:
        """Ungrouped AsyncTestCase tests print unittest's status lines and summary."""

        def make(base: type) -> type:
            class Alone(base):  # type: ignore[misc]  # AsyncTestCase or the stdlib's
                async def test_ok(self) -> None:
                    pass

                async def test_fail(self) -> None:
                    self.fail("no")

                @unittest.expectedFailure
                async def test_xfail(self) -> None:
                    raise ValueError

                async def test_sub(self) -> None:
                    with self.subTest(n=1):
                        self.fail("sub")

            return Alone

        def status_lines(text: str) -> list[str]:
            return [
                line
                for line in text.splitlines()
                if " ... " in line or line.startswith(("Ran ", "OK", "FAILED"))
            ]

        loader = unittest.TestLoader()
        ours = run_text(
            aiounit.ConcurrentTestSuite(loader.loadTestsFromTestCase(make(aiounit.AsyncTestCase))),
            runner=aiounit.TextTestRunner,
            verbosity=2,
        )
        theirs = run_text(
            loader.loadTestsFromTestCase(make(unittest.IsolatedAsyncioTestCase)),
            runner=unittest.TextTestRunner,
            verbosity=2,
        )
        self.assertEqual(status_lines(_normalise(ours)), status_lines(_normalise(theirs)))


class TestNoTests(unittest.TestCase):
    """An empty run says so, on every Python."""

    def test_empty_suite_prints_no_tests_ran(self) -> None:
        """An empty suite ends with "NO TESTS RAN", also on 3.11."""
        output = _normalise(run_text(unittest.TestSuite()))
        self.assertEqual(output, f"\n{_SEPARATOR}\nRan 0 tests in X.XXXs\n\nNO TESTS RAN\n")

    @unittest.skipIf(sys.version_info < (3, 12), "unittest prints NO TESTS RAN since 3.12")
    def test_empty_suite_output_matches_stdlib(self) -> None:
        """On 3.12+, the empty-run output is unittest's own."""
        self.assertEqual(
            _normalise(run_text(unittest.TestSuite())),
            _normalise(run_text(unittest.TestSuite(), runner=unittest.TextTestRunner)),
        )

    def test_only_skipped_tests_is_not_no_tests(self) -> None:
        """A run whose tests were all skipped reports OK (skipped=N), not NO TESTS RAN."""

        class AllSkipped(unittest.TestCase):
            @unittest.skip("later")
            def test_a(self) -> None:
                pass

        output = run_text(unittest.TestLoader().loadTestsFromTestCase(AllSkipped))
        self.assertTrue(output.endswith("\nOK (skipped=1)\n"), output)


class TestDurations(unittest.TestCase):
    """durations=N prints the "Slowest test durations" table on every Python."""

    _ROW = re.compile(r"^\d+\.\d{3}s {2,}test_\w+ \(.*\)$")

    def _table(self, output: str) -> list[str]:
        lines = output.splitlines()
        self.assertIn("Slowest test durations", lines)
        start = lines.index("Slowest test durations")
        self.assertEqual(lines[start + 1], _SEPARATOR)
        rows = []
        for line in lines[start + 2 :]:
            if not self._ROW.match(line):
                break
            rows.append(line)
        return rows

    @staticmethod
    def _plain() -> unittest.TestSuite:
        class Plain(unittest.TestCase):
            def test_a(self) -> None:
                pass

            def test_b(self) -> None:
                pass

            def test_c(self) -> None:
                self.fail("c")

        return unittest.TestLoader().loadTestsFromTestCase(Plain)

    @staticmethod
    def _fixed(base: type, elapsed: dict[str, float]) -> type:
        """A result class that records the given elapsed time for each test."""

        class Fixed(base):  # type: ignore[misc]  # aiounit's or unittest's result class
            def addDuration(self, test: unittest.TestCase, _elapsed: float) -> None:
                super().addDuration(test, elapsed[test._testMethodName])

            if sys.version_info < (3, 12):
                # 3.11's TestCase.run reports no duration: the result times it.
                def _time_stop(self, test: unittest.TestCase) -> None:
                    self._aiounit_measured = elapsed[test._testMethodName]
                    super()._time_stop(test)

        return Fixed

    @staticmethod
    def _async_trio() -> tuple[type, unittest.TestSuite]:
        class Trio(aiounit.AsyncTestCase):
            async def test_fast(self) -> None:
                pass

            async def test_mid(self) -> None:
                pass

            async def test_slow(self) -> None:
                pass

        return Trio, aiounit.ConcurrentTestSuite(unittest.TestLoader().loadTestsFromTestCase(Trio))

    def test_durations_zero_lists_every_test(self) -> None:
        """durations=0 at -v lists every plain TestCase, on 3.11 too."""
        rows = self._table(run_text(self._plain(), verbosity=2, durations=0))
        self.assertEqual(len(rows), 3)

    def test_durations_n_lists_the_n_slowest(self) -> None:
        """durations=2 lists two plain TestCases, on 3.11 too."""
        rows = self._table(run_text(self._plain(), verbosity=2, durations=2))
        self.assertEqual(len(rows), 2)

    def test_table_is_sorted_slowest_first(self) -> None:
        """Rows come slowest first, and durations=N keeps only the N slowest."""
        cls, suite = self._async_trio()
        resultclass = self._fixed(
            aiounit.TextTestResult, {"test_fast": 0.01, "test_mid": 0.2, "test_slow": 1.5}
        )
        output = run_text(suite, verbosity=1, durations=2, resultclass=resultclass)
        name = f"{cls.__module__}.{cls.__qualname__}"
        expected = (
            "Slowest test durations\n"
            f"{_SEPARATOR}\n"
            f"1.500s     test_slow ({name}.test_slow)\n"
            f"0.200s     test_mid ({name}.test_mid)\n"
            "\n"
            f"{_SEPARATOR}\n"
        )
        self.assertIn(expected, output)

    def test_short_durations_are_hidden_below_verbose(self) -> None:
        """Below -v, durations under 1 ms are hidden, with unittest's note."""
        cls, suite = self._async_trio()
        resultclass = self._fixed(
            aiounit.TextTestResult, {"test_fast": 0.0001, "test_mid": 0.0002, "test_slow": 0.5}
        )
        output = run_text(suite, verbosity=1, durations=0, resultclass=resultclass)
        name = f"{cls.__module__}.{cls.__qualname__}"
        expected = (
            "Slowest test durations\n"
            f"{_SEPARATOR}\n"
            f"0.500s     test_slow ({name}.test_slow)\n"
            "\n"
            "(durations < 0.001s were hidden; use -v to show these durations)\n"
            f"{_SEPARATOR}\n"
        )
        self.assertIn(expected, output)

    @unittest.skipIf(sys.version_info < (3, 12), "unittest has durations since 3.12")
    def test_table_matches_stdlib(self) -> None:
        """On 3.12+, the table is unittest's own, for the same recorded durations."""
        elapsed = {"test_a": 0.3, "test_b": 0.0002, "test_c": 0.02}
        outputs = []
        for runner, base in (
            (aiounit.TextTestRunner, aiounit.TextTestResult),
            (unittest.TextTestRunner, unittest.TextTestResult),
        ):
            for verbosity in (1, 2):
                outputs.append(
                    _normalise(
                        run_text(
                            self._plain(),
                            runner=runner,
                            verbosity=verbosity,
                            durations=2,
                            resultclass=self._fixed(base, elapsed),
                        )
                    )
                )
        self.assertEqual(outputs[:2], outputs[2:])

    def test_no_table_without_durations(self) -> None:
        """With durations=None (the default) no table is printed."""
        self.assertNotIn("Slowest test durations", run_text(self._plain(), verbosity=2))

    def test_result_class_without_durations_still_works(self) -> None:
        """A resultclass whose __init__ lacks durations= is built without it."""

        class OldResult(unittest.TextTestResult):
            def __init__(self, stream: Any, descriptions: bool, verbosity: int) -> None:
                super().__init__(stream, descriptions, verbosity)
                self.made_by_old_signature = True

        runner = aiounit.TextTestRunner(
            stream=io.StringIO(), verbosity=2, durations=2, resultclass=OldResult
        )
        result = runner.run(self._plain())
        assert isinstance(result, OldResult)
        self.assertTrue(result.made_by_old_signature)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual(len(result.failures), 1)

    def test_result_class_without_durations_prints_like_stdlib(self) -> None:
        """Without durations, a custom resultclass prints what unittest's runner prints."""

        class OldResult(unittest.TextTestResult):
            def __init__(self, stream: Any, descriptions: bool, verbosity: int) -> None:
                super().__init__(stream, descriptions, verbosity)

        ours = run_text(self._plain(), verbosity=2, resultclass=OldResult)
        theirs = run_text(
            self._plain(), runner=unittest.TextTestRunner, verbosity=2, resultclass=OldResult
        )
        self.assertEqual(_normalise(ours), _normalise(theirs))


class TestConstructor(unittest.TestCase):
    """TextTestRunner takes unittest's arguments."""

    def test_takes_unittest_positional_arguments(self) -> None:
        """stream, descriptions, verbosity, failfast, buffer, resultclass, warnings in order."""
        stream = io.StringIO()
        runner = aiounit.TextTestRunner(stream, False, 2, True, True, None, "ignore")
        self.assertIs(runner.stream.stream, stream)
        self.assertEqual(
            (runner.descriptions, runner.verbosity, runner.failfast, runner.buffer),
            (False, 2, True, True),
        )
        self.assertIs(runner.resultclass, aiounit.TextTestResult)
        self.assertEqual(runner.warnings, "ignore")

    def test_takes_tb_locals_and_durations_keywords(self) -> None:
        """tb_locals= and durations= are keyword arguments, as in unittest 3.12+."""
        runner = aiounit.TextTestRunner(stream=io.StringIO(), tb_locals=True, durations=5)
        self.assertTrue(runner.tb_locals)
        self.assertEqual(runner.durations, 5)

    def test_run_returns_an_aiounit_result(self) -> None:
        """run() returns the aiounit.TextTestResult it reported to."""
        result = aiounit.TextTestRunner(stream=io.StringIO()).run(unittest.TestSuite())
        self.assertIsInstance(result, aiounit.TextTestResult)

    def test_run_sets_result_options(self) -> None:
        """run() passes failfast, buffer and tb_locals on to the result."""
        runner = aiounit.TextTestRunner(
            stream=io.StringIO(), failfast=True, buffer=True, tb_locals=True
        )
        result = runner.run(unittest.TestSuite())
        self.assertEqual((result.failfast, result.buffer, result.tb_locals), (True, True, True))


class TestGroupOutput(unittest.TestCase):
    """Tests of a group overlap, yet each one's output stays whole and in order."""

    _LINE = re.compile(r"^test_\w+ \(.*\) \.\.\. (ok|FAIL|ERROR)?$")
    _SUB = re.compile(r"^  (test_\w+) \(.*\) \(.*\) \.\.\. (FAIL|ERROR)$")

    @staticmethod
    def _overlapping() -> type:
        """Four tests that can only pass if all four run at the same time."""
        started = {name: asyncio.Event() for name in "abcd"}

        async def meet(me: str) -> None:
            started[me].set()
            for event in started.values():
                await event.wait()

        class Quartet(aiounit.AsyncTestCase):
            @aiounit.group("quartet")
            async def test_a_ok(self) -> None:
                await meet("a")

            @aiounit.group("quartet")
            async def test_b_fail(self) -> None:
                await meet("b")
                self.fail("b")

            @aiounit.group("quartet")
            async def test_c_subtests(self) -> None:
                await meet("c")
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertEqual(i, 0)

            @aiounit.group("quartet")
            async def test_d_error(self) -> None:
                await meet("d")
                with self.subTest(kind="error"):
                    raise LookupError("d")

        return Quartet

    def test_verbose_lines_stay_whole(self) -> None:
        """At -v, every line is one test's whole line, and subtest lines follow their test."""
        output = run_text(suite_of(self._overlapping(), timeout=1.0), verbosity=2)
        report = output.split("\n\n" + "=" * 70, 1)[0].split("\n\n" + _SEPARATOR, 1)[0]
        lines = report.splitlines()
        seen: list[str] = []
        current = None
        for line in lines:
            with self.subTest(line=line):
                sub = self._SUB.match(line)
                if sub:
                    self.assertEqual(sub.group(1), current)
                else:
                    self.assertRegex(line, self._LINE)
                    current = line.split(" ", 1)[0]
                    seen.append(current)
        self.assertEqual(
            sorted(seen), ["test_a_ok", "test_b_fail", "test_c_subtests", "test_d_error"]
        )
        self.assertEqual(len(lines), 4 + 2 + 1)
        self.assertIn("FAILED (failures=3, errors=1)", output)

    def test_dots_stay_whole(self) -> None:
        """At verbosity 1, the group prints one character per outcome and nothing else."""
        output = run_text(suite_of(self._overlapping(), timeout=1.0), verbosity=1)
        first = output.split("\n", 1)[0]
        self.assertEqual(sorted(first), sorted(".FFFE"))

    def test_group_with_buffer_keeps_each_test_output(self) -> None:
        """With buffer=True each grouped test's output is reported under that test only."""
        started = {name: asyncio.Event() for name in "abc"}

        async def meet(me: str) -> None:
            started[me].set()
            for event in started.values():
                await event.wait()

        class Trio(aiounit.AsyncTestCase):
            @aiounit.group("trio")
            async def test_a(self) -> None:
                await meet("a")
                print("out of a")
                self.fail("a")

            @aiounit.group("trio")
            async def test_b(self) -> None:
                await meet("b")
                print("out of b")
                self.fail("b")

            @aiounit.group("trio")
            async def test_c(self) -> None:
                await meet("c")
                print("out of c")

        stream, stdout = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
            result = aiounit.TextTestRunner(stream=stream, buffer=True).run(
                suite_of(Trio, timeout=1.0)
            )
        self.assertEqual(result.testsRun, 3)
        self.assertEqual(len(result.failures), 2)
        for test, text in result.failures:
            with self.subTest(test=test._testMethodName):
                mine = test._testMethodName[-1]
                self.assertIn(f"Stdout:\nout of {mine}\n", text)
                for other in {"a", "b", "c"} - {mine}:
                    self.assertNotIn(f"out of {other}", text)
        # A passing test's output is dropped, as unittest drops it.
        self.assertNotIn("out of c", stdout.getvalue() + stream.getvalue())


if __name__ == "__main__":
    unittest.main()
