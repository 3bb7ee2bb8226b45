"""The worker side of ``-j``: run batches, tell the parent everything as it happens.

A worker is forked by ``_workers._Pool`` and runs each batch it is sent in a
``ConcurrentTestSuite``, with a result that sends every call over its pipe.
So that the parent can tell what a crash interrupted, the worker also says
where it is as it goes: a group member as it begins, each class or module
fixture before it runs, each line of ``-b`` output as it is written (a test
that crashes its worker keeps what it printed), and the traceback of anything
that escapes a batch.  A worker dies with its parent: nothing else would tell
it that its results go nowhere, and it holds the job's stdout.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
import time
import traceback
import unittest
from collections.abc import Callable

from . import _config, _fixtures
from ._errors import exception_message, type_name
from ._stdlib import (
    IS_311,
    SubTest,
    atexit_clear,
    atexit_run,
    class_cleanups,
    module_cleanups_pending,
    output_buffers,
    previous_class,
    set_mirror_output,
    set_output_buffers,
)
from ._suite import ConcurrentTestSuite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from typing import Any

__unittest = True

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _StreamedBuffer(io.StringIO):
    """A ``-b`` buffer that also sends each write to the parent, as it is written."""

    def __init__(self, send: Callable[..., None], which: str, ref: Callable[[], Any]) -> None:
        super().__init__()
        self._send = send
        self._which = which
        self._ref = ref

    def write(self, s: str) -> int:
        written = super().write(s)
        ref = self._ref()
        if s and ref is not None:
            self._send("output", ref, self._which, s)
        return written


# One lock for every message of this worker: its results' and its relayed output's.
_SEND_LOCK = threading.Lock()


class _Relay:
    """``sys.stdout``/``sys.stderr`` of a worker whose parent draws a progress line.

    What the tests write goes to the parent, which erases its line before it
    writes it, as ``Progress`` does for the tests of one process.  Writes to
    the file descriptors themselves (a subprocess's, ``os.write``) reach the
    terminal directly, as they do without ``-j``.
    """

    def __init__(self, conn: Connection, which: str, real: Any) -> None:
        self._conn = conn
        self._which = which
        self._real = real
        self._pid = os.getpid()

    def write(self, s: str) -> int:
        if not s or os.getpid() != self._pid:  # a process a test forked: its own
            written: int = self._real.write(s)
            return written
        with _SEND_LOCK:
            self._conn.send(("print", self._which, s))
        return len(s)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass  # each write is sent whole

    def __getattr__(self, name: str) -> Any:
        # fileno, encoding, isatty, buffer...: the real stream's.
        return getattr(self._real, name)


class _WireResult(unittest.TestResult):
    """A worker's result: each call goes to the parent as a message."""

    def __init__(self, conn: Connection, refs: dict[int, int], stop: Any) -> None:
        super().__init__()
        self._conn = conn
        self._refs = refs
        self._stop_event = stop
        self._pid = os.getpid()
        self._started = 0.0
        self._timed = False
        # Group members and threads write output while the loop thread reports.
        self._lock = _SEND_LOCK
        self._members: set[int] = set()  # refs of group members, announced by "begin"
        self._streaming: Any = None  # the ref the result's own -b buffers stream for
        set_output_buffers(
            self,
            _StreamedBuffer(self._send, "out", lambda: self._streaming),
            _StreamedBuffer(self._send, "err", lambda: self._streaming),
        )

    @property
    def shouldStop(self) -> bool:
        return bool(self._stop_event.is_set())

    @shouldStop.setter
    def shouldStop(self, value: bool) -> None:
        if value:
            self._stop_event.set()

    def _ref(self, test: Any) -> Any:
        ref = self._refs.get(id(test))
        return ref if ref is not None else ("holder", str(test))

    def _text(self, err: Any, test: Any) -> tuple[str, str, str]:
        text = self._exc_info_to_string(err, test)  # type: ignore[attr-defined]
        return text, type_name(err), exception_message(err)

    def _send(self, *message: Any) -> None:
        if os.getpid() != self._pid:
            if message[0] == "output":
                return  # a forked child's -b output: lost, as in one process
            _forked_child_exits()
        with self._lock:
            self._conn.send(message)

    def phase(self, name: str) -> None:
        """A class or module fixture is about to run (its _ErrorHolder name)."""
        self._send("phase", name)

    def aiounitOutputBuffers(self, test: Any) -> tuple[io.StringIO, io.StringIO]:
        """The -b buffers of a group member (see _scheduler): streamed to the parent."""
        ref = self._refs.get(id(test))
        return (
            _StreamedBuffer(self._send, "out", lambda: ref),
            _StreamedBuffer(self._send, "err", lambda: ref),
        )

    def aiounitMemberStarted(self, test: Any) -> None:
        ref = self._ref(test)
        self._members.add(ref)
        # monotonic() is the system's clock: the parent times a crash by it.
        self._send("begin", ref, time.monotonic())

    def startTest(self, test: Any) -> None:
        ref = self._ref(test)
        # A member's output was streamed from its own buffers as it ran; its
        # replay writes it again into ours, which must not send it twice.
        self._streaming = None if ref in self._members else ref
        super().startTest(test)
        self._started = time.perf_counter()
        self._timed = False
        self._send("startTest", ref, time.monotonic())

    def stopTest(self, test: Any) -> None:
        out_buffer, err_buffer = output_buffers(self)
        out = out_buffer.getvalue() if self.buffer else ""
        err = err_buffer.getvalue() if self.buffer else ""
        set_mirror_output(self, False)  # the parent's result shows it, if it must
        super().stopTest(test)
        self._streaming = None
        ref = self._ref(test)
        self._members.discard(ref)
        if not self._timed and IS_311:
            # 3.11's TestCase.run never reports its time: measure it here,
            # where it ran, not in the parent, where it is only replayed.
            self.addDuration(test, time.perf_counter() - self._started)
        self._send("stopTest", ref, out, err)

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
        if isinstance(test, SubTest):  # skipTest() in a subTest()
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


def _forked_child_exits() -> None:
    """A process a test forked has come back into this worker's code.

    It shares the worker's pipe: its reports would interleave with the
    worker's, and it would wait for batches with it, so the run would never
    end.  In one process it would go on to run the rest of the suite a second
    time; here it says so and exits, as the test should have had it do.
    """
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"aiounit: process {os.getpid()}, forked by a test, returned into the"
            " test runner; it exits (end a forked child with os._exit())\n".encode(),
        )
    os._exit(0)


class _BatchSuite(ConcurrentTestSuite):
    """A batch: tells the parent which class or module fixture is about to run.

    ``_suite._Fixtures`` calls these stdlib handlers; each announces a fixture
    that exists by the name unittest gives its ``_ErrorHolder``, so that a
    crash in it is charged to it, and not, say, an out-of-memory kill between
    two tests to a ``setUpModule`` the module does not have.
    """

    _next_setup: str | None = None

    def _handleModuleFixture(self, test: Any, result: Any) -> None:
        previous = previous_class(result)
        module = test.__class__.__module__
        if getattr(previous, "__module__", None) != module and (
            _module_has(module, "setUpModule")
            or _fixtures.has_module_fixtures(sys.modules.get(module))
        ):
            # Announced after the previous module's tear-down, which the
            # stdlib handler runs first (see _handleModuleTearDown).
            self._next_setup = f"setUpModule ({module})"
            if previous is None:
                result.phase(self._next_setup)
        try:
            super()._handleModuleFixture(test, result)  # type: ignore[misc]
        finally:
            self._next_setup = None

    def _fixture_phase(self, result: Any, name: str) -> None:
        # The async class and module fixtures, which _suite runs apart from
        # the stdlib handlers above.
        result.phase(name)

    def _handleClassSetUp(self, test: Any, result: Any) -> None:
        cls = test.__class__
        if _overrides(cls, "setUpClass"):
            result.phase(f"setUpClass ({unittest.util.strclass(cls)})")  # type: ignore[attr-defined]
        super()._handleClassSetUp(test, result)  # type: ignore[misc]

    def _tearDownPreviousClass(self, test: Any, result: Any) -> None:
        cls = previous_class(result)
        if (
            cls is not None
            and cls is not type(test)
            and (_overrides(cls, "tearDownClass") or class_cleanups(cls))
        ):
            result.phase(f"tearDownClass ({unittest.util.strclass(cls)})")  # type: ignore[attr-defined]
        super()._tearDownPreviousClass(test, result)  # type: ignore[misc]

    def _handleModuleTearDown(self, result: Any) -> None:
        previous = previous_class(result)
        module = getattr(previous, "__module__", None)
        if module is not None and (
            _module_has(module, "tearDownModule") or module_cleanups_pending()
        ):
            result.phase(f"tearDownModule ({module})")
        super()._handleModuleTearDown(result)  # type: ignore[misc]
        if self._next_setup is not None and previous is not None:
            result.phase(self._next_setup)


def _overrides(cls: type, name: str) -> bool:
    method = getattr(cls, name, None)
    return getattr(method, "__func__", None) is not getattr(unittest.TestCase, name).__func__


def _module_has(name: str, function: str) -> bool:
    return getattr(sys.modules.get(name), function, None) is not None


def die_with_parent(parent: int, watch_fd: int) -> None:
    """End this worker as soon as process *parent* is gone.

    Linux kills it the moment the parent dies (``PR_SET_PDEATHSIG``); elsewhere
    a thread waits for end-of-file on a pipe whose only writer is the parent.
    """
    if sys.platform.startswith("linux") and _set_death_signal():
        os.close(watch_fd)
        if os.getppid() != parent:  # died before the signal was asked for
            os._exit(1)
        return
    watch_parent(watch_fd, lambda: os._exit(1))
    if os.getppid() != parent:
        os._exit(1)


def _set_death_signal() -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def watch_parent(fd: int, die: Callable[[], Any]) -> threading.Thread:
    """Call *die* from a thread once *fd*, a pipe's reading end, sees end-of-file."""

    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass  # nobody writes: only end-of-file (or an error) ends the read
        except OSError:
            pass
        die()

    thread = threading.Thread(target=watch, name="aiounit parent watch", daemon=True)
    thread.start()
    return thread


# Set in the parent just before forking; the workers inherit it.
SHARED: dict[str, Any] = {}


def worker_main(
    conn: Connection, stop: Any, settings: dict[str, Any], inherited: list[Any]
) -> None:
    """The body of a worker process: run each batch *conn* brings, until None."""
    # The parent's ends of this and the other workers' pipes, and the parent's
    # end of the death watch: a copy held here would hide the parent's death.
    for other in inherited:
        if isinstance(other, int):
            os.close(other)
        else:
            other.close()
    die_with_parent(settings["parent"], settings["watch_fd"])
    # Ctrl-C is the parent's business: it stops the run through `stop`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Only what the tests register runs at this process's exit (the parent's
    # handlers are the parent's), as it would at the end of a serial run.
    atexit_clear()
    coverage = _start_coverage(settings.get("coverage"))
    leaves: list[Any] = SHARED["leaves"]
    refs = {id(test): index for index, test in enumerate(leaves)}
    config: _config.Config = settings["config"]
    result: _WireResult | None = None
    real = sys.stdout, sys.stderr
    if settings.get("relay"):
        sys.stdout = _Relay(conn, "out", sys.stdout)
        sys.stderr = _Relay(conn, "err", sys.stderr)
    try:
        while True:
            batch = conn.recv()
            if batch is None:
                break
            result = _WireResult(conn, refs, stop)
            result.buffer = settings["buffer"]
            result.tb_locals = settings["tb_locals"]
            result.failfast = settings["failfast"]
            suite = _BatchSuite([leaves[i] for i in batch])
            try:
                with _config.using(config):
                    suite._run(result, config)
            except BaseException as exc:
                # SystemExit from a fixture, an error of aiounit's own: the
                # parent reports it with the crash it is about to see.
                result._send("fatal", _traceback_text(exc))
                raise
            result._send("done")
    finally:
        if coverage is not None:
            coverage.stop()
            coverage.save()
        atexit_run()
        sys.stdout, sys.stderr = real
        conn.close()


def _traceback_text(exc: BaseException) -> str:
    """*exc*'s traceback without the frames of unittest and aiounit above the user's."""
    tb = exc.__traceback__
    while tb is not None and "__unittest" in tb.tb_frame.f_globals:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


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
