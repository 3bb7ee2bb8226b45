"""Tests for ``--shard I/N``, ``--durations-file`` and ``--record-durations``."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import types
import unittest
from typing import Any

import aiounit
from aiounit._shard import select_shard
from tests._engine_support import fake_module
from tests._support import AheadCase, ahead


class _OwnRun(unittest.TestSuite):
    """A suite with a run() of its own: the scheduler must keep it whole."""

    def run(self, result: Any, debug: bool = False) -> Any:  # pragma: no cover - never run here
        return super().run(result, debug)


def _generated_modules() -> dict[str, dict[str, list[tuple[str, str | None]]]]:
    """module -> class -> [(test name, group name or None)], the same on every call."""
    rng = random.Random(20240611)
    modules: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for m in range(3):
        classes: dict[str, list[tuple[str, str | None]]] = {}
        for c in range(2):
            tests = []
            for t in range(rng.randint(3, 9)):
                # "shared" spans both classes of a module: one group per module.
                group = rng.choice([None, None, "shared", f"g{c}", f"h{c}"])
                tests.append((f"test_{t:02d}", group))
            classes[f"Class{c}"] = tests
        modules[f"aiounit_shard_mod{m}"] = classes
    return modules


def _build_suite(case: unittest.TestCase) -> unittest.TestSuite:
    """A fresh suite of fresh tests (as a new CI machine would load it)."""
    loader = unittest.TestLoader()
    top = []
    for module_name, classes in _generated_modules().items():
        module = fake_module(module_name)
        sys.modules[module_name] = module
        case.addCleanup(sys.modules.pop, module_name, None)
        for class_name, tests in classes.items():
            namespace: dict[str, Any] = {}
            for test_name, group in tests:

                async def method(self: Any) -> None:
                    pass

                method.__name__ = test_name
                namespace[test_name] = aiounit.group(group)(method) if group else method
            cls = type(class_name, (aiounit.AsyncTestCase,), namespace)
            cls.__module__ = module_name
            setattr(module, class_name, cls)
            top.append(loader.loadTestsFromTestCase(cls))

    class Custom(unittest.TestCase):
        def test_x(self) -> None:
            pass

        def test_y(self) -> None:
            pass

        def test_z(self) -> None:
            pass

    top.append(_OwnRun([Custom(name) for name in ("test_x", "test_y", "test_z")]))
    return aiounit.ConcurrentTestSuite(top)


def _expected_units() -> list[set[str]]:
    """The sets of test ids that must stay together, from how the suite was made."""
    units: dict[Any, set[str]] = {}
    for module_name, classes in _generated_modules().items():
        for class_name, tests in classes.items():
            for test_name, group in tests:
                test_id = f"{module_name}.{class_name}.{test_name}"
                key = (module_name, group) if group else test_id
                units.setdefault(key, set()).add(test_id)
    prefix = f"{__name__}._build_suite.<locals>.Custom"
    units["custom"] = {f"{prefix}.{name}" for name in ("test_x", "test_y", "test_z")}
    return list(units.values())


def _ids(tests: Any) -> list[str]:
    """Test ids in *tests*, suites flattened, in order."""
    found: list[str] = []
    for test in tests:
        if isinstance(test, unittest.TestSuite):
            found += _ids(test)
        else:
            found.append(test.id())
    return found


def _durations() -> dict[str, float]:
    rng = random.Random(7)
    ids = sorted(i for unit in _expected_units() for i in unit)
    return {i: rng.choice([0.1, 0.5, 1.0, 3.0, 12.0]) for i in ids}


class TestSelectShard(unittest.TestCase):
    """select_shard over generated groups, lone tests, classes, modules and a custom suite."""

    def shards(self, count: int, durations: dict[str, float] | None = None) -> list[list[str]]:
        suite = _build_suite(self)
        shards = range(1, count + 1)
        return [_ids(select_shard(suite, i, count, durations=durations)) for i in shards]

    def test_union_is_every_test_once(self) -> None:
        """For N = 1..5 the shards together hold every test exactly once."""
        everything = sorted(i for unit in _expected_units() for i in unit)
        for count in range(1, 6):
            for durations in (None, _durations()):
                with self.subTest(count=count, durations=bool(durations)):
                    shards = self.shards(count, durations)
                    self.assertEqual(sorted(i for shard in shards for i in shard), everything)

    def test_groups_are_never_split(self) -> None:
        """A group (and a suite with its own run) lies wholly in one shard."""
        for count in range(2, 6):
            shards = [set(s) for s in self.shards(count)]
            for unit in _expected_units():
                with self.subTest(count=count, unit=sorted(unit)[0]):
                    self.assertEqual(sum(bool(unit & shard) for shard in shards), 1)

    def test_split_is_deterministic(self) -> None:
        """Two loads of the same tests split the same way."""
        for count in range(1, 6):
            with self.subTest(count=count):
                self.assertEqual(self.shards(count), self.shards(count))
                self.assertEqual(self.shards(count, _durations()), self.shards(count, _durations()))

    def test_shard_keeps_the_loaders_order(self) -> None:
        """A shard's tests come in the order of the whole suite."""
        whole = _ids(_build_suite(self))
        for count in range(1, 6):
            for shard in self.shards(count):
                with self.subTest(count=count):
                    self.assertEqual(shard, [i for i in whole if i in set(shard)])

    def test_balanced_by_count(self) -> None:
        """Shards differ in test count by at most the largest unit's size."""
        largest = max(len(unit) for unit in _expected_units())
        for count in range(1, 6):
            with self.subTest(count=count):
                sizes = [len(shard) for shard in self.shards(count)]
                self.assertLessEqual(max(sizes) - min(sizes), largest, sizes)

    def test_balanced_by_recorded_seconds(self) -> None:
        """With durations, shards differ in seconds by at most the heaviest unit's.

        A group's members run together: it weighs its longest member.
        """
        durations = _durations()
        units = _expected_units()
        custom = units[-1]

        def weight(unit: set[str]) -> float:
            seconds = [durations[i] for i in unit]
            return sum(seconds) if unit is custom or len(unit) == 1 else max(seconds)

        heaviest = max(weight(unit) for unit in units)
        for count in range(1, 6):
            with self.subTest(count=count):
                loads = []
                for shard in self.shards(count, durations):
                    ids = set(shard)
                    loads.append(sum(weight(u) for u in units if u & ids))
                self.assertLessEqual(max(loads) - min(loads), heaviest, loads)

    def test_durations_change_the_split(self) -> None:
        """One slow test gets a shard of its own; by count it would share one."""
        suite_ids = _ids(_build_suite(self))
        lone = [i for unit in _expected_units() if len(unit) == 1 for i in unit]
        slow = sorted(lone)[0]
        durations = dict.fromkeys(suite_ids, 1.0)
        durations[slow] = 1000.0
        by_seconds = self.shards(2, durations)
        self.assertEqual(by_seconds[0], [slow])
        self.assertNotEqual(self.shards(2), by_seconds)

    def test_tests_missing_from_durations_still_run_once(self) -> None:
        """Tests the durations file does not know are still dealt out, once each."""
        known = dict(list(_durations().items())[::3])
        everything = sorted(i for unit in _expected_units() for i in unit)
        for count in range(1, 6):
            with self.subTest(count=count):
                shards = self.shards(count, known)
                self.assertEqual(sorted(i for s in shards for i in s), everything)


_SHARD_MODULE = """
    import unittest

    import aiounit


    class TestOne(aiounit.AsyncTestCase):
        @aiounit.group("net")
        async def test_a(self):
            pass

        @aiounit.group("net")
        async def test_b(self):
            pass

        async def test_c(self):
            pass


    class TestTwo(unittest.TestCase):
        def test_d(self):
            pass

        def test_e(self):
            pass

        def test_slow(self):
            pass
"""
_ALL = {f"test_mod.TestOne.{n}" for n in ("test_a", "test_b", "test_c")} | {
    f"test_mod.TestTwo.{n}" for n in ("test_d", "test_e", "test_slow")
}
_VERBOSE_LINE = re.compile(r"^\w+ \(([\w.]+)\) \.\.\. ok$", re.MULTILINE)


_DURATIONS = dict.fromkeys(_ALL, 1.0) | {"test_mod.TestTwo.test_slow": 60.0}
_HELD = {"elsewhere.Test.test_kept": 2.5, "test_mod.TestTwo.test_d": 99.0}


class TestShardCli(AheadCase):
    """``python -m aiounit --shard I/N`` in a temp dir of generated test files."""

    def ran(self, proc: subprocess.CompletedProcess[str]) -> list[str]:
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return _VERBOSE_LINE.findall(proc.stderr)

    @ahead(
        *("-m", "aiounit", "-v", "--shard", "1/2"),
        more=[("-m", "aiounit", "-v", "--shard", "2/2")],
        files={"test_mod.py": _SHARD_MODULE},
    )
    def test_shards_cover_every_test_once(
        self,
        first_run: subprocess.CompletedProcess[str],
        second_run: subprocess.CompletedProcess[str],
    ) -> None:
        """--shard 1/2 and 2/2 run every discovered test once between them, the group together."""
        first, second = self.ran(first_run), self.ran(second_run)
        self.assertEqual(sorted(first + second), sorted(_ALL))
        group = {"test_mod.TestOne.test_a", "test_mod.TestOne.test_b"}
        self.assertTrue(group <= set(first) or group <= set(second), (first, second))

    @ahead(
        *("-m", "aiounit", "-v", "--shard", "1/2", "--durations-file", "durations.json"),
        files={"test_mod.py": _SHARD_MODULE, "durations.json": json.dumps(_DURATIONS)},
    )
    def test_durations_file_balances_by_seconds(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """With a handwritten --durations-file the slow test gets a shard to itself."""
        self.assertEqual(self.ran(proc), ["test_mod.TestTwo.test_slow"])

    @ahead(
        *("-m", "aiounit", "--record-durations", "durations.json"),
        files={"test_mod.py": _SHARD_MODULE, "durations.json": json.dumps(_HELD)},
    )
    def test_record_durations_merges_every_test_id(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--record-durations writes each test id's seconds, merged into what the file held."""
        self.assertEqual(proc.returncode, 0, proc.stderr)
        path = os.path.join(self.directory_ahead(), "durations.json")
        with open(path, encoding="utf-8") as f:
            recorded = json.load(f)
        self.assertEqual(sorted(recorded), sorted(_ALL | {"elsewhere.Test.test_kept"}))
        self.assertEqual(recorded["elsewhere.Test.test_kept"], 2.5)
        self.assertLess(recorded["test_mod.TestTwo.test_d"], 99.0)
        for test in _ALL:
            self.assertGreaterEqual(recorded[test], 0.0)

    @ahead(
        *("-m", "aiounit", "--record-durations", "new/d.json"),
        files={"test_mod.py": _SHARD_MODULE},
    )
    def test_record_durations_creates_its_directory(
        self, proc: subprocess.CompletedProcess[str]
    ) -> None:
        """--record-durations into a new directory writes the file, as --junit-xml does."""
        self.assertNotIn("Traceback", proc.stderr)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(self.directory_ahead(), "new", "d.json"), encoding="utf-8") as f:
            self.assertEqual(sorted(json.load(f)), sorted(_ALL))

    @ahead("-m", "aiounit", "--shard", "0/3", files={"test_mod.py": _SHARD_MODULE})
    def test_bad_shard_is_a_usage_error(self, proc: subprocess.CompletedProcess[str]) -> None:
        """--shard 0/3 exits 2 with one argparse error that states the rule."""
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(
            "error: argument --shard: --shard must be I/N with 1 <= I <= N, got '0/3'", proc.stderr
        )
        self.assertNotIn("Traceback", proc.stderr)


class TestShardArguments(unittest.TestCase):
    """Bad --shard and --durations-file values, through aiounit.main."""

    def main(self, *args: str) -> tuple[str | int | None, str]:
        module = types.ModuleType("aiounit_shard_empty")
        stderr = io.StringIO()
        with (
            contextlib.redirect_stderr(stderr),
            contextlib.redirect_stdout(io.StringIO()),
            self.assertRaises(SystemExit) as caught,
        ):
            aiounit.main(module=module, argv=["prog", *args])
        return caught.exception.code, stderr.getvalue()

    def test_bad_shard_values_exit_2(self) -> None:
        """0/3, 4/3, x, 1/0, 3, 1/3/4, signs, spaces and non-ASCII digits: one clear usage error."""
        values: tuple[str, ...] = ("0/3", "4/3", "x", "1/0", "3", "1/3/4", "-1/3")
        values += (" 1/3", "1/3 ", "+1/3", "1/+3", "1_0/20", "\u0661/3", "1/\uff13", "1/3\n")
        for value in values:
            with self.subTest(value):
                code, stderr = self.main(f"--shard={value}")
                self.assertEqual(code, 2)
                self.assertIn(f"--shard must be I/N with 1 <= I <= N, got {value!r}", stderr)

    def test_unreadable_durations_file_exits_2(self) -> None:
        """A durations file that is not a JSON object is a usage error naming the option."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("[1, 2]")
        self.addCleanup(os.unlink, f.name)
        code, stderr = self.main("--shard", "1/2", "--durations-file", f.name)
        self.assertEqual(code, 2)
        self.assertIn("error: --durations-file:", stderr)
        self.assertIn("expected a JSON object", stderr)


if __name__ == "__main__":
    unittest.main()
