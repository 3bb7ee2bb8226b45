"""Tests for the live progress line: on a terminal only, erased before the summary."""

from __future__ import annotations

import contextlib
import functools
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import time
import unittest
from collections.abc import Callable
from typing import Any

from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    read_terminal,
    run_parallel,
    run_python,
)

_SAVE, _RESTORE, _ERASE = "\x1b7", "\x1b8", "\x1b[K"
_LINE = re.compile(r"\x1b7  \[(\d+)/4 done, (\d+) running, \d+\.\ds\]\x1b8")
# unittest 3.14 colours its own output on a terminal (tests/test_colour.py);
# here only the progress line's cursor sequences matter.
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

_MODULE = """
    import unittest

    import aiounit


    class TestProgress(aiounit.AsyncTestCase):
        async def test_1(self):
            pass

        @aiounit.group("g")
        async def test_2(self):
            pass

        @aiounit.group("g")
        async def test_3(self):
            pass

        def test_4(self):
            print("printed by test_4")
            self.fail("test_4 failed")
"""


def _uncoloured(text: str) -> str:
    return _COLOUR.sub("", text)


def _child_env(**values: str) -> dict[str, str]:
    return child_env(drop=("PYTHON_COLORS", "NO_COLOR", "FORCE_COLOR"), **values)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-W", "error", "-m", "aiounit", *args]


def _make_dir(module: str = _MODULE, name: str = "test_sample.py") -> str:
    """A directory (removed at exit) holding *module* as *name*."""
    directory = background_directory()
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(module))
    return directory


def _run_on_terminal(directory: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal; return (exit status, terminal text, stdout)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            _command(*args),
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
    finally:
        os.close(slave)
    try:
        terminal = read_terminal(master)
    finally:
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        proc.stdout.close()
        proc.wait(timeout=60)
    return proc.returncode, terminal.decode("utf-8"), stdout.decode("utf-8")


class TestOnTerminal(BackgroundCase):
    """stderr is a TTY: the line is drawn, then erased."""

    dir: str
    code: int
    terminal: str
    stdout: str

    @classmethod
    def background(cls) -> Callable[[], Any]:
        cls.dir = _make_dir()
        args = ("-b", "--junit-xml", "junit.xml")
        return functools.partial(_run_on_terminal, cls.dir, _child_env(), *args)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.code, cls.terminal, cls.stdout = cls.background_runs

    def test_line_shows_done_and_running(self) -> None:
        """The line shows tests done of the total and how many are running."""
        self.assertEqual(self.code, 1, self.terminal)
        drawn = _LINE.findall(self.terminal)
        self.assertTrue(drawn, repr(self.terminal))
        self.assertTrue(all(int(done) <= 4 for done, _ in drawn), drawn)

    def test_line_is_erased_before_the_summary(self) -> None:
        """After the last drawing comes an erase, before the error list and "Ran"."""
        last = self.terminal.rindex(_RESTORE)
        errors = self.terminal.index("=" * 70)
        self.assertIn(_ERASE, self.terminal[last:errors])
        rest = _uncoloured(self.terminal[errors:])
        self.assertNotIn("\x1b", rest)
        self.assertTrue(rest.endswith("\r\nFAILED (failures=1)\r\n"), self.terminal)

    def test_line_kept_out_of_captured_output_and_report(self) -> None:
        """Captured output and the JUnit report hold no trace of the line."""
        self.assertIn("printed by test_4", self.stdout)
        self.assertNotIn("\x1b", self.stdout)
        with open(os.path.join(self.dir, "junit.xml"), encoding="utf-8") as f:
            report = f.read()
        self.assertIn("printed by test_4", report)
        self.assertNotIn("\x1b", report)
        self.assertNotIn("\\x1b", report)
        self.assertNotIn("done,", report)


_PRINTS = """
    import asyncio
    import os
    import sys

    import aiounit

    FIRST_DONE = asyncio.Event()


    def _wait_for_go():
        os.read(int(os.environ["GO_FD"]), 3)


    class TestPrints(aiounit.AsyncTestCase):
        @aiounit.group("g")
        async def test_a_first(self):
            FIRST_DONE.set()

        @aiounit.group("g")
        async def test_b_prints(self):
            await FIRST_DONE.wait()
            # The runner of this test says when it sees the line drawn.
            await asyncio.to_thread(sys.stdin.readline)
            print("out")
            sys.stderr.write("err\\n")
"""

try:
    import pyte
except ImportError:  # test-only dependency
    pyte = None  # type: ignore[assignment]  # the tests that need it skip


def _screen_of(directory: str, env: dict[str, str], go: bytes, *args: str) -> tuple[int, list[str]]:
    """Run with stdout and stderr on one pseudo-terminal; return the screen a person sees.

    Once *go* has appeared on the terminal, "go" is written to the run's stdin,
    and to the pipe whose reading end is file descriptor ``$GO_FD`` in the run
    (a worker process's stdin is /dev/null).
    """
    master, slave = pty.openpty()
    go_read, go_write = os.pipe()
    try:
        proc = subprocess.Popen(
            _command(*args),
            cwd=directory,
            env={**env, "GO_FD": str(go_read)},
            stdin=subprocess.PIPE,
            stdout=slave,
            stderr=slave,
            pass_fds=(go_read,),
        )
    except BaseException:
        os.close(go_write)
        raise
    finally:
        os.close(slave)
        os.close(go_read)
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise AssertionError(f"the run did not end; the screen: {screen.display}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            stream.feed(data)
            if proc.stdin is not None and go in seen + data:
                # The run reads one of the two and may end before the other is
                # written (this thread can wait long for the GIL: a background job).
                with contextlib.suppress(BrokenPipeError):
                    os.write(go_write, b"go\n")
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(b"go\n")
                    proc.stdin.close()
                proc.stdin = None
            seen = (seen + data)[-len(go) :]
    finally:
        os.close(master)
        os.close(go_write)
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=60)
    return proc.returncode, [line.rstrip() for line in screen.display]


# The line drawn after test_a_first's dot, while test_b_prints runs.
_DRAWN = b"\x1b7  [1/2 done, 1 running"


@unittest.skipUnless(pyte, "needs pyte")
class TestTestOutputOnTerminal(BackgroundCase):
    """A grouped test prints while the line is shown: the line goes first (no -b)."""

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if pyte is None:
            return None
        plain = _make_dir(_PRINTS, "test_prints.py")
        jobs = {"plain": functools.partial(_screen_of, plain, _child_env(), _DRAWN)}
        if hasattr(os, "fork"):
            module = _PRINTS.replace("sys.stdin.readline", "_wait_for_go")
            workers = _make_dir(module, "test_prints.py")
            args = (workers, _child_env(), _DRAWN, "-j", "2")
            jobs["workers"] = functools.partial(_screen_of, *args)
        return functools.partial(run_parallel, jobs)

    def check_screen(self, code: int, screen: list[str]) -> None:
        """The screen shows the test's output and unittest's, nothing of the line."""
        self.assertEqual(code, 0, screen)
        text = "\n".join(screen).strip()
        self.assertNotIn("running", text)
        self.assertNotIn("done", text)
        lines = [line for line in screen if line]
        self.assertEqual(lines[:3], [".out", "err", "."], screen)
        self.assertEqual(lines[-1], "OK")

    def test_no_residue_of_the_line(self) -> None:
        """The screen shows the test's output and unittest's, nothing of the status line."""
        self.check_screen(*self.background_runs["plain"])

    @unittest.skipUnless(hasattr(os, "fork"), "-j needs fork")
    def test_no_residue_of_the_line_from_a_worker(self) -> None:
        """The same under -j: a worker's tests write through the runner, which erases first."""
        self.check_screen(*self.background_runs["workers"])


class TestOffTerminal(BackgroundCase):
    """No progress line where it does not belong."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        pipe, terminal, env = _make_dir(), _make_dir(), _child_env()
        jobs = {
            "pipe": lambda: run_python("-m", "aiounit", "-v", cwd=pipe, env=env),
            "terminal": lambda: _run_on_terminal(terminal, env, "--no-progress"),
        }
        return functools.partial(run_parallel, jobs)

    def test_no_escape_codes_on_a_pipe(self) -> None:
        """With stderr on a pipe there are no escape codes at all."""
        proc = self.background_runs["pipe"]
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("Ran 4 tests", proc.stderr)
        self.assertNotIn("\x1b", proc.stderr + proc.stdout)

    def test_no_progress_option(self) -> None:
        """--no-progress keeps the terminal free of the line."""
        code, terminal, _ = self.background_runs["terminal"]
        self.assertEqual(code, 1, terminal)
        self.assertIn("Ran 4 tests", terminal)
        self.assertNotIn("\x1b", _uncoloured(terminal))


if __name__ == "__main__":
    unittest.main()
