"""A thread that notices when a group's event loop stops turning.

The loop runs a heartbeat callback every ``period``; a thread wakes up as
often and looks at how long ago the last beat was.  While the loop is stuck,
the thread samples which task is running (``asyncio.current_task(loop)``)
and where the loop thread is (``sys._current_frames()``).  If one task is
seen throughout a stall that lasts the blocking threshold, the time is
charged to the test that owns it.  Many short steps in a row (ten thousand
tests starting at once) show different tasks, so they are not mistaken for
one test blocking.

Past the test's timeout plus the grace period, the thread raises
``TestTimeoutError`` inside the blocked code (a signal handler runs it in the
loop's thread).  If even that does not free the loop, it prints every
thread's stack, what has finished, and ends the process with status 1: a
run must end.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import sys
import threading
import time
from types import FrameType

from ._errors import TestTimeoutError
from ._interrupt import install_interrupt
from ._stdlib import current_frames

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._member import Member
    from ._scheduler import Group

__unittest = True

_PERIOD = 0.025
#: The least time a thread gets to answer the interrupt (to run the signal
#: handler that raises in it) before the run is aborted, whatever the grace:
#: on a loaded machine a thread can wait that long to be scheduled at all, and
#: aborting a whole run is the last resort, for code that cannot be interrupted.
#: (Read where it is used, here and in _alone: aiounit's own tests of a test
#: that never answers lower it, so as not to wait for nothing.)
ABORT_AFTER_AT_LEAST = 1.0


def _await_stack(task: asyncio.Task[Any]) -> str:
    """Where *task* waits: its coroutine, and what that awaits, down the chain.

    ``Task.print_stack`` shows only the task's own coroutine frame, which for a
    member is aiounit's; the test's frame is further down the await chain.
    """
    import traceback

    frames = []
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return "".join(traceback.StackSummary.extract(frames).format())


class _Stall:
    __slots__ = ("before", "end", "first_seen", "interrupted", "member", "start", "task", "where")

    def __init__(
        self,
        task: Any,
        member: Any,
        where: str | None,
        now: float,
        *,
        start: float | None = None,
        before: tuple[_Stall, ...] = (),
    ) -> None:
        self.task = task
        self.member = member
        self.where = where
        self.first_seen = now
        self.interrupted: float | None = None
        # Where its span (see Watchdog.stalls) begins: the beat it followed,
        # or, for a later task in the same stall, when it was first seen.
        self.start = now if start is None else start
        # The earlier tasks of the same stall, each ended (``end``) when the
        # next was seen: one loop turn may run a test that blocks, then a
        # peer's short step, and the test's block is not the peer's.
        self.before = before
        self.end: float | None = None

    def chain(self) -> tuple[_Stall, ...]:
        return (*self.before, self)

    def spans(self, now: float) -> list[tuple[float, float, Any]]:
        return [(s.start, s.end or now, s.member) for s in self.chain()]

    def seconds(self, now: float, period: float, collector: _Collector) -> float:
        # Seen first at most a period or two after it began.  The collector's
        # pauses within it are no one's block.
        end = self.end or now
        return end - self.first_seen + period - collector.paused(self.first_seen, end)


class _Collector:
    """When the garbage collector ran, recently (it holds the loop in whatever
    task allocated: a full collection over tens of thousands of members can take
    half a second, and is charged to no test)."""

    def __init__(self) -> None:
        self.started: float | None = None
        # Replaced, never changed in place: the watchdog thread reads it while
        # a collection (and so this callback) may run, even in that thread.
        self.pauses: tuple[tuple[float, float], ...] = ()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self.started = now
        elif self.started is not None:
            self.pauses = (*self.pauses[-255:], (self.started, now))
            self.started = None

    def paused(self, start: float, end: float) -> float:
        """Seconds between *start* and *end* (monotonic) the collector ran."""
        spans = self.pauses
        started = self.started
        if started is not None:
            spans = (*spans, (started, end))
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans)


class Watchdog:
    """Heartbeat on the loop, watcher on a thread; see the module docstring."""

    def __init__(self, group: Group, loop: asyncio.AbstractEventLoop) -> None:
        self.group = group
        self.loop = loop
        config = group.config
        self.threshold: float | None = config.blocking_threshold
        self.grace: float = config.grace
        self.period = min(_PERIOD, self.threshold / 4) if self.threshold else _PERIOD
        self.last_beat = time.monotonic()
        self.stall: _Stall | None = None
        self.loop_thread = threading.get_ident()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="aiounit watchdog", daemon=True)
        self._handle: asyncio.TimerHandle | None = None
        self._pending: TestTimeoutError | None = None
        self._restore_signal: Any = None
        # Recent stalls as (start, end, member whose task held the loop): a
        # test's deadlines do not count the time a peer kept it from running.
        self.stalls: collections.deque[tuple[float, float, Any]] = collections.deque(maxlen=1024)
        self.collector = _Collector()

    def __enter__(self) -> Watchdog:
        self._restore_signal = install_interrupt(self._raise_pending)
        gc.callbacks.append(self.collector)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        if self._handle is not None:
            self._handle.cancel()
        self._thread.join()
        gc.callbacks.remove(self.collector)
        if self._restore_signal is not None:
            self._restore_signal()

    # -- on the loop's thread ----------------------------------------------------------

    def beat(self) -> None:
        now = time.monotonic()
        stall, self.stall = self.stall, None
        if stall is not None and now - self.last_beat >= 2 * self.period:
            self.stalls.extend(stall.spans(now))
        if stall is not None and self.threshold is not None:
            for part in stall.chain():
                seconds = part.seconds(now, self.period, self.collector)
                member = part.member
                if member is not None and seconds >= self.threshold and not member.finished:
                    member.blocked.append((seconds, part.where))
        self.last_beat = now
        group = self.group
        if group.result.shouldStop and not group.stopping:
            group.stop()  # -c: unittest's SIGINT handler set shouldStop
        if group.tick is not None:
            group.tick()
        if not self._stopped.is_set():
            self._handle = self.loop.call_later(self.period, self.beat)

    def held_by_others(self, since: float, member: Member) -> tuple[float, Member | None]:
        """Seconds since *since* (monotonic) that another test's code held the
        loop, and the test that held it longest."""
        now = time.monotonic()
        spans = list(self.stalls)
        stall = self.stall
        if stall is not None and now - self.last_beat >= 2 * self.period:
            spans.extend(stall.spans(now))  # just ended
        held: dict[Any, float] = {}
        for start, end, who in spans:
            if who is None or who is member or end <= since:
                continue
            held[who] = held.get(who, 0.0) + end - max(start, since)
        if not held:
            return 0.0, None
        worst = max(held, key=held.__getitem__)
        return sum(held.values()), worst

    def claim(self, member: Member) -> tuple[float, str | None] | None:
        """The block *member* is causing right now, if long enough to report.

        A test that blocks and then returns without awaiting again ends in the
        same loop step: it must be charged before its result is told, not at
        the next beat.
        """
        stall = self.stall
        if stall is None or self.threshold is None:
            return None
        # Its block may be followed by a peer's step in the same loop turn.
        mine = [part for part in stall.chain() if part.member is member]
        if not mine:
            return None
        now = time.monotonic()
        # Peers' deadlines must still learn whose time this was.
        self.stalls.extend(stall.spans(now))
        # Not None: the loop may still be stuck on what comes next, which must
        # be dated from now, not from the last beat.
        self.stall = _Stall(None, None, None, now)
        worst = max(mine, key=lambda part: part.seconds(now, self.period, self.collector))
        seconds = worst.seconds(now, self.period, self.collector)
        if seconds < self.threshold:
            return None
        return seconds, worst.where

    def _raise_pending(self) -> None:
        # Runs as a signal handler, in the loop's thread, inside the blocked code.
        error, self._pending = self._pending, None
        stall = self.stall
        if error is None or stall is None or stall.member.finished:
            return
        if asyncio.current_task(self.loop) is not stall.task:
            return  # the test moved on meanwhile: nothing to interrupt
        raise error

    # -- on the watchdog thread --------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopped.wait(self.period):
            now = time.monotonic()
            # (Not while the collector runs: where the loop thread is then says
            # nothing of the test; its pause is taken off every stall.)
            if now - self.last_beat >= 2 * self.period and self.collector.started is None:
                self._sample(now, asyncio.current_task(self.loop))

    def _sample(self, now: float, task: Any) -> None:
        """The loop has not beaten for two periods and *task* is running."""
        stall = self.stall
        if stall is None or stall.task is not task:
            # The first stall since the last beat is dated from when this
            # thread would have seen it (two periods after that beat), not
            # from when it did: woken late on a loaded machine, it must not
            # hide a block.  A later task of the same stall is dated from
            # when it was first seen, and the one before ends there: thousands
            # of short steps in one loop iteration (tests starting together)
            # must not be charged to whichever was seen first, nor a test's
            # own block to the peer whose step followed it.
            member = self.group.member_of(task)
            if stall is None:
                first = min(now, self.last_beat + 2 * self.period)
                start = self.last_beat + self.period
                stall = _Stall(task, member, self._where(), first, start=start)
            else:
                stall.end = now
                stall = _Stall(task, member, self._where(), now, before=stall.chain())
            self.stall = stall
        member = stall.member
        if member is None or member.limit is None or member.finished:
            return  # only a test's own code is ever interrupted
        blocked = now - stall.first_seen - self.collector.paused(stall.first_seen, now)
        if stall.interrupted is None and blocked > member.limit + self.grace:
            self._interrupt(stall, blocked)
        elif stall.interrupted is not None and now - stall.interrupted > max(
            self.grace, ABORT_AFTER_AT_LEAST
        ):
            self._abort(stall, blocked)

    def _where(self) -> str | None:
        frame: FrameType | None = current_frames().get(self.loop_thread)
        while frame is not None:
            g = frame.f_globals
            if "__unittest" not in g and not g.get("__name__", "").startswith(
                ("asyncio", "selectors", "threading", "concurrent")
            ):
                return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            frame = frame.f_back
        return None

    def _interrupt(self, stall: _Stall, blocked: float) -> None:
        stall.interrupted = time.monotonic()
        if self._restore_signal is None:
            return  # not the main thread, or no signals: only _abort is left
        member = stall.member
        where = f" at {stall.where}" if stall.where else ""
        self._pending = TestTimeoutError(
            f"{member.test} blocked the event loop for {blocked:.1f} s{where}, past its"
            f" {member.limit:g} s timeout and {self.grace:g} s grace; interrupted"
        )
        import signal

        signal.pthread_kill(self.loop_thread, signal.SIGUSR2)

    def _abort(self, stall: _Stall, blocked: float) -> None:
        err = sys.__stderr__
        if err is None:  # pragma: no cover
            os._exit(1)
        member = stall.member
        result = self.group.result
        err.write(
            f"\naiounit: {member.test} has blocked the event loop for {blocked:.1f} s,"
            f" past its {member.limit:g} s timeout and {self.grace:g} s grace, and could"
            " not be interrupted; aborting the run.\n\nStacks of all threads:\n"
        )
        err.flush()
        import faulthandler

        faulthandler.dump_traceback(file=err, all_threads=True)
        err.write("\nTasks of the group, where each is waiting:\n")
        try:
            for task in list(asyncio.all_tasks(self.loop)):
                err.write(f"{task!r}\n{_await_stack(task)}")
        except RuntimeError:  # the set changed under us: the stacks above say enough
            pass
        failed = [str(t) for t, _ in [*result.errors, *result.failures]]
        err.write(
            f"\nBefore that, {result.testsRun} test(s) ran: {len(result.failures)} failed,"
            f" {len(result.errors)} errored"
            + (": " + ", ".join(failed) if failed else "")
            + f"\nStuck: {member.test}\n"
        )
        err.flush()
        os._exit(1)
