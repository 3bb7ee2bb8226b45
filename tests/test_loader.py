"""Tests for aiounit.TestLoader and the ``load_tests`` hook."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import sys
import tempfile
import textwrap
import types
import unittest
import uuid
from collections.abc import Callable
from typing import Any

import aiounit

from ._support import (
    BackgroundCase,
    LoggingResult,
    background_directory,
    child_env,
    run_warm,
    tests_of,
    write_files,
)

# A module whose two grouped tests can only pass if they run at the same time;
# the timeout turns "not concurrent" into a quick failure instead of a hang.
_PAIR_MODULE = """
    import asyncio
    import unittest

    import aiounit
    {hook}

    a_started, b_started = asyncio.Event(), asyncio.Event()


    class {name}(aiounit.AsyncTestCase):
        @aiounit.group("pair", timeout=2)
        async def test_a(self):
            a_started.set()
            await b_started.wait()

        @aiounit.group("pair", timeout=2)
        async def test_b(self):
            b_started.set()
            await a_started.wait()

        def test_plain(self):
            pass
"""


def _pair_class(timeout: float = 1.0) -> type:
    """An AsyncTestCase whose grouped test_a and test_b pass only if they overlap."""
    a_started, b_started = asyncio.Event(), asyncio.Event()

    class Pair(aiounit.AsyncTestCase):
        @aiounit.group("pair", timeout=timeout)
        async def test_a(self) -> None:
            a_started.set()
            await b_started.wait()

        @aiounit.group("pair", timeout=timeout)
        async def test_b(self) -> None:
            b_started.set()
            await a_started.wait()

        def test_plain(self) -> None:
            pass

    return Pair


def _module_of(*classes: type, hook: bool = False) -> types.ModuleType:
    """A module object holding *classes*, with ``load_tests`` imported if *hook*."""
    module = types.ModuleType(f"aiounit_loader_probe_{uuid.uuid4().hex}")
    for cls in classes:
        setattr(module, cls.__name__, cls)
    if hook:
        # A module made at run time: mypy knows none of its attributes.
        module.load_tests = aiounit.load_tests  # type: ignore[attr-defined]
    return module


def _ids(suite: unittest.TestSuite) -> list[str]:
    """The ids of the tests in *suite*, flattened, in order."""
    ids = []
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            ids.extend(_ids(test))
        else:
            ids.append(test.id())
    return ids


def _names(suite: unittest.TestSuite) -> list[str]:
    """The method names of the tests of *suite*, which holds only TestCases."""
    names = []
    for test in suite:
        assert isinstance(test, unittest.TestCase), test
        names.append(test._testMethodName)
    return names


def _suites(suite: unittest.TestSuite) -> list[unittest.TestSuite]:
    """*suite* and every suite nested in it."""
    found = [suite]
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            found.extend(_suites(test))
    return found


class TestTestLoader(unittest.TestCase):
    """aiounit.TestLoader loads like unittest's, into ConcurrentTestSuites."""

    def test_load_tests_from_test_case(self) -> None:
        """loadTestsFromTestCase returns a ConcurrentTestSuite of the class's tests."""
        Pair = _pair_class()
        suite = aiounit.TestLoader().loadTestsFromTestCase(Pair)
        self.assertIsInstance(suite, aiounit.ConcurrentTestSuite)
        self.assertEqual(_names(suite), ["test_a", "test_b", "test_plain"])

    def test_load_tests_from_module(self) -> None:
        """loadTestsFromModule builds ConcurrentTestSuites all the way down."""
        module = _module_of(_pair_class())
        suite = aiounit.TestLoader().loadTestsFromModule(module)
        self.assertEqual(suite.countTestCases(), 3)
        for inner in _suites(suite):
            with self.subTest(suite=inner):
                self.assertIsInstance(inner, aiounit.ConcurrentTestSuite)

    def test_load_tests_from_name(self) -> None:
        """loadTestsFromName resolves Class and Class.method relative to a module."""
        module = _module_of(_pair_class())
        loader = aiounit.TestLoader()
        table = [
            ("Pair", ["test_a", "test_b", "test_plain"]),
            ("Pair.test_b", ["test_b"]),
        ]
        for name, expected in table:
            with self.subTest(name=name):
                suite = loader.loadTestsFromName(name, module)
                self.assertIsInstance(suite, aiounit.ConcurrentTestSuite)
                self.assertEqual([i.rsplit(".", 1)[1] for i in _ids(suite)], expected)

    def test_load_tests_from_names(self) -> None:
        """loadTestsFromNames returns one ConcurrentTestSuite of all the names' tests."""
        module = _module_of(_pair_class())
        suite = aiounit.TestLoader().loadTestsFromNames(["Pair.test_plain", "Pair.test_a"], module)
        self.assertIsInstance(suite, aiounit.ConcurrentTestSuite)
        self.assertEqual([i.rsplit(".", 1)[1] for i in _ids(suite)], ["test_plain", "test_a"])

    def test_load_tests_from_dotted_name_imports_it(self) -> None:
        """A fully dotted name is imported, as unittest does."""
        name = f"{__name__}.TestTestLoader.test_load_tests_from_test_case"
        suite = aiounit.TestLoader().loadTestsFromName(name)
        self.assertEqual(_ids(suite), [name])

    def test_test_name_patterns_still_filter(self) -> None:
        """testNamePatterns (-k) keep only the matching tests."""
        loader = aiounit.TestLoader()
        loader.testNamePatterns = ["*_b", "*plain*"]
        suite = loader.loadTestsFromTestCase(_pair_class())
        self.assertEqual(_names(suite), ["test_b", "test_plain"])

    def test_loaded_group_runs_concurrently_under_stdlib_runner(self) -> None:
        """What the loader builds runs its groups concurrently, even in unittest's runner."""
        suite = aiounit.TestLoader().loadTestsFromModule(_module_of(_pair_class()))
        result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
        self.assertEqual(result.testsRun, 3)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)

    def test_discover(self) -> None:
        """discover() finds test modules in a directory and builds ConcurrentTestSuites."""
        name = f"test_aiounit_probe_{uuid.uuid4().hex}"
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, f"{name}.py"), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(_PAIR_MODULE.format(hook="", name="Discovered")))
            with open(os.path.join(tmp, "not_a_test.py"), "w", encoding="utf-8") as f:
                f.write("raise ImportError('must not be imported')\n")
            saved_path = sys.path[:]
            try:
                suite = aiounit.TestLoader().discover(start_dir=tmp, top_level_dir=tmp)
                result = LoggingResult()
                suite.run(result)
            finally:
                sys.path[:] = saved_path
                sys.modules.pop(name, None)
        self.assertIsInstance(suite, aiounit.ConcurrentTestSuite)
        self.assertEqual(sorted(tests_of(result.events)), ["test_a", "test_b", "test_plain"])
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)


class TestLoadTestsHook(unittest.TestCase):
    """``from aiounit import load_tests`` makes any unittest loader run groups concurrently."""

    def test_stdlib_loader_gets_a_concurrent_suite(self) -> None:
        """unittest's loader returns a ConcurrentTestSuite for a module with the hook."""
        module = _module_of(_pair_class(), hook=True)
        suite = unittest.TestLoader().loadTestsFromModule(module)
        self.assertIsInstance(suite, aiounit.ConcurrentTestSuite)
        self.assertEqual(suite.countTestCases(), 3)

    def test_stdlib_loader_and_runner_run_the_group_concurrently(self) -> None:
        """With the hook, unittest's loader and runner run the group's tests together."""
        module = _module_of(_pair_class(), hook=True)
        suite = unittest.TestLoader().loadTestsFromModule(module)
        result = LoggingResult()
        suite.run(result)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(sorted(tests_of(result.events)), ["test_a", "test_b", "test_plain"])

    def test_without_the_hook_the_stdlib_runs_tests_one_at_a_time(self) -> None:
        """Without the hook, unittest's loader builds a plain suite: the pair times out."""
        module = _module_of(_pair_class(timeout=0.05))
        suite = unittest.TestLoader().loadTestsFromModule(module)
        self.assertNotIsInstance(suite, aiounit.ConcurrentTestSuite)
        result = LoggingResult()
        # An AsyncTestCase run alone still honours its timeout, so this ends.
        suite.run(result)
        self.assertEqual([t._testMethodName for t, _ in result.errors], ["test_a"])

    def test_aiounit_loader_with_the_hook_reports_each_test_once(self) -> None:
        """The hook does not double the tests when the loader is aiounit's own."""
        module = _module_of(_pair_class(), hook=True)
        suite = aiounit.TestLoader().loadTestsFromModule(module)
        result = LoggingResult()
        suite.run(result)
        self.assertEqual(sorted(tests_of(result.events)), ["test_a", "test_b", "test_plain"])
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)

    def test_name_patterns_apply_through_the_hook(self) -> None:
        """testNamePatterns (-k) still filter a module that uses the hook."""
        module = _module_of(_pair_class(), hook=True)
        loader = unittest.TestLoader()
        loader.testNamePatterns = ["*plain*"]
        suite = loader.loadTestsFromModule(module)
        self.assertEqual([i.rsplit(".", 1)[1] for i in _ids(suite)], ["test_plain"])


class TestStockUnittestCli(BackgroundCase):
    """Stock ``python -m unittest`` picks the hook up from a module or a package."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # Each test's run, in a directory of its own, made in the background lane.
        projects: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
            "module": (
                {
                    "test_pair.py": _PAIR_MODULE.format(
                        hook="from aiounit import load_tests", name="TestPair"
                    )
                },
                ("-v", "test_pair"),
            ),
            "package": (
                {
                    "pkg/__init__.py": "from aiounit import load_tests  # noqa: F401\n",
                    "pkg/test_inner.py": _PAIR_MODULE.format(hook="", name="TestInner"),
                    "pkg/test_other.py": """
                        import unittest

                        class TestOther(unittest.TestCase):
                            def test_other(self):
                                pass
                        """,
                },
                ("discover", "-v"),
            ),
        }
        env = child_env()
        jobs = {}
        for name, (files, args) in projects.items():
            directory = background_directory()
            write_files(directory, files)
            jobs[name] = (directory, ("-m", "unittest", *args), env)
        return functools.partial(run_warm, jobs)

    def assertRanOnce(self, output: str, ids: list[str]) -> None:
        for test_id in ids:
            with self.subTest(test=test_id):
                method = test_id.rsplit(".", 1)[1]
                self.assertEqual(output.count(f"{method} ({test_id}) ... ok\n"), 1, output)

    def test_module_hook_runs_groups_concurrently(self) -> None:
        """``python -m unittest mod`` runs the group of a module with the hook concurrently."""
        proc = self.background_runs["module"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("\nRan 3 tests in ", proc.stderr)
        self.assertRanOnce(
            proc.stderr,
            [f"test_pair.TestPair.{name}" for name in ("test_a", "test_b", "test_plain")],
        )

    def test_package_hook_runs_groups_concurrently_in_discover(self) -> None:
        """A package __init__ with the hook makes ``discover`` run its groups concurrently."""
        proc = self.background_runs["package"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("\nRan 4 tests in ", proc.stderr)
        self.assertRanOnce(
            proc.stderr,
            [
                "pkg.test_inner.TestInner.test_a",
                "pkg.test_inner.TestInner.test_b",
                "pkg.test_inner.TestInner.test_plain",
                "pkg.test_other.TestOther.test_other",
            ],
        )


if __name__ == "__main__":
    unittest.main()
