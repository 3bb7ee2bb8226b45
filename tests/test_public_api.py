"""Tests for aiounit's public surface: names, classes, imports, dependencies."""

from __future__ import annotations

import configparser
import functools
import os
import unittest
from collections.abc import Callable
from typing import Any

import aiounit
from tests._support import BackgroundCase, child_env, run_parallel, run_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PUBLIC_NAMES = (
    "AsyncTestCase",
    "ConcurrencyHazardError",
    "ConcurrentTestSuite",
    "LeakedTaskError",
    "LoopBlockedError",
    "TestLoader",
    "TestProgram",
    "TestTimeoutError",
    "TextTestResult",
    "TextTestRunner",
    "WorkerCrashedError",
    "__version__",
    "addAsyncModuleCleanup",
    "defaultTestLoader",
    "enterAsyncModuleContext",
    "group",
    "isolated",
    "load_tests",
    "lock",
    "main",
    "timeout",
)

PUBLIC_CLASSES = (
    "WorkerCrashedError",
    "ConcurrencyHazardError",
    "AsyncTestCase",
    "ConcurrentTestSuite",
    "LeakedTaskError",
    "LoopBlockedError",
    "TestLoader",
    "TestProgram",
    "TestTimeoutError",
    "TextTestResult",
    "TextTestRunner",
)


class TestAll(unittest.TestCase):
    """``aiounit.__all__`` is the complete, exact list of public names."""

    def test_all_is_a_tuple(self) -> None:
        """__all__ is a tuple, so nobody can append to it by accident."""
        self.assertIsInstance(aiounit.__all__, tuple)

    def test_all_lists_exactly_the_public_names(self) -> None:
        """__all__ holds exactly the documented public names."""
        self.assertEqual(sorted(aiounit.__all__), sorted(PUBLIC_NAMES))

    def test_all_has_no_duplicates(self) -> None:
        """Every public name is listed once."""
        self.assertEqual(len(set(aiounit.__all__)), len(aiounit.__all__))

    def test_every_listed_name_exists(self) -> None:
        """Each name in __all__ is an attribute of the package."""
        for name in aiounit.__all__:
            with self.subTest(name=name):
                self.assertTrue(hasattr(aiounit, name))

    def test_star_import_gives_the_public_names(self) -> None:
        """``from aiounit import *`` binds exactly the names of __all__."""
        namespace: dict[str, object] = {}
        exec("from aiounit import *", namespace)
        namespace.pop("__builtins__", None)
        self.assertEqual(sorted(namespace), sorted(PUBLIC_NAMES))

    def test_version_is_a_dotted_string(self) -> None:
        """__version__ is a str such as '0.1.0'."""
        self.assertIsInstance(aiounit.__version__, str)
        self.assertRegex(aiounit.__version__, r"^\d+\.\d+(\.\d+)?")


class TestPublicClasses(unittest.TestCase):
    """The public classes and what they build on."""

    def test_public_classes_report_the_package_as_their_module(self) -> None:
        """Every public class has __module__ == 'aiounit', so reprs show aiounit.X."""
        for name in PUBLIC_CLASSES:
            with self.subTest(name=name):
                self.assertEqual(getattr(aiounit, name).__module__, "aiounit")

    def test_public_functions_report_the_package_as_their_module(self) -> None:
        """group, timeout and load_tests also report __module__ == 'aiounit'."""
        for name in ("group", "timeout", "load_tests"):
            with self.subTest(name=name):
                self.assertEqual(getattr(aiounit, name).__module__, "aiounit")

    def test_async_test_case_is_an_isolated_asyncio_test_case(self) -> None:
        """AsyncTestCase subclasses unittest.IsolatedAsyncioTestCase."""
        self.assertTrue(issubclass(aiounit.AsyncTestCase, unittest.IsolatedAsyncioTestCase))

    def test_drop_ins_subclass_their_unittest_namesakes(self) -> None:
        """Runner, result, loader, suite and program subclass unittest's classes."""
        table = [
            (aiounit.TextTestRunner, unittest.TextTestRunner),
            (aiounit.TextTestResult, unittest.TextTestResult),
            (aiounit.TestLoader, unittest.TestLoader),
            (aiounit.ConcurrentTestSuite, unittest.TestSuite),
            (aiounit.TestProgram, unittest.TestProgram),
        ]
        for ours, theirs in table:
            with self.subTest(ours=ours.__name__):
                self.assertTrue(issubclass(ours, theirs))

    def test_timeout_error_is_a_timeout_error(self) -> None:
        """TestTimeoutError subclasses the builtin TimeoutError that callers catch."""
        self.assertTrue(issubclass(aiounit.TestTimeoutError, TimeoutError))

    def test_default_test_loader_is_an_aiounit_loader(self) -> None:
        """defaultTestLoader is an aiounit.TestLoader instance."""
        self.assertIsInstance(aiounit.defaultTestLoader, aiounit.TestLoader)

    def test_runner_uses_aiounit_result_by_default(self) -> None:
        """TextTestRunner's default resultclass is aiounit.TextTestResult."""
        self.assertIs(aiounit.TextTestRunner.resultclass, aiounit.TextTestResult)

    def test_loader_builds_concurrent_suites(self) -> None:
        """TestLoader's suiteClass is ConcurrentTestSuite."""
        self.assertIs(aiounit.TestLoader.suiteClass, aiounit.ConcurrentTestSuite)


# What each TestImportCost test prints from a fresh interpreter (run in the
# background lane): the code after ``import sys`` and the checkout on the path.
_IMPORT_PROBES = {
    # The bare ``concurrent.futures`` package is imported by asyncio itself;
    # its executors (``.thread``, ``.process``) are lazy and must stay so.
    "test_import_does_not_pull_in_heavy_modules": (
        "import aiounit\n"
        "heavy = ('concurrent.futures.thread', 'concurrent.futures.process',"
        " 'multiprocessing', 'xml')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    ),
    "test_import_adds_only_its_own_modules": (
        "import asyncio, unittest, unittest.async_case\n"
        "before = set(sys.modules)\n"
        "import aiounit\n"
        "extra = set(sys.modules) - before - {'__future__'} - set(sys.builtin_module_names)\n"
        "print(sorted(m for m in extra if m.partition('.')[0] != 'aiounit'))\n"
    ),
    "test_package_modules_import_only_the_stdlib": (
        "import aiounit\n"
        "tops = {m.partition('.')[0] for m in sys.modules}\n"
        "print(sorted(t for t in tops if t not in sys.stdlib_module_names"
        " and t not in ('aiounit', '__main__') and not t.startswith('_')))\n"
    ),
}


class TestImportCost(BackgroundCase):
    """Importing aiounit is cheap and needs nothing outside the stdlib."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # -I -S: no site-packages, no .pth hooks, no PYTHON* variables, so every
        # module in sys.modules was imported by the code itself.  Fresh
        # interpreters, not warm forks: what they import is what is measured.
        prelude = f"import sys; sys.path.insert(0, {ROOT!r})\n"
        env = child_env()
        runs = {
            test: functools.partial(run_python, "-I", "-S", "-c", prelude + code, cwd=ROOT, env=env)
            for test, code in _IMPORT_PROBES.items()
        }
        return functools.partial(run_parallel, runs)

    def _fresh_interpreter(self) -> str:
        """What this test's code printed in a fresh interpreter."""
        proc = self.background_runs[self._testMethodName]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return str(proc.stdout)

    def test_import_does_not_pull_in_heavy_modules(self) -> None:
        """``import aiounit`` imports no thread or process pool, multiprocessing or XML code."""
        self.assertEqual(self._fresh_interpreter(), "[]\n")

    def test_import_adds_only_its_own_modules(self) -> None:
        """Beyond what asyncio and unittest load, ``import aiounit`` loads only its own modules.

        Modules built into the interpreter (``gc``) cost nothing to import and are not counted.
        """
        self.assertEqual(self._fresh_interpreter(), "[]\n")

    def test_package_has_no_runtime_dependency(self) -> None:
        """setup.cfg declares no install_requires: aiounit is stdlib only."""
        config = configparser.ConfigParser()
        config.read(os.path.join(ROOT, "setup.cfg"), encoding="utf-8")
        self.assertTrue(config.has_section("options"))
        self.assertFalse(config.has_option("options", "install_requires"))

    def test_package_modules_import_only_the_stdlib(self) -> None:
        """Every module ``import aiounit`` loads is aiounit's own or the stdlib's."""
        self.assertEqual(self._fresh_interpreter(), "[]\n")


if __name__ == "__main__":
    unittest.main()
