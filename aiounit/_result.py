"""TextTestResult: unittest's, writing each test's report as whole lines."""

from __future__ import annotations

import io
import time
import unittest

from ._colour import theme
from ._errors import remote_text
from ._stdlib import (
    TextTestResultBase,
    WritelnDecorator,
    mirror_output,
    original_streams,
    output_buffers,
    set_mirror_output,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from unittest.runner import _SupportsWriteAndFlush

__unittest = True


class _ThrottledFlush(WritelnDecorator):
    """A stream whose flush() reaches the terminal at most every 20 ms.

    unittest flushes after every dot: a system call per test, which a group of
    ten thousand tests finishing together pays ten thousand times.  The bytes
    stay in order (they are in the stream's own buffer); only when they show
    changes, and ``flush_pending()`` (called at each tick, before a test and at
    the end) catches up.
    """

    _EVERY = 0.02

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._flushed_at = 0.0
        self._pending = False

    def flush(self) -> None:
        now = time.monotonic()
        if now - self._flushed_at >= self._EVERY:
            self._flushed_at = now
            self._pending = False
            self.stream.flush()
        else:
            self._pending = True

    def flush_pending(self, *, force: bool = False) -> None:
        if self._pending and (force or time.monotonic() - self._flushed_at >= self._EVERY):
            self._flushed_at = time.monotonic()
            self._pending = False
            self.stream.flush()


class TextTestResult(TextTestResultBase):
    """Drop-in for ``unittest.TextTestResult``, safe when tests run concurrently.

    The output is byte for byte unittest's, but what one test prints (its
    verbose line, its dot, its subtest lines) reaches the stream in a single
    write when the test ends, so nothing another thread writes can land in the
    middle of it.  ``durations`` and ``collectedDurations`` work on 3.11 too.
    """

    def __init__(
        self,
        stream: _SupportsWriteAndFlush,
        descriptions: bool,
        verbosity: int,
        *,
        durations: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(stream, descriptions, verbosity, durations=durations, **kwargs)
        self._aiounit_stream: Any = None
        #: (test, message) warnings about tests that did not fail them: a test
        #: that blocked the event loop, or left tasks running.
        self.diagnostics: list[tuple[Any, str]] = []
        #: test id -> seconds, for --record-durations
        self.durationsById: dict[str, float] = {}
        #: the live progress line (aiounit.TextTestRunner sets it on a TTY)
        self.progress: Any = None
        if self.dots:
            self.stream = _ThrottledFlush(getattr(stream, "stream", stream))

    def aiounitMemberStarted(self, test: Any) -> None:
        """Called when a member of a group begins, long before it is reported."""
        if self.progress is not None:
            self.progress.begin(test)

    def aiounitTick(self) -> None:
        """Called now and then while tests run: show pending dots, redraw progress."""
        if isinstance(self.stream, _ThrottledFlush):
            self.stream.flush_pending()
        if self.progress is not None:
            self.progress.draw()

    def addDuration(self, test: unittest.TestCase, elapsed: float) -> None:
        """Called when a test finished to run, regardless of its outcome."""
        super().addDuration(test, elapsed)
        self.durationsById[test.id()] = elapsed

    def startTest(self, test: unittest.TestCase) -> None:
        if isinstance(self.stream, _ThrottledFlush):
            self.stream.flush_pending()
        if self.progress is not None:
            self.progress.clear()
            self.progress.begin(test)
        # Only verbose output spans several writes per test; a dot is one write.
        if self.showAll and self._aiounit_stream is None:
            self._aiounit_stream = self.stream
            self.stream = WritelnDecorator(io.StringIO())
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        # Flush our line before unittest's stopTest: with -b it writes a failed
        # test's captured output after the status, as the stdlib order has it.
        self._flush_line()
        super().stopTest(test)
        if self.progress is not None:
            self.progress.end(test)
            self.progress.draw()

    def _restoreStdout(self) -> None:
        # The stdlib reads the output of a failed test back from sys.stdout,
        # trusting it to be still its buffer, and its flag from the last error
        # that set it.  3.12.1 calls stopTest without startTest for a skipped
        # test, so after a class fixture's error the flag is still up while
        # sys.stdout is the real stream: the run crashed.  Read our own buffers,
        # which hold exactly what was captured whatever sys.stdout is now.
        if self.buffer and mirror_output(self):
            set_mirror_output(self, False)
            buffers, reals = output_buffers(self), original_streams(self)
            lines = (unittest.result.STDOUT_LINE, unittest.result.STDERR_LINE)
            for buffer, real, line in zip(buffers, reals, lines, strict=True):
                text = buffer.getvalue() if buffer is not None else ""
                if text:
                    real.write(line % (text if text.endswith("\n") else text + "\n"))
        super()._restoreStdout()  # type: ignore[misc]

    def _flush_line(self) -> None:
        real = self._aiounit_stream
        if real is None:
            return
        if self.progress is not None:
            self.progress.clear()
        text = self.stream.stream.getvalue()
        self.stream, self._aiounit_stream = real, None
        if text:
            real.write(text)
            real.flush()

    def startTestRun(self) -> None:
        if self.progress is not None:
            # -b captures what tests write: nothing of theirs reaches the line.
            self.progress.guard = not self.buffer
        super().startTestRun()

    def stopTestRun(self) -> None:
        # The streams the progress line wraps go back even if printErrors never comes.
        if self.progress is not None:
            self.progress.close()
        super().stopTestRun()

    def _exc_info_to_string(self, err: Any, test: Any) -> str:
        # An error from a worker process (-j) comes formatted already.
        text = remote_text(err)
        if text is not None:
            return text
        real = self._aiounit_stream
        if real is None:
            return super()._exc_info_to_string(err, test)  # type: ignore[misc,no-any-return]
        # Mid-test with -v, self.stream is our line buffer; 3.14 colours the
        # traceback if the stream is a terminal: let it ask the real one.
        buffered, self.stream = self.stream, real
        try:
            return super()._exc_info_to_string(err, test)  # type: ignore[misc,no-any-return]
        finally:
            self.stream = buffered

    def addDiagnostic(self, test: Any, message: str) -> None:
        """Called with a warning about *test* that does not fail it (aiounit only)."""
        self.diagnostics.append((test, message))

    def printErrors(self) -> None:
        if isinstance(self.stream, _ThrottledFlush):
            self.stream.flush_pending(force=True)
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        self._flush_line()
        super().printErrors()
        # A message has no traceback's final newline: add the blank line that
        # separates error entries.
        t = theme(self.stream)
        self.printErrorList(
            f"{t.warn}WARNING{t.reset}", [(test, f"{m}\n") for test, m in self.diagnostics]
        )
