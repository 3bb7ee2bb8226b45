"""Per-test output and logging while the tests of a group run together.

``-b`` swaps ``sys.stdout`` for the whole process, which is no use when many
tests run at once.  During a group, ``sys.stdout``/``sys.stderr`` (and logging
handlers that write to them) are routers that look up the running test in a
context variable and append to that test's own buffers.  Tasks a test spawns
and threads started with ``asyncio.to_thread`` copy the test's context, so
their output lands on the right test too.

``assertLogs`` replaces a logger's handlers for the duration of the block;
two tests doing that at once would undo each other.  During a group it is a
version that shares the logger: each record goes to the capture of the test
whose context emitted it, and those of other tests flow on as if nothing
captured them.  (Warnings: see ``_warnstate``.)
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar

from ._stdlib import assert_logs_context, capturing_handler, set_assert_logs_context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

__unittest = True

# The member (see _member.Member) whose test is running in this context.
CURRENT: ContextVar[Any] = ContextVar("aiounit_current_member", default=None)


class _Router(io.TextIOBase):
    """A text stream that writes to the running test's buffer, or passes through."""

    def __init__(self, real: TextIO, which: str) -> None:
        self._real = real
        self._which = which

    def _target(self) -> Any:
        member = CURRENT.get()
        if member is None or member.finished:
            return self._real
        return getattr(member, self._which)

    def write(self, s: str) -> int:
        written: int = self._target().write(s)
        return written

    def writelines(self, lines: Any) -> None:
        self._target().writelines(lines)

    def flush(self) -> None:
        target = self._target()
        if target is self._real:
            self._real.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        # encoding, errors, fileno(), buffer...: whatever the real stream has.
        return getattr(self._real, name)


@contextlib.contextmanager
def captured_output() -> Iterator[tuple[TextIO, TextIO]]:
    """Route stdout/stderr (and logging handlers on them) per test for a group."""
    real_out, real_err = sys.stdout, sys.stderr
    out, err = _Router(real_out, "out"), _Router(real_err, "err")
    handlers = _stream_handlers({id(real_out): out, id(real_err): err})
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err  # type: ignore[misc]
    finally:
        sys.stdout, sys.stderr = real_out, real_err
        for handler, stream in handlers:
            handler.setStream(stream)


def _stream_handlers(routes: dict[int, _Router]) -> list[tuple[logging.StreamHandler[Any], Any]]:
    """Point handlers that write to the real stdout/stderr at the routers."""
    swapped = []
    loggers = [logging.getLogger()]
    known = logging.Logger.manager.loggerDict.values()
    loggers += [lg for lg in known if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and id(stream) in routes:
                swapped.append((handler, handler.setStream(routes[id(stream)])))
    # logging.lastResort looks sys.stderr up on each record: already routed.
    return swapped


class _SharedLogger:
    """Book-keeping for one logger that several tests capture at once."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.saved = (logger.handlers[:], logger.level, logger.propagate)
        self.effective = logger.getEffectiveLevel()
        self.captures: dict[Any, list[Any]] = {}
        self.dispatcher = _Dispatcher(self)
        logger.handlers = [self.dispatcher]
        logger.propagate = False

    def update_level(self) -> None:
        levels = [c.level for stack in self.captures.values() for c in stack]
        self.logger.setLevel(min([self.effective, *levels]))

    def restore(self) -> None:
        handlers, level, propagate = self.saved
        self.logger.handlers = handlers
        self.logger.setLevel(level)
        self.logger.propagate = propagate


_shared: dict[str, _SharedLogger] = {}
# Sync members capture from worker threads: every change to _shared and to the
# loggers it holds is made under this lock; records are delivered outside it.
_shared_lock = threading.RLock()


class _Dispatcher(logging.Handler):
    def __init__(self, shared: _SharedLogger) -> None:
        super().__init__(logging.NOTSET)
        self.shared = shared

    def handle(self, record: logging.LogRecord) -> bool:
        with _shared_lock:
            stack = self.shared.captures.get(CURRENT.get())
            capture = stack[-1] if stack else None  # the innermost assertLogs of this test
        if capture is not None:
            if record.levelno >= capture.level:
                capture.handler.handle(record)
            return True
        # Not a capturing test: deliver as the logger would have without us.
        if record.levelno < self.shared.effective:
            return True
        handlers, _level, propagate = self.shared.saved
        for handler in handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        parent = self.shared.logger.parent if propagate else None
        while parent is not None:
            for handler in parent.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            parent = parent.parent if parent.propagate else None
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does it
        pass


def _concurrent_assert_logs_class() -> Any:
    """Built on first use: ``unittest._log`` is not worth importing up front."""
    global _assert_logs_class
    if _assert_logs_class is not None:
        return _assert_logs_class

    class _ConcurrentAssertLogsContext(assert_logs_context()):  # type: ignore[misc]
        """``assertLogs``/``assertNoLogs`` that tests of one group can use at once."""

        logger: logging.Logger

        def __enter__(self) -> Any:
            member = CURRENT.get()
            if member is None:
                return super().__enter__()
            logger: logging.Logger
            if isinstance(self.logger_name, logging.Logger):
                logger = self.logger = self.logger_name
            else:
                logger = self.logger = logging.getLogger(self.logger_name)
            handler = capturing_handler()
            handler.setLevel(self.level)
            # 3.15's assertLogs takes a formatter
            formatter = getattr(self, "formatter", None)
            handler.setFormatter(formatter or logging.Formatter(self.LOGGING_FORMAT))
            self.handler = handler
            self.watcher = handler.watcher
            self._member = member
            with _shared_lock:
                shared = _shared.get(logger.name)
                if shared is None:
                    shared = _shared[logger.name] = _SharedLogger(logger)
                shared.captures.setdefault(member, []).append(self)
                shared.update_level()
            if self.no_logs:
                return None
            return handler.watcher

        def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> Any:
            member = getattr(self, "_member", None)
            if member is not None:
                with _shared_lock:
                    shared = _shared[self.logger.name]
                    stack = shared.captures[member]
                    stack.remove(self)
                    if not stack:
                        del shared.captures[member]
                    if shared.captures:
                        shared.update_level()
                    else:
                        del _shared[self.logger.name]
                        shared.restore()
                # The stdlib __exit__ puts its saved state back on self.logger,
                # then judges the records.  Another thread may have started
                # capturing the real logger meanwhile: let it restore a stand-in
                # with the same name, for the message.
                self.logger = logging.Logger(self.logger.name)
                self.old_handlers: list[logging.Handler] = []
                self.old_level, self.old_propagate = logging.NOTSET, True
            return super().__exit__(exc_type, exc_value, tb)

    _assert_logs_class = _ConcurrentAssertLogsContext
    return _assert_logs_class


_assert_logs_class: Any = None


@contextlib.contextmanager
def concurrent_assertions() -> Iterator[None]:
    """Make ``assertLogs`` group-safe while a group runs.

    TestCase looks the context class up when the assertion is called, so
    swapping the module attribute for the group's duration is enough.
    (``assertWarns`` needs nothing: each test has its own warning state, see
    ``_warnstate``.)
    """
    saved_logs = assert_logs_context()
    set_assert_logs_context(_concurrent_assert_logs_class())
    try:
        yield
    finally:
        set_assert_logs_context(saved_logs)
