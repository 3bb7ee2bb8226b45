"""Differential fault injection: generated modules, stock unittest against aiounit, test by test.

Each seed makes a module (tests/_faultgen.py) whose tests mix every outcome with
fixtures at every level and the faults a test can do to its loop and its peers.
The module runs as a subprocess (tests/_fi_runner.py, which dumps every result
call as JSON) in five ways:

- ``ref``: stock ``unittest.main`` on plain ``IsolatedAsyncioTestCase`` classes,
  the reference;
- ``plain``: ``aiounit.main`` on ``aiounit.AsyncTestCase`` classes, no groups;
- ``load_tests``: stock ``unittest.main`` on ``AsyncTestCase`` classes with
  ``from aiounit import load_tests`` and unnamed class groups;
- ``default_group``: ``aiounit.main --default-group class`` on the reference's
  own module;
- ``grouped``: ``aiounit.main`` with one named group across every class.

Each aiounit run must report every test the reference reported exactly once,
with the reference's outcome except where the contract says otherwise (a test
past its ``aiounit.timeout`` is a ``TestTimeoutError``; a test whose group holds
a peer that cancels every task, or blocks the loop past its limit, may instead
get an error that names that peer), run the same fixtures and hooks, exit with
the right status, warn about blocking and leaked tasks in a group, and leave
process state (warning filters, loggers, patched attributes, ``os.environ``,
the cwd, signal handlers) as it found it, between groups and at the end.

``AIOUNIT_SOAK=N`` adds N random seeds (soak seeds 1000..); ``AIOUNIT_FI_SEEDS=a,b``
runs those soak seeds only.  A failure prints the seed, the command, the
generated module and the per-test differences, and keeps the module's directory.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import inspect
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import unittest
from dataclasses import dataclass
from typing import Any, ClassVar

from tests import _faultgen
from tests._faultgen import KINDS, Spec
from tests._support import PARALLEL, ROOT, Early, child_env, in_background, run_warm

# mode: (source variant, runner, extra arguments)
MODES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ref": ("std", "unittest", ()),
    "plain": ("au", "aiounit", ("--grace", "0.1")),
    "load_tests": ("lt", "unittest", ()),
    "default_group": ("std", "aiounit", ("--default-group", "class", "--grace", "0.1")),
    "grouped": ("grp", "aiounit", ("--grace", "0.1")),
}

# Kinds, faults and hooks (tests/_faultgen.py) left out of generated modules
# while the fix of the aiounit bug they hit is pending, each with its finding
# (issue 15 item; FI-n of the fault-injection findings).  AIOUNIT_FI_PENDING=1
# puts them back, to check a fix.  Empty once every fix has landed.
PENDING: dict[str, str] = {}


def _pending() -> set[str]:
    return set() if os.environ.get("AIOUNIT_FI_PENDING") else set(PENDING)


CI_SEEDS = (101, 102, 103)
RUN_TIMEOUT = 30.0  # a run that has not ended by then never will

_START, _STOP = ("start",), ("stop",)
_OWN_FRAME = re.compile(r'File "[^"]*[/\\]aiounit[/\\]_\w+\.py", line \d+, in \S+')
_SUCCESS = (_START, ("success",), _STOP)


def _seeds() -> list[tuple[int, bool]]:
    """(seed, soak) pairs this run checks."""
    chosen = os.environ.get("AIOUNIT_FI_SEEDS", "").strip()
    if chosen:
        return [(int(s), True) for s in chosen.split(",")]
    soak = int(os.environ.get("AIOUNIT_SOAK", "0") or 0)
    return [(s, False) for s in CI_SEEDS] + [(1000 + n, True) for n in range(soak)]


def make_spec(seed: int, soak: bool) -> Spec:
    ci = None if soak else (CI_SEEDS.index(seed), len(CI_SEEDS))
    return _faultgen.generate(seed, ci, exclude=_pending())


@dataclass
class Run:
    mode: str
    module: str
    path: str
    command: list[str]
    returncode: int | None
    stderr: str
    data: dict[str, Any] | None


def _env() -> dict[str, str]:
    return child_env(
        drop=("AIOUNIT_SOAK", "AIOUNIT_FI_SEEDS", "AIOUNIT_FI_PENDING", "PYTHONASYNCIODEBUG")
    )


def _command(spec: Spec, mode: str, workdir: str) -> tuple[str, ...]:
    """The command line of *spec*'s run in *mode* (its module written in *workdir*)."""
    variant, runner, extra = MODES[mode]
    module = f"fi_{spec.seed}_{variant}"
    path = os.path.join(workdir, module + ".py")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as file:
            file.write(spec.source(variant))
    out = os.path.join(workdir, f"{mode}.json")
    flags = ["-W", "error"] if spec.werror else []
    buffer = ["-b"] if spec.buffer else []
    return (*flags, "-m", "tests._fi_runner", runner, out, "-v", *buffer, *extra, module)


def _run_all(
    jobs: dict[tuple[int, str], tuple[str, tuple[str, ...], dict[str, str]]],
) -> dict[tuple[int, str], Run]:
    """Every run of *jobs* ((seed, mode): (workdir, command line, environment)),
    each a fork of a warm interpreter (tests/_warm.py) that imported what the
    generated modules import (aiounit too: the reference's module imports it)."""
    # Two at a time even in the background lane: a run mostly waits out time
    # limits (their margins allow for a child that waits for the CPU a while).
    done = run_warm(
        jobs,
        werror=False,
        timeout=RUN_TIMEOUT,
        preload=("asyncio", "unittest", "aiounit"),
        parallel=PARALLEL,
    )
    runs = {}
    for (seed, mode), (workdir, command, _) in jobs.items():
        proc = done[seed, mode]
        module = command[-1]
        output = proc.stdout + proc.stderr
        if proc.returncode == -signal.SIGKILL:
            output += f"\n[the run did not end within {RUN_TIMEOUT} s: killed]"
        try:
            with open(os.path.join(workdir, f"{mode}.json"), encoding="utf-8") as file:
                data = json.load(file)
        except (OSError, ValueError):
            data = None
        path = os.path.join(workdir, module + ".py")
        runs[seed, mode] = Run(mode, module, path, list(proc.args), proc.returncode, output, data)
    return runs


# ---------------------------------------------------------------- comparison


def _canon(call: list[Any]) -> tuple[Any, ...]:
    """A result call without the traceback text."""
    kind = call[0]
    if kind in ("error", "failure", "expected failure"):
        return (kind, call[1])
    if kind == "subtest":
        return tuple(call[:4]) if call[2] != "ok" else tuple(call[:3])
    return tuple(call)


def _calls(run: Run) -> dict[str, list[list[Any]]]:
    assert run.data is not None
    return {k.replace(run.module, "M"): v for k, v in run.data["calls"].items()}


def _failing(calls: Any) -> bool:
    for call in calls:
        if call[0] in ("error", "failure", "unexpected success"):
            return True
        if call[0] == "subtest" and call[2] != "ok":
            return True
    return False


# Stock unittest's exit status for a failed run that ran no test (a failing
# setUpModule) changed in a 3.14 release, from 5 to 1: read which one the
# running interpreter has from its own code rather than from a version number.
_STOCK_FAILURE_FIRST = "if not self.result.wasSuccessful():" in inspect.getsource(
    unittest.TestProgram.runTests
)


def _expected_exit(mode: str, calls: dict[str, list[list[Any]]]) -> int:
    ran = sum(1 for v in calls.values() for c in v if c[0] == "start")
    skipped = sum(1 for v in calls.values() for c in v if c[0] == "skip")
    failed = any(_failing(v) for v in calls.values())
    if MODES[mode][1] == "aiounit":
        # docs/usage.md, "Exit status": the same on every Python.
        if failed:
            return 1
        return 5 if ran == 0 and skipped == 0 else 0
    if _STOCK_FAILURE_FIRST and failed:
        return 1
    if sys.version_info >= (3, 13) and ran == 0 and skipped == 0:
        return 5
    if (3, 12) <= sys.version_info < (3, 13) and ran == 0:
        return 5
    return 1 if failed else 0


def _state_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    diffs = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if key == "loggers" and a is not None and b is not None:
            default = [0, True, False, []]
            for name in sorted(set(a) | set(b)):
                la = a.get(name, default)
                lb = b.get(name, default)
                if la != lb:
                    diffs.append(f"logger {name!r}: {la} -> {lb}")
        elif a != b:
            diffs.append(f"{key}: {a!r} -> {b!r}")
    return diffs


def _log_by_test(
    log: list[str],
) -> tuple[collections.Counter[str], dict[str, collections.Counter[str]]]:
    general: collections.Counter[str] = collections.Counter()
    per_test: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for entry in log:
        event, _, who = entry.rpartition(" ")
        if who.startswith("test_"):
            per_test[who][event] += 1
        else:
            general[entry] += 1
    return general, per_test


class Checker:
    """Compares one aiounit run of a spec with the reference run."""

    def __init__(self, spec: Spec, mode: str, ref: Run, run: Run) -> None:
        self.spec, self.mode, self.ref, self.run = spec, mode, ref, run
        self.tests = {t.name: t for t in spec.tests()}
        variant = MODES[mode][0]
        default_group = "--default-group" in MODES[mode][2]
        self.group = {
            t.name: (None if mode == "ref" else spec.group_of(t, variant, default_group))
            for t in spec.tests()
        }
        self.marked = {
            t.name: (
                None if mode == "ref" else spec.group_of(t, variant, default_group, marked=True)
            )
            for t in spec.tests()
        }
        self.problems: list[str] = []
        self.rows: list[str] = []

    def disruptors(self, name: str) -> list[str]:
        """Peers in *name*'s group that may end it with an error naming them."""
        group = self.group.get(name)
        test = self.tests.get(name)
        if group is None or test is None:
            return []
        found = []
        for other in self.tests.values():
            if other.name == name or self.group[other.name] != group:
                continue
            effect = KINDS[other.kind].disrupts
            if effect == "cancel" or (effect == "block" and KINDS[test.kind].limit is not None):
                found.append(other.name)
        return found

    def expected(self, key: str, ref_calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        test = self.tests.get(key.rpartition(".")[2])
        if (
            test is not None
            and self.limited(test.name)
            and KINDS[test.kind].times_out
            and tuple(ref_calls) == _SUCCESS
        ):
            return [_START, ("error", "TestTimeoutError"), _STOP]
        return ref_calls

    def limited(self, name: str) -> bool:
        """Whether aiounit enforces *name*'s ``aiounit.timeout`` in this mode.

        docs/usage.md, "Time limits": the limit applies to AsyncTestCase tests,
        alone or grouped, and to every test put in a group (also one that runs
        alone because its class overrides run or doCleanups); an
        IsolatedAsyncioTestCase test with no group runs as in the stdlib, which
        ignores the mark.
        """
        if self.mode == "ref":
            return False
        return MODES[self.mode][0] != "std" or self.marked.get(name) is not None

    def check(self) -> list[str]:
        run, ref = self.run, self.ref
        if run.data is None:
            return [
                f"no result was written (exit status {run.returncode}): the run crashed or hung"
            ]
        if run.data.get("crash"):
            self.problems.append("the run crashed:\n" + run.data["crash"])
        ref_calls, calls = _calls(ref), _calls(run)
        deviating: set[str] = set()
        for key in sorted(set(ref_calls) | set(calls)):
            # A subtest reported on its own (a skip) belongs to its test.
            name = key.rpartition(".")[2].partition(" ")[0]
            got_raw = calls.get(key, [])
            got = [_canon(c) for c in got_raw]
            want = self.expected(key, [_canon(c) for c in ref_calls.get(key, [])])
            starts, stops = got.count(_START), got.count(_STOP)
            # (3.12+ calls stopTest without startTest for a test skipped by decorator.)
            if starts > 1 or stops > 1:
                self.problems.append(f"{key}: reported {starts} time(s), stopped {stops} time(s)")
            if got == want:
                if want != [_canon(c) for c in ref_calls.get(key, [])]:
                    deviating.add(name)
                continue
            # Under expectedFailure, a peer's cancellation is an expected failure.
            texts = [
                c[2]
                for c in got_raw
                if c[0] in ("error", "failure", "expected failure") and len(c) > 2
            ]
            texts += [c[5] for c in got_raw if c[0] == "subtest" and len(c) > 5]
            peers = self.disruptors(name)
            ref_got = [_canon(c) for c in ref_calls.get(key, [])]
            # A subtest after the one a peer's cancellation hit never runs: the
            # test ended there with an error naming that peer.
            parent = calls.get(key.partition(" (")[0], []) if " (" in key else []
            ended_by = [
                c[2] for c in parent if c[0] in ("error", "expected failure") and len(c) > 2
            ]
            cancellers = [p for p in peers if KINDS[self.tests[p].kind].disrupts == "cancel"]
            if peers and (
                # Cancelled by a peer before its own limit, and it swallowed that.
                got == ref_got
                or (starts == 1 == stops and any(p in text for p in peers for text in texts))
                or (key not in calls and any(p in t for p in cancellers for t in ended_by))
            ):
                deviating.add(name)
                continue
            deviating.add(name)
            self.problems.append(f"{key}: outcome differs")
            self.rows.append(f"  {key}\n    expected: {want}\n    got:      {got}")
            for text in texts:
                self.rows.append("    " + text.rstrip().replace("\n", "\n    "))
        if self.mode != "ref":
            self.check_frames(calls)
        self.check_exit(calls)
        self.check_state()
        self.check_log(deviating)
        self.check_diagnostics(calls, deviating)
        return self.problems

    def check_frames(self, calls: dict[str, list[list[Any]]]) -> None:
        # Issue 15 item 16: a traceback shows the test's code, not aiounit's machinery
        # (its modules set __unittest, so results leave their frames out).
        for key, test_calls in sorted(calls.items()):
            for call in test_calls:
                for text in call[2:]:
                    found = _OWN_FRAME.search(text) if isinstance(text, str) else None
                    if found is None:
                        continue
                    if "in work" in found.group(0) and "thread_stack_note" in _pending():
                        continue
                    self.problems.append(
                        f"{key}: aiounit's own frame in a traceback: {found.group(0)}"
                    )
                    break

    def check_exit(self, calls: dict[str, list[list[Any]]]) -> None:
        want = _expected_exit(self.mode, calls)
        if self.run.returncode != want:
            self.problems.append(f"exit status {self.run.returncode}, expected {want}")

    def check_state(self) -> None:
        assert self.run.data is not None
        state = self.run.data["state"]
        if "start" not in state or "stop" not in state:
            self.problems.append("startTestRun/stopTestRun not called")
            return
        for diff in _state_diff(state["start"], state["stop"]):
            self.problems.append(f"process state changed by the run: {diff}")
        for probe in self.run.data["probes"]:
            if self.spec.buffer:  # -b: the probe test's own output is buffered
                probe = {k: v for k, v in probe.items() if k not in ("sys.stdout", "sys.stderr")}
                probe["sys.stdout"] = state["start"]["sys.stdout"]
                probe["sys.stderr"] = state["start"]["sys.stderr"]
            for diff in _state_diff(state["start"], probe):
                self.problems.append(
                    f"process state seen by the probe test after the groups: {diff}"
                )
        if len(self.run.data["probes"]) != len(self.ref.data["probes"]):  # type: ignore[index]
            self.problems.append("the probe test ran a different number of times")

    def check_log(self, deviating: set[str]) -> None:
        assert self.run.data is not None and self.ref.data is not None
        ref_general, ref_tests = _log_by_test(self.ref.data["log"])
        general, tests = _log_by_test(self.run.data["log"])
        if ref_general != general:
            self.problems.append(
                f"class/module fixture calls differ: expected {sorted(ref_general.elements())},"
                f" got {sorted(general.elements())}"
            )
        reported = {key.rpartition(".")[2] for key in _calls(self.run)}
        for name in sorted(set(ref_tests) | set(tests)):
            if name not in reported:
                continue  # never reported: its outcome is the problem already listed
            want, got = (
                ref_tests.get(name, collections.Counter()),
                tests.get(name, collections.Counter()),
            )
            if name in deviating:
                if self.disruptors(name):
                    continue  # interrupted at some point by its peer: anything may have run
                late: set[str] = set()
                if self.tests[name].kind == "swallow_forever" and self.group.get(name):
                    # docs/usage.md, "Time limits": in a group, the teardown and
                    # cleanups of a test given up on run only if it gets to them
                    # before the group ends.
                    late = {"asyncTearDown", "tearDown", "cleanup", "doCleanups"}
                elif KINDS[self.tests[name].kind].times_out and self.timed_out_in_set_up(name):
                    # Its short limit ran out before its body (a loaded machine):
                    # as after any failed set-up, the tearDowns do not run.
                    late = {"asyncTearDown", "tearDown"}
                if late:
                    # They may be missing, never repeated.
                    for key in late:
                        if got[key] > want[key]:
                            self.problems.append(f"{name}: {key} ran {got[key]} times")
                    want = collections.Counter({k: v for k, v in want.items() if k not in late})
                    got = collections.Counter({k: v for k, v in got.items() if k not in late})
                want = collections.Counter(
                    {k: v for k, v in want.items() if not k.startswith("body:")}
                )
                got = collections.Counter(
                    {k: v for k, v in got.items() if not k.startswith("body:")}
                )
            if want != got:
                self.problems.append(
                    f"{name}: fixture and hook calls differ: expected {sorted(want.elements())},"
                    f" got {sorted(got.elements())}"
                )

    def timed_out_in_set_up(self, name: str) -> bool:
        """Whether aiounit reported test *name*'s time limit running out in its set-up."""
        texts = [
            call[2]
            for key, reported in _calls(self.run).items()
            if key.rpartition(".")[2] == name
            for call in reported
            if call[0] == "error" and len(call) > 2
        ]
        return any(
            "TestTimeoutError" in text and re.search(r" in (asyncSetUp|setUp)\b", text)
            for text in texts
        )

    def check_diagnostics(self, calls: dict[str, list[list[Any]]], deviating: set[str]) -> None:
        assert self.run.data is not None
        diagnostics: dict[str, list[str]] = collections.defaultdict(list)
        for key, message in self.run.data["diagnostics"]:
            diagnostics[key.replace(self.run.module, "M").rpartition(".")[2]].append(message)
        for name, messages in diagnostics.items():
            test = self.tests.get(name)
            for message in messages:
                if "blocked" in message and (test is None or KINDS[test.kind].disrupts != "block"):
                    self.problems.append(f"{name}: blamed for blocking it did not do: {message}")
        for name, test in self.tests.items():
            word = KINDS[test.kind].warning
            if (
                word is None
                or self.group[name] is None
                or name in deviating
                or self.disruptors_of_group(name)
                or test.wrapper
            ):
                continue
            key = next((k for k in calls if k.endswith("." + name)), None)
            if key is None or tuple(_canon(c) for c in calls[key]) != _SUCCESS:
                continue
            if not any(word in m for m in diagnostics.get(name, [])):
                got = diagnostics.get(name)
                self.problems.append(
                    f"{name}: no warning containing {word!r} (docs/diagnostics.md); got {got}"
                )

    def disruptors_of_group(self, name: str) -> list[str]:
        group = self.group[name]
        return [
            t.name
            for t in self.tests.values()
            if t.name != name and self.group[t.name] == group and KINDS[t.kind].disrupts == "cancel"
        ]


def _report(spec: Spec, run: Run, problems: list[str], rows: list[str]) -> str:
    with open(run.path, encoding="utf-8") as file:
        source = file.read()
    lines = [
        f"seed {spec.seed}, mode {run.mode!r}, Python {sys.version.split()[0]}:"
        f" {len(problems)} problem(s)",
        *(f"- {p}" for p in problems),
        "per-test differences:" if rows else "",
        *rows,
        f"command (cwd {os.path.dirname(run.path)}, PYTHONPATH={ROOT}):",
        "  " + " ".join(run.command),
        f"reproduce: AIOUNIT_FI_SEEDS={spec.seed} python -m unittest tests.test_faultinject -v"
        if spec.seed not in CI_SEEDS
        else f"reproduce: python -m unittest tests.test_faultinject -k s{spec.seed}",
        f"module {run.path}:",
        source,
        "output of the run:",
        run.stderr[-6000:],
    ]
    return "\n".join(lines)


class TestFaultInjection(unittest.TestCase):
    """Generated by _add_tests below: test_s<seed>_<n><mode>.

    The runs of each seed are a job of the background lane (``in_background``),
    started when the module is imported; each test checks one run.
    """

    specs: ClassVar[dict[int, Spec]] = {}
    workdirs: ClassVar[dict[int, str]] = {}
    keep: ClassVar[set[str]] = set()
    runs: ClassVar[dict[int, Early[dict[tuple[int, str], Run]]]] = {}

    @classmethod
    def start(cls, seed: int, soak: bool) -> None:
        """Write *seed*'s modules and start its runs in the background lane."""
        cls.specs[seed] = spec = make_spec(seed, soak)
        cls.workdirs[seed] = workdir = tempfile.mkdtemp(prefix=f"aiounit-fi-{seed}-")
        env = _env()
        jobs = {(seed, mode): (workdir, _command(spec, mode, workdir), env) for mode in MODES}
        cls.runs[seed] = in_background(functools.partial(_run_all, jobs))

    @classmethod
    def remove_workdirs(cls) -> None:
        for workdir in cls.workdirs.values():
            if workdir not in cls.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        cls.workdirs.clear()

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        for early in cls.runs.values():
            # Waits here, not in a test; a failed job fails its seed's tests.
            with contextlib.suppress(Exception):
                early.result()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.remove_workdirs()
        super().tearDownClass()

    def _check_ref(self, spec: Spec, ref: Run, workdir: str) -> None:
        # The reference must be sane itself: otherwise the generator is wrong.
        problems = Checker(spec, "ref", ref, ref).check() if ref.data else ["no result"]
        if problems:
            type(self).keep.add(workdir)
            self.fail(_report(spec, ref, problems, []))

    def run_mode(self, seed: int, mode: str) -> None:
        spec, workdir, runs = self.specs[seed], self.workdirs[seed], self.runs[seed].result()
        ref = runs[seed, "ref"]
        self._check_ref(spec, ref, workdir)
        if mode == "ref":
            return
        run = runs[seed, mode]
        checker = Checker(spec, mode, ref, run)
        problems = checker.check()
        if problems:
            type(self).keep.add(workdir)
            self.fail(_report(spec, run, problems, checker.rows))


def _add_tests() -> None:
    for seed, soak in _seeds():
        TestFaultInjection.start(seed, soak)
        for number, mode in enumerate(MODES):

            def test(self: TestFaultInjection, seed: int = seed, mode: str = mode) -> None:
                self.run_mode(seed, mode)

            test.__name__ = f"test_s{seed}_{number}{mode}"
            test.__doc__ = None
            setattr(TestFaultInjection, test.__name__, test)


_add_tests()
atexit.register(TestFaultInjection.remove_workdirs)
