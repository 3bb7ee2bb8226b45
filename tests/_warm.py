"""A warm interpreter that runs ``python -m MODULE ARGS`` or ``python -c CODE ARGS``
command lines, each in a fork of itself.

Run as ``python -W error -m tests._warm MODULE...`` (with
tests/_support.child_env()): it imports each MODULE once, then reads jobs from
stdin as they come, one JSON line each (``{"id": ..., "cwd": ..., "args": [...],
"module": ..., "out": path, "err": path}``, with ``"code"`` instead of
``"module"`` for ``-c``, and optionally ``"env"`` and ``"timeout"``), and for
each forks a child at once that becomes ``python -W error -m MODULE ARGS`` (or
``-c CODE ARGS``) started in ``cwd``: its stdout and stderr go to the files
*out* and *err*, stdin is empty, ``sys.path[0]`` is ``cwd`` (``""`` for ``-c``),
``sys.orig_argv`` is that command line, the module runs as ``__main__``
(``runpy``, as ``-m`` does) in a fresh ``__main__`` module, the ``tests``
package this server runs from is forgotten (a ``tests`` package in ``cwd`` is
imported, as by a fresh interpreter), ``os.environ`` is *env* when given (the
caller checks that it differs from the server's only in variables read at run
time), and the child ends as that interpreter would (``SystemExit``, atexit
handlers, an uncaught exception's traceback, death by SIGINT after an uncaught
KeyboardInterrupt).  When a child ends, the server writes
``{"id": ..., "status": exit status}`` to stdout, one JSON line.  A child still
running ``"timeout"`` seconds (default 60) after it began is killed (status
-9).  At the end of stdin the server ends once its children have.  How many
run at once is the caller's to say (tests/_support.run_warm).

What it saves is the start of each interpreter, about 0.15 s of CPU: imports
of asyncio, unittest and aiounit.  It has no threads, so it may fork.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import importlib
import importlib.machinery
import json
import linecache
import os
import runpy
import select
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Iterator


def _child(job: dict[str, object]) -> None:
    """Become ``python -m job["module"] *job["args"]`` (never returns normally)."""
    cwd = str(job["cwd"])
    os.chdir(cwd)
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, str(job["out"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, str(job["err"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    env = job.get("env")
    if isinstance(env, dict):
        os.environ.clear()
        os.environ.update(env)
        sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    args = [str(a) for a in job["args"]]  # type: ignore[attr-defined]
    # The tests package this server runs from is not the job's: a fresh
    # interpreter imports the one its cwd may hold (or the checkout's, later).
    for name in [name for name in sys.modules if name.partition(".")[0] == "tests"]:
        del sys.modules[name]
    # A fresh __main__, as the interpreter starts with (not this server's).
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    main.__loader__ = importlib.machinery.BuiltinImporter
    if sys.version_info < (3, 14):  # until annotations were made lazy (PEP 649)
        main.__annotations__ = {}
    sys.modules["__main__"] = main
    # The command line as given, after the interpreter options this server has too.
    at = sys.orig_argv.index("tests._warm") - 1
    if "code" in job:
        code = str(job["code"])
        sys.orig_argv[at:] = ["-c", code, *args]
        sys.path[0] = ""  # -c puts the empty string (the current directory) first
        sys.argv[:] = ["-c", *args]
        if sys.version_info >= (3, 13):  # -c code shows its lines in tracebacks
            linecache.cache["<string>"] = (len(code), None, code.splitlines(True), "<string>")
        with _as_uncaught("<string>"):
            exec(compile(code, "<string>", "exec"), main.__dict__)
    else:
        sys.orig_argv[at:] = ["-m", str(job["module"]), *args]
        sys.path[0] = cwd  # -m puts the current directory first
        sys.argv[1:] = args
        with _as_uncaught("<frozen runpy>"):
            # What -m calls: the same frames in a traceback as a fresh interpreter's.
            runpy._run_module_as_main(str(job["module"]), alter_argv=True)  # type: ignore[attr-defined]
    raise SystemExit(0)


@contextlib.contextmanager
def _as_uncaught(first: str) -> Iterator[None]:
    """An exception that escapes is reported as the interpreter reports an uncaught
    one, its traceback from the first frame of file *first* on (not this server's
    frames); then the child exits 1, running atexit handlers."""
    try:
        yield
    except SystemExit:
        raise
    except BaseException as error:
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != first:
            tb = tb.tb_next
        error = error.with_traceback(tb or error.__traceback__)
        sys.excepthook(type(error), error, error.__traceback__)
        if isinstance(error, KeyboardInterrupt):
            _exit_by_sigint()
        raise SystemExit(1) from None


def _exit_by_sigint() -> None:
    """End as an interpreter ends after an uncaught KeyboardInterrupt: threads
    joined, exit functions run, then killed by SIGINT (its default action)."""
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(128 + signal.SIGINT)  # SIGINT blocked: what the interpreter exits with then


def _start(job: dict[str, object], wakeup: tuple[int, int]) -> int:
    """Fork a child that runs *job*; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    try:
        # Nothing of the server's own watch of its children.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wakeup:
            os.close(fd)
        _child(job)  # the child leaves through SystemExit from here
    except SystemExit:
        raise
    except BaseException:  # the job could not even start: say why
        traceback.print_exc()
        raise SystemExit(1) from None
    raise SystemExit(0)


def main() -> None:
    for module in sys.argv[1:]:
        importlib.import_module(module)  # the package, and what it imports
    del sys.argv[1:]
    # A SIGCHLD wakes the select below (the handler itself does nothing).
    wakeup = os.pipe()
    for fd in wakeup:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wakeup[1])
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    stdin = sys.stdin.fileno()
    pending = b""
    running: dict[int, tuple[object, float]] = {}  # pid: (job id, deadline)
    done = False
    while True:
        now = time.monotonic()
        for pid, (_, deadline) in running.items():
            if now >= deadline:
                os.kill(pid, signal.SIGKILL)  # reaped below, status -9
        while running:  # reap every child that ended
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            ident, _ = running.pop(pid)
            print(json.dumps({"id": ident, "status": os.waitstatus_to_exitcode(status)}))
            sys.stdout.flush()
        if done and not running:
            break
        soonest = min((deadline for _, deadline in running.values()), default=None)
        wait = None if soonest is None else max(0.0, soonest - time.monotonic())
        watched = [wakeup[0]] if done else [stdin, wakeup[0]]
        ready, _, _ = select.select(watched, [], [], wait)
        if wakeup[0] in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wakeup[0], 4096)
        if stdin in ready:
            data = os.read(stdin, 65536)
            if not data:
                done = True  # no more jobs: end once the running ones have
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                job = json.loads(line)
                pid = _start(job, wakeup)
                running[pid] = (job["id"], time.monotonic() + float(job.get("timeout", 60)))


if __name__ == "__main__":
    main()
