"""Colour: ``python -m aiounit`` colours its output exactly where and as unittest does.

unittest 3.14 colours statuses, tracebacks and the summary on a terminal, and
``PYTHON_COLORS``, ``NO_COLOR``, ``FORCE_COLOR`` decide before the terminal
does (``_colorize.can_colorize``); before 3.14 it never colours.  Each case
runs the same project through both and compares the whole output.
"""

from __future__ import annotations

import functools
import os
import pty
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest
from collections.abc import Callable
from typing import Any, ClassVar

from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    read_terminal,
    run_parallel,
)

_COLOUR_ENV = ("PYTHON_COLORS", "NO_COLOR", "FORCE_COLOR", "TERM")
_TIME = re.compile(r"(Ran \d+ tests?) in \d+\.\d+s")

_PLAIN = """
    import asyncio
    import logging
    import unittest

    # IsolatedAsyncioTestCase runs in debug mode: on a loaded machine asyncio
    # would log a slow first step ("Executing <Task ...> took 0.1 seconds").
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


    class TestPlain(unittest.TestCase):
        def test_pass(self):
            pass

        def test_fail(self):
            self.assertEqual(1, 2)

        def test_error(self):
            raise ValueError("broken")

        def test_subtests(self):
            for i in range(2):
                with self.subTest(i=i):
                    self.assertEqual(i, 0)

        @unittest.skip("not today")
        def test_skip(self):
            pass

        @unittest.expectedFailure
        def test_xfail(self):
            self.fail("expected")

        @unittest.expectedFailure
        def test_xpass(self):
            pass


    class TestIsolated(unittest.IsolatedAsyncioTestCase):
        async def test_async_fail(self):
            await asyncio.sleep(0)
            self.fail("async failure")
"""

_GROUPED = """
    import asyncio

    import aiounit


    class TestGrouped(aiounit.AsyncTestCase):
        @aiounit.group("g")
        async def test_a(self):
            await asyncio.sleep(0)

        @aiounit.group("g")
        async def test_b_fails(self):
            await asyncio.sleep(0)
            raise ValueError("grouped failure")
"""


def _env(**colour: str) -> dict[str, str]:
    return child_env(drop=_COLOUR_ENV, TERM="xterm", **colour)


def _start(runner: str, args: list[str], cwd: str, env: dict[str, str], tty: bool) -> Any:
    """Start ``python -m runner`` with stderr on a pseudo-terminal or a pipe."""
    command = [sys.executable, "-W", "error", "-m", runner, *args]
    if runner == "aiounit":
        command.append("--no-progress")  # the live line is not unittest's; test_progress has it
    if not tty:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ), None
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
    finally:
        os.close(slave)
    return proc, master


def _finish(proc: Any, master: int | None) -> str:
    if master is None:
        _, err = proc.communicate(timeout=60)
        text = err.decode("utf-8")
    else:
        try:
            data = read_terminal(master)
        finally:
            proc.wait(timeout=60)
        text = data.decode("utf-8").replace("\r\n", "\n")
    return _TIME.sub(r"\1 in T", text)


def _run(runner: str, args: list[str], cwd: str, env: dict[str, str], tty: bool) -> str:
    return _finish(*_start(runner, args, cwd, env, tty))


class TestColourParity(BackgroundCase):
    """Same bytes as ``python -m unittest``, colours included, in each setting."""

    # (name, arguments, stderr on a terminal, colour variables)
    CASES: ClassVar[list[tuple[str, list[str], bool, dict[str, str]]]] = [
        ("terminal_verbose", ["-v", "test_plain"], True, {}),
        ("terminal_dots", ["test_plain"], True, {}),
        # NO_COLOR wins over FORCE_COLOR, PYTHON_COLORS over both
        ("terminal_no_color", ["-v", "test_plain"], True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}),
        ("pipe_force_color", ["-v", "test_plain"], False, {"FORCE_COLOR": "1"}),
        ("pipe_python_colors_1", ["test_plain"], False, {"PYTHON_COLORS": "1", "NO_COLOR": "1"}),
    ]
    outputs: ClassVar[dict[tuple[str, str], str]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any]:
        directory = background_directory()
        with open(os.path.join(directory, "test_plain.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(_PLAIN))
        jobs = {
            (runner, name): functools.partial(_run, runner, args, directory, _env(**colour), tty)
            for name, args, tty, colour in cls.CASES
            for runner in ("unittest", "aiounit")
        }
        return functools.partial(run_parallel, jobs)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.outputs = cls.background_runs

    def test_same_output_as_unittest(self) -> None:
        """Each setting: aiounit's output is unittest's, byte for byte but the time."""
        for name, *_ in self.CASES:
            with self.subTest(case=name):
                stock, ours = self.outputs["unittest", name], self.outputs["aiounit", name]
                self.assertRegex(stock, r"\nRan [78] tests in T\n")  # 3.12.1 skips startTest
                self.assertEqual(ours, stock)

    def test_coloured_exactly_where_unittest_3_14_colours(self) -> None:
        """The cases differ in colour as 3.14's rules say, so the comparison means something."""
        coloured = {name for (runner, name), text in self.outputs.items() if "\x1b[" in text}
        if sys.version_info >= (3, 14):
            expected = {
                "terminal_verbose",
                "terminal_dots",
                "pipe_force_color",
                "pipe_python_colors_1",
            }
        else:
            expected = set[str]()
        self.assertEqual(coloured, expected)


class TestGroupedColour(unittest.TestCase):
    """A grouped failure's traceback, reported with -v after the test ran, is coloured too."""

    def test_verbose_traceback_coloured_on_a_terminal(self) -> None:
        """With -v a member's report is buffered: its traceback is still coloured for the
        terminal (on 3.14+), as the status line and the summary are."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        with open(os.path.join(tmp.name, "test_grouped.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(_GROUPED))
        text = _finish(*_start("aiounit", ["-v", "test_grouped"], tmp.name, _env(), True))
        self.assertIn("grouped failure", text)
        traceback_text = text[text.index("Traceback (most recent call last):") :]
        if sys.version_info >= (3, 14):
            # the file name of each frame, in the traceback theme's colour
            self.assertRegex(traceback_text, r'File \x1b\[35m"[^"]*test_grouped\.py"')
            self.assertIn("\x1b[32mok\x1b[0m", text)
        else:
            self.assertNotIn("\x1b", text)


if __name__ == "__main__":
    unittest.main()
