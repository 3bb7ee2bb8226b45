"""Runs the members of one group as tasks on one event loop.

This is the only module that creates the loop and the member tasks.  Its
invariants:

* a member never raises into the group: ``run_case`` turns every error into a
  result; only cancellation and KeyboardInterrupt pass;
* the real result is only touched on the loop's thread, between awaits, one
  whole test at a time (``Recorder.replay``), so no two tests interleave;
* the run always ends: a test that ignores its cancellation is given up on
  after a grace period and reported; tasks still pending when the group ends
  are cancelled and waited for a bounded time, then the loop closes anyway;
* everything a test leaves behind (tasks still running, exceptions in loop
  callbacks it scheduled, time it kept the loop blocked) is charged to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import sys
import time
import unittest
from collections.abc import Awaitable, Callable, Sequence

from . import _config, _scope
from ._admission import Admission
from ._alone import timeout_error
from ._attribution import Attribution
from ._capture import CURRENT, captured_output, concurrent_assertions
from ._errors import TestTimeoutError
from ._hazards import Detector
from ._ide import per_test_comparisons
from ._lifecycle import context_of, run_case, run_in_thread
from ._member import Member
from ._report import Hooks, Recorder, recorder_class, tell_notes
from ._restore import restored_patches
from ._stdlib import (
    ErrorHolder,
    add_skip,
)
from ._tasks import Task, loop_error_note
from ._warnstate import per_test_warnings
from ._watchdog import Watchdog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_INTERRUPT_REASON = "not finished: the run was interrupted (KeyboardInterrupt) while it ran"


def _complete(recorder: Recorder, test: unittest.TestCase, add: Callable[[Any], None]) -> None:
    """Make *recorder* hold one whole report of *test*: ``startTest``, an outcome
    (*add* adds one if none was recorded), ``stopTest``, whatever escaped."""
    calls = recorder.calls
    if not any(name == "startTest" for name, _ in calls):
        calls.insert(0, ("startTest", (test,)))
    while calls and calls[-1][0] in ("stopTest", "_aiounit_elapsed"):
        calls.pop()
    if not recorder.has_outcome():
        add(recorder)
    recorder.stopTest(test)


# aiounit's own cancellations (a stopping run) go past Task.cancel, which
# would take them for the cancellation of whichever test's code is running.
_cancel = asyncio.Task.cancel


def refuse_running_loop() -> None:
    """Raise RuntimeError if called inside a running event loop: a group's loop
    cannot run there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        msg = (
            "ConcurrentTestSuite.run() was called inside a running event loop;"
            " call it from sync code"
        )
        raise RuntimeError(msg)


def run_group(
    members: Sequence[Member],
    result: unittest.TestResult,
    *,
    label: str,
    max_concurrency: int | None,
    config: _config.Config,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Run *members* concurrently on a new event loop; report each to *result*.

    With *loop* (a loop scope's, see ``_scope``), run them on that loop and
    leave it open, with the tasks the group did not start still running.
    """
    refuse_running_loop()
    if members:
        group = Group(members, result, label, max_concurrency, config, loop_factory)
        group.shared_loop = loop
        group.run()


# Members started, and running at once, before the group pauses their starts to
# freeze them (Group._settle_burst): a group of fewer never does.
FREEZE_EVERY = 1000

# Objects in the collector's frozen generation when aiounit was imported: not
# frozen by anyone in the run.  CPython 3.12 starts with some of its own there
# (375 tuples on 3.12.1), where 3.11 and 3.13+ start with none; counting them
# as "frozen by someone else" kept every group from freezing anything on 3.12.
FROZEN_AT_IMPORT = gc.get_freeze_count()


class Group(Attribution):
    def __init__(
        self,
        members: Sequence[Member],
        result: unittest.TestResult,
        label: str,
        max_concurrency: int | None,
        config: _config.Config,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    ) -> None:
        self.members = members
        self.result = result
        self.label = label
        self.cap = max_concurrency
        self.config = config
        self.loop_factory = loop_factory
        self.capture = bool(getattr(result, "buffer", False))
        self.make_recorder = recorder_class(result)
        hooks = Hooks(result)
        # A result that wants to know when a member begins, long before it is
        # reported (a worker's, to name the tests a crash interrupted).
        self.announce = hooks.member_started
        self.tick = hooks.tick  # the progress line
        # A -j worker's result streams each member's -b output to the parent.
        self.make_buffers = hooks.output_buffers
        # The member each running task belongs to: its own task, and the tasks
        # it spawned (kept until it ends, to judge what they did).
        self.owners: dict[asyncio.Task[Any], Member] = {}
        self.running: set[Member] = set()
        # ids of the tasks of members given up on; their destruction is no news
        self.given_up: set[int] = set()
        self.outstanding = 0
        self.all_done: asyncio.Event | None = None
        self.stopping = False
        self.closing = False
        self.group_errors: list[tuple[Any, BaseException, Any]] = []
        self.replay_errors: list[BaseException] = []
        # KeyboardInterrupt (Ctrl-C without -c, or a second one) is on its way out
        self.interrupted = False
        # the member it hit, reported last, like the test unittest was running
        self.hit: tuple[Member, Recorder] | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.watchdog: Watchdog | None = None
        self.admission = Admission((), None)
        self.hazards = Detector(self)
        # A loop scope's loop: its fixtures' tasks outlive the group.
        self.shared_loop: asyncio.AbstractEventLoop | None = None
        self.started_tasks: list[asyncio.Task[Any]] = []
        self.freezes = False  # whether this group froze the collector's objects
        self.unfrozen = 0  # members started since the last pause (_settle_burst)
        self.base_factory: Any = None

    # -- the loop -------------------------------------------------------------------

    def run(self) -> None:
        # Everything alive now (the loaded suite, the runner) will outlive the
        # group: keep it out of the collector's way, so that the full
        # collections the group's allocations trigger only look at the group.
        # (Not if something else froze objects: unfreezing would undo that.)
        self.freezes = gc.get_freeze_count() <= FROZEN_AT_IMPORT
        if self.freezes:
            gc.freeze()
        try:
            self._run()
        finally:
            if self.freezes:
                self.freezes = False
                gc.unfreeze()

    def _run(self) -> None:
        shared = self.shared_loop
        loop = self.loop = shared or (self.loop_factory or asyncio.new_event_loop)()
        if self.config.debug is not None and shared is None:
            loop.set_debug(self.config.debug)
        if shared is not None:
            saved = loop.get_exception_handler(), loop.get_task_factory()
            self.base_factory = _scope.task_factory_of(loop)
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self._exception_handler)
        loop.set_task_factory(self._task_factory)
        real_stop = loop.stop
        loop.stop = self._guard_stop(real_stop)  # type: ignore[method-assign]
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(restored_patches(self._left_patched))
                if self.capture:
                    stack.enter_context(captured_output())
                stack.enter_context(concurrent_assertions())
                stack.enter_context(per_test_warnings())
                stack.enter_context(per_test_comparisons())
                self.watchdog = stack.enter_context(Watchdog(self, loop))
                stack.enter_context(self.hazards)
                main = loop.create_task(self._main())
                try:
                    while True:
                        try:
                            loop.run_until_complete(main)
                            break
                        except SystemExit as exc:
                            # asyncio lets SystemExit out of the loop from a task
                            # step or a callback; it is an error of that test,
                            # not the end of the run.
                            if main.done():
                                raise
                            self._charge_system_exit(exc)
                except KeyboardInterrupt:
                    self.interrupted = True
                    if self.hit is not None and self.hit[0].task is not None:
                        # asyncio stored the interrupt in the test's task as it
                        # let it out; it goes on to the caller, so the task must
                        # not log it again as "never retrieved" when collected.
                        hit_task = self.hit[0].task
                        if hit_task.done() and not hit_task.cancelled():
                            hit_task.exception()
                    raise
                finally:
                    self._shut_down(loop)
        finally:
            loop.stop = real_stop  # type: ignore[method-assign]
            if self.hit is not None:
                # Last, so that its "test ... " line is the one the traceback
                # follows, as in unittest.
                self._replay(*self.hit)
            if shared is not None:
                loop.set_exception_handler(saved[0])
                loop.set_task_factory(saved[1])
            else:
                asyncio.set_event_loop(None)
                loop.close()
        for exc_info in self.group_errors:
            holder = ErrorHolder(f"event loop of {self.label}")
            if self.config.fail_on_loop_errors or issubclass(exc_info[0], SystemExit):
                self.result.addError(holder, exc_info)
            else:
                tell_notes(self.result, holder, [loop_error_note(exc_info)])
        if self.replay_errors:
            # The result object itself failed; the stdlib would have crashed the run
            # at that point.  Everything else in the group was still reported.
            raise self.replay_errors[0]

    def _left_patched(self, member: Member | None, message: str) -> None:
        # After the group: the test was reported already, the warning follows it.
        test = member.test if member is not None else None
        holder = test or ErrorHolder(self.label)
        tell_notes(self.result, holder, [message])

    def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what is left, wait a bounded time for it, and let the loop go."""
        self.closing = True
        if self.shared_loop is not None:
            # Only what the group started: the scope's fixture tasks go on.
            started = [m.task for m in self.members if m.task is not None]
            pending = [t for t in [*started, *self.started_tasks] if not t.done()]
        else:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        grace = self.config.grace
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=grace))
        if self.shared_loop is not None:
            return  # the scope shuts its async generators down when it ends
        with contextlib.suppress(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace))
        # Members still pending here ignored every cancellation; they were
        # reported when they were given up on.  asyncio will complain about the
        # destroyed pending tasks, which is the truth.

    async def _main(self) -> None:
        main = asyncio.current_task()
        assert main is not None
        if isinstance(main, Task):
            main.aiounit_immune = True
        self.all_done = asyncio.Event()
        admission = self.admission = Admission(self.members, self.cap)
        self.outstanding = 1  # held by this loop until every member has started
        if self.watchdog is not None:
            self.watchdog.beat()
        while True:
            # Like TestSuite.run: once failfast or Ctrl-C asked to stop, start
            # nothing new.
            if self.stopping or self.result.shouldStop:
                break
            # A member's task is created only once it may start (slot, locks),
            # so that a capped group of 10 000 tests does not hold 10 000
            # waiting coroutines, and waiting costs none of its time limit.
            member = admission.take()
            if member is None:
                if admission.exhausted:
                    break
                await self._wait(main, admission.wait())
                continue
            member._group = self
            self.outstanding += 1
            member.task = self.loop.create_task(
                self._run_member(member), context=context_of(member.test)
            )
            member.task.add_done_callback(member.task_ended)
            self.owners[member.task] = member
            self.running.add(member)
            self.unfrozen += 1
            if min(self.unfrozen, len(self.running)) >= FREEZE_EVERY:
                await self._settle_burst(main)
        self._member_done()
        while not self.all_done.is_set():
            await self._wait(main, self.all_done.wait())

    async def _wait(self, main: asyncio.Task[Any], awaitable: Awaitable[Any]) -> None:
        """Await *awaitable* in the group's main task; a cancellation ends the wait
        early and is otherwise dropped, but for the group's own (closing)."""
        try:
            await awaitable
        except asyncio.CancelledError:
            if self.closing:
                raise  # ours: the group is shutting down (KeyboardInterrupt)
            # Not from a test (they are refused) nor from aiounit: from code
            # outside any test; the group still starts and reports everyone.
            main.uncancel()

    async def _settle_burst(self, main: asyncio.Task[Any]) -> None:
        """After FREEZE_EVERY members started at once: let them take their first
        steps, then freeze what they hold, before more start.

        Starting 100 000 members without a pause held the loop for most of a
        second (the watchdog then warned, about whichever test it found).  And
        waiting members are long-lived: left to the collector, each full
        collection walks all of them (at 100 000 members of ``await sleep(1)``,
        13 collections took 3.2 s of a 9.5 s run, the longest 0.7 s: a stall of
        every test).  Frozen, they stay out of its way until the group ends
        (``run``).  What else is frozen then, such as a finished member's cyclic
        garbage not yet collected, is collected after the group.
        """
        self.unfrozen = 0
        await self._wait(main, asyncio.sleep(0))
        if self.freezes:
            gc.freeze()

    def _release_slot(self, member: Member) -> None:
        """Give *member*'s max_concurrency slot and its locks back, once: when it
        ends or is given up on (``Admission.release`` counts only the first call)."""
        self.admission.release(member)

    def task_ended(self, member: Member, task: asyncio.Task[Any]) -> None:
        """The last word on every member's task: if it ended without passing the
        ``finally`` of ``_run_member`` (cancelled before its first step, when a
        coroutine cannot catch anything: a peer's ``for t in asyncio.all_tasks():
        t.cancel()`` right after admission), report the test and free its slot
        here, or the group would wait for it forever."""
        if member.finished or member.abandoned or self.closing:
            return  # reported already, or the group is shutting down (not run, not reported)
        member.finished = True
        self.running.discard(member)
        self.owners.pop(task, None)
        self._release_slot(member)
        test = member.test
        if task.cancelled():
            error: BaseException = asyncio.CancelledError()
            by = getattr(task, "aiounit_cancelled_by", None)
            if by is not None and by is not member:
                error.add_note(
                    f"aiounit: another test of the group cancelled this test's task: {by.test},"
                    " before the test began; it did not run"
                )
            else:
                error.add_note("aiounit: this test's task was cancelled before the test began")
        else:
            error = task.exception()  # type: ignore[assignment]
        recorder = self.make_recorder(self.result)
        recorder.startTest(test)
        recorder.addError(test, (type(error), error, error.__traceback__))
        recorder.stopTest(test)
        self._replay(member, recorder)
        self._member_done()

    def _member_done(self) -> None:
        self.outstanding -= 1
        if self.outstanding == 0 and self.all_done is not None:
            self.all_done.set()

    async def _run_member(self, member: Member) -> None:
        test = member.test
        member.started = True
        CURRENT.set(member)
        if self.capture:
            if self.make_buffers is not None:
                member.out, member.err = self.make_buffers(test)
            else:
                member.out, member.err = io.StringIO(), io.StringIO()
        recorder = self.make_recorder(self.result)
        if self.announce is not None:
            self.announce(test)
        try:
            if isinstance(test, unittest.IsolatedAsyncioTestCase):
                await run_case(
                    test,
                    recorder,  # type: ignore[arg-type]  # it stands in for the result
                    member.limit,
                    threaded=True,
                    member=member,
                )
            else:
                await self._run_sync_case(member, recorder)
            if member.thread_ended is not None and not member.stopping:
                # Its thread still runs the test: its slot and locks stay held
                # until the thread ends, at most the grace period, as a task
                # that ignores its cancellation keeps them until given up on.
                # (A stopping run starts nothing new: no need to wait.)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(member.thread_ended), self.config.grace)
        except asyncio.CancelledError as exc:
            # A member is always reported exactly once, whatever cancelled it.
            if member.take_stop():
                reason = member.stop_reason
                _complete(recorder, test, lambda r: add_skip(r, test, reason))
            elif not member.abandoned and not self.interrupted:
                # A cancellation aiounit did not send, outside every part.
                task = asyncio.current_task()
                by = getattr(task, "aiounit_cancelled_by", None)
                if by is not None and by is not member:
                    exc.add_note(
                        f"aiounit: another test of the group cancelled this test's task: {by.test}"
                    )
                while task is not None and task.cancelling():
                    task.uncancel()
                cancelled = (type(exc), exc, exc.__traceback__)
                _complete(recorder, test, lambda r: r.addError(test, cancelled))
        except Exception:
            # Not the test's error (run_case records those): ours, or the
            # watchdog's interrupt landing between two parts.  Charge it to the
            # test rather than lose the test or the group.
            error = sys.exc_info()
            _complete(recorder, test, lambda r: r.addError(test, error))
        except KeyboardInterrupt:
            self.hit = (member, recorder)
            raise
        finally:
            member.finished = True
            # From here on task_ended has nothing to do: spare the loop its
            # callback (a handle and two calls per member).
            if member.task is not None:
                member.task.remove_done_callback(member.task_ended)
            self.running.discard(member)
            if not member.abandoned:
                if member.spawned:
                    for task in member.spawned:
                        self.owners.pop(task, None)
                    member.spawned = {}
                self.owners.pop(member.task, None)  # type: ignore[arg-type]
            self._release_slot(member)
            if self.hit is not None and self.hit[0] is member:
                self._member_done()
            elif not member.abandoned:
                if self.interrupted:
                    # Cancelled as the interrupt goes by: not a pass.  (The test
                    # the KeyboardInterrupt itself hit is reported last, with no
                    # outcome, as unittest reports it.)
                    recorder.ensure_outcome(test, _INTERRUPT_REASON)
                self._replay(member, recorder)
                self._member_done()

    async def _run_sync_case(self, member: Member, recorder: Recorder) -> None:
        """Run a plain TestCase's stdlib ``run()`` on a worker thread.

        The whole lifecycle runs on the thread, as the stdlib would run it, and
        records into its own recorder: if the thread overruns its limit it cannot
        be stopped, so its late calls must go nowhere.
        """
        test, limit = member.test, member.limit
        on_thread = self.make_recorder(self.result)
        scope = asyncio.timeout(limit) if limit is not None else contextlib.nullcontext()
        try:
            async with scope:
                await run_in_thread(test.run, on_thread, name=test.id())
        except TimeoutError as exc:
            error = timeout_error(test, limit, exc.__cause__)
            recorder.startTest(test)
            recorder.addError(test, (type(error), error, None))
            recorder.stopTest(test)
            member.thread_ended = getattr(exc.__cause__, "aiounit_thread_ended", None)
            return
        except asyncio.CancelledError:
            if member.stopping:
                recorder.startTest(test)
                add_skip(recorder, test, member.stop_reason)
                recorder.stopTest(test)
            raise
        recorder.take(on_thread)
        self.hazards.finish(member)  # no settle() for these: their hazards are warnings

    def _replay(self, member: Member, recorder: Recorder) -> None:
        out = member.out.getvalue() if member.out is not None else ""
        err = member.err.getvalue() if member.err is not None else ""
        saved = sys.stdout, sys.stderr
        try:
            recorder.replay(out, err, member.notes)
        except Exception as exc:
            self.replay_errors.append(exc)
        finally:
            # A buffering result restores the streams it saw when it was made,
            # which are not our routers.
            sys.stdout, sys.stderr = saved
        if self.result.shouldStop and not self.stopping:
            self.stop()

    # -- giving up, stopping ----------------------------------------------------------

    def stop(self) -> None:
        """The run stops: start nothing new, cancel the running members cleanly."""
        self.stopping = True
        self.admission.wake()
        for member in list(self.running):
            if not member.started:
                # Created but not yet begun: like a test the stdlib never
                # reached, it is not run and not reported.
                assert member.task is not None
                _cancel(member.task)
                self._release_slot(member)
                member.finished = member.abandoned = True
                self.running.discard(member)
                self._member_done()
                continue
            if member.task is not None and not member.stopping:
                member.stopping = True
                member._stop_sent = True
                _cancel(member.task)
                member.watch(0)

    def held_back(self, member: Member, since: float, *, record: bool = True) -> float:
        """Seconds since *since* that peers held the loop while *member* waited;
        with *record*, remembered on the member for its report."""
        if self.watchdog is None:
            return 0.0
        seconds, who = self.watchdog.held_by_others(since, member)
        if seconds < self.watchdog.period:
            return 0.0  # the loop's own jitter
        if not record:
            return seconds
        total, worst = member.delayed
        member.delayed = (total + seconds, worst or who)
        return seconds

    def abandon(self, member: Member) -> None:
        """*member* outlived its limit plus the grace period: report it and go on."""
        member._watch = None
        if member.finished or member.abandoned:
            return
        held = self.held_back(member, member._watch_since, record=False)
        if member.deadline_pending:
            return  # its deadline was pushed back; it re-arms this when it fires
        if held:
            # The time a peer blocked the loop is not this test's: wait that long
            # more, from when it was due (it fired late by that time).
            now = member._watch_since = time.monotonic()
            member._watch_due += held
            member._watch = self.loop.call_later(
                max(0.0, member._watch_due - now), self.abandon, member
            )
            return
        member.abandoned = True
        self.running.discard(member)
        self._release_slot(member)
        self.given_up.update(map(id, [member.task, *member.spawned]))
        test = member.test
        grace = self.config.grace
        if member.stopping and member.limit is None:
            what = f"{test} ignored the cancellation of the stopping run for {grace:g} s"
        else:
            what = (
                f"{test} did not finish within {member.limit:g} s and ignored its"
                f" cancellation for {grace:g} s more"
            )
        what += f"; it was given up on and is still running{member.held_note()}"
        error = TestTimeoutError(what)
        recorder = self.make_recorder(self.result)
        recorder.startTest(test)
        recorder.addError(test, (type(error), error, None))
        recorder.stopTest(test)
        self._replay(member, recorder)
        self._member_done()

    def _guard_stop(self, real_stop: Callable[[], None]) -> Callable[[], None]:
        def stop() -> None:
            if CURRENT.get() is not None:
                msg = "a test must not stop the shared event loop of its group"
                raise RuntimeError(msg)
            real_stop()

        return stop
