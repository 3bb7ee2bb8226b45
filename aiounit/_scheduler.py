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
import signal
import sys
import threading
import unittest
from collections.abc import Callable, Sequence

from . import _config, _scope
from ._capture import CURRENT, captured_output, concurrent_assertions
from ._case import _context_of, run_case, run_in_thread, timeout_error
from ._errors import LeakedTaskError, LoopBlockedError, TestTimeoutError
from ._ide import per_test_comparisons
from ._report import Recorder, recorder_class, tell_notes
from ._restore import restored_patches
from ._warnstate import per_test_warnings
from ._watchdog import Watchdog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_STOP_REASON = "not finished: the run was stopped (failfast or Ctrl-C) while it ran"
_INTERRUPT_REASON = "not finished: the run was interrupted (KeyboardInterrupt) while it ran"


class Member:
    """One test of a group and everything the scheduler knows about it."""

    __slots__ = (
        "_group",
        "_stop_sent",
        "_watch",
        "abandoned",
        "blocked",
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
    )

    stop_reason = _STOP_REASON

    def __init__(self, test: unittest.TestCase, limit: float | None) -> None:
        self.test = test
        self.limit = limit
        self.task: asyncio.Task[Any] | None = None
        self.spawned: list[asyncio.Task[Any]] = []
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
        self._group: _Group | None = None

    def __repr__(self) -> str:
        return f"<Member {self.test.id()}>"

    # -- called by run_case (through _Limit) -------------------------------------

    def watch(self, limit: float) -> None:
        """A part with *limit* started: give up on it if it outlives limit + grace."""
        group = self._group
        assert group is not None
        self.unwatch()
        self._watch = group.loop.call_later(limit + group.config.grace, group.abandon, self)

    def unwatch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

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
        if any(not t.done() for t in self.spawned):
            # Let tasks created just before the test returned start, so that
            # they see their cancellation, as they would in the stdlib.
            await asyncio.sleep(0)
        leaked = [t for t in self.spawned if not t.done()]
        if leaked:
            names = ", ".join(_describe(t) for t in leaked)
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
            if task.done() and getattr(task, "_log_traceback", False):
                error = task.exception()
                assert error is not None
                error.add_note(f"aiounit: raised in task {task.get_name()}, which nobody awaited")
                self.loop_errors.append((type(error), error, error.__traceback__))
        if group.watchdog is not None:
            block = group.watchdog.claim(self)
            if block is not None:
                self.blocked.append(block)
        for seconds, where in self.blocked:
            message = (
                f"blocked the event loop for {seconds:.2f} s (threshold "
                f"{group.config.blocking_threshold:g} s)"
            )
            if where:
                message += f" at {where}"
            self._charge(outcome, message, group.config.fail_on_blocking, LoopBlockedError)
        self.blocked.clear()
        for exc_info in self.loop_errors:
            if group.config.fail_on_loop_errors or issubclass(exc_info[0], SystemExit):
                outcome.success = False
                unittest.case._addError(result, test, exc_info)  # type: ignore[attr-defined]
            else:
                self.notes.append(loop_error_note(exc_info))
        self.loop_errors.clear()

    def _charge(self, outcome: Any, message: str, as_error: bool, kind: type[Exception]) -> None:
        if as_error:
            outcome.success = False
            error = kind(message)
            unittest.case._addError(outcome.result, self.test, (kind, error, None))  # type: ignore[attr-defined]
        else:
            self.notes.append(message)


class _Task(asyncio.Task):  # type: ignore[type-arg]
    """The tasks of a group's loop: owned by their test from their first step on.

    3.14's ``create_task`` hands its keyword arguments to the factory as they
    are, ``eager_start=True`` included, and an eager task runs its first step
    inside ``Task.__init__``: *owner* is told of the task before that step, so
    that what the step does (block the loop, spawn, fail) is charged to its test.
    """

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

    if sys.version_info[:2] == (3, 13):

        def set_name(self, value: object) -> None:
            # 3.13's create_task calls set_name(None) on a factory's task, naming
            # it "None"; keep the generated "Task-N" name instead.
            if value is not None:
                super().set_name(value)


def loop_error_note(exc_info: tuple[Any, BaseException, Any]) -> str:
    """The warning for an exception that asyncio would only have logged."""
    import traceback

    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    return (
        "raised in the event loop, where asyncio only logs it"
        f" (an error with --fail-on-loop-errors):\n{text}"
    )


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or repr(coro)
    frame = getattr(coro, "cr_frame", None)
    where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
    return f"{task.get_name()} ({name}{where})"


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
    group = _Group(members, result, label, max_concurrency, config, loop_factory)
    group.shared_loop = loop
    group.run()


class _Group:
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
        # A result that wants to know when a member begins, long before it is
        # reported (a worker's, to name the tests a crash interrupted).
        self.announce = getattr(result, "aiounitMemberStarted", None)
        self.tick = getattr(result, "aiounitTick", None)  # the progress line
        # A -j worker's result streams each member's -b output to the parent.
        self.make_buffers = getattr(result, "aiounitOutputBuffers", None)
        # The member each running task belongs to: its own task, and the tasks
        # it spawned (kept until it ends, to judge what they did).
        self.owners: dict[asyncio.Task[Any], Member] = {}
        self.running: set[Member] = set()
        # ids of the tasks of members given up on; their destruction is no news
        self.given_up: set[int] = set()
        self.outstanding = 0
        self.all_done: asyncio.Event | None = None
        self.stopping = False
        self.group_errors: list[tuple[Any, BaseException, Any]] = []
        self.replay_errors: list[BaseException] = []
        # KeyboardInterrupt (Ctrl-C without -c, or a second one) is on its way out
        self.interrupted = False
        # the member it hit, reported last, like the test unittest was running
        self.hit: tuple[Member, Recorder] | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.watchdog: Watchdog | None = None
        # A loop scope's loop: its fixtures' tasks outlive the group.
        self.shared_loop: asyncio.AbstractEventLoop | None = None
        self.started_tasks: list[asyncio.Task[Any]] = []
        self.base_factory: Any = None

    # -- the loop -------------------------------------------------------------------

    def run(self) -> None:
        # Everything alive now (the loaded suite, the runner) will outlive the
        # group: keep it out of the collector's way, so that the full
        # collections the group's allocations trigger only look at the group.
        frozen = not gc.get_freeze_count()
        if frozen:
            gc.freeze()
        try:
            self._run()
        finally:
            if frozen:
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
            holder = unittest.suite._ErrorHolder(f"event loop of {self.label}")  # type: ignore[attr-defined]
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
        holder = test or unittest.suite._ErrorHolder(self.label)  # type: ignore[attr-defined]
        tell_notes(self.result, holder, [message])

    def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what is left, wait a bounded time for it, and let the loop go."""
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
        self.all_done = asyncio.Event()
        slots = asyncio.Semaphore(self.cap) if self.cap else None
        self.outstanding = 1  # held by this loop until every member has started
        if self.watchdog is not None:
            self.watchdog.beat()
        for member in self.members:
            # Like TestSuite.run: once failfast or Ctrl-C asked to stop, start
            # nothing new.
            if self.stopping or self.result.shouldStop:
                break
            if slots is not None:
                # Take the slot before creating the task, so that a capped group
                # of 10 000 tests does not hold 10 000 waiting coroutines.
                await slots.acquire()
                if self.stopping or self.result.shouldStop:
                    slots.release()
                    break
            member._group = self
            self.outstanding += 1
            member.task = self.loop.create_task(
                self._run_member(member, slots), context=_context_of(member.test)
            )
            self.owners[member.task] = member
            self.running.add(member)
        self._member_done()
        await self.all_done.wait()

    def _member_done(self) -> None:
        self.outstanding -= 1
        if self.outstanding == 0 and self.all_done is not None:
            self.all_done.set()

    async def _run_member(self, member: Member, slots: asyncio.Semaphore | None) -> None:
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
        except asyncio.CancelledError:
            if not member.take_stop() and not member.abandoned:
                raise
        except Exception:
            # Not the test's error (run_case records those): ours, or the
            # watchdog's interrupt landing between two parts.  Charge it to the
            # test rather than lose the test or the group.
            recorder.addError(test, sys.exc_info())
            recorder.stopTest(test)
        except KeyboardInterrupt:
            self.hit = (member, recorder)
            raise
        finally:
            member.finished = True
            self.running.discard(member)
            if not member.abandoned:
                for task in member.spawned:
                    self.owners.pop(task, None)
                member.spawned = []
                self.owners.pop(member.task, None)  # type: ignore[arg-type]
            if slots is not None:
                slots.release()
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
            return
        except asyncio.CancelledError:
            if member.stopping:
                recorder.startTest(test)
                unittest.case._addSkip(recorder, test, member.stop_reason)  # type: ignore[attr-defined]
                recorder.stopTest(test)
            raise
        recorder.take(on_thread)

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
        for member in list(self.running):
            if not member.started:
                # Created but not yet begun: like a test the stdlib never
                # reached, it is not run and not reported.
                assert member.task is not None
                member.task.cancel()
                member.finished = member.abandoned = True
                self.running.discard(member)
                self._member_done()
                continue
            if member.task is not None and not member.stopping:
                member.stopping = True
                member._stop_sent = True
                member.task.cancel()
                member.watch(0)

    def abandon(self, member: Member) -> None:
        """*member* outlived its limit plus the grace period: report it and go on."""
        member._watch = None
        if member.finished or member.abandoned:
            return
        member.abandoned = True
        self.running.discard(member)
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
        error = TestTimeoutError(f"{what}; it was given up on and is still running")
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

    # -- what tests leave behind ------------------------------------------------------

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
                task = _Task(coro, loop=loop, **kwargs)
        else:
            made: list[asyncio.Task[Any]] = []

            def own(task: asyncio.Task[Any]) -> None:
                made.append(task)
                member.spawned.append(task)
                self.owners[task] = member

            try:
                if base is not None:
                    task = base(loop, coro, owner=own, **kwargs)
                else:
                    task = _Task(coro, loop=loop, owner=own, **kwargs)
            except BaseException:
                # Not a task after all (a bad argument), or its eager first step
                # raised through create_task, to the test that called it.
                for made_task in made:
                    member.spawned.remove(made_task)
                    self.owners.pop(made_task, None)
                raise
        if member is not None and self.shared_loop is not None:
            self.started_tasks.append(task)
        return task

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
            ctx = getattr(handle, "_context", None)
            # uvloop's handles keep no _context, but uvloop calls the handler
            # from inside the callback's context.
            member = ctx.get(CURRENT) if ctx is not None else CURRENT.get()
        for key in ("task", "future"):
            owner = context.get(key)
            if member is None and isinstance(owner, asyncio.Task):
                member = self.owners.get(owner)
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
        callback = getattr(handle, "_callback", None)
        if isinstance(getattr(callback, "__self__", None), asyncio.Task):
            return  # a task's step: its task holds it, for whoever awaits it
        ctx = getattr(handle, "_context", None)
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


def install_interrupt(handler: Callable[[], None]) -> Callable[[], None] | None:
    """Let the watchdog raise into a loop blocked in the main thread (POSIX only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_kill"
    ):
        return None
    signum = signal.SIGUSR2
    previous = signal.signal(signum, lambda _signum, _frame: handler())

    def restore() -> None:
        signal.signal(signum, previous)

    return restore
