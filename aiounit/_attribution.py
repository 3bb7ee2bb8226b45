"""Charging what happens on a group's loop to the test whose code made it happen.

A group's loop creates every task through ``Attribution._task_factory`` and
reports every error asyncio would only log through ``_exception_handler``:
a task created while a member's code runs is that member's (``owners``,
``Member.spawned``), until it ends or the member settles; an exception raised
in a loop callback or in a task nobody awaited goes to the member whose
context scheduled it (``Member.loop_errors``), else to the group
(``group_errors``); a ``SystemExit`` that asyncio lets out of the loop is
charged the same way.  The watchdog asks ``member_of`` whose task is running.

``Group`` (``_scheduler``) is the one class built on this: the attributes
declared below are its own, set up in its ``__init__``.
"""

from __future__ import annotations

import asyncio

from . import _fixture_faults
from ._capture import CURRENT
from ._stdlib import handle_callback, handle_context, unretrieved_error
from ._tasks import Task

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._member import Member

__unittest = True


class Attribution:
    """The group's task factory and loop exception handler (see the module docstring)."""

    loop: asyncio.AbstractEventLoop
    # The member each running task belongs to: its own task, and the tasks it
    # spawned (kept until it ends, to judge what they did).
    owners: dict[asyncio.Task[Any], Member]
    # ids of the tasks of members given up on; their destruction is no news
    given_up: set[int]
    group_errors: list[tuple[Any, BaseException, Any]]
    # A loop scope's loop (its fixtures' tasks outlive the group), the tasks
    # the group's members started on it, and the scope's task factory.
    shared_loop: asyncio.AbstractEventLoop | None
    started_tasks: list[asyncio.Task[Any]]
    base_factory: Any

    def _task_factory(
        self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        member = CURRENT.get()
        base = self.base_factory  # on a scope's loop: it tracks its fixtures' tasks
        task: asyncio.Task[Any]
        if member is None or member.finished:
            if base is not None:
                task = base(loop, coro, **kwargs)
            else:
                task = Task(coro, loop=loop, **kwargs)
        else:
            made: list[asyncio.Task[Any]] = []

            def own(task: asyncio.Task[Any]) -> None:
                made.append(task)
                member.spawned[task] = None
                self.owners[task] = member

            try:
                if base is not None:
                    task = base(loop, coro, owner=own, **kwargs)
                else:
                    task = Task(coro, loop=loop, owner=own, **kwargs)
            except BaseException:
                # Not a task after all (a bad argument), or its eager first step
                # raised through create_task, to the test that called it.
                for made_task in made:
                    member.spawned.pop(made_task, None)
                    self.owners.pop(made_task, None)
                raise
        if member is not None and self.shared_loop is not None:
            self.started_tasks.append(task)
        if member is not None and not member.finished:
            task.add_done_callback(self._spawned_done)
        return task

    def _spawned_done(self, task: asyncio.Task[Any]) -> None:
        # (Not task.exception(): that would mark it retrieved.)
        if not unretrieved_error(task):
            self._forget(task)
        else:
            # Whoever awaits it is woken by a callback after this one: look
            # again once it has had its turn.
            self.loop.call_soon(self._spawned_checked, task)

    def _spawned_checked(self, task: asyncio.Task[Any]) -> None:
        if not unretrieved_error(task):
            self._forget(task)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        member = self.owners.get(task)
        if member is not None and not member.finished and not member.abandoned:
            del member.spawned[task]
            del self.owners[task]

    def _exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not isinstance(exc, BaseException):
            if id(context.get("task")) in self.given_up:
                return  # "Task was destroyed but it is pending!": already reported
            loop.default_exception_handler(context)
            return
        member = None
        handle = context.get("handle")
        if handle is not None:
            ctx = handle_context(handle)
            # uvloop's handles keep no _context, but uvloop calls the handler
            # from inside the callback's context.
            member = ctx.get(CURRENT) if ctx is not None else CURRENT.get()
        for key in ("task", "future"):
            owner = context.get(key)
            if member is None and isinstance(owner, asyncio.Task):
                member = self.owners.get(owner)
        on_scope = member is None and self.shared_loop is not None
        if on_scope and _fixture_faults.claim_loop_error(context):
            return  # the loop scope's fixtures caused it: theirs, not the group's
        message = context.get("message")
        if message:
            exc.add_note(f"aiounit: {message}")
        exc_info = (type(exc), exc, exc.__traceback__)
        if member is not None and not member.finished:
            member.loop_errors.append(exc_info)
        else:
            self.group_errors.append(exc_info)

    def _charge_system_exit(self, exc: SystemExit) -> None:
        handle = None
        tb = exc.__traceback__
        while tb is not None:
            candidate = tb.tb_frame.f_locals.get("self")
            if isinstance(candidate, asyncio.Handle):
                handle = candidate
            tb = tb.tb_next
        callback = handle_callback(handle)
        if isinstance(getattr(callback, "__self__", None), asyncio.Task):
            return  # a task's step: its task holds it, for whoever awaits it
        ctx = handle_context(handle)
        member = ctx.get(CURRENT) if ctx is not None else None
        exc.add_note("aiounit: raised in an event loop callback")
        exc_info = (type(exc), exc, exc.__traceback__)
        if member is not None and not member.finished:
            member.loop_errors.append(exc_info)
        else:
            self.group_errors.append(exc_info)

    # -- called by the watchdog --------------------------------------------------------

    def member_of(self, task: asyncio.Task[Any] | None) -> Member | None:
        return self.owners.get(task) if task is not None else None
