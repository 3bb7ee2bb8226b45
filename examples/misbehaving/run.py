"""Show what aiounit reports about misbehaving tests, in a few seconds.

    python examples/misbehaving/run.py

Runs ``python -m aiounit`` on the tests next to this file, several ways, and
prints what each run printed and its exit status.  docs/diagnostics.md
explains the output.  POSIX only (it sends SIGINT to show -c).

Paths in the output are shown relative to the checkout (``aiounit/_case.py``)
and to the interpreter (``<python>/lib/python3.12/asyncio/...``), so that the
output can be pasted into the docs as it is, whatever machine ran it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The children run sys.executable, so its stdlib is theirs.
STDLIB = sysconfig.get_paths()["stdlib"]


def shown_paths(text: str) -> str:
    """*text* with this machine's checkout and interpreter paths made relative."""
    replacements = [
        (STDLIB + os.sep, f"<python>/lib/{os.path.basename(STDLIB)}/"),
        (ROOT + os.sep, ""),
    ]
    # The longer prefix first, in case one contains the other.
    for old, new in sorted(replacements, key=lambda item: -len(item[0])):
        text = text.replace(old, new)
    return text


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    if importlib.util.find_spec("aiounit") is None:
        # Not installed: use the checkout this script belongs to.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
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
        print(shown_paths(line), end="")
        if line == wanted:
            return
    raise SystemExit(f"the child ended before printing {wanted!r}")


def finish(proc: subprocess.Popen[str]) -> None:
    out, _ = proc.communicate(timeout=60)
    print(shown_paths(out), end="")
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
