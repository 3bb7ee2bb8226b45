"""AsyncTestCase and the async test lifecycle that groups and single tests share."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import threading
import time
import traceback
import unittest
import warnings
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from unittest.case import SkipTest, _addError, _addSkip, _Outcome, _ShouldStop  # type: ignore[attr-defined]

from . import _config
from ._errors import TestTimeoutError
from ._fixtures import ClassFixtures, needs_scope, run_test
from ._marks import check_timeout, group_mark_of, is_coroutine_function, timeout_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard, TypeVar

    _T = TypeVar("_T")
    from _typeshed import OptExcInfo

__unittest = True


class AsyncTestCase(ClassFixtures, unittest.IsolatedAsyncioTestCase):
    """An ``IsolatedAsyncioTestCase`` whose tests can run concurrently in groups.

    Mark tests with ``@aiounit.group(...)`` to run them together on one event
    loop; everything else behaves exactly as in ``IsolatedAsyncioTestCase``.
    Run on its own (by any suite or runner), a test gets a fresh event loop,
    like the stdlib, bounded by its ``timeout``; in a class with async class
    fixtures (``asyncSetUpClass``) or a module with async module fixtures, it
    runs on that class's (module's) loop instead.

    Attributes:
        timeout: default per-test limit in seconds, or None for no limit.
    """

    timeout: float | None = None
    __aiounit_default_timeout__ = True  # this class's timeout says nothing

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "timeout" in cls.__dict__:
            check_timeout(cls.__dict__["timeout"], f"{cls.__qualname__}.timeout")

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        config = _config.current()
        limit = timeout_of(self, group_mark_of(self), config.timeout)
        if needs_scope(self):
            return run_test(self, result, limit)  # on its class's or module's loop
        return run_alone(self, result, limit, debug=config.debug)


def run_alone(
    test: unittest.IsolatedAsyncioTestCase,
    result: unittest.TestResult | None,
    limit: float | None,
    *,
    debug: bool | None = None,
) -> unittest.TestResult | None:
    """Run one async test on a loop of its own, like ``IsolatedAsyncioTestCase.run``."""
    stop_test_run = None
    if result is None:
        result = test.defaultTestResult()
        start_test_run = getattr(result, "startTestRun", None)
        stop_test_run = getattr(result, "stopTestRun", None)
        if start_test_run is not None:
            start_test_run()
    try:
        loop_factory = getattr(test, "loop_factory", None)
        with asyncio.Runner(debug=debug, loop_factory=loop_factory) as runner:
            runner.run(run_case(test, result, limit), context=_context_of(test))
    finally:
        if stop_test_run is not None:
            stop_test_run()
    return result


def _context_of(test: unittest.TestCase) -> contextvars.Context:
    # IsolatedAsyncioTestCase copies the context when the test is built, and runs
    # every part of the test in it; keep that, so values set at load time by the
    # user's __init__ are seen the same way.
    ctx = getattr(test, "_asyncioTestContext", None)
    if not isinstance(ctx, contextvars.Context):
        ctx = contextvars.copy_context()
    return ctx


def _cancel_requested() -> bool:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task.cancelling() > 0


class _AsyncOutcome(_Outcome):  # type: ignore[misc]
    """unittest's ``_Outcome``, except that our own cancellation passes through.

    The stdlib part executor records any ``BaseException`` but KeyboardInterrupt
    as an error.  A timeout or a cancelled group cancels the test's task; that
    ``CancelledError`` must reach ``asyncio.timeout`` (or the task) instead.  A
    ``CancelledError`` the test raised by itself, with nobody cancelling its task,
    is still an error of the test, as in the stdlib.  Checked on 3.11-3.13.
    """

    success: bool
    expectedFailure: OptExcInfo | None

    @contextlib.contextmanager
    def testPartExecutor(self, test_case: Any, subTest: bool = False) -> Iterator[None]:
        old_success = self.success
        self.success = True
        try:
            yield
        except KeyboardInterrupt:
            raise
        except SkipTest as e:
            self.success = False
            _addSkip(self.result, test_case, str(e))
        except _ShouldStop:
            pass
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError) and _cancel_requested():
                self.success = False
                raise
            if isinstance(exc, GeneratorExit):
                # The test's coroutine is being closed (a test given up on,
                # collected later): run nothing more of it.
                raise
            exc_info = sys.exc_info()
            if self.expecting_failure:
                self.expectedFailure = exc_info
            else:
                self.success = False
                if subTest:
                    self.result.addSubTest(test_case.test_case, test_case, exc_info)
                else:
                    _addError(self.result, test_case, exc_info)
            # explicitly break a reference cycle: exc_info -> frame -> exc_info
            exc_info = None  # type: ignore[assignment]
        else:
            if subTest and self.success:
                self.result.addSubTest(test_case.test_case, test_case, None)
        finally:
            self.success = self.success and old_success


async def run_case(
    test: unittest.TestCase,
    result: unittest.TestResult,
    limit: float | None,
    *,
    threaded: bool = False,
    member: Any = None,
) -> None:
    """Run *test*'s whole lifecycle in the current task, reporting to *result*.

    This is ``TestCase.run`` with the async parts awaited instead of driven by a
    private runner, so that many tests can share one loop.  *limit* bounds the
    setup and the test, then, again, the teardown, then the cleanups; whatever
    times out, the later parts still run.  With *threaded*, a sync test method
    runs on a worker thread so that it does not block its peers.  *member* is
    the scheduler's record of this test in a group (see ``_scheduler.Member``):
    it watches for a test that ignores cancellation, stops the test cleanly when
    the run stops, and settles what the test left behind.  Only
    ``CancelledError`` (the group is going away) and ``KeyboardInterrupt`` leave
    this function; everything else ends up in *result*.
    """
    method = getattr(test, test._testMethodName)
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
        outcome = _AsyncOutcome(result)
        start_time = time.perf_counter()
        try:
            test._outcome = outcome  # type: ignore[attr-defined]
            set_up = False
            part = _Limit(limit, test, outcome, member)
            async with part:
                with outcome.testPartExecutor(test):
                    await _call_set_up(test)
                if outcome.success:
                    set_up = True
                    outcome.expecting_failure = expecting_failure
                    with outcome.testPartExecutor(test):
                        await _call_test_method(test, method, threaded)
                    outcome.expecting_failure = False
            if set_up:
                async with part:
                    with outcome.testPartExecutor(test):
                        await _call_tear_down(test)
            while test._cleanups:  # type: ignore[attr-defined]
                async with part:
                    await _do_cleanups(test, outcome)
            if member is not None:
                await member.settle(test, outcome)
            _add_duration(test, result, time.perf_counter() - start_time)

            if outcome.success:
                if expecting_failure:
                    if outcome.expectedFailure:
                        test._addExpectedFailure(result, outcome.expectedFailure)  # type: ignore[attr-defined]
                    else:
                        test._addUnexpectedSuccess(result)  # type: ignore[attr-defined]
                else:
                    result.addSuccess(test)
        finally:
            # explicitly break a reference cycle:
            # outcome.expectedFailure -> frame -> outcome -> outcome.expectedFailure
            outcome.expectedFailure = None
            outcome = None  # type: ignore[assignment]
            test._outcome = None  # type: ignore[attr-defined]
    finally:
        result.stopTest(test)


class _Limit:
    """``asyncio.timeout(limit)`` around one part of a test; reports its expiry.

    In a group it also tells the member when a part starts and ends, so the
    scheduler can give up on a test that ignores its cancellation, and it turns
    the cancellation of a stopping run (failfast, Ctrl-C with -c) into a skip,
    after which the test's teardown and cleanups still run.

    A class, not an ``@asynccontextmanager``: it is entered several times per
    test, and an async generator per entry costs asyncio a WeakSet insertion.
    """

    __slots__ = ("_cm", "limit", "member", "outcome", "test")

    def __init__(
        self, limit: float | None, test: unittest.TestCase, outcome: _Outcome, member: Any
    ) -> None:
        self.limit = limit
        self.test = test
        self.outcome = outcome
        self.member = member
        self._cm: asyncio.Timeout | None = None

    async def __aenter__(self) -> None:
        if self.limit is not None:
            self._cm = asyncio.timeout(self.limit)
            await self._cm.__aenter__()
            if self.member is not None:
                self.member.watch(self.limit)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        cm, self._cm = self._cm, None
        if cm is not None:
            if self.member is not None:
                self.member.unwatch()
            try:
                await cm.__aexit__(exc_type, exc, tb)
            except TimeoutError as error:
                if not cm.expired():  # pragma: no cover - only an aiounit bug gets here
                    raise
                self._report(error.__cause__ or exc)
                return True
            if cm.expired():
                # The test swallowed our CancelledError and went on: it still
                # overran its limit.
                self._report(None)
        member = self.member
        stopped = exc_type is asyncio.CancelledError and member is not None and member.stopping
        if stopped and member.take_stop():
            self.outcome.expecting_failure = False
            self.outcome.success = False
            _addSkip(self.outcome.result, self.test, member.stop_reason)
            return True
        return False

    def _report(self, cancelled: BaseException | None) -> None:
        self.outcome.expecting_failure = False
        self.outcome.success = False
        error = timeout_error(self.test, self.limit, cancelled)
        _addError(self.outcome.result, self.test, (type(error), error, None))


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


def _user_frame(tb: TracebackType | None) -> str | None:
    """The innermost frame of *tb* that is neither asyncio's nor unittest's nor ours."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if not _is_framework(frame):
            found = f"{frame.f_code.co_filename}:{tb.tb_lineno} in {frame.f_code.co_name}"
        tb = tb.tb_next
    return found


def _is_framework(frame: FrameType) -> bool:
    g = frame.f_globals
    return "__unittest" in g or g.get("__name__", "").startswith("asyncio")


_NO_OP = frozenset(
    {unittest.IsolatedAsyncioTestCase.asyncSetUp, unittest.IsolatedAsyncioTestCase.asyncTearDown}
)


def _overridden(hook: Any) -> TypeGuard[Callable[..., Any]]:
    # The stdlib's empty asyncSetUp/asyncTearDown need no coroutine each.
    return hook is not None and getattr(hook, "__func__", None) not in _NO_OP


async def _call_set_up(test: unittest.TestCase) -> None:
    test.setUp()
    async_set_up = getattr(test, "asyncSetUp", None)
    if _overridden(async_set_up):
        await _call_maybe_async(async_set_up)


async def _call_test_method(
    test: unittest.TestCase, method: Callable[[], Any], threaded: bool
) -> None:
    if threaded and not is_coroutine_function(method):
        value = await run_in_thread(method, name=test.id())
    else:
        value = await _call_maybe_async(method)
    if value is not None:
        message = f"It is deprecated to return a value that is not None from a test case ({method}"
        if sys.version_info >= (3, 14):
            # 3.14 names the type (its async_case warns with a one-element tuple
            # instead of the string, an accident not copied here)
            message += f" returned {type(value).__name__!r}"
        warnings.warn(message + ")", DeprecationWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The stacklevel of the first frame outside unittest, asyncio and aiounit
    (as the stdlib's warning points past its own frames)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and _is_framework(frame):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    return level


async def _call_tear_down(test: unittest.TestCase) -> None:
    async_tear_down = getattr(test, "asyncTearDown", None)
    if _overridden(async_tear_down):
        await _call_maybe_async(async_tear_down)
    test.tearDown()


async def _do_cleanups(test: unittest.TestCase, outcome: _Outcome) -> None:
    while test._cleanups:  # type: ignore[attr-defined]
        function, args, kwargs = test._cleanups.pop()  # type: ignore[attr-defined]
        with outcome.testPartExecutor(test):
            await _call_maybe_async(function, *args, **kwargs)


async def _call_maybe_async(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    # IsolatedAsyncioTestCase._callMaybeAsync: only coroutine functions are
    # awaited; a sync callable that returns an awaitable gets its value returned.
    if is_coroutine_function(func):
        return await func(*args, **kwargs)
    return func(*args, **kwargs)


_MISSING = object()


def _add_duration(test: unittest.TestCase, result: unittest.TestResult, elapsed: float) -> None:
    add = getattr(test, "_addDuration", None)  # 3.12+: warns when result lacks it
    if add is not None:
        add(result, elapsed)
    elif hasattr(result, "addDuration"):
        result.addDuration(test, elapsed)


async def run_in_thread(fn: Callable[..., _T], /, *args: Any, name: str) -> _T:
    """Await ``fn(*args)`` run on a new daemon thread, in a copy of this context.

    A daemon thread of its own, not the default executor: its pool is small, and
    a test that never returns must neither starve its peers nor keep the
    interpreter from exiting.  If the awaiting task is cancelled (a timeout), the
    thread cannot be stopped: the cancellation carries a note with its stack.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    ctx = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
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
        frame = sys._current_frames().get(thread.ident or -1)
        if frame is not None:
            stack = "".join(traceback.format_stack(frame))
            exc.add_note(f"its thread {thread.name!r} cannot be stopped and is at:\n{stack}")
        raise
    # What the function set in its context is seen afterwards, as if it had run
    # in the caller's context, like a sync test method in the stdlib.
    for var, var_value in ctx.items():
        if var.get(_MISSING) is not var_value:
            var.set(var_value)
    return value
