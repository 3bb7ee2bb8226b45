"""AsyncTestCase and the async test lifecycle that groups and single tests share."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
import traceback
import types
import unittest
import warnings
from collections.abc import Awaitable, Callable
from types import TracebackType
from unittest.case import SkipTest

from . import _alone, _config
from ._alone import is_framework as _is_framework
from ._alone import strip_own_frames, timeout_error
from ._fixtures import ClassFixtures, needs_scope, run_test
from ._marks import check_timeout, group_mark_of, is_coroutine_function, timeout_of
from ._stdlib import (
    ASYNC_CASE_HOOKS,
    SINCE_314,
    Outcome,
    ShouldStop,
    add_error,
    add_expected_failure,
    add_skip,
    add_unexpected_success,
    async_runner,
    async_test_context,
    cleanups_of,
    current_frames,
    duration_adder,
    getframe,
    iatc_call_async,
    iatc_call_cleanup,
    iatc_call_maybe_async,
    iatc_call_set_up,
    iatc_call_tear_down,
    method_name,
    set_async_runner,
    set_outcome,
)

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
        if needs_scope(self):
            config = _config.current()
            limit = timeout_of(self, group_mark_of(self), config.timeout)
            return run_test(self, result, limit)  # on its class's or module's loop
        return super().run(result)

    # Run alone, a test goes through the stdlib's own IsolatedAsyncioTestCase.run
    # (see _alone): these private hooks only add the time limit to it.  They
    # call the stdlib's by name, not through super(), so that bound_alone()
    # can lend them to a plain IsolatedAsyncioTestCase too.
    _aiounit_alone: _alone.Alone | None = None

    def _setupAsyncioRunner(self) -> None:
        assert async_runner(self) is None, "asyncio runner is already initialized"
        config = _config.current()
        alone = _alone.Alone(self, timeout_of(self, group_mark_of(self), config.timeout), config)
        self._aiounit_alone = alone
        set_async_runner(
            self,
            _alone.Runner(
                alone, debug=config.debug, loop_factory=getattr(self, "loop_factory", None)
            ),
        )

    def _tearDownAsyncioRunner(self) -> None:
        runner = async_runner(self)
        set_async_runner(self, None)
        alone, self._aiounit_alone = self._aiounit_alone, None
        grace = _config.current().grace
        if alone is not None:
            alone.end()
            grace = alone.grace
        _alone.close_runner(runner, grace)

    def _callSetUp(self) -> None:
        self._aiounit_phase()
        try:
            iatc_call_set_up(self)
        except BaseException as exc:
            strip_own_frames(exc)  # an interrupt's signal handler
            raise

    def _callTearDown(self) -> None:
        self._aiounit_phase()
        try:
            iatc_call_tear_down(self)
        except BaseException as exc:
            strip_own_frames(exc)
            raise

    def _callAsync(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__func__", None) in _NO_OP and self._aiounit_alone is not None:
            # The stdlib's empty asyncSetUp/asyncTearDown: the same loop turns
            # as its Runner.run() gives them, without that call's cost (it
            # installs and removes a SIGINT handler, about 0.3 ms).
            return async_runner(self).get_loop().run_until_complete(_no_op())
        return iatc_call_async(self, func, *args, **kwargs)

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        # The stdlib's, with the warning pointed at the caller of run() through
        # however many frames (its fixed stacklevel counts on no run() override).
        value = self._callMaybeAsync(method)
        alone = self._aiounit_alone
        if (
            alone is not None
            and alone.deadline is not None
            and time.monotonic() >= alone.deadline
            and not is_coroutine_function(method)
        ):
            # A sync method cannot be cancelled; one that ended past its limit
            # (before the interrupt at limit + grace) still overran it, as the
            # same method on a group's thread is reported at its limit.
            raise timeout_error(self, alone.limit, None)
        if value is not None:
            _warn_returned(method, value)

    def _callMaybeAsync(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        try:
            return iatc_call_maybe_async(self, func, *args, **kwargs)
        except BaseException as exc:
            strip_own_frames(exc)
            raise

    def _callCleanup(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        alone = self._aiounit_alone
        if alone is not None and not alone.in_cleanups:
            alone.begin()
            alone.in_cleanups = True
        iatc_call_cleanup(self, function, *args, **kwargs)

    def _aiounit_phase(self) -> None:
        alone = self._aiounit_alone
        if alone is not None:
            alone.begin()
            alone.in_cleanups = False


_IATC = unittest.IsolatedAsyncioTestCase
_LENT_HOOKS = ASYNC_CASE_HOOKS


def run_bounded(test: unittest.TestCase, result: unittest.TestResult) -> None:
    """``test(result)``, with the run's time limit even for a plain
    ``IsolatedAsyncioTestCase``: the hooks its class does not override are
    lent AsyncTestCase's for this run (a group member that must run alone)."""
    if isinstance(test, AsyncTestCase) or not isinstance(test, _IATC):
        test(result)
        return
    lent = [name for name in _LENT_HOOKS if getattr(type(test), name) is getattr(_IATC, name, None)]
    for name in (*lent, "_aiounit_phase"):
        setattr(test, name, types.MethodType(getattr(AsyncTestCase, name), test))
    test._aiounit_alone = None  # type: ignore[attr-defined]
    try:
        test(result)
    finally:
        for name in (*lent, "_aiounit_phase", "_aiounit_alone"):
            test.__dict__.pop(name, None)


def _context_of(test: unittest.TestCase) -> contextvars.Context:
    # IsolatedAsyncioTestCase copies the context when the test is built, and runs
    # every part of the test in it; keep that, so values set at load time by the
    # user's __init__ are seen the same way.
    ctx = async_test_context(test)
    if not isinstance(ctx, contextvars.Context):
        ctx = contextvars.copy_context()
    return ctx


class _AsyncOutcome(Outcome):  # type: ignore[misc]
    """unittest's ``_Outcome``, except that aiounit's own cancellation passes through.

    The stdlib part executor records any ``BaseException`` but KeyboardInterrupt
    as an error.  A cancellation aiounit sent (the part's timeout expired, the
    run is stopping, the test was given up on) must reach ``asyncio.timeout`` or
    the task instead.  Any other ``CancelledError`` (the test cancelled its own
    task, a peer cancelled it, it awaited something cancelled) is an error of
    the test, as in the stdlib, where each part has a task of its own: the
    cancellation requests are withdrawn (``uncancel``) so that the test's next
    parts run normally, and a peer that cancelled it is named in a note.
    """

    success: bool
    expectedFailure: OptExcInfo | None
    part: _Limit | None = None
    member: Any = None

    def ours(self) -> bool:
        """Whether the cancellation being raised was sent by aiounit."""
        part = self.part
        cm = part._cm if part is not None else None
        if cm is not None and cm.expired():
            return True
        member = self.member
        return member is not None and bool(member.sent_cancel())

    def disown(self, exc: BaseException) -> bool:
        """*exc*, a cancellation aiounit did not send, becomes the test's error.

        Returns whether a peer sent it."""
        task = asyncio.current_task()
        if task is None:
            return False
        by = getattr(task, "aiounit_cancelled_by", None)
        peer = by is not None and by is not self.member
        if by is not None:
            task.aiounit_cancelled_by = None  # type: ignore[attr-defined]
            if peer:
                exc.add_note(
                    f"aiounit: another test of the group cancelled this test's task: {by.test}"
                )
        while task.cancelling():
            task.uncancel()
        return peer

    def testPartExecutor(self, test_case: Any, subTest: bool = False) -> _PartExecutor:
        return _PartExecutor(self, test_case, subTest)


class _PartExecutor:
    """``_Outcome.testPartExecutor`` of the stdlib, for ``_AsyncOutcome``.

    A class, not a ``@contextmanager`` generator: it is entered three times
    or more per test, and a generator and its wrapper cost each member of a
    10 000-test group about 0.4 KB while it runs, and a few microseconds.
    """

    __slots__ = ("old_success", "outcome", "sub_test", "test_case")

    def __init__(self, outcome: _AsyncOutcome, test_case: Any, sub_test: bool) -> None:
        self.outcome = outcome
        self.test_case = test_case
        self.sub_test = sub_test
        self.old_success = outcome.success

    def __enter__(self) -> None:
        self.outcome.success = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        outcome, test_case, sub_test = self.outcome, self.test_case, self.sub_test
        try:
            if exc is None:
                if sub_test and outcome.success:
                    outcome.result.addSubTest(test_case.test_case, test_case, None)
                return False
            if isinstance(exc, KeyboardInterrupt):
                return False
            if isinstance(exc, SkipTest):
                outcome.success = False
                add_skip(outcome.result, test_case, str(exc))
                return True
            if isinstance(exc, ShouldStop):
                return True
            if isinstance(exc, asyncio.CancelledError):
                if outcome.ours():
                    outcome.success = False
                    return False
                if outcome.disown(exc) and sub_test:
                    # A peer's cancellation ends the test, as it does outside a
                    # subTest: the test's error (the enclosing part records it),
                    # not one subtest's, and no later subtest runs.  A test's
                    # own cancellation stays its subtest's error, as in the stdlib.
                    outcome.success = False
                    return False
            if isinstance(exc, GeneratorExit):
                # The test's coroutine is being closed (a test given up on,
                # collected later): run nothing more of it.
                return False
            # aiounit's frames in the middle (the part runner) or at the end
            # (the watchdog's signal handler) are no part of the test's story.
            strip_own_frames(exc)
            exc_info: Any = (type(exc), exc, exc.__traceback__)  # what sys.exc_info() gives
            if outcome.expecting_failure:
                outcome.expectedFailure = exc_info
            else:
                outcome.success = False
                if sub_test:
                    outcome.result.addSubTest(test_case.test_case, test_case, exc_info)
                else:
                    add_error(outcome.result, test_case, exc_info)
            # explicitly break a reference cycle: exc_info -> frame -> exc_info
            exc_info = None
            return True
        finally:
            outcome.success = outcome.success and self.old_success


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
        outcome = _AsyncOutcome(result)
        start_time = time.perf_counter()
        try:
            set_outcome(test, outcome)
            set_up = False
            part = outcome.part = _Limit(limit, test, outcome, member)
            outcome.member = member
            async with part:
                with outcome.testPartExecutor(test):
                    await _call_set_up(test)
                if outcome.success:
                    set_up = True
                    outcome.expecting_failure = expecting_failure
                    with outcome.testPartExecutor(test):
                        value = await _test_method_part(test, method, threaded, member)
                        if value is not None:
                            _warn_returned(method, value)
                    outcome.expecting_failure = False
            if set_up:
                async with part:
                    with outcome.testPartExecutor(test):
                        await _call_tear_down(test)
            while cleanups_of(test):
                async with part:
                    await _do_cleanups(test, outcome)
            if member is not None:
                with outcome.testPartExecutor(test):
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


class _Limit:
    """``asyncio.timeout(limit)`` around one part of a test; reports its expiry.

    In a group it also tells the member when a part starts and ends, so the
    scheduler can give up on a test that ignores its cancellation, and it turns
    the cancellation of a stopping run (failfast, Ctrl-C with -c) into a skip,
    after which the test's teardown and cleanups still run.

    A class, not an ``@asynccontextmanager``: it is entered several times per
    test, and an async generator per entry costs asyncio a WeakSet insertion.
    """

    __slots__ = ("_cm", "_due", "_fired", "_since", "_timer", "limit", "member", "outcome", "test")

    def __init__(
        self, limit: float | None, test: unittest.TestCase, outcome: Outcome, member: Any
    ) -> None:
        self.limit = limit
        self.test = test
        self.outcome = outcome
        self.member = member
        self._cm: asyncio.Timeout | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._due = 0.0  # time.monotonic() of the deadline, as pushed back so far
        self._fired = False  # the deadline came, the cancellation is on its way

    async def __aenter__(self) -> None:
        if self.limit is None:
            return
        if self.member is None:
            self._cm = asyncio.timeout(self.limit)
            await self._cm.__aenter__()
            return
        # In a group, the deadline is ours to fire (_expire), so that time a
        # peer kept the loop blocked is not counted against this test.
        self._cm = asyncio.timeout(None)
        await self._cm.__aenter__()
        self._since = time.monotonic()
        self._due = self._since + self.limit
        self._fired = False
        self._timer = asyncio.get_running_loop().call_later(self.limit, self._expire)
        self.member.deadline_pending = True
        self.member.watch(self.limit)

    def _expire(self) -> None:
        cm = self._cm
        if cm is None:
            return
        loop = asyncio.get_running_loop()
        held = self.member._group.held_back(self.member, self._since)
        if held:
            self._since = time.monotonic()
            self._due += held
            self._timer = loop.call_later(held, self._expire)
            return
        self._timer = None
        self._fired = True
        self.member.deadline_pending = False
        cm.reschedule(loop.time())
        self.member.watch(0)  # the grace period runs from the real expiry

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is asyncio.CancelledError and not self.outcome.ours():
            # Not ours and not caught by a part (it came between two): still
            # the test's error, and its later parts still run.
            assert exc is not None
            self.outcome.disown(exc)
            self.outcome.success = False
            add_error(self.outcome.result, self.test, (exc_type, exc, tb))
            exc_type = exc = tb = None
        cm, self._cm = self._cm, None
        if cm is not None:
            # Past its deadline, but it ended before the loop could cancel it
            # (it blocked, then returned): it still overran its limit, unless
            # a part of it failed already (the watchdog's interrupt, say).
            ended = exc_type is None and self.outcome.success
            overran = ended and self._fired
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
                self.member.deadline_pending = False
                now = time.monotonic()
                if ended and now >= self._due:
                    overran = now >= self._due + self.member._group.held_back(
                        self.member, self._since
                    )
            if self.member is not None:
                self.member.unwatch()
            try:
                await cm.__aexit__(exc_type, exc, tb)
            except TimeoutError as error:
                if not cm.expired():  # pragma: no cover - only an aiounit bug gets here
                    raise
                self._report(error.__cause__ or exc)
                return True
            if cm.expired() or overran:
                # The test swallowed our CancelledError and went on, or blocked
                # past its deadline: it still overran its limit.
                self._report(None)
        member = self.member
        stopped = exc_type is asyncio.CancelledError and member is not None and member.stopping
        if stopped and member.take_stop():
            self.outcome.expecting_failure = False
            self.outcome.success = False
            add_skip(self.outcome.result, self.test, member.stop_reason)
            return True
        return False

    def _report(self, cancelled: BaseException | None) -> None:
        self.outcome.expecting_failure = False
        self.outcome.success = False
        error = timeout_error(self.test, self.limit, cancelled)
        if self.member is not None:
            from ._scheduler import held_note

            error.args = (str(error) + held_note(self.member),)
        add_error(self.outcome.result, self.test, (type(error), error, None))


_NO_OP = frozenset(
    {unittest.IsolatedAsyncioTestCase.asyncSetUp, unittest.IsolatedAsyncioTestCase.asyncTearDown}
)


async def _no_op() -> None:
    pass


def _overridden(hook: Any) -> TypeGuard[Callable[..., Any]]:
    # The stdlib's empty asyncSetUp/asyncTearDown need no coroutine each.
    return hook is not None and getattr(hook, "__func__", None) not in _NO_OP


async def _call_set_up(test: unittest.TestCase) -> None:
    test.setUp()
    async_set_up = getattr(test, "asyncSetUp", None)
    if _overridden(async_set_up):
        await _call_async(async_set_up, first=True)


def _test_method_part(
    test: unittest.TestCase, method: Callable[[], Any], threaded: bool, member: Any = None
) -> Awaitable[Any]:
    """What to await to run *test*'s method: the part itself (not a coroutine
    around it, which every waiting member of a group would hold)."""
    if threaded and not is_coroutine_function(method):
        return _call_in_thread(test, method, member)
    first = not _overridden(getattr(test, "asyncSetUp", None))
    return _call_part(method, (), _NO_KWARGS, first=first)


async def _call_in_thread(test: unittest.TestCase, method: Callable[[], Any], member: Any) -> Any:
    try:
        return await run_in_thread(method, name=test.id())
    except asyncio.CancelledError as exc:
        if member is not None:
            member.thread_ended = getattr(exc, "aiounit_thread_ended", None)
        raise


def _warn_returned(method: Callable[[], Any], value: object) -> None:
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


async def _call_tear_down(test: unittest.TestCase) -> None:
    async_tear_down = getattr(test, "asyncTearDown", None)
    if _overridden(async_tear_down):
        await _call_async(async_tear_down)
    test.tearDown()


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
