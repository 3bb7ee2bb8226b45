"""One test of a group, as the scheduler knows it, and what the test left behind.

A ``Member`` is what ``run_case`` calls back in a group (``_outcome.GroupMember``):
it watches each part for a test that ignores its cancellation, takes the
cancellation of a stopping run, and, when the test ends, settles what it left
behind (tasks still running, exceptions asyncio would only log, time it kept
the loop blocked, process-wide state it changed while peers ran) before its
outcome is decided.
"""

from __future__ import annotations

import asyncio
import io
import time
import unittest

from ._errors import ConcurrencyHazardError, LeakedTaskError, LoopBlockedError
from ._stdlib import add_error, unretrieved_error
from ._tasks import describe, loop_error_note

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._scheduler import Group

__unittest = True


_STOP_REASON = "not finished: the run was stopped (failfast or Ctrl-C) while it ran"


class Member:
    """One test of a group and everything the scheduler knows about it."""

    __slots__ = (
        "_group",
        "_stop_sent",
        "_watch",
        "_watch_due",
        "_watch_since",
        "abandoned",
        "blocked",
        "deadline_pending",
        "delayed",
        "err",
        "finished",
        "limit",
        "loop_errors",
        "notes",
        "out",
        "spawned",
        "started",
        "stopping",
        "task",
        "test",
        "thread_ended",
    )

    stop_reason = _STOP_REASON

    def __init__(self, test: unittest.TestCase, limit: float | None) -> None:
        self.test = test
        self.limit = limit
        self.task: asyncio.Task[Any] | None = None
        # Tasks the test created that still matter: running, or done with an
        # exception nobody may have retrieved yet (an ordered set).  Others are
        # dropped when they end, so that their frames and the test's objects
        # they hold do not live on until the test is settled.
        self.spawned: dict[asyncio.Task[Any], None] = {}
        self.out: io.StringIO | None = None
        self.err: io.StringIO | None = None
        self.loop_errors: list[tuple[Any, BaseException, Any]] = []
        self.blocked: list[tuple[float, str | None]] = []
        self.notes: list[str] = []
        self.started = False
        self.stopping = False
        self.finished = False
        self.abandoned = False
        self._stop_sent = False
        self._watch: asyncio.TimerHandle | None = None
        self._watch_since = 0.0
        self._watch_due = 0.0  # time.monotonic() it is given up on, as pushed back so far
        # Seconds a peer kept the loop from running this test, not counted
        # against its limit, and the peer that held it longest.
        self.delayed: tuple[float, Member | None] = (0.0, None)
        # The part's own deadline has not fired yet (see _case.Limit): no
        # giving up before it has.
        self.deadline_pending = False
        # Set when its sync method's thread overran its limit: done when that
        # thread, which cannot be stopped, has ended.
        self.thread_ended: asyncio.Future[None] | None = None
        self._group: Group | None = None

    def __repr__(self) -> str:
        return f"<Member {self.test.id()}>"

    def task_ended(self, task: asyncio.Task[Any]) -> None:
        """Its task's done callback (a bound method, lighter than a partial)."""
        group = self._group
        assert group is not None
        group.task_ended(self, task)

    # -- called by run_case (through Limit) -------------------------------------

    def watch(self, limit: float) -> None:
        """A part with *limit* started: give up on it if it outlives limit + grace."""
        group = self._group
        assert group is not None
        self.unwatch()
        self._watch_since = time.monotonic()
        self._watch_due = self._watch_since + limit + group.config.grace
        self._watch = group.loop.call_later(limit + group.config.grace, group.abandon, self)

    def unwatch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def sent_cancel(self) -> bool:
        """Whether aiounit cancelled this test: the run stops or was interrupted
        (KeyboardInterrupt), or it was given up on."""
        group = self._group
        return self._stop_sent or self.abandoned or (group is not None and group.interrupted)

    def held_back(self, since: float) -> float:
        """Seconds since *since* that peers held the loop while this test waited."""
        group = self._group
        assert group is not None
        return group.held_back(self, since)

    def held_note(self) -> str:
        """What a report says about time peers held the loop while this test waited."""
        seconds, who = self.delayed
        if not seconds or who is None:
            return ""
        return (
            f" (not counting {seconds:.2f} s during which other tests, mostly {who.test},"
            " kept the event loop blocked)"
        )

    def take_stop(self) -> bool:
        """Consume the cancellation that stopping the run sent to this test."""
        if not self._stop_sent:
            return False
        self._stop_sent = False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True

    async def settle(self, test: unittest.TestCase, outcome: Any) -> None:
        """Charge to *test* what it left behind, before its outcome is decided."""
        group = self._group
        assert group is not None
        result = outcome.result
        task = self.task
        by = getattr(task, "aiounit_cancelled_by", None)
        if by is not None and by is not self:
            # A peer cancelled this test and the test caught it and went on: its
            # result says nothing about the test, so it must not pass.
            assert task is not None
            task.aiounit_cancelled_by = None  # type: ignore[attr-defined]
            swallowed = asyncio.CancelledError()
            swallowed.add_note(
                f"aiounit: another test of the group cancelled this test's task: {by.test};"
                " the test caught the cancellation and went on"
            )
            outcome.success = False
            add_error(result, test, (type(swallowed), swallowed, None))
        # Each step below is guarded by a cheap test of whether there is anything
        # to settle: most tests leave nothing behind, and this runs for each.
        if self.spawned:
            await self._settle_tasks(outcome)
        if group.watchdog is not None:
            block = group.watchdog.claim(self)
            if block is not None:
                self.blocked.append(block)
        if self.blocked:
            for seconds, where in self.blocked:
                message = (
                    f"blocked the event loop for {seconds:.2f} s (threshold "
                    f"{group.config.blocking_threshold:g} s)"
                )
                if where:
                    message += f" at {where}"
                self._charge(outcome, message, group.config.fail_on_blocking, LoopBlockedError)
            self.blocked.clear()
        if group.hazards.changes:  # a dict lookup per member is all it costs otherwise
            for message in group.hazards.settle(self, result):
                self._charge(outcome, message, group.config.fail_on_hazards, ConcurrencyHazardError)
        if self.loop_errors:
            for exc_info in self.loop_errors:
                if group.config.fail_on_loop_errors or issubclass(exc_info[0], SystemExit):
                    outcome.success = False
                    add_error(result, test, exc_info)
                else:
                    self.notes.append(loop_error_note(exc_info))
            self.loop_errors.clear()

    async def _settle_tasks(self, outcome: Any) -> None:
        """Cancel the test's tasks still running, and charge it for them and for
        those that raised with nobody awaiting them."""
        group = self._group
        assert group is not None
        if any(not t.done() for t in self.spawned):
            # Let tasks created just before the test returned start, so that
            # they see their cancellation, as they would in the stdlib.
            await asyncio.sleep(0)
        leaked = [t for t in self.spawned if not t.done()]
        if leaked:
            names = ", ".join(describe(t) for t in leaked)
            for task in leaked:
                task.cancel()
            _, stuck = await asyncio.wait(leaked, timeout=group.config.grace)
            message = f"left {len(leaked)} task(s) running, cancelled at its end: {names}"
            if stuck:
                message += f"; {len(stuck)} ignored the cancellation"
                group.given_up.update(map(id, stuck))  # asyncio's later complaint is no news
            self._charge(outcome, message, group.config.fail_on_leaks, LeakedTaskError)
        for task in self.spawned:
            # A task of the test that raised with nobody awaiting it (also while
            # being cancelled just now): asyncio would only log that when the
            # task is collected, maybe much later, and charge it to nobody.
            if task.done() and unretrieved_error(task):
                error = task.exception()
                assert error is not None
                error.add_note(f"aiounit: raised in task {task.get_name()}, which nobody awaited")
                self.loop_errors.append((type(error), error, error.__traceback__))

    def _charge(self, outcome: Any, message: str, as_error: bool, kind: type[Exception]) -> None:
        if as_error:
            outcome.success = False
            error = kind(message)
            add_error(outcome.result, self.test, (kind, error, None))
        else:
            self.notes.append(message)
