"""Tests for the tools of ``benchmarks/``: what they write, not what they measure.

No timing is checked here: benchmarks are not tests.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import json
import os
import subprocess
import sys
import types
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests._support import BackgroundCase, background_directory, child_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name: str) -> types.ModuleType:
    path = os.path.join(ROOT, "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


bench = _load("bench")
plot = _load("plot")


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(data, list):
        return [s for value in data for s in _strings(value)]
    return []


class TestPlot(unittest.TestCase):
    def test_results_without_the_charts_scenarios_are_an_error_that_says_so(self) -> None:
        # A results file of the jobs scenario alone: plot.py divided by zero.
        data = {"results": [{"scenario": "jobs", "system": "aiounit", "wall_s": 8.3, "ok": True}]}
        with self.assertRaisesRegex(plot.NothingToDraw, "none of the chart's scenarios"):
            plot.select(data)

    def test_only_the_scenarios_and_systems_present_are_drawn(self) -> None:
        data = {
            "results": [
                {"scenario": "classfixture40", "system": "aiounit", "wall_s": 2.7, "ok": True},
                {"scenario": "classfixture40", "system": "aiounit", "wall_s": 2.6, "ok": True},
                {"scenario": "jobs", "system": "aiounit -j 2", "wall_s": 4.3, "ok": True},
            ]
        }
        scenarios, systems, best = plot.select(data)
        self.assertEqual(scenarios, ["classfixture40"])
        self.assertEqual(systems, ["aiounit"])
        self.assertEqual(best, {("classfixture40", "aiounit"): (2.6, False)})


class TestResultsFiles(unittest.TestCase):
    def test_committed_results_name_no_directory_of_the_machine(self) -> None:
        files = glob.glob(os.path.join(ROOT, "benchmarks", "results", "*.json"))
        self.assertTrue(files)
        for name in files:
            with open(name, encoding="utf-8") as file:
                data = json.load(file)
            for text in _strings(data):
                with self.subTest(file=os.path.basename(name), text=text):
                    self.assertNotRegex(text, r"(^|[\s'\"(])(/|~/)\w|<pyenv>|<venv")

    def test_bench_writes_no_path_of_the_machine(self) -> None:
        interp = bench.Interp(
            "/opt/py/3.12/bin/python", version="CPython 3.12.1", prefixes=["/opt/py/3.12"]
        )
        data = {
            "interpreters": [{"path": interp.path}],
            "results": [
                {
                    "interpreter": interp.path,
                    "output_tail": 'File "/opt/py/3.12/lib/python3.12/asyncio/runners.py"\n'
                    'File "/tmp/bench-x/sleep/test_bench.py", line 3\n'
                    'File "/src/aiounit/aiounit/_case.py"',
                }
            ],
        }
        saved = bench.for_saving(data, [interp], Path("/tmp/bench-x"), ["/src/aiounit"])
        self.assertEqual(saved["interpreters"], [{"path": "<python>"}])
        self.assertEqual(saved["results"][0]["interpreter"], "<python>")
        self.assertEqual(
            saved["results"][0]["output_tail"],
            'File "<prefix>/lib/python3.12/asyncio/runners.py"\n'
            'File "<tmp>/sleep/test_bench.py", line 3\n'
            'File "aiounit/_case.py"',
        )


class TestFloor(BackgroundCase):
    @classmethod
    def background(cls) -> Callable[[], Any]:
        # test_the_trivial_floor_reports_its_count's run, made in the background lane.
        script = os.path.join(background_directory(), "test_bench.py")
        with open(script, "w", encoding="utf-8") as file:
            file.write(bench.generate(bench.FLOOR, "trivial", 3, True))
        return functools.partial(
            subprocess.run,
            [sys.executable, script],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_each_floor_script_runs_its_tests_awaits(self) -> None:
        for kind in ("trivial", "sleep", "fixtures", "classfixture"):
            with self.subTest(kind=kind):
                source = bench.generate(bench.FLOOR, kind, 3, True)
                # It imports unittest and asyncio and nothing else.
                imports = [line for line in source.splitlines() if line.startswith("import")]
                self.assertEqual([line.split()[1] for line in imports], ["asyncio", "unittest"])
                compile(source, f"<floor of {kind}>", "exec")
                self.assertIn("print('3 passed')", source)

    def test_the_trivial_floor_reports_its_count(self) -> None:
        proc = self.background_runs
        proc.check_returncode()  # as check=True did
        self.assertEqual(bench.tests_ran(bench.FLOOR, proc.stdout), 3)


if __name__ == "__main__":
    unittest.main()
