#!/usr/bin/env python3
"""aiounit benchmark: the same tests under a floor, stdlib unittest, aiounit and pytest plugins.

Stdlib only.  Every system runs as a whole child process (``python -m unittest``,
``python -m aiounit``, ``python -m pytest``, and the floor: a script that
imports unittest and asyncio and gathers the scenario's awaits on one loop);
the script measures the child's wall time and peak RSS (from ``os.wait4``,
i.e. the child's own rusage), keeps the best of ``--repeat`` runs, and prints
one table with every figure's ratio to the floor and to stdlib unittest, what
aiounit adds per test, and the targets of issue 12 with PASS/FAIL.

    python benchmarks/bench.py                      # every scenario, this interpreter
    python benchmarks/bench.py --only issue12 --repeat 3    # what issue 12's targets need
    python benchmarks/bench.py --quick              # small N, a smoke run
    python benchmarks/bench.py --python /usr/bin/python3.12 --python python3.13 --json out.json

pytest-asyncio-concurrent (needs pytest < 9), pytest-asyncio-cooperative and
pytest-asyncio are benchmarked only in the interpreters where they are
importable; they are never required.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "sleep", "trivial", "fixtures", "classfixture"
    n: int
    quick_n: int
    grouped: bool
    per_test_s: float  # what a serial runner spends sleeping per test: its ideal is n * this
    serial_by_default: bool  # False: serial systems are shown as an estimate unless --all
    doc: str


def _sleep(n: int, quick_n: int) -> Scenario:
    return Scenario(
        f"sleep{n}",
        "sleep",
        n,
        quick_n,
        True,
        1.0,
        False,
        "N tests, each `await asyncio.sleep(1)`, in one group",
    )


SCENARIOS = {
    s.name: s
    for s in (
        _sleep(1000, 100),
        _sleep(10000, 1000),
        _sleep(100000, 10000),
        Scenario(
            "trivial5000_grouped",
            "trivial",
            5000,
            500,
            True,
            0.0,
            True,
            "N trivial async tests in one group",
        ),
        Scenario(
            "trivial5000_ungrouped",
            "trivial",
            5000,
            500,
            False,
            0.0,
            True,
            "N trivial async tests, no group (each on its own loop)",
        ),
        Scenario(
            "fixtures40",
            "fixtures",
            40,
            40,
            True,
            1.2,
            True,
            "asyncSetUp sleeps 0.5 s, test 0.5 s, asyncTearDown 0.2 s; one group",
        ),
        # The stdlib has no async class fixture: its estimate is one 2 s login plus
        # N tests of 0.5 s one after another, (2 + 0.5 N) / N per test.
        Scenario(
            "classfixture40",
            "classfixture",
            40,
            40,
            True,
            (2 + 0.5 * 40) / 40,
            False,
            "one async login of 2 s per class (asyncSetUpClass), shared by N grouped"
            " tests of 0.5 s",
        ),
    )
}
# `flat`: the sleep scenario at these sizes (aiounit and the floor), cost per test.
FLAT = ("sleep1000", "sleep10000", "sleep100000")
# jobs: modules x tests per module, each test burning this much CPU; serial vs -j 2.
JOBS = (8, 20, 0.05)
JOBS_QUICK = (4, 10, 0.05)
# `--only issue12`: every scenario a target of issue 12 needs, in one run.
ISSUE12 = (*FLAT, "trivial5000_grouped", "trivial5000_ungrouped", "fixtures40", "startup")
ALL_NAMES = (*SCENARIOS, "flat", "jobs", "import", "startup")
ALIASES = {"flat": FLAT, "issue12": ISSUE12}

PLUGINS = ("pytest-asyncio-concurrent", "pytest-asyncio-cooperative", "pytest-asyncio")
SYSTEMS = ("unittest", "aiounit", *PLUGINS)
# Systems that run a suite's tests one after another: N x 1 s is estimated, not run.
SERIAL = ("unittest", "pytest-asyncio")
# What a scenario costs with no test framework at all: one script that imports
# unittest and asyncio, and gathers the same awaits on one loop (interpreter
# start-up included).  Every aiounit figure is a ratio to it.
FLOOR = "asyncio (floor)"


# --------------------------------------------------------------------------- test files


def _body(kind: str) -> str:
    if kind == "trivial":
        return "pass"
    if kind in ("fixtures", "classfixture"):
        return "await asyncio.sleep(0.5)"
    return "await asyncio.sleep(1)"


def generate_floor(kind: str, n: int) -> str:
    """The floor of a scenario: its awaits, gathered on one loop, and nothing else.

    It imports unittest and asyncio, as any runner of these tests must, and
    runs what the *n* tests await (set-up, body, tear-down in order within
    each test) concurrently in one ``asyncio.run``: what a runner cannot go
    below.  "N passed" is printed so that the count is checked as for the others.
    """
    if kind == "classfixture":
        login = ["    await asyncio.sleep(2)  # the class's login, once"]
        test = ["    await asyncio.sleep(0.5)"]
    else:
        login = []
        test = {
            "trivial": ["    pass"],
            "sleep": ["    await asyncio.sleep(1)"],
            "fixtures": [
                "    await asyncio.sleep(0.5)  # asyncSetUp",
                "    await asyncio.sleep(0.5)",
                "    await asyncio.sleep(0.2)  # asyncTearDown",
            ],
        }[kind]
    lines = [
        "import asyncio",
        "import unittest  # noqa: F401  (any runner of these tests imports it)",
        "",
        "",
        "async def test():",
        *test,
        "",
        "",
        "async def main():",
        *login,
        f"    await asyncio.gather(*(test() for _ in range({n})))",
        "",
        "",
        "asyncio.run(main())",
        f"print('{n} passed')",
        "",
    ]
    return "\n".join(lines)


def generate_classfixture(system: str, n: int) -> str:
    """The login-once scenario: a 2 s async login shared by *n* tests of 0.5 s."""
    if system == "aiounit":
        lines = [
            "import asyncio",
            "import aiounit",
            "",
            "",
            '@aiounit.group("bench")',
            "class TestBench(aiounit.AsyncTestCase):",
            "    @classmethod",
            "    async def asyncSetUpClass(cls):",
            "        await asyncio.sleep(2)  # the login",
            "        cls.session = asyncio.get_running_loop()  # loop-bound, shared",
            "",
        ]
        for i in range(n):
            lines += [
                f"    async def test_{i:05d}(self):",
                "        assert self.session is asyncio.get_running_loop()",
                "        await asyncio.sleep(0.5)",
                "",
            ]
        return "\n".join(lines) + "\n"
    if system == "unittest":
        # Not runnable as meant (no async class fixture): the estimate stands in.
        lines = [
            "import asyncio",
            "import unittest",
            "",
            "",
            "class TestBench(unittest.IsolatedAsyncioTestCase):",
            "    @classmethod",
            "    def setUpClass(cls):",
            "        asyncio.run(asyncio.sleep(2))  # a login on a loop no test uses",
            "",
        ]
        for i in range(n):
            lines += [f"    async def test_{i:05d}(self):", "        await asyncio.sleep(0.5)", ""]
        return "\n".join(lines) + "\n"
    # pytest plugins: a module-scoped async generator fixture.  Cooperative runs
    # it on the tests' loop; concurrent on a loop of its own (a loop-bound
    # resource would not work there), so only the loop of cooperative is checked.
    # pytest-asyncio runs the tests one after another, all on the module's loop.
    check = (
        "    assert login"
        if system == "pytest-asyncio-concurrent"
        else "    assert login is asyncio.get_running_loop()"
    )
    mark = {
        "pytest-asyncio-concurrent": '@pytest.mark.asyncio_concurrent(group="bench")',
        "pytest-asyncio-cooperative": "@pytest.mark.asyncio_cooperative",
        "pytest-asyncio": '@pytest.mark.asyncio(loop_scope="module")',
    }[system]
    fixture = (
        '@pytest_asyncio.fixture(scope="module", loop_scope="module")'
        if system == "pytest-asyncio"
        else '@pytest.fixture(scope="module")'
    )
    lines = [
        "import asyncio",
        "",
        "import pytest",
        *(["import pytest_asyncio"] if system == "pytest-asyncio" else []),
        "",
        "",
        fixture,
        "async def login():",
        "    await asyncio.sleep(2)",
        "    yield asyncio.get_running_loop()",
        "",
        "",
    ]
    for i in range(n):
        lines += [
            mark,
            f"async def test_{i:05d}(login):",
            check,
            "    await asyncio.sleep(0.5)",
            "",
            "",
        ]
    return "\n".join(lines)


def generate(system: str, kind: str, n: int, grouped: bool) -> str:
    """The source of one test module with *n* tests for *system*."""
    if system == FLOOR:
        return generate_floor(kind, n)
    if kind == "classfixture":
        return generate_classfixture(system, n)
    body = _body(kind)
    lines: list[str] = ["import asyncio"]
    if system in ("unittest", "aiounit"):
        if system == "unittest":
            lines += ["import unittest", "", ""]
            base = "unittest.IsolatedAsyncioTestCase"
        else:
            lines += ["import aiounit", "", ""]
            base = "aiounit.AsyncTestCase"
            if grouped:
                lines.append('@aiounit.group("bench")')
        lines.append(f"class TestBench({base}):")
        if kind == "fixtures":
            lines += [
                "    async def asyncSetUp(self):",
                "        await asyncio.sleep(0.5)",
                "",
                "    async def asyncTearDown(self):",
                "        await asyncio.sleep(0.2)",
                "",
            ]
        for i in range(n):
            lines += [f"    async def test_{i:05d}(self):", f"        {body}", ""]
        return "\n".join(lines) + "\n"

    # pytest plugins: module-level async test functions.
    lines += ["", "import pytest"]
    lines += ["import pytest_asyncio", "", ""] if system == "pytest-asyncio" else ["", ""]
    if system == "pytest-asyncio-concurrent":
        mark = (
            '@pytest.mark.asyncio_concurrent(group="bench")'
            if grouped
            else ("@pytest.mark.asyncio_concurrent")
        )
    elif system == "pytest-asyncio":
        mark = "@pytest.mark.asyncio"  # one test after another, a loop each
    else:
        mark = "@pytest.mark.asyncio_cooperative"
    arg = ""
    if kind == "fixtures":
        lines += [
            "@pytest_asyncio.fixture" if system == "pytest-asyncio" else "@pytest.fixture",
            "async def fx():",
            "    await asyncio.sleep(0.5)",
            "    yield",
            "    await asyncio.sleep(0.2)",
            "",
            "",
        ]
        arg = "fx"
    for i in range(n):
        lines += [mark, f"async def test_{i:05d}({arg}):", f"    {body}", "", ""]
    return "\n".join(lines)


def generate_cpu(module: int, n: int, seconds: float) -> str:
    """A module of *n* aiounit tests that each burn *seconds* of CPU (process time)."""
    lines = [
        "import time",
        "",
        "import aiounit",
        "",
        "",
        "def burn(seconds):",
        "    end = time.process_time() + seconds",
        "    while time.process_time() < end:",
        "        pass",
        "",
        "",
        f"class TestCpu{module}(aiounit.AsyncTestCase):",
    ]
    for i in range(n):
        lines += [f"    async def test_{i:03d}(self):", f"        burn({seconds})", ""]
    return "\n".join(lines)


def command(system: str, n: int) -> list[str]:
    """Arguments after the interpreter; run in the test file's directory."""
    if system == "unittest":
        return ["-m", "unittest", "test_bench"]
    if system == "aiounit":
        return ["-m", "aiounit", "test_bench"]
    if system == FLOOR:
        return ["test_bench.py"]
    common = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py"]
    if system == "pytest-asyncio-concurrent":
        return [*common, "-p", "no:asyncio-cooperative"]
    if system == "pytest-asyncio":
        return [*common, "-p", "no:asyncio-cooperative", "-p", "no:asyncio-concurrent"]
    # cooperative: pytest-asyncio is incompatible with it; its default cap is 100
    # running tasks, which would serialise these scenarios: lift it to N.
    return [
        *common,
        "-p",
        "no:asyncio-concurrent",
        "-p",
        "no:asyncio",
        f"--max-asyncio-tasks={max(n, 1)}",
    ]


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    wall: float
    rss_mb: float
    rc: int
    ok: bool
    output_tail: str = ""
    # This process's peak RSS when the child started: a child's ru_maxrss is
    # never below it, so a figure at or under it is not the child's own.
    runner_rss_mb: float = 0.0


def run_child(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    """Run *argv* as one child; its wall time and its own peak RSS (os.wait4)."""
    runner_rss_mb = _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        reaped = threading.Event()
        lock = threading.Lock()

        def kill() -> None:
            with lock:
                if not reaped.is_set():
                    os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C, SIGTERM: take the child down too
            os.kill(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        wall = time.perf_counter() - start
        with lock:
            reaped.set()
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits again
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(
        wall,
        _maxrss_mb(usage.ru_maxrss),
        proc.returncode,
        proc.returncode == 0,
        text[-3000:],
        runner_rss_mb,
    )


def _maxrss_mb(maxrss: int) -> float:
    return maxrss / 1024 if sys.platform != "darwin" else maxrss / 2**20


def tests_ran(system: str, text: str) -> int | None:
    if system in ("unittest", "aiounit"):
        m = re.search(r"^Ran (\d+) tests? in ", text, re.M)
    else:
        m = re.search(r"(\d+) passed", text)
    return int(m.group(1)) if m else None


@dataclass
class Interp:
    path: str
    version: str = ""
    label: str = ""  # the version, plus the path when two interpreters share a version
    systems: dict[str, str] = field(default_factory=dict)  # available system -> version
    prefixes: list[str] = field(default_factory=list)  # where it lives: not saved
    notes: list[str] = field(default_factory=list)


PROBE = r"""
import importlib.metadata as md, importlib.util as iu, json, platform, sys
out = {"version": platform.python_version(), "impl": platform.python_implementation(),
       "prefixes": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix})}
try:
    import aiounit  # also compiles aiounit's .pyc once, before anything is timed
    out["aiounit"] = aiounit.__version__ + " from " + aiounit.__file__
except Exception as exc:
    out["aiounit_error"] = repr(exc)
def ver(dist):
    try:
        return md.version(dist)
    except Exception:
        return None
out["pytest"] = ver("pytest") if iu.find_spec("pytest") else None
for mod, dist in (("pytest_asyncio_concurrent", "pytest-asyncio-concurrent"),
                  ("pytest_asyncio_cooperative", "pytest-asyncio-cooperative"),
                  ("pytest_asyncio", "pytest-asyncio")):
    out[dist] = ver(dist) if iu.find_spec(mod) else None
print(json.dumps(out))
"""


def probe(path: str, env: dict[str, str]) -> Interp:
    interp = Interp(path)
    proc = subprocess.run(
        [path, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"bench: cannot run {path}: {proc.stderr.strip()}")
    info = json.loads(proc.stdout)
    interp.version = f"{info['impl']} {info['version']}"
    interp.prefixes = info["prefixes"]
    interp.systems["unittest"] = info["version"]
    interp.systems[FLOOR] = info["version"]
    if "aiounit" in info:
        interp.systems["aiounit"] = info["aiounit"]
    else:
        interp.notes.append(f"aiounit not importable: {info.get('aiounit_error')}")
    pytest_version = info["pytest"]
    for dist in PLUGINS:
        if info[dist] is None:
            interp.notes.append(f"{dist}: not installed, skipped")
        elif pytest_version is None:
            interp.notes.append(f"{dist}: pytest not installed, skipped")
        elif dist == "pytest-asyncio-concurrent" and int(pytest_version.split(".")[0]) >= 9:
            interp.notes.append(f"{dist}: needs pytest < 9, found {pytest_version}; skipped")
        else:
            interp.systems[dist] = f"{info[dist]} (pytest {pytest_version})"
    return interp


WRITE_TEST_FILE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import bench
system, kind, n, grouped, target = sys.argv[2:]
Path(target).write_text(bench.generate(system, kind, int(n), grouped == "g"))
"""


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.results: list[dict[str, Any]] = []
        self.made: set[Path] = set()
        self.compiled: set[tuple[str, Path]] = set()
        env = dict(os.environ)
        paths = [str(Path(p).resolve()) for p in args.pythonpath] or [str(REPO)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        for var in (
            "PYTHONASYNCIODEBUG",
            "PYTHONDEVMODE",
            "PYTHONTRACEMALLOC",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONUNBUFFERED",
            "PYTEST_ADDOPTS",
            "PYTEST_PLUGINS",
        ):
            env.pop(var, None)
        self.env = env

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def test_dir(self, system: str, kind: str, n: int, grouped: bool) -> Path:
        tag = f"{system}-{kind}-{'g' if grouped else 'u'}-{n}"
        d = self.workdir / tag
        if d not in self.made:
            d.mkdir(parents=True, exist_ok=True)
            # In a child of its own: a child's peak RSS (ru_maxrss) is at least
            # the parent's at the moment it is started (Linux carries the
            # parent's over fork and exec), and 100 000 tests' source would
            # lift this process's above the smallest system's.
            subprocess.run(
                [sys.executable, "-c", WRITE_TEST_FILE, str(Path(__file__).parent), system,
                 kind, str(n), "g" if grouped else "u", str(d / "test_bench.py")],
                check=True,
            )  # fmt: skip
            self.made.add(d)
        return d

    def prepare(self, interp: Interp, system: str, d: Path, n: int) -> None:
        """Untimed: byte-compile the test module (pytest: rewrite it) for this interpreter."""
        if (interp.path, d) in self.compiled:
            return
        self.compiled.add((interp.path, d))
        if system.startswith("pytest"):
            argv = [interp.path, *command(system, n), "--collect-only"]
        else:
            argv = [interp.path, "-m", "compileall", "-q", str(d)]
        subprocess.run(
            argv,
            cwd=d,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )

    def measure(
        self,
        interp: Interp,
        scenario: str,
        system: str,
        kind: str,
        n: int,
        grouped: bool,
        ideal: float,
        repeat: int | None = None,
    ) -> dict[str, Any]:
        d = self.test_dir(system, kind, n, grouped)
        self.prepare(interp, system, d, n)
        argv = [interp.path, *command(system, n)]
        runs: list[Run] = []
        loads: list[tuple[float, float]] = []
        repeat = repeat or self.args.repeat
        if system in SERIAL and ideal > 20:
            repeat = 1  # tens of seconds of sleeping: the noise is a small part of it
        for i in range(repeat):
            self.log(f"  {scenario:<22} N={n:<6} {system:<27} run {i + 1}/{repeat}")
            before = os.getloadavg()[0]
            run = run_child(argv, d, self.env, timeout=self.args.child_timeout + 3 * ideal)
            loads.append((before, os.getloadavg()[0]))
            ran = tests_ran(system, run.output_tail)
            if run.ok and ran != n:
                run.ok = False
            runs.append(run)
            if not run.ok:
                self.log(
                    f"    FAILED: exit {run.rc}, ran {ran} of {n}; output tail:\n"
                    + "\n".join(run.output_tail.splitlines()[-15:])
                )
                break
        good = [r for r in runs if r.ok]
        best = min(good, key=lambda r: r.wall) if good else runs[-1]
        rec: dict[str, Any] = {
            "python": interp.label,
            "interpreter": interp.path,
            "scenario": scenario,
            "system": system,
            "n": n,
            "estimated": False,
            "ok": bool(good),
            "wall_s": best.wall,
            "rss_mb": best.rss_mb,
            "walls_s": [r.wall for r in runs],
            "rss_mbs": [r.rss_mb for r in runs],
            "runner_rss_mb": best.runner_rss_mb,
            # The 1-minute load average before and after the best run: other
            # processes on the machine slow every figure down.
            "loadavg_1min": list(loads[runs.index(best)]),
            "command": " ".join(argv[1:]),
        }
        if not good:
            rec["error"] = f"exit {best.rc}"
            rec["output_tail"] = best.output_tail
        self.results.append(rec)
        return rec

    def estimate(self, interp: Interp, scenario: str, system: str, n: int, ideal: float) -> None:
        self.results.append(
            {
                "python": interp.label,
                "interpreter": interp.path,
                "scenario": scenario,
                "system": system,
                "n": n,
                "estimated": True,
                "ok": True,
                "wall_s": ideal,
                "rss_mb": None,
            }
        )

    # ---- scenarios

    def scenario(self, interp: Interp, sc: Scenario) -> None:
        n = sc.quick_n if self.args.quick else sc.n
        ideal = n * sc.per_test_s
        for system in (FLOOR, *SYSTEMS):
            if system not in interp.systems:
                continue
            if self.args.systems and system not in self.args.systems and system != FLOOR:
                continue
            if system in SERIAL:
                run_it = self.args.all or (
                    sc.serial_by_default and not (self.args.quick and ideal > 5)
                )
                if not run_it:
                    self.estimate(interp, sc.name, system, n, ideal)
                    continue
            if system == "pytest-asyncio-cooperative" and not sc.grouped:
                continue  # it has no notion of an ungrouped async test: n/a
            if system in PLUGINS and n > 10000 and not self.args.all:
                continue  # minutes each and gigabytes: only with --all
            self.measure(interp, sc.name, system, sc.kind, n, sc.grouped, ideal)

    def startup(self, interp: Interp) -> None:
        """``python -m aiounit`` against ``python -m unittest`` on a folder of one test.

        The folder holds one trivial ``IsolatedAsyncioTestCase`` test, which
        both run by discovery: the difference is what starting aiounit costs
        a run (importing it, its runner and suite).  Best of k, interleaved.
        """
        if "aiounit" not in interp.systems:
            return
        d = self.workdir / "startup"
        if d not in self.made:
            d.mkdir(parents=True, exist_ok=True)
            (d / "test_one.py").write_text(
                "import unittest\n\n\nclass TestOne(unittest.IsolatedAsyncioTestCase):\n"
                "    async def test_one(self):\n        pass\n"
            )
            self.made.add(d)
        self.prepare(interp, "aiounit", d, 0)
        k = max(7 if self.args.quick else 21, self.args.repeat)
        best: dict[str, tuple[Run, tuple[float, float]]] = {}
        walls: dict[str, list[float]] = {"unittest": [], "aiounit": []}
        self.log(f"  {'startup':<22} best of {k}")
        for _ in range(k):  # interleaved, so that drift hits both alike
            for system in ("unittest", "aiounit"):
                before = os.getloadavg()[0]
                run = run_child([interp.path, "-m", system], d, self.env, 60)
                load = (before, os.getloadavg()[0])
                if not run.ok or tests_ran(system, run.output_tail) != 1:
                    sys.exit(f"bench: `python -m {system}` failed:\n{run.output_tail}")
                walls[system].append(run.wall)
                if system not in best or run.wall < best[system][0].wall:
                    best[system] = (run, load)
        for system in ("unittest", "aiounit"):
            run, load = best[system]
            self.results.append(
                {
                    "python": interp.label,
                    "interpreter": interp.path,
                    "scenario": "startup",
                    "system": system,
                    "n": 1,
                    "estimated": False,
                    "ok": True,
                    "wall_s": run.wall,
                    "rss_mb": run.rss_mb,
                    "walls_s": walls[system],
                    "loadavg_1min": list(load),
                    "command": f"-m {system}",
                }
            )

    def jobs(self, interp: Interp) -> None:
        """CPU-bound tests in several modules: aiounit in one process, then with -j 2.

        Each test burns CPU time (not wall time), so the figures show what the
        workers win on the cores the machine gives them; the load average
        before and after each run is recorded, since other processes take cores.
        """
        if "aiounit" not in interp.systems:
            return
        modules, per, seconds = JOBS_QUICK if self.args.quick else JOBS
        n = modules * per
        d = self.workdir / f"aiounit-cpu-{modules}x{per}"
        if d not in self.made:
            d.mkdir(parents=True, exist_ok=True)
            for m in range(modules):
                (d / f"test_cpu{m}.py").write_text(generate_cpu(m, per, seconds))
            self.made.add(d)
        self.prepare(interp, "aiounit", d, 0)
        for system, extra in (("aiounit", []), ("aiounit -j 2", ["-j", "2"])):
            argv = [interp.path, "-m", "aiounit", *extra]
            runs: list[tuple[Run, float, float]] = []
            repeat = max(3, self.args.repeat)
            for i in range(repeat):
                self.log(f"  {'jobs':<22} N={n:<6} {system:<27} run {i + 1}/{repeat}")
                before = os.getloadavg()[0]
                run = run_child(
                    argv, d, self.env, timeout=self.args.child_timeout + 3 * n * seconds
                )
                after = os.getloadavg()[0]
                if run.ok and tests_ran("aiounit", run.output_tail) != n:
                    run.ok = False
                runs.append((run, before, after))
                if not run.ok:
                    self.log(
                        f"    FAILED: exit {run.rc}; output tail:\n"
                        + "\n".join(run.output_tail.splitlines()[-15:])
                    )
                    break
            good = [r for r in runs if r[0].ok]
            best, before, after = min(good, key=lambda r: r[0].wall) if good else runs[-1]
            self.results.append(
                {
                    "python": interp.label,
                    "interpreter": interp.path,
                    "scenario": "jobs",
                    "system": system,
                    "n": n,
                    "estimated": False,
                    "ok": bool(good),
                    "wall_s": best.wall,
                    "rss_mb": best.rss_mb,
                    "walls_s": [r[0].wall for r in runs],
                    "loadavg_1min": [before, after],
                    "cpu_s": n * seconds,
                    "command": " ".join(argv[1:]),
                }
            )

    def import_cost(self, interp: Interp) -> None:
        """``python -c "import aiounit"`` minus ``python -c "import unittest"``, best of k.

        ``import unittest.async_case`` (what any IsolatedAsyncioTestCase suite
        imports anyway: asyncio) is measured too, to tell aiounit's own share.
        """
        if "aiounit" not in interp.systems:
            return
        k = max(5, self.args.repeat) if self.args.quick else max(15, self.args.repeat)
        cwd = Path(tempfile.gettempdir())
        mods = ("unittest", "unittest.async_case", "aiounit")
        best: dict[str, Run] = {}
        self.log(f"  import                 best of {k}")
        for _ in range(k):  # interleaved, so that drift hits all alike
            for mod in mods:
                run = run_child([interp.path, "-c", f"import {mod}"], cwd, self.env, 60)
                if run.ok and (mod not in best or run.wall < best[mod].wall):
                    best[mod] = run
        if len(best) < len(mods):
            sys.exit(f"bench: `{interp.path} -c 'import ...'` failed for {set(mods) - set(best)}")
        count = subprocess.run(
            [
                interp.path,
                "-c",
                "import sys; a = set(sys.modules); import unittest; b = set(sys.modules);"
                " import aiounit; c = set(sys.modules);"
                " print(len(c - b), ' '.join(sorted({m.split('.')[0] for m in c - b"
                " if not m.startswith(('aiounit', '_'))})))",
            ],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split(maxsplit=1)
        for mod in mods:
            r = best[mod]
            self.results.append(
                {
                    "python": interp.label,
                    "interpreter": interp.path,
                    "scenario": "import",
                    "system": mod,
                    "n": k,
                    "estimated": False,
                    "ok": True,
                    "wall_s": r.wall,
                    "rss_mb": r.rss_mb,
                }
            )
        self.results.append(
            {
                "python": interp.label,
                "interpreter": interp.path,
                "scenario": "import",
                "system": "delta",
                "n": k,
                "estimated": False,
                "ok": True,
                "wall_s": best["aiounit"].wall - best["unittest"].wall,
                "rss_mb": best["aiounit"].rss_mb - best["unittest"].rss_mb,
                "own_wall_s": best["aiounit"].wall - best["unittest.async_case"].wall,
                "extra_modules": int(count[0]) if count else None,
                "extra_packages": count[1].split() if len(count) > 1 else [],
            }
        )


# --------------------------------------------------------------------------- reporting


def find(
    results: list[dict[str, Any]], python: str, scenario: str, system: str, n: int | None = None
) -> dict[str, Any] | None:
    for r in results:
        if (r["python"], r["scenario"], r["system"]) == (python, scenario, system) and (
            n is None or r["n"] == n
        ):
            return r
    return None


def fmt_wall(r: dict[str, Any]) -> str:
    if not r["ok"]:
        return r.get("error", "error")
    return f"~{r['wall_s']:.0f} est." if r["estimated"] else f"{r['wall_s']:.3f}"


def rss_measured(r: dict[str, Any]) -> bool:
    """Whether *r*'s peak RSS is the child's own, not the benchmark's (see Run)."""
    return r["rss_mb"] is not None and r["rss_mb"] > r.get("runner_rss_mb", 0.0) + 0.5


def ratio(r: dict[str, Any] | None, base: dict[str, Any] | None, key: str) -> float | None:
    """*r*'s figure over *base*'s (``wall_s`` or ``rss_mb``), if both were measured."""
    if not r or not base or not r["ok"] or not base["ok"] or base.get("estimated"):
        return None
    if r.get("estimated") or r[key] is None or not base[key]:
        return None
    if key == "rss_mb" and not (rss_measured(r) and rss_measured(base)):
        return None
    return float(r[key] / base[key])


def _x(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}x"


def _load(r: dict[str, Any]) -> str:
    load = r.get("loadavg_1min")
    return f"{load[0]:.1f}-{load[1]:.1f}" if load else ""


def _align(rows: list[tuple[str, ...]], left: int) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for j, row in enumerate(rows):
        out.append(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def table(results: list[dict[str, Any]], pythons: list[str]) -> list[str]:
    """One row per scenario and system: its figures, and its ratios to the floor
    (time and peak RSS) and to stdlib unittest."""
    head = ("python", "scenario", "N", "system", "wall s", "peak RSS MB")
    rows = [(*head, "time/floor", "RSS/floor", "vs unittest", "load")]
    for py in pythons:
        for r in results:
            if r["python"] != py or r["scenario"] in ("import", "flat", "jobs"):
                continue
            floor = find(results, py, r["scenario"], FLOOR)
            base = find(results, py, r["scenario"], "unittest")
            speed = ""
            measured = r["ok"] and not r["estimated"]
            if r["system"] not in ("unittest", FLOOR) and base and base["ok"] and measured:
                speed = f"{base['wall_s'] / r['wall_s']:.1f}x faster"
                if base["estimated"]:
                    speed += " (vs est.)"
            rss = "-" if r["rss_mb"] is None else f"{r['rss_mb']:.1f}"
            if r["rss_mb"] is not None and not rss_measured(r):
                rss = "<=" + rss  # the benchmark's own peak: the child's is not known
            at_floor = r["system"] == FLOOR
            rows.append(
                (
                    py,
                    r["scenario"],
                    str(r["n"]),
                    r["system"],
                    fmt_wall(r),
                    rss,
                    "" if at_floor else _x(ratio(r, floor, "wall_s"), 3),
                    "" if at_floor else _x(ratio(r, floor, "rss_mb")),
                    speed,
                    _load(r),
                )
            )
        for r in results:  # results files of before issue 12: trivial tests
            if r["python"] == py and r["scenario"] == "flat":
                us = f"{r['wall_s'] / r['n'] * 1e6:.0f} us/test" if r["ok"] else ""
                rows.append(
                    (py, "flat (trivial)", str(r["n"]), "aiounit", fmt_wall(r),
                     f"{r['rss_mb']:.1f}", "", "", us, _load(r))
                )  # fmt: skip
        serial = find(results, py, "jobs", "aiounit")
        for r in results:
            if r["python"] == py and r["scenario"] == "jobs":
                speed = ""
                if r is not serial and serial and serial["ok"] and r["ok"]:
                    speed = f"{serial['wall_s'] / r['wall_s']:.2f}x serial"
                rows.append(
                    (py, "jobs (CPU-bound)", str(r["n"]), r["system"], fmt_wall(r),
                     f"{r['rss_mb']:.1f}", "", "", speed, _load(r))
                )  # fmt: skip
        u = find(results, py, "import", "unittest")
        for mod in ("unittest", "unittest.async_case", "aiounit"):
            r = find(results, py, "import", mod)
            if r and u:
                extra = f"{(r['wall_s'] - u['wall_s']) * 1000:+.1f} ms" if r is not u else ""
                rows.append(
                    (py, f"import {mod}", "", "python -c", f"{r['wall_s']:.4f}",
                     f"{r['rss_mb']:.1f}", "", "", extra, "")
                )  # fmt: skip
    if len(pythons) == 1:
        rows = [row[1:] for row in rows]
    return _align(rows, 3 if len(pythons) == 1 else 4)


def per_test(results: list[dict[str, Any]], python: str) -> list[dict[str, Any]]:
    """The cost of one test of the sleep scenario at each size measured, over the
    floor of that size: what aiounit adds per test, in time and in peak RSS."""
    out = []
    for name in FLAT:
        r, floor = find(results, python, name, "aiounit"), find(results, python, name, FLOOR)
        if r and floor and r["ok"] and floor["ok"]:
            n = r["n"]
            out.append(
                {
                    "n": n,
                    "wall_s": r["wall_s"],
                    "rss_mb": r["rss_mb"],
                    "floor_wall_s": floor["wall_s"],
                    "floor_rss_mb": floor["rss_mb"],
                    "us_per_test": (r["wall_s"] - floor["wall_s"]) / n * 1e6,
                    "kb_per_test": (r["rss_mb"] - floor["rss_mb"]) * 1024 / n
                    if rss_measured(r) and rss_measured(floor)
                    else None,
                }
            )
    return out


def per_test_table(results: list[dict[str, Any]], pythons: list[str]) -> list[str]:
    rows = [("python", "N x sleep(1)", "aiounit s", "floor s", "aiounit MB", "floor MB",
             "us/test over floor", "KB/test over floor")]  # fmt: skip
    for py in pythons:
        for p in per_test(results, py):
            rows.append(
                (py, str(p["n"]), f"{p['wall_s']:.3f}", f"{p['floor_wall_s']:.3f}",
                 f"{p['rss_mb']:.1f}", f"{p['floor_rss_mb']:.1f}",
                 f"{p['us_per_test']:.1f}",
                 "" if p["kb_per_test"] is None else f"{p['kb_per_test']:.2f}")
            )  # fmt: skip
    if len(rows) == 1:
        return []
    return _align(rows, 1)


def targets(results: list[dict[str, Any]], python: str) -> list[dict[str, Any]]:
    """The targets of issue 12 (and of issues 9 and 10 still standing), as ratios
    measured side by side in this run."""
    out: list[dict[str, Any]] = []

    def add(name: str, figure: str, ok: bool | None, note: str = "") -> None:
        out.append(
            {
                "python": python,
                "target": name,
                "figure": figure,
                "status": "INFO" if ok is None else ("PASS" if ok else "FAIL"),
                "note": note,
            }
        )

    def aio(scenario: str) -> dict[str, Any] | None:
        r = find(results, python, scenario, "aiounit")
        return r if r and r["ok"] else None

    def vs_floor(scenario: str, time_max: float, rss_max: float | None) -> None:
        r, floor = aio(scenario), find(results, python, scenario, FLOOR)
        t = ratio(r, floor, "wall_s")
        if r is None or floor is None or t is None:
            return
        add(
            f"{scenario}: aiounit time <= {time_max}x the floor's (N={r['n']})",
            f"{t:.3f}x ({r['wall_s']:.3f} s / {floor['wall_s']:.3f} s)",
            t <= time_max,
            f"load {_load(r)}",
        )
        m = ratio(r, floor, "rss_mb")
        if rss_max is not None and m is not None:
            add(
                f"{scenario}: aiounit peak RSS <= {rss_max}x the floor's (N={r['n']})",
                f"{m:.2f}x ({r['rss_mb']:.1f} MB / {floor['rss_mb']:.1f} MB)",
                m <= rss_max,
            )

    vs_floor("sleep10000", 1.2, 1.5)
    vs_floor("sleep100000", 1.3, 2.0)
    sizes = per_test(results, python)
    if len(sizes) == 3:
        (n1, w1, m1), (n2, w2, m2), (n3, w3, m3) = (
            (p["n"], p["wall_s"], p["rss_mb"]) for p in sizes
        )
        us = ((w2 - w1) / (n2 - n1) * 1e6, (w3 - w2) / (n3 - n2) * 1e6)
        figure = f"{us[0]:.1f} -> {us[1]:.1f} us/test"
        flat = us[1] <= 1.5 * us[0]
        if all(p["kb_per_test"] is not None for p in sizes):
            kb = ((m2 - m1) * 1024 / (n2 - n1), (m3 - m2) * 1024 / (n3 - n2))
            figure += f", {kb[0]:.2f} -> {kb[1]:.2f} KB/test"
            flat = flat and kb[1] <= 1.5 * kb[0]
        else:
            figure += " (RSS not measured at every size)"
        over = " / ".join(
            f"{p['us_per_test']:.0f} us"
            + ("" if p["kb_per_test"] is None else f", {p['kb_per_test']:.2f} KB")
            for p in sizes
        )
        add(
            f"sleep N={n1}/{n2}/{n3}: cost per test flat (marginal {n2}->{n3} <= 1.5x"
            f" {n1}->{n2}, time and RSS)",
            figure,
            flat,
            f"over the floor per test: {over}",
        )
    for scenario, factor in (("trivial5000_grouped", 20), ("trivial5000_ungrouped", 8)):
        r, base = aio(scenario), find(results, python, scenario, "unittest")
        if r and base and base["ok"] and not base["estimated"]:
            speed = base["wall_s"] / r["wall_s"]
            add(
                f"{scenario}: aiounit >= {factor}x faster than unittest (N={r['n']})",
                f"{speed:.2f}x ({base['wall_s']:.2f} s / {r['wall_s']:.2f} s)",
                speed >= factor,
                f"load {_load(r)}",
            )
    r, base = aio("startup"), find(results, python, "startup", "unittest")
    t = ratio(r, base, "wall_s")
    if r and base and t is not None:
        add(
            "startup: python -m aiounit <= 1.1x python -m unittest (one trivial test)",
            f"{t:.3f}x ({r['wall_s'] * 1000:.1f} ms / {base['wall_s'] * 1000:.1f} ms)",
            t <= 1.1,
            f"best of {len(r['walls_s'])}, interleaved; load {_load(r)}",
        )
    vs_floor("sleep1000", 1.05, None)
    vs_floor("fixtures40", 1.05, None)
    vs_floor("classfixture40", 1.1, None)
    serial, parallel = aio("jobs"), find(results, python, "jobs", "aiounit -j 2")
    if serial and parallel and parallel["ok"]:
        speed = serial["wall_s"] / parallel["wall_s"]
        add(
            f"jobs: -j 2 >= 1.8x one process on 2 cores (N={serial['n']}, CPU-bound)",
            f"{speed:.2f}x ({serial['wall_s']:.2f} s / {parallel['wall_s']:.2f} s)",
            speed >= 1.8,
            f"1-min load average {_load(parallel)} around the best -j 2 run;"
            " other processes on the machine take cores",
        )
    d = find(results, python, "import", "delta")
    if d:
        add(
            "import aiounit: start-up added over import unittest",
            f"{d['wall_s'] * 1000:+.1f} ms ({d['own_wall_s'] * 1000:+.1f} ms over"
            f" import unittest.async_case), {d['rss_mb']:+.1f} MB RSS,"
            f" {d.get('extra_modules')} more modules",
            None,
            "packages it adds: " + (" ".join(d.get("extra_packages") or []) or "none"),
        )
    return out


def versus(results: list[dict[str, Any]], python: str) -> list[str]:
    """aiounit against each other system, scenario by scenario: how many times
    faster, and how many times less peak memory."""
    lines = []
    for name in [*SCENARIOS, "startup"]:
        r = find(results, python, name, "aiounit")
        if not r or not r["ok"]:
            continue
        parts = []
        for system in SYSTEMS:  # the floor has its own column
            other = find(results, python, name, system)
            if system == "aiounit" or not other or not other["ok"]:
                continue
            speed = other["wall_s"] / r["wall_s"]
            part = f"{system} {speed:.2f}x" + (" (est.)" if other.get("estimated") else "")
            mem = ratio(other, r, "rss_mb")
            if mem is not None:
                part += f", {mem:.2f}x RSS"
            parts.append(part)
        if parts:
            lines.append(f"  {name}: " + "; ".join(parts))
    return lines


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios: " + ", ".join(ALL_NAMES),
    )
    p.add_argument(
        "--only",
        action="append",
        choices=(*ALL_NAMES, *ALIASES),
        metavar="SCENARIO",
        help="run only this scenario (repeatable); one of: "
        + ", ".join(ALL_NAMES)
        + "; or issue12: every scenario the targets of issue 12 need ("
        + " ".join(ISSUE12)
        + ")",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="shrink N for a fast smoke run (targets become indicative)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="also run stdlib unittest where it is only estimated by default"
        " (sleep1000: ~17 min, sleep10000: ~3 h)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement; best is kept")
    p.add_argument(
        "--system",
        action="append",
        dest="systems",
        choices=SYSTEMS,
        metavar="SYSTEM",
        help="measure only this system (repeatable); one of: "
        + ", ".join(SYSTEMS)
        + " (ratios need unittest)",
    )
    p.add_argument(
        "--python",
        action="append",
        dest="pythons",
        metavar="PATH",
        help="interpreter to run the children with (repeatable; default: this one)",
    )
    p.add_argument(
        "--pythonpath",
        action="append",
        default=[],
        metavar="DIR",
        help=f"PYTHONPATH for the children (default: {REPO})",
    )
    p.add_argument("--json", metavar="PATH", help="write the raw results here")
    p.add_argument(
        "--from-json",
        metavar="PATH",
        help="run nothing: print the report of an earlier --json file",
    )
    p.add_argument(
        "--keep",
        metavar="DIR",
        help="generate the test files in DIR and keep them (default: a temp dir)",
    )
    p.add_argument(
        "--child-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="kill a child after S s plus 3x its ideal time (default 600)",
    )
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


def for_saving(
    data: dict[str, Any], interps: list[Interp], workdir: Path, pythonpath: list[str]
) -> dict[str, Any]:
    """*data* with no path of this machine in it, since results are committed.

    An interpreter is "<python>" (its version is beside it), its installation
    "<prefix>", the generated tests "<tmp>"; aiounit is imported from a
    PYTHONPATH entry, which is left out ("from aiounit/__init__.py").
    """
    replacements = [(i.path, "<python>") for i in interps]
    replacements += [(prefix, "<prefix>") for i in interps for prefix in i.prefixes]
    replacements += [(str(workdir), "<tmp>")]
    replacements += [(entry.rstrip(os.sep) + os.sep, "") for entry in pythonpath if entry]
    replacements.sort(key=lambda pair: -len(pair[0]))
    return anonymised(data, replacements)


def anonymised(data: Any, replacements: list[tuple[str, str]]) -> Any:
    """*data* with each *old* prefix in its strings replaced, the longest first."""
    if isinstance(data, str):
        for old, new in replacements:
            data = data.replace(old, new)
        return data
    if isinstance(data, dict):
        return {key: anonymised(value, replacements) for key, value in data.items()}
    if isinstance(data, list):
        return [anonymised(value, replacements) for value in data]
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report(json.loads(Path(args.from_json).read_text()))
        return 0
    # SIGTERM as an exception: the running child is killed and the temp dir removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    wanted = [n for name in args.only or ALL_NAMES for n in ALIASES.get(name, (name,))]
    selected = [name for name in ALL_NAMES if name in wanted]  # in the usual order
    pythons = []
    for py in args.pythons or [sys.executable]:
        found = shutil.which(py) or py
        pythons.append(str(Path(found).absolute()))
    tmp = None
    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="aiounit-bench-")
        workdir = Path(tmp.name)
    bench = Bench(args, workdir)
    interps = [probe(py, bench.env) for py in pythons]
    for interp in interps:
        same = [i for i in interps if i.version == interp.version]
        # A venv's name (.../venv-plugins/bin/python) tells it from its base interpreter.
        where = Path(interp.path).parent.parent.name or interp.path
        interp.label = interp.version if len(same) == 1 else f"{interp.version} [{where}]"
    if len({i.label for i in interps}) < len(interps):
        for number, interp in enumerate(interps, 1):
            interp.label = f"{interp.version} [#{number}]"
    try:
        for interp in interps:
            bench.log(
                f"{interp.label}: " + ", ".join(f"{k} {v}" for k, v in interp.systems.items())
            )
            for note in interp.notes:
                bench.log(f"  note: {note}")
            if "import" in selected:
                bench.import_cost(interp)
            if "startup" in selected:
                bench.startup(interp)
            for name in selected:
                if name in SCENARIOS:
                    bench.scenario(interp, SCENARIOS[name])
            if "jobs" in selected:
                bench.jobs(interp)
    finally:
        if tmp is not None:
            tmp.cleanup()

    data = {
        "machine": machine(),
        "quick": args.quick,
        "repeat": args.repeat,
        "interpreters": [{k: v for k, v in asdict(i).items() if k != "prefixes"} for i in interps],
        "results": bench.results,
    }
    data = for_saving(data, interps, workdir, bench.env["PYTHONPATH"].split(os.pathsep))
    data["targets"] = report(data)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2))
        print(f"\nraw results: {args.json}")
    return 1 if any(not r["ok"] for r in bench.results) else 0


def report(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Print the table, the notes and the targets; return the targets."""
    info, results = data["machine"], data["results"]
    labels = [i["label"] for i in data["interpreters"]]
    print()
    print(
        f"aiounit benchmark - {info['cpu']}, {info['cpus']} CPUs"
        f" ({info['affinity']} usable), {info['platform']}"
        + (f" - {labels[0]}" if len(labels) == 1 else "")
    )
    if data["quick"]:
        print("QUICK RUN: N shrunk; figures are not comparable with the targets.")
    if data["repeat"] > 1:
        print(f"best of {data['repeat']} runs per cell")
    print()
    for line in table(results, labels):
        print(line)
    print()
    lines = per_test_table(results, labels)
    if lines:
        print("What aiounit adds per test (N x sleep(1), one group), over the floor of each N:")
        for line in lines:
            print("  " + line)
        print()
    for py in labels:
        lines = versus(results, py)
        if lines:
            print(
                "aiounit against each system: its time / aiounit's, its peak RSS / aiounit's"
                + (f" - {py}" if len(labels) > 1 else "")
                + ":"
            )
            for line in lines:
                print(line)
            print()
    notes = [
        f"{FLOOR}: the same awaits gathered on one loop by a script that imports unittest"
        " and asyncio and nothing else; time/floor and RSS/floor are each system's ratio to it.",
        "'est.' = a serial system not run (use --all): N x its sleeping time per test,"
        " a lower bound; ratios against it are lower bounds too.",
        "load = the 1-minute load average before-after the best run.",
        "<=X MB: the child's peak RSS is not known, only that it is at most the benchmark's"
        " own peak when it started (Linux counts the parent's in a child's ru_maxrss).",
        "pytest-asyncio-cooperative runs with --max-asyncio-tasks=N (its default, 100,"
        " would serialise); it has no ungrouped mode (n/a there).",
    ]
    for interp in data["interpreters"]:
        notes += [f"{interp['label']}: {n}" for n in interp["notes"]]
    for n in notes:
        print("note: " + n)
    print()
    all_targets = []
    for py in labels:
        ts = targets(results, py)
        all_targets += ts
        print(
            "Targets (issue 12)"
            + (f" - {py}" if len(labels) > 1 else "")
            + (" - QUICK RUN, N shrunk: indicative only" if data["quick"] else "")
            + ":"
        )
        width = max((len(t["target"]) for t in ts), default=0)
        for t in ts:
            print(f"  {t['status']:<4}  {t['target']:<{width}}  {t['figure']}")
            if t["note"]:
                print(f"        {'':<{width}}  ({t['note']})")
        if not ts:
            print("  (no target's scenario was run)")
    return all_targets


if __name__ == "__main__":
    sys.exit(main())
