"""Tests for ``--coverage`` (workers included) and ``coverage run -m aiounit``.

They run the real ``coverage`` package (a test-only dependency; ``.ci/run``
installs it) and are skipped when it is not installed, except the one that
checks the error aiounit gives without it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import textwrap
import unittest
from collections.abc import Callable
from typing import Any, ClassVar

from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_python,
    run_warm,
)

HAVE_COVERAGE = importlib.util.find_spec("coverage") is not None

_FILES = {
    # 6 statements; the tests run 4 of them.
    "calc.py": """
        def add(a, b):
            total = a + b
            return total


        def unused(x):
            y = x * 2
            return y
    """,
    # 4 statements; only compute's body, called by a test, runs the last 3.
    "worker_only.py": """
        def compute():
            a = 1
            b = 2
            return a + b
    """,
    "test_calc.py": """
        import unittest

        import calc


        class TestCalc(unittest.TestCase):
            def test_add(self):
                self.assertEqual(calc.add(1, 2), 3)
    """,
    "test_worker_only.py": """
        import unittest

        import worker_only


        class TestWorkerOnly(unittest.TestCase):
            def test_compute(self):
                self.assertEqual(worker_only.compute(), 3)
    """,
}
_CALC_LINE = re.compile(r"^calc\.py +6 +2 +67%$", re.MULTILINE)
_WORKER_ONLY_LINE = re.compile(r"^worker_only\.py +4 +0 +100%$", re.MULTILINE)


def _project(directory: str) -> str:
    """*directory*, where _FILES are written."""
    for name, source in _FILES.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source).lstrip())
    return directory


@unittest.skipUnless(HAVE_COVERAGE, "needs the coverage package (pip install coverage)")
class TestCoverageOption(BackgroundCase):
    """``python -m aiounit --coverage``."""

    # Each in a project of its own, made in the background lane.
    RUNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "report": ("-m", "aiounit", "--coverage"),
        "workers": ("-m", "aiounit", "--coverage", "-j", "2"),
        "coverage run": ("-m", "coverage", "run", "-m", "aiounit"),
    }
    dirs: ClassVar[dict[str, str]] = {}
    runs: ClassVar[dict[str, subprocess.CompletedProcess[str]]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if not HAVE_COVERAGE:
            return None
        cls.dirs = {name: _project(background_directory()) for name in cls.RUNS}
        env = child_env()
        jobs = {name: (cls.dirs[name], args, env) for name, args in cls.RUNS.items()}
        return functools.partial(run_warm, jobs)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.runs = cls.background_runs

    def test_report_with_percentages(self) -> None:
        """--coverage prints a report with statements, misses and percentages per module."""
        proc = self.runs["report"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("\nOK\n", proc.stderr)
        self.assertRegex(proc.stdout, r"(?m)^Name +Stmts +Miss +Cover$")
        self.assertRegex(proc.stdout, _CALC_LINE)
        self.assertRegex(proc.stdout, _WORKER_ONLY_LINE)
        self.assertRegex(proc.stdout, r"(?m)^TOTAL +\d+ +\d+ +\d+%$")

    def test_lines_run_in_workers_are_counted(self) -> None:
        """With -j 2 the report counts the lines that only ran in worker processes."""
        proc = self.runs["workers"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)
        self.assertRegex(proc.stdout, _CALC_LINE)
        self.assertRegex(proc.stdout, _WORKER_ONLY_LINE)

    def test_coverage_run_module(self) -> None:
        """`coverage run -m aiounit` runs the tests and records the lines they ran."""
        import coverage

        proc, directory = self.runs["coverage run"], self.dirs["coverage run"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)
        data = coverage.CoverageData(basename=os.path.join(directory, ".coverage"))
        data.read()
        lines = {
            os.path.basename(path): sorted(data.lines(path) or [])
            for path in data.measured_files()
            if os.path.dirname(os.path.realpath(path)) == os.path.realpath(directory)
        }
        self.assertEqual(lines["calc.py"], [1, 2, 3, 6])
        self.assertEqual(lines["worker_only.py"], [1, 2, 3, 4])


class TestCoverageMissing(BackgroundCase):
    """--coverage where the coverage package cannot be imported."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # A fresh interpreter (a fake ``coverage`` first on its PYTHONPATH), in the lane.
        directory = _project(background_directory())
        fake = os.path.join(directory, "no_coverage")
        os.mkdir(fake)
        with open(os.path.join(fake, "coverage.py"), "w", encoding="utf-8") as f:
            f.write("raise ImportError(\"No module named 'coverage'\")\n")
        return functools.partial(
            run_python, "-m", "aiounit", "--coverage", cwd=directory, env=child_env(fake)
        )

    def test_clear_error_and_exit_2(self) -> None:
        """Without coverage, --coverage is one clear error naming the package, exit 2."""
        proc = self.background_runs
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(
            proc.stderr,
            "error: --coverage needs the coverage package;"
            " install it with: pip install 'aiounit[coverage]'\n",
        )
        self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    unittest.main()
