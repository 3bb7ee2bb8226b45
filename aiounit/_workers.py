"""``-j/--workers N``: whole groups run in N worker processes, reported here.

The parent plans the run as ConcurrentTestSuite does (units: a test, a whole
group, or a suite with a run() of its own) and cuts it into batches of
consecutive units of one module, so that module and class fixtures run once
per batch in the worker that runs it.  Workers are forked after loading, so
they hold the very same tests; a test is named by its index in that list.
The worker side is ``_wire``.

The parent replays each test's calls on the real result, one whole test at a
time, so -v, -b, --junit-xml and --durations work as in one process.
Tracebacks are formatted in the worker (with its -b output and --locals) and
shown as they are.  A worker that ends abnormally is an error of the run,
charged once to what it was doing: the tests it had begun, else the class or
module fixture it was in, else its exit itself.  The tests of its batch that
do not depend on what crashed go to another worker, but never a whole batch
again: nothing runs twice and the run always ends.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import unittest
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

from . import _config, _plan
from ._errors import RemoteError, remote_error
from ._report import Hooks, tell_notes
from ._stdlib import SUBTEST_MSG_SENTINEL, ErrorHolder, SubTest
from ._suite import ConcurrentTestSuite
from ._wire import SHARED, worker_main

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_FIXTURE = re.compile(r"^(setUpModule|setUpClass|tearDownClass|tearDownModule) \((.*)\)$")


class _RemoteSubTest(SubTest):  # type: ignore[misc]
    def __init__(self, test_case: unittest.TestCase, description: str) -> None:
        super().__init__(test_case, SUBTEST_MSG_SENTINEL, {})
        self._description = description

    def _subDescription(self) -> str:
        return self._description


class WorkerSuite:
    """A suite-like object: ``run(result)`` runs *suite* in *workers* processes."""

    def __init__(self, suite: unittest.TestSuite, workers: int, *, coverage: Any = None) -> None:
        self.suite = suite
        self.workers = workers
        self.coverage = coverage

    def countTestCases(self) -> int:
        return self.suite.countTestCases()

    def __call__(self, result: unittest.TestResult) -> unittest.TestResult:
        return self.run(result)

    def __iter__(self) -> Any:
        return iter(self.suite)

    def run(self, result: unittest.TestResult) -> unittest.TestResult:
        config = _config.current()
        if isinstance(self.suite, ConcurrentTestSuite):
            config = self.suite.config_in(config)
        leaves = [test for test, _, _ in _plan.leaves(self.suite)]
        batches = _batches(self.suite, leaves, config.default_group)
        if not batches:
            return result
        SHARED["leaves"] = leaves
        settings = {
            "config": config,
            "buffer": bool(getattr(result, "buffer", False)),
            "tb_locals": bool(getattr(result, "tb_locals", False)),
            "failfast": bool(getattr(result, "failfast", False)),
            "coverage": self.coverage,
            # A progress line on the terminal the workers write to: their
            # tests' output comes through here, to be written after erasing it
            # (under -b it is captured instead).
            "relay": getattr(result, "progress", None) is not None
            and not getattr(result, "buffer", False),
        }
        try:
            _Pool(result, leaves, batches, min(self.workers, len(batches)), settings).run()
        finally:
            SHARED.clear()
        return result


def _batches(suite: unittest.TestSuite, leaves: list[Any], default_group: str) -> list[list[int]]:
    """Consecutive units of one module, as lists of leaf indexes."""
    index = {id(test): i for i, test in enumerate(leaves)}
    batches: list[list[int]] = []
    module = object()
    for unit in _plan.plan(suite, default_group):
        first = unit.tests[0]
        unit_module = getattr(type(first), "__module__", None)
        if not isinstance(first, unittest.TestCase) or unit_module != module or not batches:
            batches.append([])
            module = unit_module
        batches[-1].extend(index[id(t)] for t in unit.tests)
    return batches


class _Worker:
    def __init__(self, number: int, process: Any, conn: Connection) -> None:
        self.number = number
        self.process = process
        self.conn = conn
        self.batch: list[int] | None = None
        self.begun: dict[int, float] = {}  # tests begun, not stopped -> monotonic() then
        self.reported: set[int] = set()  # tests of the batch already told
        self.phase: str | None = None  # the class or module fixture it is in, if any
        self.last = "nothing"  # what it ran last: a test id or a fixture
        self.module = "aiounit"  # the module of its last batch
        self.fatal = ""  # the traceback of what escaped a batch
        self.closing = False  # told to exit: only its exit status is left to see
        self.eof = False  # its pipe is closed


class _Pool:
    def __init__(
        self,
        result: Any,
        leaves: list[Any],
        batches: list[list[int]],
        size: int,
        settings: dict[str, Any],
    ) -> None:
        self.result = result
        self.hooks = Hooks(result)
        self.leaves = leaves
        self.queue = list(batches)
        self.size = size
        self.settings = settings
        self.context = multiprocessing.get_context("fork")
        self.stop_event = self.context.Event()
        self.workers: list[_Worker] = []
        self.started = 0
        self.interrupted = False  # Ctrl-C, noted by _defer_interrupt's handler
        self.pending: dict[int, list[tuple[str, tuple[Any, ...]]]] = {}
        # -b output of tests still running, as it was written: what a test
        # that crashes its worker had printed.
        self.output: dict[int, tuple[list[str], list[str]]] = {}

    def run(self) -> None:
        # The workers' death watch: this process holds the only writing end.
        watch_r, self.watch_w = os.pipe()
        self.settings = {**self.settings, "parent": os.getpid(), "watch_fd": watch_r}
        restore_sigint = self._defer_interrupt()
        cut_off = False
        try:
            for _ in range(self.size):
                self._spawn()
            while self.workers:
                if self.interrupted:
                    raise KeyboardInterrupt
                if self.result.shouldStop:
                    self.stop_event.set()
                    self.queue.clear()
                for worker in self.workers:
                    if worker.batch is None and not worker.closing and not worker.eof:
                        self._feed(worker)
                if self.hooks.tick is not None:
                    self.hooks.tick()
                waitables = [w.conn for w in self.workers if not w.eof]
                waitables += [w.process.sentinel for w in self.workers]
                ready = set(wait(waitables, timeout=0.1))
                for worker in list(self.workers):
                    if worker.conn in ready:
                        self._drain(worker)
                    if worker.process.sentinel in ready:
                        self._exited(worker)
        except BaseException:
            cut_off = True  # Ctrl-C, or an error of the parent's own
            raise
        finally:
            for worker in self.workers:
                worker.process.kill()
                worker.process.join()
            if cut_off:
                # Report what the stopped workers had sent and, like a
                # KeyboardInterrupt in one process, each test they had begun
                # as started and stopped with no outcome, so that no report
                # loses a test that ran.
                with contextlib.suppress(Exception):
                    self._cut_off()
            restore_sigint()  # after: a second Ctrl-C does not cut the cut-off short
            for worker in self.workers:
                worker.conn.close()
            os.close(watch_r)
            os.close(self.watch_w)

    def _defer_interrupt(self) -> Any:
        """Make Ctrl-C (without -c) end the loop at its top, not anywhere.

        A ``KeyboardInterrupt`` raised in the middle of reading or replaying a
        message would lose it, and the test it told of with it.  The handler
        only notes the interrupt; the loop, which wakes at least every 0.1 s,
        raises it.  Returns what puts the handler back.
        """
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            return lambda: None  # -c's handler, or none of Python's: theirs stays

        def note(signum: int, frame: Any) -> None:
            self.interrupted = True

        previous = signal.signal(signal.SIGINT, note)
        return lambda: signal.signal(signal.SIGINT, previous)

    def _cut_off(self) -> None:
        for worker in self.workers:
            if not worker.eof:
                self._drain(worker)
            for ref in sorted(worker.begun):
                self._replay_unfinished(ref, [])
            worker.begun.clear()

    def _spawn(self) -> None:
        self.started += 1
        parent, child = self.context.Pipe()
        # What the child must not keep open (see _wire.worker_main).
        inherited: list[Any] = [w.conn for w in self.workers if not w.conn.closed]
        inherited += [parent, self.watch_w]
        sys.stdout.flush()
        sys.stderr.flush()
        process = self.context.Process(
            target=worker_main,
            args=(child, self.stop_event, self.settings, inherited),
            name=f"aiounit worker {self.started}",
            # Not a daemon: multiprocessing forbids a daemon to have children of its
            # own, and tests may start processes.  run() kills and joins every
            # worker at its end, and the kernel or the watch pipe at the
            # parent's death, which is all that daemon=True would add.
            daemon=False,
        )
        process.start()
        child.close()
        self.workers.append(_Worker(self.started, process, parent))

    def _feed(self, worker: _Worker) -> None:
        if self.queue and not self.stop_event.is_set():
            batch = worker.batch = self.queue.pop(0)
            worker.begun = {}
            worker.reported = set()
            worker.phase = None
            worker.module = self.leaves[batch[0]].__class__.__module__
            try:
                worker.conn.send(batch)
            except OSError:  # it died: its sentinel tells the rest
                worker.eof = True
        else:
            worker.closing = True
            with contextlib.suppress(OSError):
                worker.conn.send(None)

    def _drain(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            # It closed its end: it is exiting, or dead.  Its sentinel, ready
            # once it is gone, says how it ended.
            worker.eof = True

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind, *args = message
        if kind == "done":
            worker.batch = None
            worker.phase = None
            return
        if kind == "phase":
            worker.phase = worker.last = args[0]
            return
        if kind == "fatal":
            worker.fatal = args[0]
            return
        if kind == "print":  # a test's output, relayed past the progress line
            stream = sys.stdout if args[0] == "out" else sys.stderr
            stream.write(args[1])
            stream.flush()
            return
        ref = args[0]
        if kind == "output":
            streams = self.output.setdefault(ref, ([], []))
            streams[args[1] == "err"].append(args[2])
            return
        if kind == "begin":
            self._begin(worker, ref, args[1])
            if self.hooks.member_started is not None:
                self.hooks.member_started(self.leaves[ref])
            return
        if isinstance(ref, tuple):  # a fixture's _ErrorHolder: no start or stop
            holder = ErrorHolder(ref[1])
            self._tell(kind, holder, args[1:])
            return
        calls = self.pending.setdefault(ref, [])
        if kind == "startTest":
            calls.append((kind, ()))
            self._begin(worker, ref, args[1])
            return
        calls.append((kind, tuple(args[1:])))
        if kind == "stopTest":
            # One whole test at a time, as in one process.
            del self.pending[ref]
            self.output.pop(ref, None)
            worker.begun.pop(ref, None)
            worker.reported.add(ref)
            test = self.leaves[ref]
            worker.last = test.id()
            self._replay(test, calls)

    def _begin(self, worker: _Worker, ref: int, when: float) -> None:
        worker.phase = None
        worker.begun.setdefault(ref, when)

    def _replay(self, test: Any, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
        for kind, args in calls:
            if kind == "stopTest":
                continue
            self._tell(kind, test, args)
            if kind == "startTest":
                out, err = calls[-1][1]
                if out:
                    sys.stdout.write(out)
                if err:
                    sys.stderr.write(err)
        self.result.stopTest(test)

    def _tell(self, kind: str, test: Any, args: Sequence[Any]) -> None:
        result = self.result
        if kind in ("addError", "addFailure", "addExpectedFailure"):
            text, type_name, message = args
            error = RemoteError(text, type_name, message)
            getattr(result, kind)(test, (RemoteError, error, None))
        elif kind == "addSubTest":
            description, failure = args
            subtest = _RemoteSubTest(test, description)
            err = None
            if failure is not None:
                flavour, text, type_name, message = failure
                error_type = test.failureException if flavour == "failure" else RemoteError
                err = (error_type, remote_error(error_type, text, type_name, message), None)
            result.addSubTest(test, subtest, err)
        elif kind == "addSkip" and len(args) == 2:  # a skipped subtest
            reason, description = args
            result.addSkip(_RemoteSubTest(test, description), reason)
        elif kind == "addDiagnostic":
            tell_notes(result, test, args)
        else:
            hook = getattr(result, kind, None)
            if hook is not None:
                hook(test, *args)

    # -- a worker's end ----------------------------------------------------------------

    def _exited(self, worker: _Worker) -> None:
        """*worker*'s process is gone: see its last messages, then how it ended."""
        if not worker.eof:
            self._drain(worker)
        self.workers.remove(worker)
        worker.process.join()
        worker.conn.close()
        code = worker.process.exitcode
        if code == 0 and worker.closing and not worker.fatal:
            return
        how = (
            f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
        )
        self._charge(worker, f"worker {worker.number} {how}")
        if self.queue and not self.stop_event.is_set():
            self._spawn()

    def _charge(self, worker: _Worker, crash: str) -> None:
        """Report *worker*'s abnormal end once, to what it was doing; requeue the rest.

        The tests it had begun, else the fixture it was in, else the worker's
        exit.  The rest of its batch runs in another worker, but never the
        whole batch again: when nothing of it was reported, its tests are
        charged instead, so that every crash reports something new and the
        run ends.
        """
        fatal = f"\n{worker.fatal}" if worker.fatal else ""
        batch = worker.batch
        setup = None
        if worker.begun:
            for ref, started in sorted(worker.begun.items()):
                self._crash_test(ref, started, f"{crash} while this test ran{fatal}")
                worker.reported.add(ref)
            worker.begun.clear()
        elif batch is not None and worker.phase is not None:
            setup = _FIXTURE.match(worker.phase)
            self._crash_holder(worker.phase, f"{crash} in {worker.phase}{fatal}")
        elif batch is None or worker.reported:
            after = "after its last batch" if batch is None else "between tests"
            self._crash_holder(
                f"workerExit ({worker.module})",
                f"{crash} {after}; the last it ran was {worker.last}{fatal}",
            )
        # else: it died before anything of its batch ran: the tests are charged below.
        if batch is None:
            return
        rest = [ref for ref in batch if ref not in worker.reported]
        if setup is not None and setup.group(1).startswith("setUp"):
            # Like a failed set-up: the tests behind it do not run.
            name = setup.group(2)
            rest = [ref for ref in rest if name not in _fixture_names(self.leaves[ref])]
        if len(rest) == len(batch):
            # Nothing of the batch was reported: it would crash again, maybe forever.
            for ref in rest:
                self._crash_test(ref, None, f"{crash} before this test began{fatal}")
        elif rest:
            self.queue.insert(0, rest)

    def _crash_holder(self, name: str, text: str) -> None:
        holder = ErrorHolder(name)
        self._tell("addError", holder, _crash_error(text))

    def _crash_test(self, ref: int, started: float | None, text: str) -> None:
        """Report test *ref* as crashed, with what it had reported and printed so far."""
        ending: list[tuple[str, tuple[Any, ...]]] = [("addError", _crash_error(text))]
        told = self.pending.get(ref, [])
        if started is not None and not any(kind == "addDuration" for kind, _ in told):
            ending.append(("addDuration", (time.monotonic() - started,)))
        self._replay_unfinished(ref, ending)

    def _replay_unfinished(self, ref: int, ending: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Report test *ref*, which never stopped: what it had told, then *ending*."""
        calls = self.pending.pop(ref, [])
        if not calls or calls[0][0] != "startTest":
            calls.insert(0, ("startTest", ()))
        calls.extend(ending)
        out, err = self.output.pop(ref, ([], []))
        calls.append(("stopTest", ("".join(out), "".join(err))))
        self._replay(self.leaves[ref], calls)


def _crash_error(text: str) -> tuple[str, str, str]:
    message = f"aiounit.WorkerCrashedError: {text.splitlines()[0]}"
    return f"{message}\n{''.join(text.splitlines(True)[1:])}", "aiounit.WorkerCrashedError", message


def _fixture_names(test: Any) -> tuple[str, str]:
    """The module and the class whose set-up *test* needs, as fixture names give them."""
    cls = test.__class__
    return cls.__module__, unittest.util.strclass(cls)  # type: ignore[attr-defined]
