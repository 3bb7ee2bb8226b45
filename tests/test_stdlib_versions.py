"""aiounit follows what each Python's unittest does where it changed in 3.14 and 3.15.

- 3.14 with ``-X context_aware_warnings`` (the default of free-threaded builds):
  ``catch_warnings`` is local to the context, so each member's own stdlib
  ``assertWarns`` is already safe, and a member's own ``catch_warnings``
  filters must come back as they were after its ``assertWarns``.
- 3.15: ``assertWarns`` catches every warning in its block, and shows again the
  ones that did not match after it (3.15's ``_AssertWarnsContext``),
  and ``assertLogs`` takes a ``formatter``; ``doModuleCleanups`` raises every
  failed cleanup (an ExceptionGroup), each reported as an error.
- 3.14: the warning about a test method that returned a value names the type.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import textwrap
import unittest
import warnings

import aiounit
from tests._engine_support import make_module, run_stdlib, summary
from tests._support import LoggingResult, run_python, run_tests, suite_of

AIOUNIT = ["-m", "aiounit", "-v", "test_warns"]

_CONTEXT_AWARE_MODULE = """
    import asyncio
    import unittest
    import warnings

    import aiounit

    _BEFORE = list(warnings.filters)
    a_in, b_in = asyncio.Event(), asyncio.Event()


    def tearDownModule():
        assert warnings.filters == _BEFORE, "warnings.filters changed by the group"


    class TestWarns(aiounit.AsyncTestCase):
        @aiounit.group("g")
        async def test_a(self):
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)
                with self.assertWarns(DeprecationWarning) as cm:
                    a_in.set()
                    await b_in.wait()
                    warnings.warn("a", DeprecationWarning)
                self.assertEqual([str(w.message) for w in cm.warnings], ["a"])
                # The block's own "error" filter is back in force.
                with self.assertRaises(DeprecationWarning):
                    warnings.warn("after", DeprecationWarning)

        @aiounit.group("g")
        async def test_b(self):
            with self.assertWarns(UserWarning) as cm:
                b_in.set()
                await a_in.wait()
                warnings.warn("b", UserWarning)
            self.assertEqual([str(w.message) for w in cm.warnings], ["b"])
"""


@unittest.skipUnless(
    getattr(sys.flags, "context_aware_warnings", None) is not None,
    "context-aware warnings are 3.14+",
)
class TestContextAwareWarnings(unittest.TestCase):
    def test_members_filters_and_captures_stay_their_own(self) -> None:
        """Under -X context_aware_warnings: two members in assertWarns at once, one
        inside its own catch_warnings; each catches its own, filters come back."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        with open(os.path.join(tmp.name, "test_warns.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(_CONTEXT_AWARE_MODULE))
        proc = run_python("-X", "context_aware_warnings=1", *AIOUNIT, cwd=tmp.name)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ran 2 tests", proc.stderr)


@unittest.skipUnless(sys.version_info >= (3, 15), "3.15's assertWarns and assertLogs")
class TestUnittest315(unittest.TestCase):
    def test_assert_warns_catches_all_and_shows_the_others_after(self) -> None:
        """A warning of another category does not stop the block; it is shown at its end
        (here raised, by an "error" filter), alone as in a group, as unittest 3.15 does."""
        events: list[tuple[str, str]] = []

        class Case(aiounit.AsyncTestCase):
            async def check(self, me: str) -> None:
                with self.assertRaises(UserWarning), self.assertWarns(DeprecationWarning):
                    warnings.warn("other", UserWarning, stacklevel=1)
                    events.append((me, "went on"))
                    await asyncio.sleep(0)
                    warnings.warn("expected", DeprecationWarning, stacklevel=1)
                events.append((me, "after"))

            @aiounit.group("g")
            async def test_a(self) -> None:
                await self.check("a")

            @aiounit.group("g")
            async def test_b(self) -> None:
                await self.check("b")

        # Concurrent catch_warnings in members cannot be safe (one process-wide
        # filter list): the "error" filter is the run's, as -W error would be.
        stock = LoggingResult()
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            unittest.IsolatedAsyncioTestCase.run(Case("test_a"), stock)
        self.assertTrue(stock.wasSuccessful(), stock.errors)
        self.assertEqual(events, [("a", "went on"), ("a", "after")])
        events.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            result = run_tests(Case)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            sorted(events), [("a", "after"), ("a", "went on"), ("b", "after"), ("b", "went on")]
        )

    def test_assert_logs_formatter(self) -> None:
        """assertLogs(formatter=...) formats the records of a grouped test too."""
        outputs: list[list[str]] = []

        class Case(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                formatter = logging.Formatter("%(levelname)s|%(message)s")
                with self.assertLogs("aiounit.test.formatter", formatter=formatter) as cm:  # type: ignore[call-arg]
                    await asyncio.sleep(0)
                    logging.getLogger("aiounit.test.formatter").warning("hello")
                outputs.append(cm.output)

            @aiounit.group("g")
            async def test_b(self) -> None:
                await asyncio.sleep(0)

        result = LoggingResult()
        suite_of(Case).run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(outputs, [["WARNING|hello"]])


class TestModuleCleanups(unittest.TestCase):
    def test_every_failed_module_cleanup_is_reported_as_unittest_does(self) -> None:
        """Two failing module cleanups: 3.15 reports both, earlier Pythons the last
        registered (run first); a module of groups reports what the stdlib reports."""

        def make() -> type:
            class Case(aiounit.AsyncTestCase):
                @aiounit.group("g")
                async def test_a(self) -> None:
                    pass

                @aiounit.group("g")
                async def test_b(self) -> None:
                    pass

            return Case

        def fail(what: str) -> None:
            raise RuntimeError(what)

        def set_up_module() -> None:
            unittest.addModuleCleanup(fail, "first")
            unittest.addModuleCleanup(fail, "second")

        module = make_module(self, make())
        module.setUpModule = set_up_module  # type: ignore[attr-defined]
        stock, ours = (summary(run(module.Case)) for run in (run_stdlib, run_tests))
        self.assertEqual(ours, stock)
        expected = 2 if sys.version_info >= (3, 15) else 1
        self.assertEqual(len(stock["errors"]), expected, stock)

    def test_failed_async_module_setup_reports_every_failed_cleanup(self) -> None:
        """asyncSetUpModule fails and two module cleanups fail: as many errors as
        unittest gives for a failing setUpModule with the same cleanups."""

        def fail(what: str) -> None:
            raise RuntimeError(what)

        def make() -> type:
            class Case(aiounit.AsyncTestCase):
                @aiounit.group("g")
                async def test_a(self) -> None:
                    pass

            return Case

        def add_cleanups() -> None:
            unittest.addModuleCleanup(fail, "first")
            unittest.addModuleCleanup(fail, "second")

        def set_up_module() -> None:
            add_cleanups()
            raise OSError("setUpModule failed")

        async def async_set_up_module() -> None:
            raise OSError("asyncSetUpModule failed")

        stock_module = make_module(self, make())
        stock_module.setUpModule = set_up_module  # type: ignore[attr-defined]
        stock = run_stdlib(stock_module.Case)
        ours_module = make_module(self, make())
        ours_module.setUpModule = add_cleanups  # type: ignore[attr-defined]
        ours_module.asyncSetUpModule = async_set_up_module  # type: ignore[attr-defined]
        ours = run_tests(ours_module.Case)
        self.assertEqual(len(stock.errors), 3 if sys.version_info >= (3, 15) else 2)
        self.assertEqual(len(ours.errors), len(stock.errors), ours.errors)
        stock_lines = [tb.strip().splitlines()[-1] for _, tb in stock.errors]
        self.assertEqual(
            sorted(tb.strip().splitlines()[-1] for _, tb in ours.errors),
            sorted(line.replace(" setUpModule", " asyncSetUpModule") for line in stock_lines),
        )


class TestReturnedValue(unittest.TestCase):
    def test_deprecation_names_the_returned_type(self) -> None:
        """A test method that returns a value: 3.14+ says which type, as the stdlib does."""

        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> int:
                return 1

            @aiounit.group("g")
            async def test_b(self) -> int:
                return 1

            @aiounit.group("g")
            async def test_c(self) -> None:
                pass

        messages = {}
        for name, run in (("stock", unittest.IsolatedAsyncioTestCase.run), ("ours", None)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if run is not None:
                    run(Case("test_a"), LoggingResult())
                else:
                    run_tests(Case)
            messages[name] = [str(w.message) for w in caught if w.category is DeprecationWarning]
        self.assertEqual(len(messages["stock"]), 1, messages)
        self.assertEqual(len(messages["ours"]), 2, messages)  # alone and in a group
        named = sys.version_info >= (3, 14)
        for message in messages["stock"] + messages["ours"]:
            self.assertIn("It is deprecated to return a value that is not None", message)
            self.assertEqual("returned 'int'" in message, named, message)


if __name__ == "__main__":
    unittest.main()
