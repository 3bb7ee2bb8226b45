"""aiounit's options, defined once in aiounit/_options.py: the command line, the
keyword arguments and the docs tables all follow that definition."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import inspect
import io
import os
import re
import types
import unittest
from typing import Any

import aiounit
from aiounit import _config, _main, _options
from aiounit._marks import UNSET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _docs_tool() -> types.ModuleType:
    path = os.path.join(ROOT, "tools", "docs_options.py")
    spec = importlib.util.spec_from_file_location("docs_options", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _empty_module() -> types.ModuleType:
    class Passing(unittest.TestCase):
        def test_a(self) -> None:
            pass

    module = types.ModuleType("aiounit_options_test_module")
    module.Passing = Passing  # type: ignore[attr-defined]
    return module


def _parse(*argv: str, **kwargs: object) -> aiounit.TestProgram:
    """A program that parsed *argv* and ran one passing test."""
    with contextlib.redirect_stderr(io.StringIO()):
        return aiounit.main(
            module=_empty_module(),
            argv=["prog", *argv],
            exit=False,
            testLoader=aiounit.TestLoader(),
            **kwargs,  # type: ignore[arg-type]
        )


def _usage_error(*argv: str) -> str:
    """The stderr of a command line argparse refuses (exit status 2)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            aiounit.main(module=_empty_module(), argv=["prog", *argv], exit=False)
        except SystemExit as exc:
            if exc.code == 2:
                return stderr.getvalue()
            raise
    raise AssertionError(f"{argv} was accepted")


class TestNumericOptions(unittest.TestCase):
    """Every spelling of a value means the same; bad text names its option."""

    def test_any_spelling_of_zero_means_no_limit(self) -> None:
        """--timeout 0.0 means what --timeout 0 means, and so for --blocking-threshold."""
        for flag in ("--timeout", "--blocking-threshold"):
            for text in ("0", "0.0", "00", "0e0", "-0", "none", "None", "NONE"):
                with self.subTest(flag=flag, text=text):
                    program = _parse(flag, text)
                    self.assertIsNone(getattr(program, flag[2:].replace("-", "_")))

    def test_numbers_are_read_as_numbers(self) -> None:
        table = [
            (("--timeout", "2.5"), "timeout", 2.5),
            (("--timeout", "1e1"), "timeout", 10.0),
            (("--blocking-threshold", "0.25"), "blocking_threshold", 0.25),
            (("--grace", "0.5"), "grace", 0.5),
            (("--max-concurrency", "3"), "max_concurrency", 3),
            (("-j", "1"), "workers", 1),
            (("--shard", "2/3"), "shard", (2, 3)),
        ]
        for argv, name, value in table:
            with self.subTest(argv=argv):
                self.assertEqual(getattr(_parse(*argv), name), value)

    def test_workers_zero_means_one_per_cpu(self) -> None:
        # Parsed, not run: forking workers from this process, which may have
        # threads left by earlier tests, is a DeprecationWarning (an error
        # under -W error) from Python 3.12 on.
        class ParseOnly(aiounit.TestProgram):
            def runTests(self) -> None:
                pass

        program = ParseOnly(module=_empty_module(), argv=["prog", "-j", "0"], exit=False)
        self.assertEqual(program.workers, os.cpu_count() or 1)

    def test_bad_text_is_a_usage_error_naming_the_option(self) -> None:
        """One argparse error naming the flag and what it expects, never a traceback."""
        table = [
            ("--timeout", "-1", "a number of seconds > 0, or 0 or none for no limit"),
            ("--timeout", "soon", "a number of seconds > 0, or 0 or none for no limit"),
            ("--timeout", "nan", "a number of seconds > 0, or 0 or none for no limit"),
            ("--blocking-threshold", "-0.1", "a number of seconds > 0, or 0 or none"),
            ("--grace", "0", "a number of seconds > 0"),
            ("--grace", "0.0", "a number of seconds > 0"),
            ("--grace", "none", "a number of seconds > 0"),
            ("--grace", "-1", "a number of seconds > 0"),
            ("--max-concurrency", "0", "a whole number >= 1"),
            ("--max-concurrency", "1.5", "a whole number >= 1"),
            ("--max-concurrency", "none", "a whole number >= 1"),
            ("--workers", "-1", "a whole number >= 0"),
            ("-j", "x", "a whole number >= 0"),
            ("--shard", "3/2", "I/N with 1 <= I <= N"),
            ("--default-group", "bogus", "invalid choice"),
        ]
        for flag, text, expected in table:
            with self.subTest(flag=flag, text=text):
                stderr = _usage_error(flag, text)
                errors = [line for line in stderr.splitlines() if "error:" in line]
                self.assertEqual(len(errors), 1, stderr)
                option = _options.BY_NAME[next(o.name for o in _options.OPTIONS if flag in o.flags)]
                self.assertIn(f"argument {'/'.join(option.flags)}: ", errors[0])
                self.assertIn(expected, errors[0])
                if "choice" not in expected:
                    self.assertIn(repr(text), errors[0])
                self.assertNotIn("Traceback", stderr)

    def test_bad_keywords_name_the_keyword(self) -> None:
        """The keyword arguments are checked when the suite (or program) is made."""
        table: list[tuple[dict[str, Any], type[Exception]]] = [
            ({"timeout": 0}, ValueError),
            ({"timeout": "1"}, TypeError),
            ({"blocking_threshold": -1}, ValueError),
            ({"grace": None}, TypeError),
            ({"grace": 0}, ValueError),
            ({"max_concurrency": 0}, ValueError),
            ({"max_concurrency": 2.0}, TypeError),
            ({"default_group": "modules"}, ValueError),
            ({"fail_on_leaks": None}, TypeError),
            ({"fail_on_blocking": 1}, TypeError),
            ({"debug": "yes"}, TypeError),
        ]
        for kwargs, error in table:
            (name,) = kwargs
            for make in (aiounit.ConcurrentTestSuite, _parse):
                with (
                    self.subTest(make=make.__name__, **kwargs),
                    self.assertRaisesRegex(error, rf"^{name} must be"),
                ):
                    make(**kwargs)

    def test_an_unknown_keyword_is_a_type_error(self) -> None:
        with self.assertRaises(TypeError):
            aiounit.ConcurrentTestSuite(bogus=1)  # type: ignore[call-arg]


class TestRunSettingsInTests(unittest.TestCase):
    """Every part of a test sees the settings of the suite that runs it (design.md,
    "Run settings"), though an async test's context was copied when it was built,
    before the run set them: a suite run inside the test inherits them."""

    def test_every_part_sees_the_run_settings(self) -> None:
        seen: dict[str, float | None] = {}

        def note(test: unittest.TestCase) -> None:
            seen[test.id().rsplit(".", 2)[-2] + "." + test._testMethodName] = (
                _config.current().timeout
            )

        class Alone(aiounit.AsyncTestCase):
            async def test_async(self) -> None:
                note(self)

            def test_sync(self) -> None:
                note(self)

        @aiounit.group("g")
        class Grouped(aiounit.AsyncTestCase):
            async def test_async(self) -> None:
                note(self)

            def test_sync(self) -> None:
                note(self)

        class Stock(unittest.IsolatedAsyncioTestCase):
            async def test_async(self) -> None:
                note(self)

        loader = unittest.TestLoader()
        tests = [loader.loadTestsFromTestCase(c) for c in (Alone, Grouped, Stock)]
        result = unittest.TestResult()
        aiounit.ConcurrentTestSuite(tests, timeout=7.0).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(
            seen,
            {
                "Alone.test_async": 7.0,
                "Alone.test_sync": 7.0,
                "Grouped.test_async": 7.0,
                "Grouped.test_sync": 7.0,
                "Stock.test_async": 7.0,
            },
        )
        self.assertIsNone(_config.current().timeout)


class TestOneDefinition(unittest.TestCase):
    """What is written out for readers and type checkers agrees with _options."""

    def _keywords(self, function: object, after: str | None = None) -> list[inspect.Parameter]:
        parameters = list(inspect.signature(function).parameters.values())  # type: ignore[arg-type]
        keywords = [p for p in parameters if p.kind is p.KEYWORD_ONLY]
        if after is not None:
            keywords = keywords[[p.name for p in keywords].index(after) + 1 :]
        return keywords

    def test_suite_and_main_take_every_suite_option_keyword_only(self) -> None:
        for function, after in (
            (aiounit.ConcurrentTestSuite.__init__, None),
            (aiounit.TestProgram.__init__, "durations"),
        ):
            keywords = self._keywords(function, after)
            with self.subTest(function=function.__qualname__):
                self.assertEqual([p.name for p in keywords], [o.name for o in _options.SUITE])
                for parameter, option in zip(keywords, _options.SUITE, strict=True):
                    # None where None means "not set here", else "not given".
                    inherit = option.name in _options.INHERIT
                    self.assertIs(parameter.default, None if inherit else UNSET, option.name)
                    annotation = str(parameter.annotation).replace(" | Unset", "")
                    self.assertEqual(annotation, option.type, option.name)

    def test_config_has_a_field_per_suite_option_with_its_default(self) -> None:
        fields = dataclasses.fields(_config.Config)
        self.assertEqual([f.name for f in fields], [o.name for o in _options.SUITE])
        for field, option in zip(fields, _options.SUITE, strict=True):
            self.assertEqual(field.default, option.value, option.name)

    def test_program_attributes_default_to_the_options_values(self) -> None:
        for option in _options.OPTIONS:
            if option.where != "suite":
                with self.subTest(option=option.name):
                    self.assertEqual(getattr(_main.TestProgram, option.name), option.value)

    def test_parsed_program_holds_each_options_value(self) -> None:
        """Not given, an option's attribute is the run's default (None where that means
        "not set"); given as a keyword, that value, unless the command line says otherwise."""
        program = _parse()
        for option in _options.OPTIONS:
            with self.subTest(option=option.name):
                expected = None if option.name in _options.INHERIT else option.value
                self.assertEqual(getattr(program, option.name), expected)
        program = _parse("--grace", "3", grace=2.0, fail_on_leaks=True, timeout=5)
        # Set from _options.OPTIONS, one attribute per option: mypy knows only timeout's.
        self.assertEqual((program.grace, program.fail_on_leaks, program.timeout), (3.0, True, 5))  # type: ignore[attr-defined]

    def test_runner_options_are_runner_keywords(self) -> None:
        parameters = inspect.signature(aiounit.TextTestRunner).parameters
        for option in _options.OPTIONS:
            if option.where == "runner":
                with self.subTest(option=option.name):
                    self.assertIn(option.name, parameters)
                    self.assertEqual(parameters[option.name].default, option.value)

    def test_help_lists_every_option_with_its_text(self) -> None:
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout), self.assertRaises(SystemExit):
            aiounit.main(module=None, argv=["prog", "--help"])
        text = " ".join(stdout.getvalue().split())
        for option in _options.OPTIONS:
            with self.subTest(option=option.name):
                self.assertIn(option.usage.split(", ")[-1], text)
                self.assertIn(" ".join(option.help_text.split()), text)

    def test_docs_tables_are_rendered_from_the_options(self) -> None:
        """docs/usage.md and docs/api.md hold the tables tools/docs_options.py renders."""
        tool = _docs_tool()
        for name in tool.FILES:
            with self.subTest(file=name):
                with open(os.path.join(ROOT, name), encoding="utf-8") as file:
                    text = file.read()
                self.assertTrue(tool.tables_in(text), f"{name} has no options table")
                self.assertEqual(
                    text, tool.rendered(text), f"run python tools/docs_options.py ({name})"
                )

    def test_docs_name_no_option_the_definition_lacks(self) -> None:
        """Every `--flag` the docs mention is unittest's or one of _options'."""
        known = {flag for option in _options.OPTIONS for flag in option.flags}
        known |= {"--locals", "--durations", "--help", "--buffer", "--failfast", "--catch"}
        known |= {"--verbose", "--quiet", "--start-directory", "--pattern", "--top-level-directory"}
        # Other tools': pytest-xdist (migration.md), benchmarks/bench.py (performance.md),
        # tests/test_stdlib_drift.py (design.md).
        known |= {"--maxprocesses", "--dist", "--update"}
        known |= {"--json", "--max-asyncio-tasks", "--only", "--python", "--pythonpath", "--repeat"}
        docs = [os.path.join(ROOT, "README.md")]
        docs += [
            os.path.join(ROOT, "docs", name)
            for name in os.listdir(os.path.join(ROOT, "docs"))
            if name.endswith(".md") and name != "changelog.md"
        ]
        for path in docs:
            with open(path, encoding="utf-8") as file:
                text = file.read()
            # `python -m aiounit ... --flag` or `--flag` in backticks
            for flag in re.findall(r"`(--[a-z][a-z-]*)", text):
                with self.subTest(file=os.path.basename(path), flag=flag):
                    self.assertIn(flag, known)


if __name__ == "__main__":
    unittest.main()
