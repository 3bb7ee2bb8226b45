"""AsyncTestCase and the async test lifecycle that groups and single tests share."""

from __future__ import annotations

import time
import types
import unittest
from collections.abc import Callable

from . import _alone, _config
from ._alone import strip_own_frames, timeout_error
from ._fixtures import ClassFixtures, needs_scope, run_test
from ._lifecycle import NO_OP, no_op, warn_returned
from ._marks import check_timeout, group_mark_of, is_coroutine_function, timeout_of
from ._stdlib import (
    ASYNC_CASE_HOOKS,
    iatc_call_async,
    iatc_call_cleanup,
    iatc_call_maybe_async,
    iatc_call_set_up,
    iatc_call_tear_down,
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
        assert self._asyncioRunner is None, "asyncio runner is already initialized"  # type: ignore[has-type]
        config = _config.current()
        alone = _alone.Alone(self, timeout_of(self, group_mark_of(self), config.timeout), config)
        self._aiounit_alone = alone
        self._asyncioRunner = _alone.Runner(
            alone, debug=config.debug, loop_factory=getattr(self, "loop_factory", None)
        )

    def _tearDownAsyncioRunner(self) -> None:
        runner, self._asyncioRunner = self._asyncioRunner, None  # type: ignore[assignment]
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
        if getattr(func, "__func__", None) in NO_OP and self._aiounit_alone is not None:
            # The stdlib's empty asyncSetUp/asyncTearDown: the same loop turns
            # as its Runner.run() gives them, without that call's cost (it
            # installs and removes a SIGINT handler, about 0.3 ms).
            return self._asyncioRunner.get_loop().run_until_complete(no_op())
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
