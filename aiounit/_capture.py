"""Per-test output and logging while the tests of a group run together.

``-b`` swaps ``sys.stdout`` for the whole process, which is no use when many
tests run at once.  During a group, ``sys.stdout``/``sys.stderr`` (and logging
handlers that write to them) are routers that look up the running test in a
context variable and append to that test's own buffers.  Tasks a test spawns
and threads started with ``asyncio.to_thread`` copy the test's context, so
their output lands on the right test too.

``assertLogs`` replaces a logger's handlers for the duration of the block,
and ``assertWarns`` the process's warning state; two tests doing that at once
would undo each other.  During a group they are versions that share the
state: each record or warning goes to the capture of the test whose context
emitted it, and those of other tests flow on as if nothing captured them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import unittest
from collections.abc import Iterator
from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    import unittest._log
    from typing import Any, TextIO

__unittest = True

# The member (see _scheduler.Member) whose test is running in this context.
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


class _Dispatcher(logging.Handler):
    def __init__(self, shared: _SharedLogger) -> None:
        super().__init__(logging.NOTSET)
        self.shared = shared

    def handle(self, record: logging.LogRecord) -> bool:
        stack = self.shared.captures.get(CURRENT.get())
        if stack:
            capture = stack[-1]  # the innermost assertLogs of this test
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


def _concurrent_assert_logs_class() -> type[unittest._log._AssertLogsContext[Any]]:
    """Built on first use: ``unittest._log`` is not worth importing up front."""
    global _assert_logs_class
    if _assert_logs_class is not None:
        return _assert_logs_class
    import unittest._log

    class _ConcurrentAssertLogsContext(unittest._log._AssertLogsContext):  # type: ignore[type-arg]
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
            handler = unittest._log._CapturingHandler()  # type: ignore[attr-defined]
            handler.setLevel(self.level)
            # 3.15's assertLogs takes a formatter
            formatter = getattr(self, "formatter", None)
            handler.setFormatter(formatter or logging.Formatter(self.LOGGING_FORMAT))
            self.handler = handler
            self.watcher = handler.watcher
            self._member = member
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
                # The stdlib __exit__ restores these, then judges the records.
                self.old_handlers = self.logger.handlers[:]
                self.old_level = self.logger.level
                self.old_propagate = self.logger.propagate
            return super().__exit__(exc_type, exc_value, tb)

    _assert_logs_class = _ConcurrentAssertLogsContext
    return _assert_logs_class


_assert_logs_class: type[unittest._log._AssertLogsContext[Any]] | None = None


class _SharedWarnings:
    """``catch_warnings(record=True)`` once for all the tests of a group.

    ``assertWarns`` saves and restores the process-wide warning state; two tests
    in it at once would restore each other's state out of order and catch each
    other's warnings.  While any test of the group is in ``assertWarns``, this
    holds the state and hands each warning to the innermost ``assertWarns`` of
    the test whose context raised it; other warnings are shown as usual.
    """

    def __init__(self) -> None:
        self.captures: dict[Any, list[list[Any]]] = {}
        self.saved: tuple[Any, ...] | None = None

    def enter(self, member: Any, category: Any) -> list[Any]:
        import warnings

        if self.saved is None:
            self.saved = (warnings.filters[:], warnings.showwarning, warnings._showwarnmsg_impl)  # type: ignore[attr-defined]
            warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
            warnings._showwarnmsg_impl = self._dispatch  # type: ignore[attr-defined]
        log: list[Any] = []
        self.captures.setdefault(member, []).append(log)
        warnings.simplefilter("always", category)
        return log

    def leave(self, member: Any, log: list[Any]) -> None:
        import warnings

        stack = self.captures[member]
        stack.remove(log)
        if not stack:
            del self.captures[member]
        if not self.captures and self.saved is not None:
            filters, warnings.showwarning, warnings._showwarnmsg_impl = self.saved  # type: ignore[attr-defined]
            self.saved = None
            warnings.filters[:] = filters  # type: ignore[index]
            warnings._filters_mutated()  # type: ignore[attr-defined]

    def _dispatch(self, message: Any) -> None:
        stack = self.captures.get(CURRENT.get())
        if stack:
            stack[-1].append(message)
        elif self.saved is not None:
            self._outside(message, *self.saved)

    @staticmethod
    def _outside(message: Any, filters: Any, showwarning: Any, impl: Any) -> None:
        """A warning of a test not in assertWarns just now: judged by the filters
        it would see without its peers' assertWarns, so that "error" raises it
        where it was warned (also 3.15's assertWarns showing the warnings that
        did not match again as it ends)."""
        import warnings

        mine = (warnings.filters[:], warnings.showwarning, warnings._showwarnmsg_impl)  # type: ignore[attr-defined]
        warnings.filters[:] = filters  # type: ignore[index]
        warnings.showwarning, warnings._showwarnmsg_impl = showwarning, impl  # type: ignore[attr-defined]
        warnings._filters_mutated()  # type: ignore[attr-defined]
        try:
            warnings.warn_explicit(
                message.message,
                message.category,
                message.filename,
                message.lineno,
                source=message.source,
            )
        finally:
            warnings.filters[:] = mine[0]  # type: ignore[index]
            warnings.showwarning, warnings._showwarnmsg_impl = mine[1], mine[2]  # type: ignore[attr-defined]
            warnings._filters_mutated()  # type: ignore[attr-defined]


_warnings = _SharedWarnings()
_CONTEXT_AWARE_WARNINGS = bool(getattr(sys.flags, "context_aware_warnings", False))


def _concurrent_assert_warns_class() -> type[unittest.case._AssertWarnsContext]:
    global _assert_warns_class
    if _assert_warns_class is not None:
        return _assert_warns_class

    class _ConcurrentAssertWarnsContext(unittest.case._AssertWarnsContext):
        """``assertWarns`` that tests of one group can use at once."""

        def __enter__(self) -> Any:
            member = CURRENT.get()
            if member is None or _CONTEXT_AWARE_WARNINGS:
                # With 3.14's context-aware warnings, catch_warnings only
                # changes the current context, and each member runs in its own:
                # the stdlib's assertWarns is group-safe as it is.
                return super().__enter__()
            # As the stdlib: warnings already shown once must show again.
            for module in list(sys.modules.values()):
                if getattr(module, "__warningregistry__", None):
                    module.__warningregistry__ = {}  # type: ignore[attr-defined]
            # 3.15 catches every warning in the block, and shows again those
            # that did not match when it ends (its __exit__, inherited here).
            caught = Warning if sys.version_info >= (3, 15) else self.expected
            log = _warnings.enter(member, caught)
            self.warnings = log
            # The stdlib __exit__ calls warnings_manager.__exit__, then judges
            # self.warnings.
            self.warnings_manager = _Leave(member, log)
            return self

    _assert_warns_class = _ConcurrentAssertWarnsContext
    return _assert_warns_class


_assert_warns_class: type[unittest.case._AssertWarnsContext] | None = None


class _Leave:
    __slots__ = ("log", "member")

    def __init__(self, member: Any, log: list[Any]) -> None:
        self.member = member
        self.log = log

    def __exit__(self, *exc_info: object) -> None:
        _warnings.leave(self.member, self.log)


@contextlib.contextmanager
def concurrent_assertions() -> Iterator[None]:
    """Make ``assertLogs`` and ``assertWarns`` group-safe while a group runs.

    TestCase looks both context classes up when the assertion is called, so
    swapping the module attributes for the group's duration is enough.
    """
    import unittest._log

    saved_logs = unittest._log._AssertLogsContext
    saved_warns = unittest.case._AssertWarnsContext
    unittest._log._AssertLogsContext = _concurrent_assert_logs_class()  # type: ignore[misc]
    unittest.case._AssertWarnsContext = _concurrent_assert_warns_class()  # type: ignore[misc]
    try:
        yield
    finally:
        unittest._log._AssertLogsContext = saved_logs  # type: ignore[misc]
        unittest.case._AssertWarnsContext = saved_warns  # type: ignore[misc]
