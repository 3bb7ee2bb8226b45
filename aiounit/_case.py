"""AsyncTestCase and the async test lifecycle that groups and single tests share."""

from __future__ import annotations

import time
import types
import unittest
import weakref
from collections.abc import Callable, Sequence

from . import _alone, _config
from ._alone import strip_own_frames, timeout_error
from ._fixtures import ClassFixtures, has_class_fixtures, needs_scope, new_class_scope
from ._lifecycle import NO_OP, no_op, warn_returned
from ._marks import check_timeout, group_mark_of, is_coroutine_function, timeout_of
from ._member import Member
from ._scheduler import refuse_running_loop, run_group
from ._scope import Scope, class_scopes, report_anywhere, scope_of
from ._stdlib import (
    ASYNC_CASE_HOOKS,
    ErrorHolder,
    async_runner,
    async_test_context,
    iatc_call_async,
    iatc_call_cleanup,
    iatc_call_maybe_async,
    iatc_call_set_up,
    iatc_call_tear_down,
    set_async_runner,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
        if needs_scope(self) and getattr(self, "_aiounit_borrowed_loop", None) is None:
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
        _config.lend(async_test_context(self))  # copied before the run set its settings
        alone = _alone.Alone(self, timeout_of(self, group_mark_of(self), config.timeout), config)
        self._aiounit_alone = alone
        borrowed = getattr(self, "_aiounit_borrowed_loop", None)
        factory = getattr(self, "loop_factory", None) if borrowed is None else lambda: borrowed
        set_async_runner(self, _alone.Runner(alone, debug=config.debug, loop_factory=factory))

    def _tearDownAsyncioRunner(self) -> None:
        runner = async_runner(self)
        set_async_runner(self, None)
        alone, self._aiounit_alone = self._aiounit_alone, None
        grace = _config.current().grace
        if alone is not None:
            alone.end()
            grace = alone.grace
        if getattr(self, "_aiounit_borrowed_loop", None) is not None:
            # Its scope's loop: closed with the scope, which then cancels the
            # tasks the test left (as tasks its fixtures left).
            return
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
        if getattr(func, "__func__", None) in NO_OP and self._aiounit_alone is not None:
            # The stdlib's empty asyncSetUp/asyncTearDown: the same loop turns
            # as its Runner.run() gives them, without that call's cost (it
            # installs and removes a SIGINT handler, about 0.3 ms).
            return async_runner(self).get_loop().run_until_complete(no_op())
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
            warn_returned(method, value)

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


# The hooks through which a class can change how unittest drives its tests.  A
# group runs its members' parts itself, so a member whose class overrides one
# of them runs alone instead, where every hook is called as in the stdlib.
_DRIVING_HOOKS = ("run", "__call__", "doCleanups", *ASYNC_CASE_HOOKS)


_drives: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def drives_itself(test: unittest.TestCase) -> bool:
    """Whether *test*'s class overrides a hook that drives its lifecycle (``run``,
    ``doCleanups``, ...): such a test cannot be run as a group member."""
    cls = type(test)
    known = _drives.get(cls)
    if known is None:
        if not issubclass(cls, unittest.IsolatedAsyncioTestCase):
            known = False
        else:
            stock = (AsyncTestCase, unittest.IsolatedAsyncioTestCase, unittest.TestCase)
            known = any(
                getattr(cls, name) not in [base.__dict__.get(name) for base in stock]
                for name in _DRIVING_HOOKS
            )
        _drives[cls] = known
    return known


def run_alone_first(members: Sequence[Member], result: unittest.TestResult) -> list[Member] | None:
    """Run the members whose class drives its own lifecycle (``drives_itself``)
    alone, in order, at the group's place; the members left for ``run_group``,
    or None if the run stopped meanwhile."""
    refuse_running_loop()
    members = list(members)
    for member in [m for m in members if drives_itself(m.test)]:
        # The stdlib's own lifecycle, with its hooks, at the group's place.
        if result.shouldStop:
            return None
        members.remove(member)
        scope = scope_of(member.test)
        if scope is None:
            run_bounded(member.test, result)
        else:
            _on_loop_of(scope, member.test, run_bounded, result)
    return members


def _on_loop_of(
    scope: Scope,
    test: unittest.TestCase,
    run: Callable[[unittest.TestCase, unittest.TestResult], Any],
    result: unittest.TestResult,
) -> None:
    """``run(test, result)``, the stdlib's lifecycle of a test that drives itself,
    on *scope*'s loop, as the other tests of its class or module run: its
    runner borrows that loop instead of making one, and AsyncTestCase.run does
    not send the test back to its scope (which would come here again)."""
    test._aiounit_borrowed_loop = scope.loop  # type: ignore[attr-defined]
    try:
        run(test, result)
    finally:
        del test._aiounit_borrowed_loop  # type: ignore[attr-defined]


def run_test(
    test: unittest.TestCase, result: unittest.TestResult | None, limit: float | None
) -> unittest.TestResult | None:
    """Run an ungrouped test of a class with async class fixtures, or in a
    module with async module fixtures, on its scope's loop, one at a time."""
    cls = type(test)
    scope = scope_of(test)
    temporary = None
    if has_class_fixtures(cls) and cls not in class_scopes:
        # Run without setUpClass (``test.run()`` by hand, a runner that skips
        # class fixtures): the class's async fixtures run around this test.
        temporary = new_class_scope(cls)
        error = temporary.open()
        if error is not None:
            result = result if result is not None else test.defaultTestResult()
            _report_anywhere_skip(result, error, f"setUpClass ({temporary.name})")
            return result
        scope = temporary
    assert scope is not None
    stop_test_run = None
    if result is None:
        result = test.defaultTestResult()
        start_test_run = getattr(result, "startTestRun", None)
        stop_test_run = getattr(result, "stopTestRun", None)
        if start_test_run is not None:
            start_test_run()
    try:
        run_in(scope, test, result, limit)
    finally:
        if temporary is not None:
            for error in temporary.close():
                report_anywhere(result, error, f"tearDownClass ({temporary.name})")
            temporary.tell_notes(result)
        if stop_test_run is not None:
            stop_test_run()
    return result


def _report_anywhere_skip(result: unittest.TestResult, error: BaseException, name: str) -> None:
    if isinstance(error, unittest.SkipTest) and hasattr(result, "addSkip"):
        result.addSkip(ErrorHolder(name), str(error))
    else:
        report_anywhere(result, error, name)


def run_in(
    scope: Scope, test: unittest.TestCase, result: unittest.TestResult, limit: float | None
) -> None:
    """Run one ungrouped test on *scope*'s loop, reporting to *result*."""
    # A group of one on the scope's loop: the scheduler gives up on a test
    # that ignores its cancellation (the loop must go on for the tests after
    # it), and catches one that blocks the loop past its limit.
    if not hasattr(result, "shouldStop"):
        result = _NeverStops(result)  # type: ignore[assignment]
    if drives_itself(test):
        # We are inside its run() already (AsyncTestCase.run sent it here):
        # the stdlib's run, not test(result), which would call an override
        # of run() a second time.
        _on_loop_of(scope, test, unittest.IsolatedAsyncioTestCase.run, result)
        return
    config, loop = _config.current(), scope.loop
    members = run_alone_first([Member(test, limit)], result)
    if members is not None:
        run_group(
            members,
            result,
            label=f"test {test.id()}",
            max_concurrency=None,
            config=config,
            loop=loop,
        )


class _NeverStops:
    """A result object that is not a TestResult (pytest's), with the one
    attribute the scheduler reads that it lacks."""

    shouldStop = False

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
