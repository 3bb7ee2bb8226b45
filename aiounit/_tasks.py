"""The tasks of aiounit's event loops, and how reports name a task or a loop error.

A group's loop and a loop scope's loop create every task as a ``Task``: it is
told its owner (a test) before its first step, names the test's coroutine in
its repr, and remembers which test cancelled it.  ``_scheduler`` and ``_scope``
both describe leftover tasks and loop errors with the helpers here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._capture import CURRENT
from ._stdlib import IS_313, format_coroutine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True


class Task(asyncio.Task):  # type: ignore[type-arg]
    """The tasks of a group's loop: owned by their test from their first step on.

    3.14's ``create_task`` hands its keyword arguments to the factory as they
    are, ``eager_start=True`` included, and an eager task runs its first step
    inside ``Task.__init__``: *owner* is told of the task before that step, so
    that what the step does (block the loop, spawn, fail) is charged to its test.

    ``cancel`` remembers which test asked (so that a test cancelled by a peer
    is told who did it), and refuses tests that cancel the group's own task
    (``for t in asyncio.all_tasks(): t.cancel()``, a common shutdown helper):
    the machinery that reports every test must not die with them.
    """

    aiounit_cancelled_by: Any = None  # the Member whose code cancelled it
    aiounit_immune = False

    def __init__(
        self,
        coro: Any,
        *,
        owner: Callable[[asyncio.Task[Any]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        if owner is not None:
            owner(self)
        super().__init__(coro, **kwargs)

    def cancel(self, msg: Any = None) -> bool:
        by = CURRENT.get()
        if by is not None:
            if self.aiounit_immune:
                return False
            self.aiounit_cancelled_by = by
        return super().cancel(msg)

    def __repr__(self) -> str:
        # A member's task runs aiounit's coroutine; in the stdlib, the task of
        # each part runs the test's own: name that one (asyncio puts this repr
        # in messages such as "got Future attached to a different loop").
        text = super().__repr__()
        coro = self.get_coro()
        user = _user_coroutine(coro)
        if user is not None and user is not coro:
            text = text.replace(format_coroutine(coro), format_coroutine(user), 1)
        return text

    if IS_313:

        def set_name(self, value: object) -> None:
            # 3.13's create_task calls set_name(None) on a factory's task,
            # naming it "None"; keep the generated "Task-N" name instead.
            if value is not None:
                super().set_name(value)


def _user_coroutine(coro: Any) -> Any:
    """The outermost coroutine in *coro*'s await chain that is not aiounit's."""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            return None
        if not frame.f_globals.get("__name__", "").startswith("aiounit."):
            return coro
        coro = getattr(coro, "cr_await", None)
    return None


def loop_error_note(exc_info: tuple[Any, BaseException, Any]) -> str:
    """The warning for an exception that asyncio would only have logged."""
    import traceback

    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    return (
        "raised in the event loop, where asyncio only logs it"
        f" (an error with --fail-on-loop-errors):\n{text}"
    )


def describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or repr(coro)
    frame = getattr(coro, "cr_frame", None)
    where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
    return f"{task.get_name()} ({name}{where})"
