"""A warm interpreter that runs ``python -m MODULE ARGS`` or ``python -c CODE ARGS``
command lines, each in a fork of itself.

Run as ``python -W error -m tests._warm PARALLEL MODULE...`` (with
tests/_support.child_env()): it imports each MODULE once, then reads jobs from
stdin, one JSON line each (``{"cwd": ..., "args": [...], "module": ..., "out": path,
"err": path}``, with ``"code"`` instead of ``"module"`` for ``-c``, and
optionally ``"env"``), and for each forks a child that becomes
``python -W error -m MODULE ARGS`` (or ``-c CODE ARGS``) started in ``cwd``: its
stdout and stderr go to the files *out* and *err*, stdin is empty,
``sys.path[0]`` is ``cwd`` (``""`` for ``-c``), the module runs as ``__main__``
(``runpy``, as ``-m`` does), ``os.environ`` is *env* when given (the caller
checks that it differs from the server's only in variables read at run time),
and the child ends as that interpreter would (``SystemExit``, atexit handlers,
an uncaught exception's traceback).  For each job it writes the child's exit
status to stdout, one JSON line, in the order the jobs came; up to PARALLEL
children run at a time.  A child still running ``"timeout"`` seconds (default
60) after it began is killed (status -9).

What it saves is the start of each interpreter, about 0.15 s of CPU: imports
of asyncio, unittest and aiounit.  It has no threads, so it may fork.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import runpy
import select
import signal
import sys
import time
import traceback
import types


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
    if "code" in job:
        sys.path[0] = ""  # -c puts the empty string (the current directory) first
        sys.argv[:] = ["-c", *args]
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__main__"] = main
        try:
            exec(compile(str(job["code"]), "<string>", "exec"), main.__dict__)
        except SystemExit:
            raise
        except BaseException as error:
            # As the interpreter prints it: from the code's own frame on.
            tb = error.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != "<string>":
                tb = tb.tb_next
            sys.excepthook(type(error), error, tb or error.__traceback__)
            raise SystemExit(1) from None
        raise SystemExit(0)
    sys.path[0] = cwd  # -m puts the current directory first
    sys.argv[1:] = args
    runpy.run_module(str(job["module"]), run_name="__main__", alter_sys=True)
    raise SystemExit(0)


def _wait(running: dict[int, tuple[int | None, float]]) -> tuple[int, int]:
    """Wait for a child of *running* (pid: (pidfd, deadline)) to end; kill those past
    their deadline.  (pid, exit status) of one that ended."""
    while True:
        for pid, (_, deadline) in running.items():
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
        pidfds = {pidfd: pid for pid, (pidfd, _) in running.items() if pidfd is not None}
        if len(pidfds) < len(running):  # no pidfds here: wait without the time limit
            pid, status = os.wait()
            return pid, os.waitstatus_to_exitcode(status)
        soonest = min(deadline for _, deadline in running.values())
        ready, _, _ = select.select(list(pidfds), [], [], max(0.0, soonest - time.monotonic()))
        for pidfd in ready:
            pid, status = os.waitpid(pidfds[pidfd], 0)
            os.close(pidfd)
            return pid, os.waitstatus_to_exitcode(status)


def main() -> None:
    parallel = int(sys.argv[1])
    for module in sys.argv[2:]:
        importlib.import_module(module)  # the package, and what it imports
    del sys.argv[1:]
    running: dict[int, tuple[int | None, float]] = {}
    order: list[int] = []
    statuses: dict[int, int] = {}
    lines = iter(sys.stdin.readline, "")
    jobs = [json.loads(line) for line in lines]
    for job in jobs:
        while len(running) >= parallel:
            pid, status = _wait(running)
            del running[pid]
            statuses[pid] = status
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _child(job)  # the child leaves through SystemExit from here
            except SystemExit:
                raise
            except BaseException:  # the job could not even start: say why
                traceback.print_exc()
                raise SystemExit(1) from None
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux 5.3+
            pidfd = None
        running[pid] = (pidfd, time.monotonic() + float(job.get("timeout", 60)))
        order.append(pid)
    while running:
        pid, status = _wait(running)
        del running[pid]
        statuses[pid] = status
    for pid in order:
        print(json.dumps(statuses[pid]))


if __name__ == "__main__":
    main()
