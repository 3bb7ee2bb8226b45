"""The test suite's own tools: a warm fork is a fresh interpreter, and the background lane."""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import threading
import unittest
from collections.abc import Callable
from typing import Any

from tests._support import (
    BackgroundCase,
    Early,
    background_directory,
    child_env,
    in_background,
    run_python,
    run_warm,
    write_files,
)

_FILES = {
    "show.py": """
        import os
        import sys
        print("argv", sys.argv[1:])
        print("cwd", os.path.basename(os.getcwd()))
        print("path0", os.path.basename(sys.path[0]))
        print("main", __name__, os.path.basename(__file__))
        print("stdin", repr(sys.stdin.read()))
        print("env", os.environ.get("WARM_TEST_VALUE"))
        print("bytecode", sys.dont_write_bytecode)
        print("orig_argv", sys.orig_argv[1:])
        print("main namespace", sorted(name for name in globals() if name.startswith("__")))
        print("to stderr", file=sys.stderr)
    """,
    # A project of its own named tests: a fresh interpreter imports this one, not the
    # checkout's tests package (which the warm interpreter itself runs from).
    "tests/__init__.py": "",
    "tests/where.py": """
        import os
        import tests
        print("tests from", os.path.relpath(tests.__file__))
    """,
    "fails.py": """
        import atexit
        atexit.register(print, "atexit ran")

        def inner():
            raise ValueError("boom")

        inner()
    """,
    "exits.py": """
        import sys
        sys.exit(3)
    """,
    "warns.py": """
        import warnings
        warnings.warn("a warning", DeprecationWarning)
    """,
}
_CODE = (
    "import sys\nprint(sys.argv, __name__, __loader__, sorted(globals()))\n"
    "print(sys.orig_argv[1:4], sys.orig_argv[5:])\nraise KeyError('code')\n"
)
# Ctrl-C that nothing caught: the traceback, the exit functions, then death by SIGINT.
_INTERRUPTED = "import atexit\natexit.register(print, 'atexit ran')\nraise KeyboardInterrupt\n"
# (command line, environment additions): each is run fresh and warm.
_COMMANDS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "module": (("-m", "show", "a", "--b"), {"WARM_TEST_VALUE": "x"}),
    "traceback": (("-m", "fails"), {}),
    "exit status": (("-m", "exits"), {}),
    "warning as error": (("-m", "warns"), {}),
    "code": (("-c", _CODE, "arg"), {}),
    "interrupted": (("-c", _INTERRUPTED), {}),
    "own tests package": (("-m", "tests.where"), {}),
    "own tests package, -c": (("-c", "import tests.where"), {}),
}


class TestWarmForkIsAFreshInterpreter(BackgroundCase):
    """What a warm fork prints and how it exits are what a fresh interpreter's are."""

    @classmethod
    def background(cls) -> Callable[[], Any]:
        directory = background_directory()
        write_files(directory, _FILES)
        fresh = {
            name: functools.partial(
                run_python, *args, cwd=directory, env=child_env(**extra), stdin=subprocess.DEVNULL
            )
            for name, (args, extra) in _COMMANDS.items()
        }
        warm = {
            name: (directory, args, child_env(**extra)) for name, (args, extra) in _COMMANDS.items()
        }

        def job() -> dict[str, tuple[Any, Any]]:
            done = run_warm(warm)
            return {name: (run(), done[name]) for name, run in fresh.items()}

        return job

    def test_same_output_and_status(self) -> None:
        for name in _COMMANDS:
            with self.subTest(name):
                fresh, warm = self.background_runs[name]
                self.assertEqual(
                    (warm.returncode, warm.stdout, warm.stderr),
                    (fresh.returncode, fresh.stdout, fresh.stderr),
                )

    def test_the_runs_did_what_they_say(self) -> None:
        """The comparison is of runs that worked: argv, cwd, env, traceback, status."""
        module = self.background_runs["module"][1]
        self.assertIn("argv ['a', '--b']\n", module.stdout)
        self.assertIn("env x\n", module.stdout)
        self.assertIn("main __main__ show.py\n", module.stdout)
        self.assertIn("stdin ''\n", module.stdout)
        traceback = self.background_runs["traceback"][1]
        self.assertEqual(traceback.returncode, 1)
        self.assertIn("ValueError: boom", traceback.stderr)
        self.assertIn("atexit ran", traceback.stdout)
        self.assertEqual(self.background_runs["exit status"][1].returncode, 3)
        self.assertIn(
            "DeprecationWarning: a warning", self.background_runs["warning as error"][1].stderr
        )
        code = self.background_runs["code"][1]
        self.assertIn("['-c', 'arg'] __main__", code.stdout)
        self.assertIn("KeyError: 'code'", code.stderr)
        self.assertRegex(module.stdout, r"main namespace \[.*'__builtins__', .*'__spec__'\]\n")
        self.assertIn("orig_argv ['-W', 'error', '-m', 'show', 'a', '--b']\n", module.stdout)
        interrupted = self.background_runs["interrupted"][1]
        self.assertEqual(interrupted.returncode, -signal.SIGINT)
        self.assertEqual(interrupted.stdout, "atexit ran\n")
        self.assertTrue(interrupted.stderr.endswith("\nKeyboardInterrupt\n"), interrupted.stderr)
        for name in ("own tests package", "own tests package, -c"):
            own = self.background_runs[name][1]
            self.assertEqual(own.stdout, f"tests from {os.path.join('tests', '__init__.py')}\n")


class TestWarmLimits(BackgroundCase):
    @classmethod
    def background(cls) -> Callable[[], Any]:
        directory, env = background_directory(), child_env()
        hangs = {"hangs": (directory, ("-c", "import threading\nthreading.Event().wait()\n"), env)}
        code = "import sys\nprint(sys.flags.optimize)\n"
        start_up = {
            "plain": (directory, ("-c", code), env),
            "optimized": (directory, ("-c", code), child_env(PYTHONOPTIMIZE="1")),
        }
        return lambda: (run_warm(hangs, timeout=0.2), run_warm(start_up))

    def test_a_child_past_its_time_limit_is_killed(self) -> None:
        done, _ = self.background_runs
        self.assertEqual(done["hangs"].returncode, -9)

    def test_start_up_variables_refused_in_one_warm_interpreter(self) -> None:
        """A job whose PYTHON* variables differ gets a warm interpreter of its own."""
        _, done = self.background_runs
        self.assertEqual(done["plain"].stdout, "0\n")
        self.assertEqual(done["optimized"].stdout, "1\n")


# A test run that ends while a job of its lane still runs a child that would hang
# (to its 60 s limit): the child has opened the FIFO "alive" for writing and said
# so through the FIFO "started" before the run ends.
_ENDS_EARLY = """
    import os
    import sys

    from tests._support import child_env, in_background, run_warm

    directory = sys.argv[1]
    hangs = (
        "import os, threading\\n"
        f"alive = os.open({os.path.join(directory, 'alive')!r}, os.O_WRONLY)\\n"
        f"os.close(os.open({os.path.join(directory, 'started')!r}, os.O_WRONLY))\\n"
        "threading.Event().wait()\\n"
    )
    job = {"hangs": (directory, ("-c", hangs), child_env())}
    in_background(lambda: run_warm(job, timeout=60))
    started = os.open(os.path.join(directory, "started"), os.O_RDONLY)  # the child is there
    os.close(started)
"""


class TestLaneAtExit(BackgroundCase):
    """A run that ends while its lane runs children kills them, and does not wait for them."""

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        if not hasattr(os, "mkfifo"):
            return None
        directory = background_directory()
        write_files(directory, {"ends_early.py": _ENDS_EARLY})
        env = child_env()

        def job() -> tuple[subprocess.CompletedProcess[str], bool]:
            os.mkfifo(os.path.join(directory, "started"))
            os.mkfifo(os.path.join(directory, "alive"))
            # Read first (without waiting for a writer): EOF once every writer is gone.
            alive = os.open(os.path.join(directory, "alive"), os.O_RDONLY | os.O_NONBLOCK)
            try:
                # Shorter than the child's limit: a run that waits for it times out.
                run = run_python("ends_early.py", directory, cwd=directory, env=env, timeout=20)
                if run.returncode != 0:  # killed (this run ends): the child may not have begun
                    return run, False
                # The child had the FIFO open: at EOF it has ended (killed).
                ended, _, _ = select.select([alive], [], [], 20)
                return run, bool(ended) and os.read(alive, 1) == b""
            finally:
                os.close(alive)

        return job

    @unittest.skipUnless(hasattr(os, "mkfifo"), "needs FIFOs")
    def test_children_of_a_running_job_are_killed_at_exit(self) -> None:
        run, child_ended = self.background_runs
        self.assertEqual((run.returncode, run.stdout, run.stderr), (0, "", ""))
        self.assertTrue(child_ended, "the lane's child outlived the run")


class TestEarly(unittest.TestCase):
    def test_the_lane_refuses_to_read_the_environment(self) -> None:
        """In the lane, child_env() would see what a test running meanwhile put in
        os.environ: a job takes it when it is made."""
        begun = threading.Event()

        def job() -> dict[str, str]:
            begun.set()
            return child_env()

        early = in_background(job)
        self.assertTrue(begun.wait(10), "the lane did not begin the job")
        with self.assertRaisesRegex(ValueError, "takes child_env"):
            early.result()

    def test_the_caller_runs_a_job_no_lane_has_begun(self) -> None:
        ran_in: list[str] = []

        def job() -> int:
            ran_in.append(threading.current_thread().name)
            return 7

        early = Early(job)
        self.assertEqual(early.result(), 7)
        self.assertEqual(ran_in, [threading.current_thread().name])
        self.assertEqual(early.result(), 7)  # once
        self.assertEqual(len(ran_in), 1)

    def test_an_error_is_raised_where_the_result_is_taken(self) -> None:
        def fails() -> None:
            raise OSError("job")

        early = Early(fails)
        early.run()
        with self.assertRaisesRegex(OSError, "job"):
            early.result()

    def test_a_cancelled_job_never_runs(self) -> None:
        ran: list[int] = []
        early = Early(lambda: ran.append(1))
        early.cancel()
        early.run()
        with self.assertRaisesRegex(RuntimeError, "cancelled"):
            early.result()
        self.assertEqual(ran, [])


if __name__ == "__main__":
    unittest.main()
