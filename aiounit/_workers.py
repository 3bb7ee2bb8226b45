"""``-j/--workers N``: whole groups run in N worker processes, reported here.

The parent plans the run as ConcurrentTestSuite does (units: a test, a whole
group, or a suite with a run() of its own) and cuts it into batches of
consecutive units of one module, so that module and class fixtures run once
per batch in the worker that runs it.  Workers are forked after loading, so
they hold the very same tests; a test is named by its index in that list.

A worker runs a batch with a result that sends each call over its pipe; the
parent replays the calls on the real result, one whole test at a time, so -v,
-b, --junit-xml and --durations work as in one process.  Tracebacks are
formatted in the worker (with its -b output and --locals) and shown as they
are.  A worker that dies has the tests it had begun reported as errors; the
tests of its batch that had not begun go to another worker.  Nothing is lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import time
import unittest
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

from . import _config
from ._errors import type_name
from ._report import tell_notes
from ._suite import ConcurrentTestSuite, _leaves, _plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    import multiprocessing.synchronize
    from typing import Any

__unittest = True


class RemoteError(Exception):
    """Stands for an exception raised in a worker: its traceback, as text."""

    aiounit_remote = True

    def __init__(self, text: str, type_name: str) -> None:
        super().__init__(text)
        self.text = text
        self.type_name = type_name


class _RemoteSubTest(unittest.case._SubTest):  # type: ignore[name-defined,misc]
    def __init__(self, test_case: unittest.TestCase, description: str) -> None:
        super().__init__(test_case, unittest.case._subtest_msg_sentinel, {})  # type: ignore[attr-defined]
        self._description = description

    def _subDescription(self) -> str:
        return self._description


class _WireResult(unittest.TestResult):
    """A worker's result: each call goes to the parent as a message."""

    def __init__(
        self, conn: Connection, refs: dict[int, int], stop: multiprocessing.synchronize.Event
    ) -> None:
        super().__init__()
        self._conn = conn
        self._refs = refs
        self._stop_event = stop
        self._started = 0.0
        self._timed = False

    @property
    def shouldStop(self) -> bool:
        return self._stop_event.is_set()

    @shouldStop.setter
    def shouldStop(self, value: bool) -> None:
        if value:
            self._stop_event.set()

    def _ref(self, test: Any) -> Any:
        ref = self._refs.get(id(test))
        return ref if ref is not None else ("holder", str(test))

    def _text(self, err: Any, test: Any) -> tuple[str, str]:
        return self._exc_info_to_string(err, test), type_name(err)  # type: ignore[attr-defined]

    def _send(self, *message: Any) -> None:
        self._conn.send(message)

    def aiounitMemberStarted(self, test: Any) -> None:
        self._send("begin", self._ref(test))

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._started = time.perf_counter()
        self._timed = False
        self._send("startTest", self._ref(test))

    def stopTest(self, test: Any) -> None:
        out = self._stdout_buffer.getvalue() if self.buffer and self._stdout_buffer else ""  # type: ignore[attr-defined]
        err = self._stderr_buffer.getvalue() if self.buffer and self._stderr_buffer else ""  # type: ignore[attr-defined]
        self._mirrorOutput = False  # the parent's result shows it, if it must
        super().stopTest(test)
        if not self._timed and sys.version_info < (3, 12):
            # 3.11's TestCase.run never reports its time: measure it here,
            # where it ran, not in the parent, where it is only replayed.
            self.addDuration(test, time.perf_counter() - self._started)
        self._send("stopTest", self._ref(test), out, err)

    def _failed(self) -> None:
        # unittest's @failfast decorator, which these overrides bypass: the
        # shared event stops every worker, as -f stops the whole run.
        if self.failfast:
            self.stop()

    def addSuccess(self, test: Any) -> None:
        self._send("addSuccess", self._ref(test))

    def addError(self, test: Any, err: Any) -> None:
        self._send("addError", self._ref(test), *self._text(err, test))
        self._failed()

    def addFailure(self, test: Any, err: Any) -> None:
        self._send("addFailure", self._ref(test), *self._text(err, test))
        self._failed()

    def addSkip(self, test: Any, reason: str) -> None:
        if isinstance(test, unittest.case._SubTest):  # type: ignore[attr-defined]  # skipTest() in a subTest()
            self._send("addSkip", self._ref(test.test_case), reason, test._subDescription())
        else:
            self._send("addSkip", self._ref(test), reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self._send("addExpectedFailure", self._ref(test), *self._text(err, test))

    def addUnexpectedSuccess(self, test: Any) -> None:
        self._send("addUnexpectedSuccess", self._ref(test))
        self._failed()

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is None:
            self._send("addSubTest", self._ref(test), subtest._subDescription(), None)
        else:
            failed = issubclass(err[0], test.failureException)
            self._send(
                "addSubTest",
                self._ref(test),
                subtest._subDescription(),
                ("failure" if failed else "error", *self._text(err, test)),
            )
            self._failed()

    def addDuration(self, test: Any, elapsed: float) -> None:
        self._timed = True
        self._send("addDuration", self._ref(test), elapsed)

    def _aiounit_elapsed(self, test: Any, elapsed: float) -> None:
        # 3.11: the real time of a group member, which the Recorder replays later.
        self.addDuration(test, elapsed)

    def addDiagnostic(self, test: Any, message: str) -> None:
        self._send("addDiagnostic", self._ref(test), message)


# Set in the parent just before forking; the workers inherit it.
_SHARED: dict[str, Any] = {}


def _worker(conn: Connection, stop: Any, settings: dict[str, Any]) -> None:
    # Ctrl-C is the parent's business: it stops the run through `stop`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    coverage = _start_coverage(settings.get("coverage"))
    leaves: list[Any] = _SHARED["leaves"]
    refs = {id(test): index for index, test in enumerate(leaves)}
    config: _config.Config = settings["config"]
    try:
        while True:
            batch = conn.recv()
            if batch is None:
                break
            result = _WireResult(conn, refs, stop)
            result.buffer = settings["buffer"]
            result.tb_locals = settings["tb_locals"]
            result.failfast = settings["failfast"]
            suite = ConcurrentTestSuite([leaves[i] for i in batch])
            with _config.using(config):
                suite._run(result, config)
            conn.send(("done",))
    finally:
        if coverage is not None:
            coverage.stop()
            coverage.save()
        conn.close()


def _start_coverage(options: dict[str, Any] | None) -> Any:
    if options is None:
        return None
    import coverage

    current = coverage.Coverage.current()
    if current is not None:  # the parent's, copied by fork: not ours to save
        current.stop()
    cov = coverage.Coverage(**options)
    cov.start()
    return cov


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
            config = config.merged(
                timeout=self.suite.timeout,
                max_concurrency=self.suite.max_concurrency,
                default_group=self.suite.default_group,
                **self.suite.options,
            )
        leaves = [test for test, _, _ in _leaves(self.suite)]
        batches = _batches(self.suite, leaves, config.default_group)
        if not batches:
            return result
        _SHARED["leaves"] = leaves
        settings = {
            "config": config,
            "buffer": bool(getattr(result, "buffer", False)),
            "tb_locals": bool(getattr(result, "tb_locals", False)),
            "failfast": bool(getattr(result, "failfast", False)),
            "coverage": self.coverage,
        }
        try:
            _Pool(result, leaves, batches, min(self.workers, len(batches)), settings).run()
        finally:
            _SHARED.clear()
        return result


def _batches(suite: unittest.TestSuite, leaves: list[Any], default_group: str) -> list[list[int]]:
    """Consecutive units of one module, as lists of leaf indexes."""
    index = {id(test): i for i, test in enumerate(leaves)}
    batches: list[list[int]] = []
    module = object()
    for unit in _plan(suite, default_group):
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
        self.begun: set[int] = set()  # tests that started and did not stop
        self.reported: set[int] = set()  # tests of the batch already told


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
        self.leaves = leaves
        self.queue = list(batches)
        self.size = size
        self.settings = settings
        self.context = multiprocessing.get_context("fork")
        self.stop_event = self.context.Event()
        self.workers: list[_Worker] = []
        self.started = 0
        self.pending: dict[int, list[tuple[str, tuple[Any, ...]]]] = {}

    def run(self) -> None:
        for _ in range(self.size):
            self._spawn()
        try:
            while self.workers:
                if self.result.shouldStop:
                    self.stop_event.set()
                    self.queue.clear()
                for worker in [w for w in self.workers if w.batch is None]:
                    self._feed(worker)
                if not self.workers:
                    break
                tick = getattr(self.result, "aiounitTick", None)
                if tick is not None:
                    tick()
                waitables = [w.conn for w in self.workers]
                waitables += [w.process.sentinel for w in self.workers]
                ready = wait(waitables, timeout=0.1)
                for worker in list(self.workers):
                    if worker.conn in ready or worker.process.sentinel in ready:
                        self._drain(worker)
        finally:
            for worker in self.workers:
                worker.process.kill()
                worker.process.join()

    def _spawn(self) -> None:
        self.started += 1
        parent, child = self.context.Pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        process = self.context.Process(
            target=_worker,
            args=(child, self.stop_event, self.settings),
            name=f"aiounit worker {self.started}",
            daemon=True,
        )
        process.start()
        child.close()
        self.workers.append(_Worker(self.started, process, parent))

    def _feed(self, worker: _Worker) -> None:
        if self.queue and not self.stop_event.is_set():
            worker.batch = self.queue.pop(0)
            worker.begun = set()
            worker.reported = set()
            worker.conn.send(worker.batch)
        else:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.conn.send(None)
            worker.process.join()
            self.workers.remove(worker)

    def _drain(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                self._handle(worker, message)
        except (EOFError, OSError):
            self._crashed(worker)
            return
        if not worker.process.is_alive() and worker in self.workers:
            self._crashed(worker)

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind, *args = message
        if kind == "done":
            worker.batch = None
            return
        ref = args[0]
        if kind == "begin":
            worker.begun.add(ref)
            announce = getattr(self.result, "aiounitMemberStarted", None)
            if announce is not None:
                announce(self.leaves[ref])
            return
        if isinstance(ref, tuple):  # a fixture's _ErrorHolder: no start or stop
            holder = unittest.suite._ErrorHolder(ref[1])  # type: ignore[attr-defined]
            self._tell(kind, holder, args[1:])
            return
        calls = self.pending.setdefault(ref, [])
        calls.append((kind, tuple(args[1:])))
        if kind == "startTest":
            worker.begun.add(ref)
        elif kind == "stopTest":
            # One whole test at a time, as in one process.
            del self.pending[ref]
            worker.begun.discard(ref)
            worker.reported.add(ref)
            self._replay(self.leaves[ref], calls)

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
            text, type_name = args
            error = RemoteError(text, type_name)
            getattr(result, kind)(test, (RemoteError, error, None))
        elif kind == "addSubTest":
            description, failure = args
            subtest = _RemoteSubTest(test, description)
            err = None
            if failure is not None:
                flavour, text, type_name = failure
                error_type = test.failureException if flavour == "failure" else RemoteError
                err = (error_type, _remote(error_type, text, type_name), None)
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

    def _crashed(self, worker: _Worker) -> None:
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited ({code})"
        for ref in sorted(worker.begun | set(self.pending)):
            if ref in worker.reported or ref not in worker.begun:
                continue
            test = self.leaves[ref]
            self.pending.pop(ref, None)
            error = RemoteError(
                f"aiounit.WorkerCrashedError: worker {worker.number} {how} while this test ran\n",
                "aiounit.WorkerCrashedError",
            )
            self.result.startTest(test)
            self.result.addError(test, (RemoteError, error, None))
            self.result.stopTest(test)
            worker.reported.add(ref)
        if worker.batch is not None:
            rest = [i for i in worker.batch if i not in worker.reported]
            if rest:
                self.queue.insert(0, rest)
        if not self.stop_event.is_set() and self.queue:
            self._spawn()


def _remote(error_type: type[BaseException], text: str, type_name: str) -> BaseException:
    if error_type is RemoteError:
        return RemoteError(text, type_name)
    error = error_type(text)
    error.aiounit_remote_text = text  # type: ignore[attr-defined]
    return error


def remote_text(err: Any) -> str | None:
    """The traceback text a worker formatted, if *err* stands for one."""
    value = err[1] if err else None
    if isinstance(value, RemoteError):
        return value.text
    return getattr(value, "aiounit_remote_text", None)
