"""Tests for ``python -m aiounit`` and aiounit.main / aiounit.TestProgram."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import types
import unittest
import unittest.mock
from typing import Any

import aiounit
from tests._support import AheadCase, ahead

_OK_MODULE = """
    import unittest

    class TestOk(unittest.TestCase):
        def test_one(self):
            pass

        def test_two(self):
            pass
"""

_FAIL_MODULE = """
    import unittest

    class TestFail(unittest.TestCase):
        def test_fails(self):
            marker = "LOCAL-VALUE"
            self.assertEqual(marker, "other")
"""


_OK = {"test_ok.py": _OK_MODULE}


class _AheadCliCase(AheadCase):
    def assertExit(self, proc: subprocess.CompletedProcess[str], code: int) -> None:
        self.assertEqual(proc.returncode, code, proc.stdout + proc.stderr)


class TestExitStatus(_AheadCliCase):
    """``python -m aiounit`` exits 0, 1, 2 or 5, on every Python."""

    @ahead("-m", "aiounit", files=_OK)
    def test_exit_0_when_all_tests_pass(self, proc: subprocess.CompletedProcess[str]) -> None:
        """With no arguments it discovers the tests here and exits 0 when all pass."""
        self.assertExit(proc, 0)
        self.assertIn("\nRan 2 tests in ", proc.stderr)
        self.assertTrue(proc.stderr.endswith("\nOK\n"), proc.stderr)

    @ahead("-m", "aiounit", files={**_OK, "test_fail.py": _FAIL_MODULE})
    def test_exit_1_on_a_failure(self, proc: subprocess.CompletedProcess[str]) -> None:
        """A failing test makes it exit 1."""
        self.assertExit(proc, 1)
        self.assertTrue(proc.stderr.endswith("\nFAILED (failures=1)\n"), proc.stderr)

    @ahead("-m", "aiounit", "--bogus")
    def test_exit_2_on_an_unknown_flag(self, proc: subprocess.CompletedProcess[str]) -> None:
        """An unknown flag is one clear argparse error and exit status 2."""
        self.assertExit(proc, 2)
        self.assertEqual(proc.stdout, "")
        self.assertTrue(proc.stderr.startswith("usage: "), proc.stderr)
        self.assertEqual(proc.stderr.count("error:"), 1, proc.stderr)
        self.assertIn("unrecognized arguments: --bogus", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def _assert_usage_error(self, proc: subprocess.CompletedProcess[str]) -> None:
        flag = proc.args[-2]
        self.assertExit(proc, 2)
        errors = [line for line in proc.stderr.splitlines() if "error:" in line]
        self.assertEqual(len(errors), 1, proc.stderr)
        self.assertIn(f"argument {flag}", errors[0])
        self.assertNotIn("Traceback", proc.stderr)

    @ahead("-m", "aiounit", "--timeout", "-1")
    def test_exit_2_on_a_negative_timeout(self, proc: subprocess.CompletedProcess[str]) -> None:
        """--timeout -1 is a usage error naming --timeout."""
        self._assert_usage_error(proc)

    @ahead("-m", "aiounit", "--max-concurrency", "0")
    def test_exit_2_on_max_concurrency_zero(self, proc: subprocess.CompletedProcess[str]) -> None:
        """--max-concurrency 0 is a usage error naming --max-concurrency."""
        self._assert_usage_error(proc)

    @ahead("-m", "aiounit", "--default-group", "bogus")
    def test_exit_2_on_an_unknown_default_group(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--default-group bogus is a usage error naming --default-group."""
        self._assert_usage_error(proc)

    @ahead("-m", "aiounit", "-h")
    def test_help_names_the_program_and_its_options(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """-h exits 0 with usage for ``python -m aiounit``, listing aiounit's options."""
        self.assertExit(proc, 0)
        self.assertIn(" -m aiounit [-h]", proc.stdout.splitlines()[0])
        for option in ("--timeout", "--max-concurrency", "--default-group", "--durations"):
            with self.subTest(option=option):
                self.assertIn(option, proc.stdout)

    @ahead("-m", "aiounit")
    def test_exit_5_when_there_are_no_tests(self, proc: subprocess.CompletedProcess[str]) -> None:
        """A directory with no tests exits 5 and says NO TESTS RAN, also on 3.11."""
        self.assertExit(proc, 5)
        self.assertTrue(proc.stderr.endswith("\nNO TESTS RAN\n"), proc.stderr)

    @ahead("-m", "aiounit", "-k", "nomatch", files=_OK)
    def test_exit_5_when_k_matches_nothing(self, proc: subprocess.CompletedProcess[str]) -> None:
        """-k that selects no test exits 5, also on 3.11."""
        self.assertExit(proc, 5)
        self.assertIn("\nRan 0 tests in ", proc.stderr)


class TestUnittestFlags(_AheadCliCase):
    """The flags of ``python -m unittest`` keep their meaning."""

    @ahead(
        *("-m", "aiounit", "discover", "-v", "-s", "pkg", "-p", "check_*.py", "-t", "."),
        files={
            "pkg/__init__.py": "",
            "pkg/check_things.py": """
                import unittest

                class TestThings(unittest.TestCase):
                    def test_found(self):
                        pass
            """,
            "pkg/test_not_matching.py": _FAIL_MODULE,
            "test_outside.py": _FAIL_MODULE,
        },
    )
    def test_discover_with_start_pattern_and_top(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """``discover -s -p -t`` finds only the matching files under the start dir."""
        self.assertExit(proc, 0)
        self.assertIn("test_found (pkg.check_things.TestThings.test_found) ... ok\n", proc.stderr)
        self.assertIn("\nRan 1 test in ", proc.stderr)

    @ahead("-m", "aiounit", "-v", "test_ok.TestOk.test_two", files=_OK)
    def test_dotted_name_selects_one_method(self, proc: subprocess.CompletedProcess[str]) -> None:
        """A dotted name module.Class.method runs just that test."""
        self.assertExit(proc, 0)
        self.assertIn("test_two (test_ok.TestOk.test_two) ... ok\n", proc.stderr)
        self.assertNotIn("test_one", proc.stderr)
        self.assertIn("\nRan 1 test in ", proc.stderr)

    @ahead("-m", "aiounit", "-v", "-k", "two", files=_OK)
    def test_k_filters_test_names(self, proc: subprocess.CompletedProcess[str]) -> None:
        """-k keeps only the tests whose name matches."""
        self.assertExit(proc, 0)
        self.assertNotIn("test_one", proc.stderr)
        self.assertIn("\nRan 1 test in ", proc.stderr)

    @ahead("-m", "aiounit", "-v", files=_OK)
    def test_v_prints_a_line_per_test(self, proc: subprocess.CompletedProcess[str]) -> None:
        """-v prints unittest's "name (id) ... ok" line for each test."""
        self.assertExit(proc, 0)
        self.assertTrue(
            proc.stderr.startswith(
                "test_one (test_ok.TestOk.test_one) ... ok\n"
                "test_two (test_ok.TestOk.test_two) ... ok\n"
            ),
            proc.stderr,
        )

    @ahead(
        "-m",
        "aiounit",
        "-f",
        files={
            "test_two_fail.py": """
                import unittest

                class TestTwoFail(unittest.TestCase):
                    def test_a(self):
                        self.fail("a")

                    def test_b(self):
                        self.fail("b")
            """
        },
    )
    def test_f_stops_at_the_first_failure(self, proc: subprocess.CompletedProcess[str]) -> None:
        """-f stops the run after the first failing test."""
        self.assertExit(proc, 1)
        self.assertIn("\nRan 1 test in ", proc.stderr)
        self.assertIn("FAILED (failures=1)", proc.stderr)

    @ahead(
        "-m",
        "aiounit",
        "-b",
        files={
            "test_noisy.py": """
                import unittest

                class TestNoisy(unittest.TestCase):
                    def test_pass(self):
                        print("PASSING-OUTPUT")

                    def test_fail(self):
                        print("FAILING-OUTPUT")
                        self.fail("no")
            """
        },
    )
    def test_b_buffers_output_of_passing_tests(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """-b drops a passing test's output and shows a failing test's in its report."""
        self.assertExit(proc, 1)
        self.assertNotIn("PASSING-OUTPUT", proc.stdout + proc.stderr)
        self.assertIn("Stdout:\nFAILING-OUTPUT\n", proc.stderr)

    @ahead("-m", "aiounit", "--locals", files={"test_fail.py": _FAIL_MODULE})
    def test_locals_shows_local_variables(self, proc: subprocess.CompletedProcess[str]) -> None:
        """--locals shows the failing frame's local variables in the traceback."""
        self.assertExit(proc, 1)
        self.assertIn("marker = 'LOCAL-VALUE'", proc.stderr)

    @ahead(
        *("-m", "aiounit", "-v", "--durations", "2"),
        files={
            "test_three.py": """
                import unittest

                class TestThree(unittest.TestCase):
                    def test_a(self):
                        pass

                    def test_b(self):
                        pass

                    def test_c(self):
                        pass
            """
        },
    )
    def test_durations_prints_the_slowest_tests(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--durations 2 prints a two-row "Slowest test durations" table, on 3.11 too."""
        self.assertExit(proc, 0)
        lines = proc.stderr.splitlines()
        self.assertIn("Slowest test durations", lines)
        start = lines.index("Slowest test durations")
        rows = lines[start + 2 : start + 4]
        for row in rows:
            self.assertRegex(row, r"^\d+\.\d{3}s +test_\w \(test_three\.TestThree\.test_\w\)$")
        self.assertEqual(lines[start + 4], "")

    @ahead(
        *("-m", "aiounit", "-v"),
        files={**_OK, "test_broken.py": "import unittest\nimport no_such_module_for_aiounit\n"},
    )
    def test_import_error_is_reported_and_other_modules_run(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """A module that fails to import is one error; the other modules still run."""
        self.assertExit(proc, 1)
        self.assertIn("ImportError: Failed to import test module: test_broken", proc.stderr)
        self.assertIn("No module named 'no_such_module_for_aiounit'", proc.stderr)
        self.assertIn("test_one (test_ok.TestOk.test_one) ... ok\n", proc.stderr)
        self.assertIn("test_two (test_ok.TestOk.test_two) ... ok\n", proc.stderr)
        self.assertIn("\nRan 3 tests in ", proc.stderr)
        self.assertTrue(proc.stderr.endswith("\nFAILED (errors=1)\n"), proc.stderr)


_HANG = """
    import asyncio
    import aiounit

    hang_started = asyncio.Event()

    class TestHang(aiounit.AsyncTestCase):
        @aiounit.group("g")
        async def test_hang(self):
            hang_started.set()
            await asyncio.Event().wait()

        @aiounit.group("g")
        async def test_peer(self):
            await hang_started.wait()
"""
_UNMARKED = """
    import asyncio
    import aiounit

    a_started, b_started = asyncio.Event(), asyncio.Event()

    class TestUnmarked(aiounit.AsyncTestCase):
        async def test_a(self):
            a_started.set()
            await b_started.wait()

        async def test_b(self):
            b_started.set()
            await a_started.wait()
"""


class TestAiounitFlags(_AheadCliCase):
    """The options aiounit adds: --timeout and --default-group."""

    @ahead("-m", "aiounit", "-v", "--timeout", "0.05", files={"test_hang.py": _HANG})
    def test_timeout_stops_a_hanging_grouped_test(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--timeout 0.05 fails a hanging grouped test with TestTimeoutError; its peer passes."""
        self.assertExit(proc, 1)
        self.assertIn("test_hang (test_hang.TestHang.test_hang) ... ERROR\n", proc.stderr)
        self.assertIn("test_peer (test_hang.TestHang.test_peer) ... ok\n", proc.stderr)
        self.assertIn("TestTimeoutError: ", proc.stderr)
        self.assertIn("did not finish within 0.05 s", proc.stderr)
        self.assertTrue(proc.stderr.endswith("\nFAILED (errors=1)\n"), proc.stderr)

    # The discover form: aiounit's options work after the subcommand too.
    @ahead(
        *("-m", "aiounit", "discover", "-s", ".", "--default-group", "class", "--timeout", "0.5"),
        files={"test_unmarked.py": _UNMARKED},
    )
    def test_default_group_class_runs_a_class_concurrently(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--default-group class runs a class's unmarked async tests together."""
        self.assertExit(proc, 0)
        self.assertIn("\nRan 2 tests in ", proc.stderr)

    @ahead(
        *("-m", "aiounit", "-v", "--default-group", "none", "--timeout", "0.05"),
        files={"test_unmarked.py": _UNMARKED},
    )
    def test_default_group_none_runs_them_one_at_a_time(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """With --default-group none the same tests run alone, so the first one times out."""
        self.assertExit(proc, 1)
        # test_b finds a_started already set by test_a, which ran (and hung) before it.
        self.assertIn("test_a (test_unmarked.TestUnmarked.test_a) ... ERROR\n", proc.stderr)
        self.assertIn("test_b (test_unmarked.TestUnmarked.test_b) ... ok\n", proc.stderr)
        self.assertEqual(proc.stderr.count("TestTimeoutError: "), 1, proc.stderr)


def _fake_module(*classes: type) -> types.ModuleType:
    """A module object holding *classes*, for TestProgram(module=...)."""
    module = types.ModuleType("aiounit_fake_test_module")
    for cls in classes:
        setattr(module, cls.__name__, cls)
    return module


class TestProgrammatic(unittest.TestCase):
    """aiounit.main and aiounit.TestProgram used from Python, as unittest.main is."""

    def _main(
        self, module: types.ModuleType, *args: str, **kwargs: Any
    ) -> tuple[aiounit.TestProgram, str]:
        """Run main() on *module* with argv *args*; return the program and its output."""
        kwargs.setdefault("testLoader", aiounit.TestLoader())
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            program = aiounit.main(module=module, argv=["prog", *args], **kwargs)
        return program, stderr.getvalue()

    @staticmethod
    def _passing() -> types.ModuleType:
        class Passing(unittest.TestCase):
            def test_a(self) -> None:
                pass

            def test_b(self) -> None:
                pass

        return _fake_module(Passing)

    @staticmethod
    def _failing() -> types.ModuleType:
        class Failing(unittest.TestCase):
            def test_a(self) -> None:
                secret = "LOCAL-VALUE"
                self.assertEqual(secret, "x")

        return _fake_module(Failing)

    def test_the_suite_is_planned_once(self) -> None:
        """main() checks the plan before anything runs, and runs that plan."""
        from aiounit._plan import plan

        planned = []

        def counting(suite: Any, default_group: str) -> Any:
            planned.append(default_group)
            return plan(suite, default_group)

        with unittest.mock.patch("aiounit._suite.plan", counting):
            program, _ = self._main(self._passing(), exit=False)
        self.assertEqual(program.result.testsRun, 2)
        self.assertEqual(planned, ["none"])

    def test_exit_false_returns_the_program_with_its_result(self) -> None:
        """main(exit=False) runs the module's tests and keeps the result."""
        program, output = self._main(self._passing(), exit=False)
        self.assertEqual(program.result.testsRun, 2)
        self.assertTrue(program.result.wasSuccessful())
        self.assertIsInstance(program.result, aiounit.TextTestResult)
        self.assertTrue(output.endswith("\nOK\n"), output)

    def test_exit_true_raises_system_exit_with_the_status(self) -> None:
        """main(exit=True) raises SystemExit 0, 1 or 5, on every Python."""
        table = [
            ("pass", self._passing(), 0),
            ("fail", self._failing(), 1),
            ("no tests", _fake_module(), 5),
        ]
        for label, module, code in table:
            with self.subTest(label):
                with self.assertRaises(SystemExit) as cm:
                    self._main(module)
                self.assertEqual(cm.exception.code, code)

    def test_usage_error_raises_system_exit_2(self) -> None:
        """An unknown flag raises SystemExit(2) after one argparse error."""
        with self.assertRaises(SystemExit) as cm:
            self._main(self._passing(), "--bogus", exit=False)
        self.assertEqual(cm.exception.code, 2)

    def test_test_program_is_the_same_entry_point(self) -> None:
        """TestProgram(...) takes unittest.main's arguments and runs the tests."""
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            program = aiounit.TestProgram(
                module=self._failing(),
                argv=["prog"],
                exit=False,
                verbosity=2,
                testLoader=aiounit.TestLoader(),
            )
        self.assertEqual(len(program.result.failures), 1)
        self.assertIn(" ... FAIL\n", stderr.getvalue())

    def test_timeout_argument_bounds_grouped_tests(self) -> None:
        """--timeout in argv fails a hanging grouped test with TestTimeoutError."""
        hang_started = asyncio.Event()

        class Hang(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_hang(self) -> None:
                hang_started.set()
                await asyncio.Event().wait()

            @aiounit.group("g")
            async def test_peer(self) -> None:
                await hang_started.wait()

        program, _ = self._main(_fake_module(Hang), "--timeout", "0.05", exit=False)
        self.assertEqual(program.result.testsRun, 2)
        self.assertEqual(program.result.failures, [])
        self.assertEqual([t._testMethodName for t, _ in program.result.errors], ["test_hang"])
        self.assertIn("TestTimeoutError", program.result.errors[0][1])

    def test_timeout_keyword_bounds_grouped_tests(self) -> None:
        """TestProgram(timeout=...) works like --timeout."""

        class Hang(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_hang(self) -> None:
                await asyncio.Event().wait()

        program, _ = self._main(_fake_module(Hang), exit=False, timeout=0.05)
        self.assertEqual(len(program.result.errors), 1)
        self.assertIn("TestTimeoutError", program.result.errors[0][1])

    def test_default_group_keyword_groups_unmarked_tests(self) -> None:
        """TestProgram(default_group="class") runs a class's async tests together."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Unmarked(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        program, _ = self._main(
            _fake_module(Unmarked), exit=False, default_group="class", timeout=1.0
        )
        self.assertEqual(program.result.testsRun, 2)
        self.assertTrue(program.result.wasSuccessful(), program.result.errors)

    def test_bad_keywords_raise_at_once(self) -> None:
        """Bad timeout, max_concurrency or default_group keywords raise before any test runs."""
        table: list[tuple[dict[str, Any], type[Exception]]] = [
            ({"timeout": -1}, ValueError),
            ({"timeout": "soon"}, TypeError),
            ({"max_concurrency": 0}, ValueError),
            ({"max_concurrency": 1.5}, TypeError),
            ({"default_group": "bogus"}, ValueError),
        ]
        for kwargs, error in table:
            with self.subTest(**kwargs), self.assertRaises(error):
                self._main(self._passing(), exit=False, **kwargs)

    def test_aiounit_options_are_parsed(self) -> None:
        """--timeout, --max-concurrency, --default-group and --durations land on the program."""
        program, _ = self._main(
            self._passing(),
            "--timeout",
            "2.5",
            "--max-concurrency",
            "3",
            "--default-group",
            "module",
            "--durations",
            "4",
            exit=False,
        )
        self.assertEqual(
            (program.timeout, program.max_concurrency, program.default_group, program.durations),
            (2.5, 3, "module", 4),
        )

    def test_timeout_zero_or_none_means_no_limit(self) -> None:
        """--timeout 0 and --timeout none both mean no limit."""
        for value in ("0", "none"):
            with self.subTest(value=value):
                program, _ = self._main(self._passing(), "--timeout", value, exit=False)
                self.assertIsNone(program.timeout)

    def test_default_loader_is_aiounits(self) -> None:
        """Without testLoader=, main uses aiounit.defaultTestLoader."""
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            program = aiounit.main(module=self._passing(), argv=["prog"], exit=False)
        # Set by TestProgram.__init__; typeshed does not declare it.
        self.assertIs(program.testLoader, aiounit.defaultTestLoader)  # type: ignore[attr-defined]

    def test_groups_run_concurrently_with_a_stdlib_loader(self) -> None:
        """With testLoader=unittest.TestLoader(), main still runs groups concurrently."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Pair(aiounit.AsyncTestCase):
            @aiounit.group("pair", timeout=1.0)
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            @aiounit.group("pair", timeout=1.0)
            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        program, _ = self._main(_fake_module(Pair), exit=False, testLoader=unittest.TestLoader())
        self.assertEqual(program.result.testsRun, 2)
        self.assertTrue(program.result.wasSuccessful(), program.result.errors)

    def test_runner_instance_is_used_as_is(self) -> None:
        """A testRunner instance is used as given, as unittest.main does."""
        stream = io.StringIO()
        runner = unittest.TextTestRunner(stream=stream, verbosity=2)
        program, _ = self._main(self._passing(), exit=False, testRunner=runner)
        self.assertEqual(program.result.testsRun, 2)
        self.assertIn(" ... ok\n", stream.getvalue())

    def test_stdlib_runner_class_still_gets_tb_locals(self) -> None:
        """With testRunner=unittest.TextTestRunner, --locals still shows locals."""
        _, output = self._main(
            self._failing(), "--locals", exit=False, testRunner=unittest.TextTestRunner
        )
        self.assertIn("secret = 'LOCAL-VALUE'", output)

    def test_durations_option_prints_the_table(self) -> None:
        """--durations 0 prints the table for async tests, on 3.11 too."""

        class Timed(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

        _, output = self._main(_fake_module(Timed), "-v", "--durations", "0", exit=False)
        self.assertIn("\nSlowest test durations\n", output)
        self.assertRegex(output, r"\n\d+\.\d{3}s +test_a \(.*Timed\.test_a\)\n")


if __name__ == "__main__":
    unittest.main()
