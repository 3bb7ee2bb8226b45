"""The live progress line on a terminal: done/total, running now, elapsed."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_SAVE, _RESTORE, _ERASE = "\x1b7", "\x1b8", "\x1b[K"
_EVERY = 0.2  # seconds between redraws


class Progress:
    """Draws a status at the end of the current line of *stream*, and erases it.

    The text goes after the cursor, which is then put back, so the next thing
    the result writes (a dot, a verbose line) lands where it would have, once
    the status is erased.  Only ever drawn on a TTY, by the result: it never
    reaches captured output or reports.

    The tests write too: a group member's ``print`` (without ``-b``) comes
    while the line is shown, and would overwrite only its start.  So while the
    line is drawn, ``sys.stdout`` and ``sys.stderr`` (the process's own, not a
    ``-b`` buffer) are wrappers that erase it before they write; not under
    ``-b`` (*guard* false), which captures what tests write, and where a
    group's capture must find the real streams to route logging handlers.
    """

    def __init__(self, stream: Any, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.running: set[int] = set()
        self.started = time.monotonic()
        self.shown = False
        self._drawn_at = 0.0
        # Tests print from threads too: a write never lands between the
        # erasure and the drawing of the line.
        self._lock = threading.RLock()
        self._real = {"stdout": sys.stdout, "stderr": sys.stderr}
        self._guards = {name: _Erasing(real, self) for name, real in self._real.items()}
        self.guard = True

    def begin(self, test: Any) -> None:
        self.running.add(id(test))

    def end(self, test: Any) -> None:
        if id(test) in self.running:
            self.running.discard(id(test))
        self.done += 1

    def clear(self) -> None:
        with self._lock:
            if self.shown:
                self.stream.write(_ERASE)
                self.shown = False

    def erase_before(self, stream: Any) -> None:
        """Erase the line before *stream*, a different stream of the terminal, writes."""
        with self._lock:
            if self.shown:
                self.stream.write(_ERASE)
                self.stream.flush()  # on the terminal before what *stream* writes
                self.shown = False

    def draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < _EVERY:
            return
        self._drawn_at = now
        with self._lock:
            self.clear()
            # What a test printed without a newline is on the terminal before
            # the line, not written over it later.
            for name, real in self._real.items():
                current = getattr(sys, name)
                if current is real or current is self._guards[name]:
                    _flush(real)
            done = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
            text = f"  [{done} done, {len(self.running)} running, {now - self.started:.1f}s]"
            self.stream.write(_SAVE + text + _RESTORE)
            self.stream.flush()
            self.shown = True
            for name, real in self._real.items():
                # Only the process's own stream, not a capture of a test's.
                if self.guard and getattr(sys, name) is real:
                    setattr(sys, name, self._guards[name])

    def close(self) -> None:
        """Erase the line for good and give the streams back."""
        self.clear()
        for name, real in self._real.items():
            if getattr(sys, name) is self._guards[name]:
                setattr(sys, name, real)


class _Erasing:
    """``sys.stdout``/``sys.stderr`` while the line is drawn: erase it, then write."""

    def __init__(self, real: Any, progress: Progress) -> None:
        self._real = real
        self._progress = progress

    def write(self, text: str) -> int:
        progress = self._progress
        with progress._lock:
            progress.erase_before(self._real)
            written: int = self._real.write(text)
        return written

    def writelines(self, lines: Any) -> None:
        progress = self._progress
        with progress._lock:
            progress.erase_before(self._real)
            self._real.writelines(lines)

    def __getattr__(self, name: str) -> Any:
        # flush, fileno, encoding, buffer, isatty...: the real stream's.
        return getattr(self._real, name)


def _flush(stream: Any) -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.flush()
