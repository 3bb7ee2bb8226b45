"""What an async fixture does wrong on its loop, told apart from its peers'.

A loop scope's loop runs fixture code, its tests, and the tasks both start.
``Timed`` counts the time a fixture call's own steps keep the loop busy, so a
call that finished past its limit only because it blocked the loop fails as a
timeout, and one that a peer's block delayed does not.  ``claim_loop_error``
keeps an exception asyncio would only log (in a callback, or in a task nobody
awaited) for the scope whose fixture code scheduled it, whoever's loop
exception handler (the scope's, or a group's running on it) sees it first.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import time
from collections.abc import Coroutine

from ._stdlib import handle_context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._scope import Scope

__unittest = True

# The scope whose fixture code created the current context (and so owns the
# tasks created in it).
FIXTURE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "aiounit_fixture", default=None
)


class Timed(collections.abc.Coroutine):  # type: ignore[type-arg]
    """A coroutine that counts the time its own steps take (``busy``): the time
    it kept the loop from doing anything else."""

    __slots__ = ("busy", "coro")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        self.busy = 0.0

    def send(self, value: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.coro.send(value)
        finally:
            self.busy += time.perf_counter() - start

    def throw(self, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.coro.throw(*args)
        finally:
            self.busy += time.perf_counter() - start

    def close(self) -> None:
        self.coro.close()

    def __await__(self) -> Any:
        return self.coro.__await__()

    def __repr__(self) -> str:
        return repr(self.coro)


def _owner_of(context: dict[str, Any]) -> Scope | None:
    """The open scope whose fixture code scheduled what *context* is about."""
    handle = context.get("handle")
    ctx = handle_context(handle) if handle is not None else None
    scope: Scope | None = None
    if ctx is not None:
        scope = ctx.get(FIXTURE)
    elif handle is not None:
        # uvloop's handles keep no context, but it calls the handler from
        # inside the callback's.
        scope = FIXTURE.get()
    else:
        for key in ("task", "future"):
            # A task that raised and nobody awaited, collected: the scope's task
            # factory marked it (3.11's tasks do not show their context).
            scope = scope or getattr(context.get(key), "aiounit_scope", None)
    return scope if scope is not None and not scope.closed else None


def claim_loop_error(context: dict[str, Any]) -> bool:
    """Keep an exception asyncio would only log for the fixture that caused it."""
    exc = context.get("exception")
    scope = _owner_of(context) if isinstance(exc, BaseException) else None
    if scope is None:
        return False
    assert isinstance(exc, BaseException)
    message = context.get("message")
    if message:
        exc.add_note(f"aiounit: {message}")
    scope.loop_errors.append(exc)
    return True


def exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not claim_loop_error(context):
        loop.default_exception_handler(context)
