"""``run_case``: a test's whole lifecycle, ``TestCase.run`` awaited in one task.

``IsolatedAsyncioTestCase.run`` drives each part with a blocking
``Runner.run()``; a group's members share one loop, so each member runs its
setup, test, teardown and cleanups here, awaited in its own task, with the
stdlib's order, bookkeeping and loop turns.  A sync test method runs on a
thread of its own (``run_in_thread``) so that it does not block its peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
import traceback
import unittest
import warnings
from collections.abc import Awaitable, Callable

from . import _config
from ._alone import is_framework as _is_framework
from ._marks import is_coroutine_function
from ._outcome import AsyncOutcome, Limit
from ._stdlib import (
    SINCE_314,
    Outcome,
    add_expected_failure,
    add_unexpected_success,
    async_test_context,
    cleanups_of,
    current_frames,
    duration_adder,
    getframe,
    method_name,
    set_outcome,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard, TypeVar

    _T = TypeVar("_T")

    from ._outcome import GroupMember


__unittest = True


def context_of(test: unittest.TestCase) -> contextvars.Context:
    # IsolatedAsyncioTestCase copies the context when the test is built, and runs
    # every part of the test in it; keep that, so values set at load time by the
    # user's __init__ are seen the same way.
    ctx = async_test_context(test)
    if not isinstance(ctx, contextvars.Context):
        return contextvars.copy_context()
    _config.lend(ctx)  # copied before the run set its settings
    return ctx


async def run_case(
    test: unittest.TestCase,
    result: unittest.TestResult,
    limit: float | None,
    *,
    threaded: bool = False,
    member: GroupMember | None = None,
) -> None:
    """Run *test*'s whole lifecycle in the current task, reporting to *result*.

    This is ``TestCase.run`` with the async parts awaited instead of driven by a
    private runner, so that many tests can share one loop.  *limit* bounds the
    setup and the test, then, again, the teardown, then the cleanups; whatever
    times out, the later parts still run.  With *threaded*, a sync test method
    runs on a worker thread so that it does not block its peers.  *member* is
    the scheduler's record of this test in a group (see ``_member.Member``):
    it watches for a test that ignores cancellation, stops the test cleanly when
    the run stops, and settles what the test left behind.  Only
    ``CancelledError`` (the group is going away) and ``KeyboardInterrupt`` leave
    this function; everything else ends up in *result*.
    """
    method = getattr(test, method_name(test))
    if getattr(type(test), "__unittest_skip__", False) or getattr(
        method, "__unittest_skip__", False
    ):
        # The stdlib's own code, so that skips report exactly as it does on
        # this Python (3.12.1 does not call startTest for them, say).
        unittest.TestCase.run(test, result)
        return

    result.startTest(test)
    try:
        expecting_failure = getattr(test, "__unittest_expecting_failure__", False) or getattr(
            method, "__unittest_expecting_failure__", False
        )
        outcome = AsyncOutcome(result)
        start_time = time.perf_counter()
        try:
            set_outcome(test, outcome)
            set_up = False
            part = outcome.part = Limit(limit, test, outcome, member)
            outcome.member = member
            # One executor for the parts below, which run one after another
            # (never nested): not one object per part.
            executor = outcome.testPartExecutor(test)
            async with part:
                with executor:
                    pending = _call_set_up(test)
                    if pending is not None:
                        await pending
                if outcome.success:
                    set_up = True
                    outcome.expecting_failure = expecting_failure
                    with executor:
                        value = await _test_method_part(test, method, threaded, member)
                        if value is not None:
                            warn_returned(method, value)
                    outcome.expecting_failure = False
            if set_up:
                async with part:
                    with executor:
                        pending = _call_tear_down(test)
                        if pending is not None:
                            await pending
                        test.tearDown()
            while cleanups_of(test):
                async with part:
                    await _do_cleanups(test, outcome)
            if member is not None:
                with executor:
                    await member.settle(test, outcome)
            _add_duration(test, result, time.perf_counter() - start_time)

            if outcome.success:
                if expecting_failure:
                    if outcome.expectedFailure:
                        add_expected_failure(test, result, outcome.expectedFailure)
                    else:
                        add_unexpected_success(test, result)
                else:
                    result.addSuccess(test)
        finally:
            # explicitly break a reference cycle:
            # outcome.expectedFailure -> frame -> outcome -> outcome.expectedFailure
            outcome.expectedFailure = None
            outcome = None  # type: ignore[assignment]
            set_outcome(test, None)
    finally:
        result.stopTest(test)


NO_OP = frozenset(
    {unittest.IsolatedAsyncioTestCase.asyncSetUp, unittest.IsolatedAsyncioTestCase.asyncTearDown}
)


async def no_op() -> None:
    pass


def _overridden(hook: Any) -> TypeGuard[Callable[..., Any]]:
    # The stdlib's empty asyncSetUp/asyncTearDown need no coroutine each.
    return hook is not None and getattr(hook, "__func__", None) not in NO_OP


# _call_set_up and _call_tear_down are IsolatedAsyncioTestCase's _callSetUp and
# _callTearDown, except that they return what to await (None for the stdlib's
# empty asyncSetUp/asyncTearDown) instead of being coroutines: most tests
# override neither, and a coroutine each would be created for nothing.


def _call_set_up(test: unittest.TestCase) -> Awaitable[Any] | None:
    test.setUp()
    async_set_up = getattr(test, "asyncSetUp", None)
    if _overridden(async_set_up):
        return _call_async(async_set_up, first=True)
    return None


def _test_method_part(
    test: unittest.TestCase,
    method: Callable[[], Any],
    threaded: bool,
    member: GroupMember | None = None,
) -> Awaitable[Any]:
    """What to await to run *test*'s method: the part itself (not a coroutine
    around it, which every waiting member of a group would hold)."""
    if threaded and not is_coroutine_function(method):
        return _call_in_thread(test, method, member)
    first = not _overridden(getattr(test, "asyncSetUp", None))
    return _call_part(method, (), _NO_KWARGS, first=first)


async def _call_in_thread(
    test: unittest.TestCase, method: Callable[[], Any], member: GroupMember | None
) -> Any:
    try:
        return await run_in_thread(method, name=test.id())
    except asyncio.CancelledError as exc:
        if member is not None:
            member.thread_ended = getattr(exc, "aiounit_thread_ended", None)
        raise


def warn_returned(method: Callable[[], Any], value: object) -> None:
    message = f"It is deprecated to return a value that is not None from a test case ({method}"
    if SINCE_314:
        # 3.14 names the type (its async_case warns with a one-element tuple
        # instead of the string, an accident not copied here)
        message += f" returned {type(value).__name__!r}"
    warnings.warn(message + ")", DeprecationWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The stacklevel of the first frame outside unittest, asyncio and aiounit
    (as the stdlib's warning points past its own frames)."""
    level, frame = 1, getframe(1)
    while frame is not None and (
        _is_framework(frame) or frame.f_globals.get("__name__") == "unittest.async_case"
    ):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    return level


def _call_tear_down(test: unittest.TestCase) -> Awaitable[Any] | None:
    """What to await of the tear-down before ``test.tearDown()``, which the
    caller calls next."""
    async_tear_down = getattr(test, "asyncTearDown", None)
    if _overridden(async_tear_down):
        return _call_async(async_tear_down)
    return None


async def _do_cleanups(test: unittest.TestCase, outcome: Outcome) -> None:
    while cleanups_of(test):
        function, args, kwargs = cleanups_of(test).pop()
        with outcome.testPartExecutor(test):
            await _call_maybe_async(function, *args, **kwargs)


async def _call_async(func: Callable[..., Any], *, first: bool = False) -> Any:
    # IsolatedAsyncioTestCase._callAsync, for asyncSetUp and asyncTearDown.
    if not is_coroutine_function(func):
        msg = f"{func!r} is not an async function"
        raise AssertionError(msg)
    return await _call_part(func, (), _NO_KWARGS, first=first)


async def _call_maybe_async(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return await _call_part(func, args, kwargs, first=False)


# The keyword arguments of a part that has none: only ever unpacked, never
# changed, so one dict serves every test (each waiting member held its own).
_NO_KWARGS: dict[str, Any] = {}


async def _call_part(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, first: bool
) -> Any:
    # IsolatedAsyncioTestCase._callMaybeAsync: only coroutine functions are
    # awaited; a sync callable that returns an awaitable gets its value returned.
    if is_coroutine_function(func):
        # The stdlib runs each async part in a Runner.run() of its own: the
        # loop first runs what the previous part left ready, then the part,
        # and returns only after one more turn (a task the part cancelled at
        # its end runs its cleanup).  The same turns: one before each async
        # part but the test's first (nothing is left over then, and members
        # start together), one after each.
        if not first:
            await asyncio.sleep(0)
        value = await func(*args, **kwargs)
        await asyncio.sleep(0)
        return value
    return func(*args, **kwargs)


_MISSING = object()


def _add_duration(test: unittest.TestCase, result: unittest.TestResult, elapsed: float) -> None:
    # 3.12+ (it warns when the result lacks addDuration); 3.11's TestCase.run
    # reports no duration, and neither does a member on 3.11.
    add = duration_adder(test)
    if add is not None:
        add(result, elapsed)


async def run_in_thread(fn: Callable[..., _T], /, *args: Any, name: str) -> _T:
    """Await ``fn(*args)`` run on a new daemon thread, in a copy of this context.

    A daemon thread of its own, not the default executor: its pool is small, and
    a test that never returns must neither starve its peers nor keep the
    interpreter from exiting.  If the awaiting task is cancelled (a timeout), the
    thread cannot be stopped: the cancellation carries a note with its stack.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    ended: asyncio.Future[None] = loop.create_future()  # the thread is done, whoever waits
    ctx = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if not ended.done():
            ended.set_result(None)
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        value, error = None, None
        try:
            value = ctx.run(fn, *args)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, value, error)
        del value, error

    thread = threading.Thread(target=work, name=f"aiounit: {name}", daemon=True)
    thread.start()
    try:
        value = await future
    except asyncio.CancelledError as exc:
        frame = current_frames().get(thread.ident or -1)
        if frame is not None:
            # The test's frames only: not the thread's bootstrap nor aiounit's.
            frames = [
                (f, lineno)
                for f, lineno in traceback.walk_stack(frame)
                if not f.f_globals.get("__name__", "").startswith(("aiounit.", "threading"))
            ]
            stack = "".join(traceback.StackSummary.extract(reversed(frames)).format())
            exc.add_note(f"its thread {thread.name!r} cannot be stopped and is at:\n{stack}")
        # For a caller that must not let go of what the thread holds (a lock of
        # its group) while the thread still runs.
        exc.aiounit_thread_ended = ended  # type: ignore[attr-defined]
        raise
    # What the function set in its context is seen afterwards, as if it had run
    # in the caller's context, like a sync test method in the stdlib.
    for var, var_value in ctx.items():
        if var.get(_MISSING) is not var_value:
            var.set(var_value)
    return value
