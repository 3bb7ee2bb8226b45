"""Show what aiounit reports about misbehaving tests, in a few seconds.

    python examples/misbehaving/run.py

Runs ``python -m aiounit`` on the tests next to this file, several ways, and
prints what each run printed and its exit status.  docs/diagnostics.md
explains the output.  POSIX only (it sends SIGINT to show -c).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    if importlib.util.find_spec("aiounit") is None:
        # Not installed: use the checkout this script belongs to.
        root = os.path.dirname(os.path.dirname(HERE))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def start(title: str, args: list[str], **env: str) -> subprocess.Popen[str]:
    shown = " ".join(f"{k}={v}" for k, v in env.items())
    print(f"\n### {title}\n\n$ {shown + ' ' if shown else ''}python -m aiounit {' '.join(args)}")
    sys.stdout.flush()
    return subprocess.Popen(
        [sys.executable, "-m", "aiounit", *args],
        cwd=HERE,
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], wanted: str) -> None:
    """Echo the child's lines until *wanted* shows up."""
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="")
        if line == wanted:
            return
    raise SystemExit(f"the child ended before printing {wanted!r}")


def finish(proc: subprocess.Popen[str]) -> None:
    out, _ = proc.communicate(timeout=60)
    print(out, end="")
    print(f"[exit status {proc.returncode}]")


def main() -> None:
    finish(
        start(
            "-b: each test's output, warnings and errors",
            ["discover", "-b", "--grace", "0.2", "-s", ".", "-t", "."],
        )
    )
    finish(
        start(
            "--fail-on-blocking --fail-on-leaks: the warnings become errors",
            [
                "--fail-on-blocking",
                "--fail-on-leaks",
                "test_misbehaving.TestMisbehaving.test_blocks_the_loop",
                "test_misbehaving.TestMisbehaving.test_leaks_a_task",
            ],
        )
    )
    finish(start("-f: the first failure stops the group", ["-f", "-v", "stop_demo"]))

    proc = start("-c: Ctrl-C stops the group", ["-c", "-v", "stop_demo"], STOP_DEMO="wait")
    read_until(proc, "ready\n")
    print("[Ctrl-C]")
    proc.send_signal(signal.SIGINT)
    finish(proc)

    proc = start("-c: a second Ctrl-C aborts", ["-c", "-v", "stop_demo"], STOP_DEMO="hold")
    read_until(proc, "ready\n")
    print("[Ctrl-C]")
    proc.send_signal(signal.SIGINT)
    read_until(proc, "teardown of test_b_waits is waiting\n")
    print("[Ctrl-C]")
    proc.send_signal(signal.SIGINT)
    finish(proc)

    finish(
        start("a block that cannot be interrupted aborts the run", ["--grace", "0.2", "stuck_demo"])
    )


if __name__ == "__main__":
    main()
