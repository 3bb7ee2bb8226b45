"""The live progress line on a terminal: done/total, running now, elapsed."""

from __future__ import annotations

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
    the status is erased.  Only ever drawn on a TTY, by the result, on the
    main thread: it never reaches captured output or reports.
    """

    def __init__(self, stream: Any, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.running: set[int] = set()
        self.started = time.monotonic()
        self.shown = False
        self._drawn_at = 0.0

    def begin(self, test: Any) -> None:
        self.running.add(id(test))

    def end(self, test: Any) -> None:
        if id(test) in self.running:
            self.running.discard(id(test))
        self.done += 1

    def clear(self) -> None:
        if self.shown:
            self.stream.write(_ERASE)
            self.shown = False

    def draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < _EVERY:
            return
        self._drawn_at = now
        self.clear()
        done = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        text = f"  [{done} done, {len(self.running)} running, {now - self.started:.1f}s]"
        self.stream.write(_SAVE + text + _RESTORE)
        self.stream.flush()
        self.shown = True
