"""Tests for ``--coverage`` (workers included) and ``coverage run -m aiounit``.

They run the real ``coverage`` package (a test-only dependency; ``.ci/run``
installs it) and are skipped when it is not installed, except the one that
checks the error aiounit gives without it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def _child_env(*extra_path: str) -> dict[str, str]:
    env = dict(os.environ)
    parts = [*extra_path, ROOT]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


class _CoverageCase(unittest.TestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        for name, source in _FILES.items():
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(source).lstrip())

    def run_python(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-W", "error", *args],
            cwd=self.dir,
            env=env or _child_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@unittest.skipUnless(HAVE_COVERAGE, "needs the coverage package (pip install coverage)")
class TestCoverageOption(_CoverageCase):
    """``python -m aiounit --coverage``."""

    def test_report_with_percentages(self) -> None:
        """--coverage prints a report with statements, misses and percentages per module."""
        proc = self.run_python("-m", "aiounit", "--coverage")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("\nOK\n", proc.stderr)
        self.assertRegex(proc.stdout, r"(?m)^Name +Stmts +Miss +Cover$")
        self.assertRegex(proc.stdout, _CALC_LINE)
        self.assertRegex(proc.stdout, _WORKER_ONLY_LINE)
        self.assertRegex(proc.stdout, r"(?m)^TOTAL +\d+ +\d+ +\d+%$")

    def test_lines_run_in_workers_are_counted(self) -> None:
        """With -j 2 the report counts the lines that only ran in worker processes."""
        proc = self.run_python("-m", "aiounit", "--coverage", "-j", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)
        self.assertRegex(proc.stdout, _CALC_LINE)
        self.assertRegex(proc.stdout, _WORKER_ONLY_LINE)

    def test_coverage_run_module(self) -> None:
        """`coverage run -m aiounit` runs the tests and records the lines they ran."""
        import coverage

        proc = self.run_python("-m", "coverage", "run", "-m", "aiounit")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)
        data = coverage.CoverageData(basename=os.path.join(self.dir, ".coverage"))
        data.read()
        lines = {
            os.path.basename(path): sorted(data.lines(path) or [])
            for path in data.measured_files()
            if os.path.dirname(os.path.realpath(path)) == os.path.realpath(self.dir)
        }
        self.assertEqual(lines["calc.py"], [1, 2, 3, 6])
        self.assertEqual(lines["worker_only.py"], [1, 2, 3, 4])


class TestCoverageMissing(_CoverageCase):
    """--coverage where the coverage package cannot be imported."""

    def test_clear_error_and_exit_2(self) -> None:
        """Without coverage, --coverage is one clear error naming the package, exit 2."""
        fake = os.path.join(self.dir, "no_coverage")
        os.mkdir(fake)
        with open(os.path.join(fake, "coverage.py"), "w", encoding="utf-8") as f:
            f.write("raise ImportError(\"No module named 'coverage'\")\n")
        proc = self.run_python("-m", "aiounit", "--coverage", env=_child_env(fake))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(
            proc.stderr,
            "error: --coverage needs the coverage package;"
            " install it with: pip install 'aiounit[coverage]'\n",
        )
        self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    unittest.main()
