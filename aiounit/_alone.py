"""An ``AsyncTestCase`` test that runs alone: the stdlib's lifecycle, bounded by its limit.

Run alone, a test goes through ``IsolatedAsyncioTestCase.run`` itself, so that
every part runs as the stdlib runs it: sync parts outside the loop, each async
part in a ``Runner.run()`` of its own (a test that cancels its own task or stops
the loop is an error of that test, and the loop turns between parts as it does
there), and every hook (``run``, ``doCleanups``, ``_callSetUp``...) is called.
``AsyncTestCase`` only adds, through the stdlib's private hooks, what this
module does: the time limit, giving up on a part that ignores its cancellation,
interrupting one that blocks, and closing the loop within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import unittest
from collections.abc import Callable, Coroutine
from types import FrameType, TracebackType

from . import _config, _watchdog
from ._errors import TestTimeoutError
from ._interrupt import install_interrupt
from ._stdlib import (
    get_running_loop_or_none,
    mark_runner_closed,
    runner_loop,
    runner_set_event_loop,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

# How much later than the give-up callback the alarm thread looks: a loop that
# has not run that callback by then is blocked, not just busy.
_MARGIN = 0.1


def timeout_error(
    test: unittest.TestCase, limit: float | None, cancelled: BaseException | None
) -> TestTimeoutError:
    """Build the error reported for a test that ran past *limit* seconds."""
    where = _user_frame(cancelled.__traceback__) if cancelled is not None else None
    message = f"{test} did not finish within {limit:g} s"
    if where is not None:
        message += f"; it was waiting at {where}"
    error = TestTimeoutError(message)
    # The cancellation's traceback runs down to the await the test was stuck in.
    error.__cause__ = cancelled
    error.__suppress_context__ = True
    return error


def given_up_error(test: unittest.TestCase, limit: float | None, grace: float) -> TestTimeoutError:
    return TestTimeoutError(
        f"{test} did not finish within {limit:g} s and ignored its cancellation for"
        f" {grace:g} s more; it was given up on and is still running"
    )


def _user_frame(tb: TracebackType | None) -> str | None:
    """The innermost frame of *tb* that is neither asyncio's nor unittest's nor ours."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if not is_framework(frame):
            found = f"{frame.f_code.co_filename}:{tb.tb_lineno} in {frame.f_code.co_name}"
        tb = tb.tb_next
    return found


def is_framework(frame: FrameType) -> bool:
    g = frame.f_globals
    return "__unittest" in g or g.get("__name__", "").startswith("asyncio")


class Alone:
    """One run of one test alone: its limit, per phase, and the machinery behind it.

    The limit bounds, as in a group, the setup and the test together, then the
    teardown, then the cleanups: each phase gets a deadline.  An async part runs
    under ``asyncio.timeout_at`` of that deadline; a loop callback a grace period
    later stops the loop if the part ignored its cancellation (the test is given
    up on); an alarm thread a little later still interrupts the main thread if
    the loop (or a sync part) is blocked, and ends the process if even that
    does not free it, as a group's watchdog does.
    """

    __slots__ = (
        "_interrupt",
        "_restore",
        "deadline",
        "gave_up",
        "grace",
        "in_cleanups",
        "limit",
        "part",
        "phase",
        "test",
    )

    def __init__(self, test: unittest.TestCase, limit: float | None, config: _config.Config):
        self.test = test
        self.limit = limit
        self.grace = config.grace
        self.phase = 0  # bumped when a phase begins or the run ends
        self.part = 0  # bumped when an async part begins and when it ends
        self.deadline: float | None = None  # time.monotonic() of this phase's end
        self.gave_up = False
        self.in_cleanups = False
        self._interrupt: TestTimeoutError | None = None
        self._restore: Callable[[], None] | None = None
        if limit is not None:
            self._restore = install_interrupt(self._raise_pending)

    def begin(self) -> None:
        """A phase (setup and test, teardown, cleanups) begins: a new deadline."""
        self.phase += 1
        self.gave_up = False
        if self.limit is None:
            return
        self.deadline = time.monotonic() + self.limit
        _ALARM.arm(self, self.deadline + self.grace + _MARGIN, self._check, self.phase)

    def end(self) -> None:
        """The run is over: nothing more to watch."""
        self.phase += 1
        self.deadline = None
        _ALARM.disarm(self)
        if self._restore is not None:
            self._restore()
            self._restore = None

    @property
    def _answer_within(self) -> float:
        """How long the interrupted main thread gets to answer before the run is aborted."""
        return max(self.grace, _watchdog.ABORT_AFTER_AT_LEAST)

    def _give_up(self, loop: asyncio.AbstractEventLoop, part: int) -> None:
        # The part ignored its cancellation for the grace period: stop waiting
        # for it; its task stays on the loop, as a given-up member's does.
        if part != self.part:
            # It ended in this very loop turn (it blocked past the grace, then
            # finished before this callback ran): nothing to give up on, and a
            # stop now would be left over for the next part's Runner.run(),
            # whose loop would stop before that part completed.
            return
        self.gave_up = True
        loop.stop()

    # -- the alarm thread and the signal handler ------------------------------------

    def _check(self, phase: int) -> None:
        if phase != self.phase or self.gave_up:
            return  # the phase ended, or the loop answered and the test was given up on
        if self._restore is None:
            return  # no signals here: nothing can interrupt the main thread
        self._interrupt = TestTimeoutError(
            f"{self.test} did not finish within {self.limit:g} s and kept the main thread"
            f" (its event loop or a sync part) blocked for {self.grace:g} s more; interrupted"
        )
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR2)
        _ALARM.arm(self, time.monotonic() + self._answer_within, self._abort_if_stuck, phase)

    def _abort_if_stuck(self, phase: int) -> None:
        if phase != self.phase or self.gave_up or self._interrupt is None:
            return
        err = sys.__stderr__
        if err is not None:
            err.write(
                f"\naiounit: {self.test} could not be interrupted {self._answer_within:g} s after"
                " its time limit and grace ran out; aborting the run.\n\nStacks of all"
                " threads:\n"
            )
            err.flush()
            import faulthandler

            faulthandler.dump_traceback(file=err, all_threads=True)
            err.flush()
        os._exit(1)

    def _raise_pending(self) -> None:
        # A signal handler: runs in the main thread, inside whatever blocks it.
        error, self._interrupt = self._interrupt, None
        if error is not None:
            raise error


class Runner(asyncio.Runner):  # type: ignore[misc]  # final only in typeshed
    """The test's runner: ``Runner.run`` of each async part, bounded by *alone*'s limit.

    The stdlib's ``_callAsync``/``_callMaybeAsync`` call it as they call their
    own, so every part still runs in a ``Runner.run()`` of its own.
    """

    def __init__(self, alone: Alone | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alone = alone

    def run(self, coro: Any, *, context: Any = None) -> Any:
        alone = self.alone
        try:
            if alone is None or alone.deadline is None:
                return super().run(coro, context=context)
            loop = self.get_loop()
            when = loop.time() + (alone.deadline - time.monotonic())
            alone.gave_up = False
            alone.part += 1
            give_up = loop.call_at(when + alone.grace, alone._give_up, loop, alone.part)
            try:
                return super().run(_limited(coro, when, alone), context=context)
            except RuntimeError:
                if alone.gave_up:
                    raise given_up_error(alone.test, alone.limit, alone.grace) from None
                raise
            finally:
                alone.part += 1
                give_up.cancel()
        except BaseException as exc:
            strip_own_frames(exc)
            raise


def strip_own_frames(exc: BaseException) -> None:
    """Drop aiounit's frames from *exc*'s traceback, wherever they are.

    unittest hides only the frames at the start of a traceback (and, for a
    failure, at its end); ours sit in the middle (the runner, the time limit)
    or at the end (the signal handler that interrupted a blocked test).  A bare
    ``raise`` after this does not add the raising frame back.
    """
    tb = exc.__traceback__
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_globals.get("__name__", "").startswith("aiounit."):
            kept.append(tb)
        tb = tb.tb_next
    head = None
    for entry in reversed(kept):
        entry.tb_next = head
        head = entry
    exc.__traceback__ = head


async def _limited(coro: Coroutine[Any, Any, Any], when: float, alone: Alone) -> Any:
    cm = asyncio.timeout_at(when)
    part = alone.part
    try:
        async with cm:
            try:
                value = await coro
            finally:
                # Ended: its give-up callback, if due in this turn, does nothing.
                # (A part given up on earlier that ends now is not the running one.)
                if alone.part == part:
                    alone.part += 1
    except TimeoutError as error:
        if not cm.expired():
            raise  # the test's own TimeoutError
        raise timeout_error(alone.test, alone.limit, error.__cause__) from None
    if cm.expired() or asyncio.get_running_loop().time() >= when:
        # The test swallowed our CancelledError and went on, or it blocked
        # past its deadline and ended before the loop could cancel it: it
        # still overran (in a group, the loop turns after the part see it).
        raise timeout_error(alone.test, alone.limit, None)
    return value


def close_runner(runner: asyncio.Runner, grace: float) -> None:
    """``runner.close()``, but a task that ignores its cancellation cannot hang it.

    ``Runner.close`` cancels the tasks left and waits for them without a bound;
    this cancels and waits at most *grace*, reporting what they raised as it
    does.  If some still run, the loop is closed without them (asyncio then says
    they were destroyed while pending, which is the truth).
    """
    loop = runner_loop(runner)
    if loop is None or loop.is_closed():
        runner.close()
        return
    if get_running_loop_or_none() is not None:
        # Collected (IsolatedAsyncioTestCase.__del__, after a debug() that
        # raised) while some other loop runs: this one cannot run now.
        _close_without(runner, loop, None)
        return
    pending = asyncio.all_tasks(loop)
    if pending:
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.wait(pending, timeout=grace))
        for task in pending:
            if (
                task.done()
                and not task.cancelled()
                and task.exception() is not None
                # a part given up on that ended after all: already reported
                and not isinstance(task.exception(), TestTimeoutError)
            ):
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception during asyncio.run() shutdown",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
        stuck = {id(task) for task in pending if not task.done()}
        if stuck:
            _quiet_about(loop, stuck)
            _close_without(runner, loop, grace)
            return
    runner.close()


def _quiet_about(loop: asyncio.AbstractEventLoop, stuck: set[int]) -> None:
    """Drop asyncio's later "Task was destroyed but it is pending!" about tasks
    already reported as given up on; everything else goes where it went."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "exception" not in context and id(context.get("task")) in stuck:
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _close_without(
    runner: asyncio.Runner, loop: asyncio.AbstractEventLoop, grace: float | None
) -> None:
    try:
        if grace is not None:
            with contextlib.suppress(TimeoutError):
                loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace))
    finally:
        if runner_set_event_loop(runner):
            asyncio.set_event_loop(None)
        loop.close()
        # The runner would wait for the stuck tasks again: it is done with.
        mark_runner_closed(runner)


class _Alarm:
    """One daemon thread that calls back at given times, for every lone test."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[Alone, tuple[float, Callable[[int], None], int]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, owner: Alone, when: float, callback: Callable[[int], None], phase: int) -> None:
        with self._cond:
            self._armed[owner] = (when, callback, phase)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aiounit alarm", daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self, owner: Alone) -> None:
        with self._cond:
            self._armed.pop(owner, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._armed:
                    self._cond.wait()
                    continue
                owner, (when, callback, phase) = min(self._armed.items(), key=lambda i: i[1][0])
                delay = when - time.monotonic()
                if delay > 0:
                    # A huge limit (``--timeout inf``): past TIMEOUT_MAX, wait()
                    # raises OverflowError, which would end this thread.
                    self._cond.wait(min(delay, threading.TIMEOUT_MAX))
                    continue
                del self._armed[owner]
            callback(phase)


_ALARM = _Alarm()
