"""SIGUSR2: how a watcher thread raises into the main thread when it is blocked.

A group's watchdog and the alarm of a test alone both watch from a thread of
their own; when the main thread (its event loop, or a sync part) stays blocked
past a test's limit and grace, they send SIGUSR2 to it, and the handler
installed here raises their error inside whatever blocks it (POSIX only).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

__unittest = True


def install_interrupt(handler: Callable[[], None]) -> Callable[[], None] | None:
    """Let a watcher thread raise into the blocked main thread (POSIX only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_kill"
    ):
        return None
    signum = signal.SIGUSR2
    previous = signal.signal(signum, _Handler(handler))

    def restore() -> None:
        signal.signal(signum, previous)

    return restore


class _Handler:
    """The signal handler: a callable object of this module, not a lambda, so
    that the frame it adds to an interrupted test's traceback is hidden as
    unittest hides its own (``__unittest`` in this module's globals)."""

    __slots__ = ("_handler",)

    def __init__(self, handler: Callable[[], None]) -> None:
        self._handler = handler

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self._handler()
