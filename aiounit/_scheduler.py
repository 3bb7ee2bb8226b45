"""Runs the members of one group as tasks on one event loop.

This is the only module that creates tasks.  Its invariants:

* every member task belongs to the group's TaskGroup, so none outlives it;
* a member never raises into the TaskGroup (a failing test must not cancel its
  peers): ``run_case`` turns every error into a result, only cancellation and
  KeyboardInterrupt pass;
* the real result is only touched here, on the loop's thread, and only between
  awaits, so one test's calls can never interleave with another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import unittest
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._case import _context_of, run_case, run_in_thread, timeout_error
from ._report import Recorder, recorder_class

__unittest = True


@dataclass(slots=True)
class Member:
    """One test of a group, with its resolved limit."""

    test: unittest.TestCase
    limit: float | None


def run_group(
    members: Sequence[Member],
    result: unittest.TestResult,
    *,
    max_concurrency: int | None,
    debug: bool | None = None,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run *members* concurrently on a new event loop; report each to *result*."""
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
    replay_errors: list[BaseException] = []
    with asyncio.Runner(debug=debug, loop_factory=loop_factory) as runner:
        runner.run(_run_members(members, result, max_concurrency, replay_errors))
    if replay_errors:
        # The result object itself failed; the stdlib would have crashed the run
        # at that point.  Everything else in the group was still reported.
        raise replay_errors[0]


async def _run_members(
    members: Sequence[Member],
    result: unittest.TestResult,
    max_concurrency: int | None,
    replay_errors: list[BaseException],
) -> None:
    make_recorder = recorder_class(result)
    slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    async with asyncio.TaskGroup() as tg:
        for member in members:
            # Like TestSuite.run: once failfast or Ctrl-C asked to stop, start
            # nothing new.
            if result.shouldStop:
                break
            if slots is not None:
                # Take the slot before creating the task, so that a capped group
                # of 10 000 tests does not hold 10 000 waiting coroutines.
                await slots.acquire()
                if result.shouldStop:
                    slots.release()
                    break
            tg.create_task(
                _run_member(member, make_recorder(result), slots, replay_errors),
                context=_context_of(member.test),
            )


async def _run_member(
    member: Member,
    recorder: Recorder,
    slots: asyncio.Semaphore | None,
    replay_errors: list[BaseException],
) -> None:
    test = member.test
    try:
        if isinstance(test, unittest.IsolatedAsyncioTestCase):
            await run_case(test, recorder, member.limit, threaded=True)
        else:
            await _run_sync_case(test, recorder, member.limit)
    finally:
        if slots is not None:
            slots.release()
        try:
            recorder.replay()
        except Exception as exc:
            replay_errors.append(exc)


async def _run_sync_case(
    test: unittest.TestCase, recorder: Recorder, limit: float | None
) -> None:
    """Run a plain TestCase's stdlib ``run()`` on a worker thread.

    The whole lifecycle runs on the thread, as the stdlib would run it, and
    records into its own recorder: if the thread overruns its limit it cannot
    be stopped, so its late calls must go nowhere.
    """
    on_thread = type(recorder)(recorder._real)
    scope = asyncio.timeout(limit) if limit is not None else contextlib.nullcontext()
    try:
        async with scope:
            await run_in_thread(test.run, on_thread, name=test.id())
    except TimeoutError as exc:
        assert isinstance(scope, asyncio.Timeout) and scope.expired(), "not our timeout"
        error = timeout_error(test, limit, exc.__cause__)
        recorder.startTest(test)
        recorder.addError(test, (type(error), error, None))
        recorder.stopTest(test)
        return
    recorder.calls.extend(on_thread.calls)
