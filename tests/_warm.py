"""A warm interpreter that runs ``python -m MODULE ARGS`` command lines, each in a fork of itself.

Run as ``python -W error -m tests._warm MODULE...`` (with tests/_support.child_env()):
it imports each MODULE's package once, then reads jobs from stdin, one JSON line
each (``{"cwd": ..., "args": [...], "module": ..., "out": path, "err": path}``),
and for each forks a child that becomes ``python -W error -m MODULE ARGS`` started in
``cwd``: its stdout and stderr go to the files *out* and *err*, stdin is empty,
``sys.path[0]`` is ``cwd``, the module runs as ``__main__`` (``runpy``, as ``-m``
does), and the child ends as that interpreter would (``SystemExit``, atexit
handlers, an uncaught exception's traceback).  For each job it writes the
child's exit status to stdout, one JSON line, in the order the jobs came; up
to PARALLEL children run at a time.

What it saves is the start of each interpreter, about 0.15 s of CPU: imports
of asyncio, unittest and aiounit.  It has no threads, so it may fork.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys


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
    sys.path[0] = cwd  # -m puts the current directory first
    sys.argv[1:] = [str(a) for a in job["args"]]  # type: ignore[attr-defined]
    runpy.run_module(str(job["module"]), run_name="__main__", alter_sys=True)
    raise SystemExit(0)


def main() -> None:
    parallel = int(sys.argv[1])
    for module in sys.argv[2:]:
        importlib.import_module(module)  # the package, and what it imports
    del sys.argv[1:]
    running: list[int] = []
    statuses: dict[int, int] = {}
    lines = iter(sys.stdin.readline, "")
    jobs = [json.loads(line) for line in lines]
    for job in jobs:
        while len(running) - len(statuses) >= parallel:
            pid, status = os.wait()
            statuses[pid] = os.waitstatus_to_exitcode(status)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(job)  # the child leaves through SystemExit from here
        running.append(pid)
    for pid in running:
        if pid not in statuses:
            _, status = os.waitpid(pid, 0)
            statuses[pid] = os.waitstatus_to_exitcode(status)
    for pid in running:
        print(json.dumps(statuses[pid]))


if __name__ == "__main__":
    main()
