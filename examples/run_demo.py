"""Time the same five system tests under plain unittest and under aiounit.

    python examples/run_demo.py

Each test waits about one second for the orders service (orders_service.py),
after a login of 0.5 s.  ``python -m unittest`` runs them one after another,
each logging in; ``python -m aiounit`` logs in once per class
(``asyncSetUpClass``) and runs the group concurrently on that class's loop.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = [
    ("unittest", "test_orders_stdlib"),
    ("aiounit", "test_orders_aiounit"),
]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    if importlib.util.find_spec("aiounit") is None:
        # Not installed: use the checkout this script belongs to.
        root = os.path.dirname(HERE)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def run(runner: str, module: str) -> tuple[str, int, str, float, float]:
    command = [sys.executable, "-m", runner, module]
    shown = f"python -m {runner} {module}"
    print(f"running: {shown} ...", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=HERE, env=child_env(), capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"{shown} failed with exit status {done.returncode}")
    ran = re.search(r"^Ran (\d+) tests? in ([\d.]+)s", done.stderr, re.MULTILINE)
    tests, reported = (int(ran.group(1)), float(ran.group(2))) if ran else (0, float("nan"))
    return shown, tests, done.stderr.strip().splitlines()[-1], reported, elapsed


def main() -> None:
    rows = [run(runner, module) for runner, module in RUNS]
    width = max(len(row[0]) for row in rows)
    print()
    print(f"{'command':<{width}}  tests  result  tests took  wall time")
    for shown, tests, status, reported, elapsed in rows:
        print(f"{shown:<{width}}  {tests:>5}  {status:<6}  {reported:8.2f} s  {elapsed:7.2f} s")
    serial, concurrent = rows[0][3], rows[1][3]
    print(f"\naiounit ran the same tests {serial / concurrent:.1f}x faster.")
    print(
        '("tests took" is what the runner reports, starting the service included;'
        " wall time adds starting Python.)"
    )


if __name__ == "__main__":
    main()
