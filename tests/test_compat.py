"""Compatibility: unchanged unittest suites, foreign suite owners, sync tests in groups.

``TestCliParity`` runs the fixture project in ``tests/compat_fixtures/proj``
(plain ``TestCase``, ``IsolatedAsyncioTestCase``, ``load_tests`` in a module
and in a package ``__init__``, module and class fixtures that fail,
``unittest.mock``, doctests, a namespace package, skips, expected failures,
subtests, a module that fails to import, and modules that use aiounit's
groups and ``load_tests``) through ``python -m unittest`` and ``python -m
aiounit`` in several forms and asserts the same per-test outcomes.  That
directory has no ``__init__.py``, so this project's own discovery never
collects its deliberately failing tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import re
import subprocess
import sys
import threading
import time
import unittest
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import aiounit
from tests._engine_support import RawResult, Tracker, blocks
from tests._engine_support import make_module as _make_module
from tests._support import (
    ROOT,
    BackgroundCase,
    LoggingResult,
    child_env,
    run_tests,
    run_warm,
)

PROJECT = os.path.join(ROOT, "tests", "compat_fixtures", "proj")

_SEPARATOR1 = "=" * 70
_SEPARATOR2 = "-" * 70
_STATUS = re.compile(
    r"^(?P<desc>.*?) \.\.\. "
    r"(?P<status>ok|FAIL|ERROR|skipped .*|expected failure|unexpected success)$"
)
# "name (module.Class.name)", "name (id) (i=1)" for a subtest, "name (module)"
# for a doctest, "setUpClass (module.Class)" for a fixture.
_DESCRIPTION = re.compile(r"^\S+ \([\w.]*\)")
_HEADER = re.compile(r"^(ERROR|FAIL|UNEXPECTED SUCCESS|WARNING): (.*)$")
# A warning about a test under stock unittest, from a group the hook ran.
_HOOK_WARNING = re.compile(r"^aiounit: warning: (?P<desc>.*?\)): (?P<note>.*)$")
# The count of warnings in aiounit's summary line.
_WARNINGS_COUNT = re.compile(r", warnings=\d+(?=\))| \(warnings=\d+\)$")
# IsolatedAsyncioTestCase runs in asyncio's debug mode, which logs a step that
# took 0.1 s or more; on a loaded machine that lands inside a "... ok" line.
_SLOW_STEP = re.compile(r"Executing <[^\n]*> took \d+\.\d+ seconds\n")
# What the fixture project's tests print.  ``print`` writes its text, then the
# newline, in two calls: without -b, two members of a group printing at once
# from their threads can give "output of test_xoutput of test_z_fails\n\n".
_PRINTED = re.compile(r"output of \w+?(?=output of |\n|$)")


@dataclass
class Report:
    """What one ``-v`` run printed, order-free."""

    returncode: int
    outcomes: list[tuple[str, str]]  # (description, status), sorted
    errors: list[tuple[str, str, str]]  # (kind, description, last line), sorted
    ran: int
    summary: str  # without aiounit's count of warnings
    warnings: list[tuple[str, str]]  # (description, note) of aiounit's warnings, sorted
    stdout: list[str]  # the text of each print, sorted
    stdout_rest: str  # the rest of stdout (a newline per print), its lines sorted
    text: str

    @property
    def successful(self) -> bool:
        return not self.summary.startswith("FAILED")

    @property
    def skipped(self) -> int:
        found = re.search(r"skipped=(\d+)", self.summary)
        return int(found.group(1)) if found else 0


def parse(proc: subprocess.CompletedProcess[str]) -> Report:
    """Parse the stderr of ``python -m unittest -v`` (or aiounit) into a Report."""
    lines = _SLOW_STEP.sub("", proc.stderr).splitlines()
    outcomes = []
    previous = ""
    for line in lines:
        if line in (_SEPARATOR1, _SEPARATOR2):
            break
        found = _STATUS.match(line)
        if found:
            desc = found["desc"].removeprefix("  ")
            if not _DESCRIPTION.match(desc):
                # A docstring's first line: the description is on the line before.
                desc = previous
            outcomes.append((desc, found["status"]))
        previous = line

    # A blocked-loop warning: which test, and whether, depends on the machine's load.
    warnings = [
        (found["desc"], found["note"]) for found in map(_HOOK_WARNING.match, lines) if found
    ]
    errors = []
    ran_at = max(i for i, line in enumerate(lines) if line.startswith("Ran "))
    index = 0
    while index < ran_at:
        found = _HEADER.match(lines[index])
        if found is None:
            index += 1
            continue
        kind, desc = found.groups()
        body: list[str] = []
        index += 1
        if kind != "UNEXPECTED SUCCESS":
            # Skip to the ---- line under the header (a docstring line may come first).
            while index < ran_at and lines[index] != _SEPARATOR2:
                index += 1
            index += 1
            while index < ran_at and lines[index] not in (_SEPARATOR1, _SEPARATOR2):
                body.append(lines[index])
                index += 1
        last = next((line for line in reversed(body) if line.strip()), "")
        if kind == "WARNING":
            warnings.append((desc, last))
        else:
            errors.append((kind, desc, last))

    ran = int(re.match(r"Ran (\d+) tests?", lines[ran_at]).group(1))  # type: ignore[union-attr]
    summary = next(line for line in reversed(lines) if line.strip())
    return Report(
        returncode=proc.returncode,
        outcomes=sorted(outcomes),
        errors=sorted(errors),
        ran=ran,
        summary=_WARNINGS_COUNT.sub("", summary),
        warnings=sorted(warnings),
        stdout=sorted(_PRINTED.findall(proc.stdout)),
        stdout_rest="".join(sorted(_PRINTED.sub("", proc.stdout).splitlines(keepends=True))),
        text=proc.stderr,
    )


def _stock_fails_before_counting() -> bool:
    """Whether this Python's ``unittest.main`` exits 1, not 5, for a failure with no test run.

    python/cpython#136442 (3.14, and later 3.13 bugfix releases) checks
    ``wasSuccessful()`` before "no tests ran"; asked of the installed
    ``TestProgram.runTests`` itself, since a 3.13 patch release may have it or not.
    """

    class FailedRunner:
        def run(self, test: object) -> unittest.TestResult:
            result = unittest.TestResult()
            result.errors.append((unittest.TestCase(), "setUpClass failed"))
            return result

    program: Any = object.__new__(unittest.TestProgram)  # only what runTests reads
    program.catchbreak = False
    program.testRunner = FailedRunner()
    program.test = None
    program.exit = True
    try:
        program.runTests()
    except SystemExit as exc:
        return exc.code == 1
    raise AssertionError("TestProgram.runTests did not exit")


def stock_exit_status(report: Report) -> int:
    """The exit status of ``python -m unittest`` for this run, on this Python."""
    if not report.successful and _stock_fails_before_counting():
        return 1
    if sys.version_info >= (3, 13):
        if report.ran == 0 and report.skipped == 0:
            return 5
    elif sys.version_info >= (3, 12) and report.ran == 0:
        return 5
    return 0 if report.successful else 1


def aiounit_exit_status(report: Report) -> int:
    """The exit status API.md documents for ``python -m aiounit``, on every Python."""
    if not report.successful:
        return 1
    if report.ran == 0 and report.skipped == 0:
        return 5
    return 0


def make_module(case: unittest.TestCase, *classes: type) -> Any:
    """A fresh module holding *classes*, each named as if defined at its top level."""
    for cls in classes:
        cls.__qualname__ = cls.__name__
    return _make_module(case, *classes)


class TestParse(unittest.TestCase):
    """What ``parse`` keeps of a run: only what both runners must agree on."""

    STDERR = f"{_SEPARATOR2}\nRan 3 tests in 0.012s\n\nOK\n"

    def printed(self, stdout: str) -> tuple[list[str], str]:
        report = parse(subprocess.CompletedProcess([], 0, stdout, self.STDERR))
        return report.stdout, report.stdout_rest

    def test_concurrent_prints_interleave(self) -> None:
        """Members of a group print at once without ``-b``: a line may hold two prints.

        ``print`` writes its text and its newline in two calls, so two sync
        members printing from their threads can give ``text1text2\n\n``.
        """
        one_by_one = self.printed("output of test_x\noutput of test_z_fails\n")
        interleaved = self.printed("output of test_xoutput of test_z_fails\n\n")
        self.assertEqual(interleaved, one_by_one)
        self.assertEqual(one_by_one[0], ["output of test_x", "output of test_z_fails"])

    def test_every_print_counts(self) -> None:
        """A print lost, doubled or changed, or other output, is still a difference."""
        twice = "output of test_x\noutput of test_x\n"
        self.assertNotEqual(self.printed(twice), self.printed("output of test_x\n"))
        self.assertNotEqual(self.printed("output of test_x\n"), self.printed("output of test_y\n"))
        self.assertNotEqual(
            self.printed("output of test_x\n"),
            self.printed("output of test_x\nstray\n"),
        )
        self.assertNotEqual(self.printed("output of test_x\n"), self.printed("output of test_x"))

    def test_blocked_loop_warnings_are_kept_apart(self) -> None:
        """On a loaded machine any group member may get a blocked-loop warning.

        aiounit reports it after the errors and counts it in the summary;
        under stock unittest the hook writes it on a line of its own.
        Neither is a difference of outcome: the parse keeps them apart.
        """
        note = (
            "blocked the event loop for 0.12 s (threshold 0.1 s) at <frozen runpy>:88 in _run_code"
        )
        test = "test_x (grouped.test_groups.TestPlainGroup.test_x)"
        status = f"{test} ... ok\n"
        ours = parse(
            subprocess.CompletedProcess(
                [],
                1,
                "",
                f"{status}\n{_SEPARATOR1}\nFAIL: {test}\n{_SEPARATOR2}\nAssertionError: z\n\n"
                f"{_SEPARATOR1}\nWARNING: {test}\n{_SEPARATOR2}\n{note}\n\n"
                f"{_SEPARATOR2}\nRan 1 test in 0.012s\n\nFAILED (failures=1, warnings=1)\n",
            )
        )
        stock = parse(
            subprocess.CompletedProcess(
                [],
                1,
                "",
                f"{status}\naiounit: warning: {test}: {note}\n\n"
                f"{_SEPARATOR1}\nFAIL: {test}\n{_SEPARATOR2}\nAssertionError: z\n\n"
                f"{_SEPARATOR2}\nRan 1 test in 0.012s\n\nFAILED (failures=1)\n",
            )
        )
        for report in ours, stock:
            self.assertEqual(report.outcomes, [(test, "ok")])
            self.assertEqual(report.errors, [("FAIL", test, "AssertionError: z")])
            self.assertEqual(report.summary, "FAILED (failures=1)")
            self.assertEqual(report.warnings, [(test, note)])
        only = parse(
            subprocess.CompletedProcess(
                [],
                0,
                "",
                f"{status}\n{_SEPARATOR1}\nWARNING: {test}\n{_SEPARATOR2}\n{note}\n\n"
                f"{_SEPARATOR2}\nRan 1 test in 0.012s\n\nOK (warnings=1)\n",
            )
        )
        self.assertEqual(only.summary, "OK")


class TestCliParity(BackgroundCase):
    """``python -m aiounit`` reports what ``python -m unittest`` reports, in every form."""

    FORMS: ClassVar[dict[str, list[str]]] = {
        "bare": ["-v"],
        "discover": ["discover", "-v", "-s", "pkg", "-p", "test_*.py", "-t", "."],
        "discover_buffered": [
            *("discover", "-v", "-b"),
            *("-s", "grouped", "-p", "test_*.py", "-t", "."),
        ],
        "dotted": [
            "-v",
            "test_plain.TestPlain.test_pass",
            "test_plain.TestPlain.test_subtests",
            "test_plain.TestPlain.test_skip_decorator",
            "test_isolated.TestIsolated",
            "test_fixtures",
            "test_load_tests",
            "test_hooked",
            "nspkg.test_ns",
            os.path.join("pkg", "test_inner.py"),  # a file path, turned into a module name
            "grouped.test_groups.TestGrouped.test_a",
            "grouped.test_groups.TestGrouped.test_b_fails",
            "grouped.test_groups.TestPlainGroup",
            "compat_fixture_no_such_module",
        ],
        "k": ["-v", "-k", "fail", "-k", "*Mock*"],
        "failfast": ["-v", "-f", "test_isolated", "test_plain"],
        # Not bare: -k does not filter import failures, doctests or runTest.
        "k_nothing": ["-v", "-k", "compat_matches_nothing", "test_plain", "test_isolated"],
        "fixture_only": ["-v", "test_fixtures.TestClassSetUpFails"],
    }
    reports: ClassVar[dict[tuple[str, str], Report]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # Each run would be an interpreter that mostly starts up: forks of a warm one.
        env = child_env()
        runs = {
            (runner, form): (PROJECT, ("-m", runner, *args), env)
            for form, args in cls.FORMS.items()
            for runner in ("unittest", "aiounit")
        }
        return functools.partial(run_warm, runs)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.reports = {key: parse(done) for key, done in cls.background_runs.items()}

    def assert_same(self, form: str) -> tuple[Report, Report]:
        stock, ours = self.reports["unittest", form], self.reports["aiounit", form]
        context = f"\n--- unittest:\n{stock.text}\n--- aiounit:\n{ours.text}"
        self.assertEqual(ours.outcomes, stock.outcomes, context)
        duplicates = [d for d, n in Counter(d for d, _ in ours.outcomes).items() if n > 1]
        self.assertEqual(duplicates, [], "a test was reported twice")
        self.assertEqual(ours.errors, stock.errors, context)
        self.assertEqual(ours.ran, stock.ran, context)
        self.assertEqual(ours.stdout, stock.stdout, context)
        self.assertEqual(ours.stdout_rest, stock.stdout_rest, context)
        for _, note in ours.warnings + stock.warnings:
            # The only warning a loaded machine may bring; any other is a difference.
            self.assertRegex(note, r"^blocked the event loop for \d", context)
        self.assertEqual(stock.returncode, stock_exit_status(stock), context)
        self.assertEqual(ours.returncode, aiounit_exit_status(ours), context)
        if ours.ran or not ours.successful:
            # Where the contracts agree: 3.11's unittest says "OK" and exits 0
            # when no test ran; aiounit says "NO TESTS RAN" and exits 5.
            self.assertEqual(ours.summary, stock.summary, context)
        if ours.ran:
            self.assertEqual(ours.returncode, stock.returncode, context)
        return stock, ours

    def test_bare_discover(self) -> None:
        """With no arguments both discover and report the whole project the same way."""
        _, ours = self.assert_same("bare")
        self.assertEqual(ours.returncode, 1)
        descriptions = {d for d, _ in ours.outcomes}
        # A sample of every kind of fixture was found and run.
        for expected in (
            "test_pass (test_plain.TestPlain.test_pass)",
            "test_subtests (test_plain.TestPlain.test_subtests) (i=2)",
            "test_enter_async_context (test_isolated.TestIsolated.test_enter_async_context)",
            "setUpClass (test_fixtures.TestClassSetUpFails)",
            "setUpModule (test_module_fixture_fails)",
            "broken (doctested)",
            "test_async_mock (test_mock.TestAsyncMock.test_async_mock)",
            "test_inner_pass (pkg.test_inner.TestInner.test_inner_pass)",
            "test_deep (pkg.sub.test_deep.TestDeep.test_deep)",
            "test_broken_import (unittest.loader._FailedTest.test_broken_import)",
            "test_one (test_hooked.TestHooked.test_one)",
            "test_sync_member (grouped.test_groups.TestGrouped.test_sync_member)",
            "test_x (grouped.test_groups.TestPlainGroup.test_x)",
        ):
            with self.subTest(test=expected):
                self.assertIn(expected, descriptions)
        self.assertNotIn("test_dropped (test_load_tests.TestChosen.test_dropped)", descriptions)
        # Since 3.11, discovery does not enter namespace packages.
        self.assertFalse(any("nspkg" in d for d in descriptions))

    def test_discover_with_start_pattern_and_top(self) -> None:
        """``discover -s pkg -p -t``: a package ``load_tests`` that discovers its subpackages."""
        _, ours = self.assert_same("discover")
        self.assertEqual(
            ours.outcomes,
            [
                ("test_deep (pkg.sub.test_deep.TestDeep.test_deep)", "ok"),
                ("test_inner_fail (pkg.test_inner.TestInner.test_inner_fail)", "FAIL"),
                ("test_inner_pass (pkg.test_inner.TestInner.test_inner_pass)", "ok"),
            ],
        )

    def test_discover_buffered_package_with_the_hook(self) -> None:
        """``-b`` on a package with ``from aiounit import load_tests``: output on its test."""
        _, ours = self.assert_same("discover_buffered")
        # -b: a failing test's output is shown (also on stdout), a passing one's dropped.
        self.assertIn("output of test_b_fails", ours.stdout)
        self.assertNotIn("output of test_a", ours.stdout)
        self.assertNotIn("output of test_x", ours.stdout)
        for test_id in ("TestGrouped.test_b_fails", "TestPlainGroup.test_z_fails"):
            method = test_id.split(".")[1]
            desc = f"{method} (grouped.test_groups.{test_id})"
            self.assertIn(("FAIL", desc, f"output of {method}"), ours.errors)

    def test_dotted_names(self) -> None:
        """Methods, classes, modules, a namespace package module, a file path, a missing module."""
        _, ours = self.assert_same("dotted")
        descriptions = {d for d, _ in ours.outcomes}
        self.assertIn("test_ns_fail (nspkg.test_ns.TestNamespace.test_ns_fail)", descriptions)
        self.assertIn("test_inner_fail (pkg.test_inner.TestInner.test_inner_fail)", descriptions)
        missing = "compat_fixture_no_such_module"
        self.assertIn(f"{missing} (unittest.loader._FailedTest.{missing})", descriptions)
        self.assertNotIn("test_alone (grouped.test_groups.TestGrouped.test_alone)", descriptions)

    def test_k_patterns(self) -> None:
        """``-k`` substrings and fnmatch patterns select the same tests."""
        _, ours = self.assert_same("k")
        descriptions = {d for d, _ in ours.outcomes}
        self.assertIn("test_fail (test_plain.TestPlain.test_fail)", descriptions)
        self.assertIn("test_patch_object (test_mock.TestMock.test_patch_object)", descriptions)
        self.assertNotIn("test_pass (test_plain.TestPlain.test_pass)", descriptions)

    def test_failfast(self) -> None:
        """``-f`` stops both at the same first failure."""
        _, ours = self.assert_same("failfast")
        self.assertEqual(len([e for e in ours.errors if e[0] != "UNEXPECTED SUCCESS"]), 1)
        self.assertTrue(ours.summary.startswith("FAILED"))

    def test_k_matching_nothing(self) -> None:
        """No test selected: aiounit exits 5 on every Python (3.11's unittest exits 0)."""
        stock, ours = self.assert_same("k_nothing")
        self.assertEqual(ours.ran, 0)
        self.assertEqual(ours.returncode, 5)
        self.assertEqual(ours.summary, "NO TESTS RAN")
        self.assertEqual(stock.returncode, 0 if sys.version_info < (3, 12) else 5)

    def test_only_a_class_fixture_fails(self) -> None:
        """Only setUpClass ran, and failed: aiounit exits 1, as unittest 3.14 does.

        unittest 3.12 and 3.13.0 exit 5 there (fixed by python/cpython#136442).
        """
        stock, ours = self.assert_same("fixture_only")
        self.assertEqual(ours.ran, 0)
        self.assertEqual(
            ours.errors,
            [
                (
                    "ERROR",
                    "setUpClass (test_fixtures.TestClassSetUpFails)",
                    "RuntimeError: setUpClass failed",
                )
            ],
        )
        self.assertEqual(ours.returncode, 1)
        fixed = sys.version_info < (3, 12) or sys.version_info >= (3, 14)
        if sys.version_info[:2] == (3, 13):
            fixed = _stock_fails_before_counting()
        self.assertEqual(stock.returncode, 1 if fixed else 5)


# -- AsyncTestCase when something else owns the suite ---------------------------------


class VSCodeLikeResult(unittest.TextTestResult):
    """What VS Code's unittest adapter does: a TextTestResult subclass that records
    each outcome by test id (subtests by their own id) as it is reported."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.formatted: dict[str, str] = {}
        self.events: list[tuple[str, str]] = []

    def startTest(self, test: Any) -> None:
        self.events.append(("startTest", test.id()))
        super().startTest(test)

    def stopTest(self, test: Any) -> None:
        self.events.append(("stopTest", test.id()))
        super().stopTest(test)

    def _format(self, test: Any, outcome: str, subtest: Any = None) -> None:
        self.formatted[(subtest or test).id()] = outcome
        self.events.append((outcome, test.id()))

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self._format(test, "success")

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._format(test, "failure")

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._format(test, "error")

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._format(test, "skipped")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        self._format(test, "subtest-failure" if err else "subtest-success", subtest)


def _ide_module(case: unittest.TestCase, tracker: Tracker, *, hook: bool) -> Any:
    """A module of grouped AsyncTestCase tests, as a user would write them."""

    class Case(aiounit.AsyncTestCase):
        @aiounit.group("g", timeout=1)
        async def test_a(self) -> None:
            """Test a's summary."""
            with tracker.track("test_a"):
                await asyncio.sleep(0)

        @aiounit.group("g", timeout=1)
        async def test_b(self) -> None:
            with tracker.track("test_b"):
                await asyncio.sleep(0)
                self.fail("b")

        @aiounit.group("g", timeout=0.05)
        async def test_hangs(self) -> None:
            with tracker.track("test_hangs"):
                await asyncio.Event().wait()

        @aiounit.group("g", timeout=1)
        async def test_subtests(self) -> None:
            with tracker.track("test_subtests"):
                for i in range(2):
                    with self.subTest(i=i):
                        await asyncio.sleep(0)
                        self.assertEqual(i, 0)

        @aiounit.group("g", timeout=1)
        def test_sync(self) -> None:
            with tracker.track("test_sync"):
                time.sleep(0.001)

    module = make_module(case, Case)
    if hook:
        module.load_tests = aiounit.load_tests
    return module


def _leaves(suite: Any) -> list[Any]:
    if isinstance(suite, unittest.TestCase):
        return [suite]
    return [leaf for test in suite for leaf in _leaves(test)]


class TestForeignSuiteOwners(unittest.TestCase):
    """aiounit.AsyncTestCase run by suites and runners that are not aiounit's."""

    def check_one_by_one(self, result: VSCodeLikeResult, tracker: Tracker, module: Any) -> None:
        name = module.__name__
        self.assertEqual(
            result.formatted,
            {
                f"{name}.Case.test_a": "success",
                f"{name}.Case.test_b": "failure",
                f"{name}.Case.test_hangs": "error",
                f"{name}.Case.test_subtests (i=0)": "subtest-success",
                f"{name}.Case.test_subtests (i=1)": "subtest-failure",
                f"{name}.Case.test_sync": "success",
            },
        )
        self.assertEqual(tracker.overlaps, set(), "tests ran at the same time")
        # Every test: startTest, its outcomes, stopTest, and nothing of another test.
        started = [e for e in result.events if e[0] == "startTest"]
        self.assertEqual(len(started), 5)
        current = None
        for kind, test_id in result.events:
            if kind == "startTest":
                self.assertIsNone(current)
                current = test_id
            else:
                self.assertEqual(test_id, current)
                if kind == "stopTest":
                    current = None
        (_, text), *_ = [e for e in result.errors if e[0].id().endswith("test_hangs")]
        self.assertIn("TestTimeoutError", text)
        self.assertIn("within 0.05 s", text)

    def test_vscode_runs_selected_ids_one_by_one(self) -> None:
        """VS Code's way (loadTestsFromNames of ids, own result class): one by one, with limits."""
        tracker = Tracker()
        module = _ide_module(self, tracker, hook=True)
        ids = [
            f"{module.__name__}.Case.{m}"
            for m in ("test_a", "test_b", "test_hangs", "test_subtests", "test_sync")
        ]
        suite = unittest.TestLoader().loadTestsFromNames(ids)
        runner = unittest.TextTestRunner(
            stream=io.StringIO(), resultclass=VSCodeLikeResult, verbosity=2
        )
        result = runner.run(suite)
        assert isinstance(result, VSCodeLikeResult)
        self.check_one_by_one(result, tracker, module)
        self.assertEqual(result.testsRun, 5)

    def test_rebuilt_plain_suite_runs_one_by_one(self) -> None:
        """A discovered ConcurrentTestSuite rebuilt into a plain TestSuite runs one by one."""
        tracker = Tracker()
        module = _ide_module(self, tracker, hook=True)
        discovered = unittest.TestLoader().loadTestsFromModule(module)
        self.assertIsInstance(discovered, aiounit.ConcurrentTestSuite)
        rebuilt = unittest.TestSuite(_leaves(discovered))
        runner = unittest.TextTestRunner(
            stream=io.StringIO(), resultclass=VSCodeLikeResult, verbosity=2
        )
        result = runner.run(rebuilt)
        assert isinstance(result, VSCodeLikeResult)
        self.check_one_by_one(result, tracker, module)

    def test_unittest_main_with_the_hook_runs_the_group_concurrently(self) -> None:
        """unittest.main(module=...) keeps load_tests' suite: the group's members meet."""
        a_started, b_started = asyncio.Event(), asyncio.Event()

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g", timeout=1)
            async def test_a(self) -> None:
                a_started.set()
                await b_started.wait()

            @aiounit.group("g", timeout=1)
            async def test_b(self) -> None:
                b_started.set()
                await a_started.wait()

        module = make_module(self, Case)
        module.load_tests = aiounit.load_tests
        stream = io.StringIO()
        program = unittest.main(
            module=module,
            argv=["prog"],
            exit=False,
            testRunner=unittest.TextTestRunner(stream=stream, verbosity=2),
        )
        self.assertTrue(program.result.wasSuccessful(), stream.getvalue())
        self.assertEqual(program.result.testsRun, 2)
        self.assertIn(f"test_a ({module.__name__}.Case.test_a) ... ok\n", stream.getvalue())

    def test_unittest_main_selecting_some_members(self) -> None:
        """unittest.main with names runs only those members, one by one, each within its limit."""
        tracker = Tracker()
        module = _ide_module(self, tracker, hook=True)
        stream = io.StringIO()
        program = unittest.main(
            module=module,
            argv=["prog", "Case.test_a", "Case.test_hangs"],
            exit=False,
            testRunner=unittest.TextTestRunner(stream=stream, verbosity=2),
        )
        result = program.result
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([t.id().rsplit(".", 1)[1] for t, _ in result.errors], ["test_hangs"])
        self.assertEqual(tracker.overlaps, set())
        self.assertEqual(
            {name for _, name in tracker.log}, {"test_a", "test_hangs"}, "unselected tests ran"
        )

    def test_aiounit_loader_selecting_some_members_groups_them(self) -> None:
        """Under aiounit, the selected members of a group still run together; the rest do not."""
        started = {name: asyncio.Event() for name in ("a", "b", "c")}

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g", timeout=1)
            async def test_a(self) -> None:
                started["a"].set()
                await started["c"].wait()

            @aiounit.group("g", timeout=1)
            async def test_b(self) -> None:
                started["b"].set()

            @aiounit.group("g", timeout=1)
            async def test_c(self) -> None:
                started["c"].set()
                await started["a"].wait()

        module = make_module(self, Case)
        name = module.__name__
        names = [f"{name}.Case.test_a", f"{name}.Case.test_c"]
        suite = aiounit.TestLoader().loadTestsFromNames(names)
        result = LoggingResult()
        aiounit.ConcurrentTestSuite([suite]).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.testsRun, 2)
        self.assertFalse(started["b"].is_set())
        blocks(result.events)

    def test_debug_runs_a_grouped_member_like_the_stdlib(self) -> None:
        """debug() on a grouped member runs its whole lifecycle and lets errors out."""
        log: list[str] = []

        class Case(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                log.append("setUp")
                self.addAsyncCleanup(self.cleanup)

            async def asyncSetUp(self) -> None:
                log.append("asyncSetUp")

            @aiounit.group("g", timeout=1)
            async def test_ok(self) -> None:
                log.append("test")

            @aiounit.group("g", timeout=1)
            async def test_fails(self) -> None:
                raise LookupError("debug me")

            async def asyncTearDown(self) -> None:
                log.append("asyncTearDown")

            def tearDown(self) -> None:
                log.append("tearDown")

            async def cleanup(self) -> None:
                log.append("cleanup")

        unittest.TestSuite([Case("test_ok")]).debug()
        self.assertEqual(
            log, ["setUp", "asyncSetUp", "test", "asyncTearDown", "tearDown", "cleanup"]
        )
        test = Case("test_fails")
        self.addCleanup(test._tearDownAsyncioRunner)
        with self.assertRaises(LookupError):
            test.debug()

    def test_ids_names_descriptions_and_counts_are_unittests(self) -> None:
        """ids, _testMethodName, str(), shortDescription(), countTestCases() are unittest's."""
        tracker = Tracker()
        module = _ide_module(self, tracker, hook=True)
        name = module.__name__
        ours = aiounit.TestLoader().loadTestsFromModule(module)
        stock = unittest.TestLoader().loadTestsFromTestCase(module.Case)
        self.assertEqual([t.id() for t in _leaves(ours)], [t.id() for t in _leaves(stock)])
        self.assertEqual(ours.countTestCases(), 5)
        self.assertEqual(unittest.TestSuite([ours]).countTestCases(), 5)
        test = next(t for t in _leaves(ours) if t._testMethodName == "test_a")
        self.assertEqual(test.id(), f"{name}.Case.test_a")
        self.assertEqual(str(test), f"test_a ({name}.Case.test_a)")
        self.assertEqual(repr(test), f"<{name}.Case testMethod=test_a>")
        self.assertEqual(test.shortDescription(), "Test a's summary.")
        self.assertEqual(test.countTestCases(), 1)
        other = next(t for t in _leaves(ours) if t._testMethodName == "test_b")
        self.assertIsNone(other.shortDescription())
        self.assertEqual(test, module.Case("test_a"))
        self.assertEqual(hash(test), hash(module.Case("test_a")))


# -- sync tests in groups -----------------------------------------------------------


def _poll(flag: threading.Event, deadline: float = 2.0) -> bool:
    """Wait for *flag* the way sync system tests do: sleep, look again."""
    end = time.monotonic() + deadline
    while not flag.is_set():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


class TestSyncTestsInGroups(unittest.TestCase):
    """Sync tests in a group run on worker threads, with the usual guarantees.

    tests/test_scheduler.py covers the basics (overlap, plain TestCase reports,
    timeouts of one member); these add polling tests, lifecycle, -b capture and
    what happens after a thread is given up on.
    """

    def test_polling_sync_methods_of_an_async_case_overlap(self) -> None:
        """Two sync tests that poll with time.sleep for each other's flag pass together."""
        a_set, b_set = threading.Event(), threading.Event()

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("poll", timeout=5)
            def test_a(self) -> None:
                a_set.set()
                self.assertTrue(_poll(b_set))

            @aiounit.group("poll", timeout=5)
            def test_b(self) -> None:
                b_set.set()
                self.assertTrue(_poll(a_set))

        result = run_tests(Case)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.failures)

    def test_polling_plain_test_case_overlaps(self) -> None:
        """A plain unittest.TestCase marked @group: its polling tests pass together."""
        a_set, b_set = threading.Event(), threading.Event()

        @aiounit.group(timeout=5)
        class Case(unittest.TestCase):
            def test_a(self) -> None:
                a_set.set()
                self.assertTrue(_poll(b_set))

            def test_b(self) -> None:
                b_set.set()
                self.assertTrue(_poll(a_set))

        result = run_tests(Case)
        self.assertEqual(result.testsRun, 2)
        self.assertTrue(result.wasSuccessful(), result.failures)

    def test_sync_member_lifecycle(self) -> None:
        """A sync member: setups on the loop, the method on a thread, then the rest on the loop."""
        loop_thread = threading.get_ident()
        log: list[tuple[str, bool]] = []

        def note(step: str) -> None:
            log.append((step, threading.get_ident() == loop_thread))

        class Case(aiounit.AsyncTestCase):
            def setUp(self) -> None:
                note("setUp")
                self.addCleanup(note, "cleanup from setUp")

            async def asyncSetUp(self) -> None:
                note("asyncSetUp")

            @aiounit.group("g", timeout=5)
            def test_sync(self) -> None:
                note("test")
                self.addCleanup(note, "cleanup from test")

            async def asyncTearDown(self) -> None:
                note("asyncTearDown")

            def tearDown(self) -> None:
                note("tearDown")

        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            log,
            [
                ("setUp", True),
                ("asyncSetUp", True),
                ("test", False),
                ("asyncTearDown", True),
                ("tearDown", True),
                ("cleanup from test", True),
                ("cleanup from setUp", True),
            ],
        )

    def test_plain_test_case_fixtures_run_once_around_the_group(self) -> None:
        """A grouped plain TestCase: class fixtures and class cleanups run once around the group."""
        log: list[str] = []
        lock = threading.Lock()

        def note(step: str) -> None:
            with lock:
                log.append(step)

        @aiounit.group(timeout=5)
        class Case(unittest.TestCase):
            @classmethod
            def setUpClass(cls) -> None:
                note("setUpClass")
                cls.addClassCleanup(note, "classCleanup")

            @classmethod
            def tearDownClass(cls) -> None:
                note("tearDownClass")

            def setUp(self) -> None:
                self.addCleanup(note, f"cleanup {self._testMethodName}")

            def test_a(self) -> None:
                note("test_a")

            def test_b(self) -> None:
                note("test_b")

        result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(log[0], "setUpClass")
        self.assertEqual(log[-2:], ["tearDownClass", "classCleanup"])
        self.assertCountEqual(log[1:-2], ["test_a", "test_b", "cleanup test_a", "cleanup test_b"])
        for name in ("test_a", "test_b"):
            self.assertLess(log.index(name), log.index(f"cleanup {name}"))

    def test_buffer_captures_each_sync_member_on_its_own(self) -> None:
        """With -b, what each sync member prints on its thread shows with its own failure only."""
        a_set, b_set, c_set = threading.Event(), threading.Event(), threading.Event()

        class Async(aiounit.AsyncTestCase):
            @aiounit.group("out", timeout=5)
            def test_async_case_sync(self) -> None:
                print("printed by test_async_case_sync")
                a_set.set()
                self.assertTrue(_poll(b_set) and _poll(c_set))
                self.fail("async case sync member fails")

        @aiounit.group("out", timeout=5)
        class Plain(unittest.TestCase):
            def test_plain_fails(self) -> None:
                print("printed by test_plain_fails")
                b_set.set()
                self.assertTrue(_poll(a_set) and _poll(c_set))
                self.fail("plain member fails")

            def test_plain_passes(self) -> None:
                print("printed by test_plain_passes")
                c_set.set()
                self.assertTrue(_poll(a_set) and _poll(b_set))

        module = make_module(self, Async, Plain)
        suite = aiounit.TestLoader().loadTestsFromModule(module)
        stream, mirrored = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(mirrored):
            result = aiounit.TextTestRunner(stream=stream, buffer=True, verbosity=2).run(suite)
            self.assertIs(sys.stdout, mirrored)
        self.assertEqual(result.testsRun, 3)
        failures = {test._testMethodName: text for test, text in result.failures}
        self.assertEqual(set(failures), {"test_async_case_sync", "test_plain_fails"})
        self.assertIn("printed by test_async_case_sync", failures["test_async_case_sync"])
        self.assertNotIn("printed by test_plain", failures["test_async_case_sync"])
        self.assertIn("printed by test_plain_fails", failures["test_plain_fails"])
        self.assertNotIn("printed by test_async", failures["test_plain_fails"])
        self.assertNotIn("printed by test_plain_passes", stream.getvalue())
        self.assertNotIn("printed by test_plain_passes", mirrored.getvalue())

    def test_given_up_thread_is_reported_and_the_run_goes_on(self) -> None:
        """A hung sync member times out, later tests run, its thread's late reports are dropped."""
        release = threading.Event()
        self.addCleanup(release.set)
        after: list[str] = []

        @aiounit.group(timeout=0.05)
        class Hung(unittest.TestCase):
            def test_hangs(self) -> None:
                release.wait(5)
                after.append("thread went on")
                print("late output")
                self.fail("late failure")

            @aiounit.timeout(30)  # only test_hangs times out, however loaded the machine
            def test_peer(self) -> None:
                pass

        class Later(unittest.TestCase):
            def test_later(self) -> None:
                after.append("later test ran")

        module = make_module(self, Hung, Later)
        result = RawResult()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            # A short grace: the timed-out thread holds its slot until it ends
            # or the grace runs out, and it ends only when released below.
            suite = aiounit.ConcurrentTestSuite(
                aiounit.TestLoader().loadTestsFromModule(module), grace=0.1
            )
            suite.run(result)
            self.assertEqual(after, ["later test ran"])
            release.set()
            for thread in threading.enumerate():
                if thread.name.endswith(f"{module.__name__}.Hung.test_hangs"):
                    thread.join(5)
        self.assertEqual(after, ["later test ran", "thread went on"])
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([name for name, _ in result.raw], ["test_hangs"])
        self.assertIsInstance(result.raw[0][1], aiounit.TestTimeoutError)
        self.assertEqual(result.failures, [])
        blocks(result.events)


if __name__ == "__main__":
    unittest.main()
