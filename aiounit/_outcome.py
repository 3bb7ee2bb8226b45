"""Which cancellation is aiounit's: a test part's executor and its time limit.

unittest's part executor records every exception of a part as the test's; a
group's member must let aiounit's own cancellation (its time limit expired,
the run stops, the test was given up on) through to ``asyncio.timeout`` and
the task instead.  ``AsyncOutcome`` tells the two apart, ``Limit`` bounds one
part of a test and reports its expiry.  ``GroupMember`` is what both call back
in a group: the scheduler's ``Member``.
"""

from __future__ import annotations

import asyncio
import time
import unittest
from types import TracebackType
from unittest.case import SkipTest

from ._alone import strip_own_frames, timeout_error
from ._stdlib import Outcome, ShouldStop, add_error, add_skip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from _typeshed import OptExcInfo

    class GroupMember(Protocol):
        """What ``run_case`` calls back in a group: the scheduler's ``Member``.

        It watches for a test that ignores its cancellation, stops the test
        cleanly when the run stops, counts the time peers held the loop, and
        settles what the test left behind.
        """

        test: unittest.TestCase
        stop_reason: str  # the skip reason of a test the stopping run cut off
        stopping: bool  # the run stops: this test's cancellation is a skip
        deadline_pending: bool  # a part's deadline has not fired yet
        thread_ended: asyncio.Future[None] | None  # its sync method's thread is done

        def watch(self, limit: float) -> None:
            """A part with *limit* started: give up on it after limit + grace."""

        def unwatch(self) -> None:
            """The part ended: do not give up on it."""

        def sent_cancel(self) -> bool:
            """Whether aiounit cancelled this test (stop, interrupt, given up on)."""

        def take_stop(self) -> bool:
            """Consume the cancellation that stopping the run sent to this test."""

        def held_back(self, since: float) -> float:
            """Seconds since *since* that peers held the loop while this test
            waited (0 within the loop's jitter), remembered for its report."""

        def held_note(self) -> str:
            """What a report says about the time peers held the loop."""

        async def settle(self, test: unittest.TestCase, outcome: AsyncOutcome) -> None:
            """Charge to *test* what it left behind, before its outcome."""


__unittest = True


class AsyncOutcome(Outcome):  # type: ignore[misc]
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
    part: Limit | None = None
    member: GroupMember | None = None

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

    def testPartExecutor(self, test_case: Any, subTest: bool = False) -> PartExecutor:
        return PartExecutor(self, test_case, subTest)


class PartExecutor:
    """``_Outcome.testPartExecutor`` of the stdlib, for ``AsyncOutcome``.

    A class, not a ``@contextmanager`` generator: it is entered three times
    or more per test, and a generator and its wrapper cost each member of a
    10 000-test group about 0.4 KB while it waits, and a few microseconds.
    It may be entered again once it has exited (``run_case`` uses one for all
    its parts), never while it is entered.
    """

    __slots__ = ("old_success", "outcome", "sub_test", "test_case")

    def __init__(self, outcome: AsyncOutcome, test_case: Any, sub_test: bool) -> None:
        self.outcome = outcome
        self.test_case = test_case
        self.sub_test = sub_test
        self.old_success = True

    def __enter__(self) -> None:
        # The stdlib's generator reads it when entered, as this does.
        self.old_success = self.outcome.success
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


class Limit:
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
        self,
        limit: float | None,
        test: unittest.TestCase,
        outcome: AsyncOutcome,
        member: GroupMember | None,
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
        member = self.member
        assert member is not None  # only a group member's deadline is ours to fire
        loop = asyncio.get_running_loop()
        held = member.held_back(self._since)
        if held:
            # Pushed back from when it was due: it fired late by that very time
            # (the peer's block kept the loop from firing it), not to be added twice.
            now = self._since = time.monotonic()
            self._due += held
            self._timer = loop.call_later(max(0.0, self._due - now), self._expire)
            return
        self._timer = None
        self._fired = True
        member.deadline_pending = False
        cm.reschedule(loop.time())
        member.watch(0)  # the grace period runs from the real expiry

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
        member = self.member
        cm, self._cm = self._cm, None
        if cm is not None:
            # Past its deadline, but it ended before the loop could cancel it
            # (it blocked, then returned): it still overran its limit, unless
            # a part of it failed already (the watchdog's interrupt, say).
            ended = exc_type is None and self.outcome.success
            overran = ended and self._fired
            if self._timer is not None:
                assert member is not None  # (the timer is a group member's)
                self._timer.cancel()
                self._timer = None
                member.deadline_pending = False
                now = time.monotonic()
                if ended and now >= self._due:
                    overran = now >= self._due + member.held_back(self._since)
            if member is not None:
                member.unwatch()
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
        if (
            exc_type is asyncio.CancelledError
            and member is not None
            and member.stopping
            and member.take_stop()
        ):
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
            error.args = (str(error) + self.member.held_note(),)
        add_error(self.outcome.result, self.test, (type(error), error, None))
