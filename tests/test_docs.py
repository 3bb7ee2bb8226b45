"""The docs agree with the package: an entry for every public name, and no path
of the machine they were made on."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import unittest

import aiounit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as file:
        return file.read()


class TestReference(unittest.TestCase):
    """docs/api.md, the reference, has an entry for every public name."""

    def test_every_public_name_has_an_entry(self) -> None:
        """Each name of __all__ is in a heading or starts a signature line of api.md."""
        lines = _read("docs", "api.md").splitlines()
        for name in aiounit.__all__:
            entry = re.compile(rf"^(## `|class |await )?aiounit\.{re.escape(name)}\b")
            with self.subTest(name=name):
                self.assertTrue(
                    any(entry.match(line) for line in lines),
                    f"docs/api.md has no entry for aiounit.{name}",
                )


class TestNoMachinePaths(unittest.TestCase):
    """Output pasted into the docs and benchmark results committed from this
    machine name neither its checkout nor its interpreter: examples/misbehaving/run.py
    and benchmarks/bench.py --json write them relative (``<python>/lib/...``)."""

    def test_no_checkout_or_interpreter_path(self) -> None:
        machine = {ROOT, sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"]}
        # A one-level path (a checkout at /src) could be an example's made-up one.
        machine = {path for path in machine if path.count(os.sep) >= 2}
        files = ["README.md"]
        files += [os.path.join("docs", n) for n in os.listdir(os.path.join(ROOT, "docs"))]
        results = os.path.join("benchmarks", "results")
        if os.path.isdir(os.path.join(ROOT, results)):
            files += [os.path.join(results, n) for n in os.listdir(os.path.join(ROOT, results))]
        for name in sorted(files):
            if not name.endswith((".md", ".json")):
                continue
            text = _read(name)
            for path in sorted(machine):
                with self.subTest(file=name, path=path):
                    self.assertNotIn(path + os.sep, text)


if __name__ == "__main__":
    unittest.main()
