"""When each member of a group may start: ``max_concurrency``, ``@lock`` and ``@isolated``.

The rule, for members in loader order:

* a member starts when a slot is free (``max_concurrency``) and it can hold
  all its locks at once: for each of its names, every unfinished member before
  it that names it too is compatible (both shared);
* "before it" counts the members that have not started yet as well, so a
  member that waits for a lock holds back the later members that conflict
  with it, and only those: independent members go past it;
* ``@isolated`` is an exclusive hold of an implicit lock that every other
  member of the group holds shared: it waits for the members before it to
  finish, runs alone, and the members after it wait for it.

No deadlock: the earliest member that has not started has only started
members before it, and once they finish (or are given up on) it can start.
No starvation: a member that waits is never overtaken by a later member that
conflicts with it, and free slots go to the earliest member that can start.

A member's task is created only when it is admitted, so waiting costs it no
coroutine, no slot and none of its time limit.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Sequence

from ._marks import admission_marks_of, has_admission_marks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_ISOLATION = "\0isolation"  # the implicit lock of @isolated (no user name has a NUL)


class _Claim:
    """What one member of a group with locks asks for."""

    __slots__ = ("blocked", "done", "index", "member", "names", "started")

    def __init__(self, index: int, member: Any, names: tuple[tuple[str, bool], ...]) -> None:
        self.index = index
        self.member = member
        self.names = names  # (name, exclusive) pairs
        self.started = False
        self.done = False
        self.blocked = False

    def __lt__(self, other: _Claim) -> bool:  # heap order: loader order
        return self.index < other.index


class _Queue:
    """The unfinished members that name one lock, in loader order.

    Finished claims are dropped lazily from the fronts; ``waiting`` holds the
    claims that were found blocked, the only ones a release must look at again.
    """

    __slots__ = ("entries", "exclusive", "waiting")

    def __init__(self) -> None:
        self.entries: deque[_Claim] = deque()
        self.exclusive: deque[_Claim] = deque()
        self.waiting: dict[_Claim, None] = {}

    def trim(self) -> None:
        entries, exclusive = self.entries, self.exclusive
        while entries and entries[0].done:
            entries.popleft()
        while exclusive and exclusive[0].done:
            exclusive.popleft()

    def allows(self, claim: _Claim, exclusive: bool) -> bool:
        self.trim()
        if exclusive:
            return self.entries[0] is claim
        return not self.exclusive or self.exclusive[0].index > claim.index


class Admission:
    """Hands out members of a group to start, one at a time, in loader order.

    ``take()`` returns the next member that may start now, or None; ``release()``
    (exactly once per started member, however it ended) frees its slot and
    locks.  ``wait()`` sleeps until a release, or ``wake()``, may have changed
    the answer.  ``started`` lists the members in the order they were admitted.
    """

    def __init__(self, members: Sequence[Any], cap: int | None) -> None:
        self._members = members
        self._cap = cap
        self._next = 0  # members before it have been looked at
        self._holding: set[Any] = set()
        self._waiter: asyncio.Future[None] | None = None
        self.started: list[Any] = []
        self._order: dict[Any, int] = {}
        self._claims: dict[Any, _Claim] | None = None
        self._queues: dict[str, _Queue] = {}
        self._ready: list[_Claim] = []  # blocked claims now free to start: a heap
        self._plan()

    def _plan(self) -> None:
        members = self._members
        classes: dict[type, bool] = {}
        marks: list[tuple[tuple[tuple[str, bool], ...], bool]] = []
        any_marks = False
        for member in members:
            cls = type(member.test)
            has = classes.get(cls)
            if has is None:
                has = classes[cls] = has_admission_marks(cls)
            if has:
                mark = admission_marks_of(member.test)
                any_marks = any_marks or bool(mark[0]) or mark[1]
                marks.append(mark)
            else:
                marks.append(((), False))
        if not any_marks:
            return  # the common case: only the cap decides
        isolation = any(alone for _locks, alone in marks)
        self._claims = {}
        for index, (member, (locks, alone)) in enumerate(zip(members, marks, strict=True)):
            names = tuple((name, not shared) for name, shared in locks)
            if isolation:
                names += ((_ISOLATION, alone),)
            if not names:
                continue
            claim = self._claims[member] = _Claim(index, member, names)
            for name, exclusive in names:
                queue = self._queues.get(name)
                if queue is None:
                    queue = self._queues[name] = _Queue()
                queue.entries.append(claim)
                if exclusive:
                    queue.exclusive.append(claim)

    @property
    def exhausted(self) -> bool:
        """Every member has been handed out."""
        return len(self.started) == len(self._members)

    def take(self) -> Any:
        """The next member that may start now (it counts as started), or None."""
        if self._cap is not None and len(self._holding) >= self._cap:
            return None
        claims = self._claims
        if claims is None:
            if self._next >= len(self._members):
                return None
            member = self._members[self._next]
            self._next += 1
            self._holding.add(member)
            self.started.append(member)
            return member
        if self._ready:
            # Blocked earlier, free now: earlier in loader order than anything
            # not looked at yet.
            claim = heapq.heappop(self._ready)
            claim.started = True
            return self._start(claim.member)
        while self._next < len(self._members):
            member = self._members[self._next]
            self._next += 1
            found = claims.get(member)
            if found is None:
                return self._start(member)
            claim = found
            if self._allowed(claim):
                claim.started = True
                return self._start(member)
            claim.blocked = True
            for name, _exclusive in claim.names:
                self._queues[name].waiting[claim] = None
        return None

    def _start(self, member: Any) -> Any:
        self._holding.add(member)
        self.started.append(member)
        return member

    def order(self, member: Any) -> int:
        """*member*'s place in the admission order (built when first asked: only
        a hazard report needs it)."""
        order = self._order
        if len(order) < len(self.started):
            for index in range(len(order), len(self.started)):
                order[self.started[index]] = index
        return order.get(member, len(self.started))

    def _allowed(self, claim: _Claim) -> bool:
        queues = self._queues
        return all(queues[name].allows(claim, exclusive) for name, exclusive in claim.names)

    def release(self, member: Any) -> None:
        """*member* finished, or was given up on: free its slot and its locks.

        Safe to call more than once; only the first call counts.
        """
        holding = self._holding
        if member not in holding:
            return
        holding.remove(member)
        if self._claims is not None:
            claim = self._claims.get(member)
            if claim is not None:
                claim.done = True
                for name, exclusive in claim.names:
                    self._wake_queue(self._queues[name], exclusive)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_queue(self, queue: _Queue, released_exclusive: bool) -> None:
        """Move the blocked claims of *queue* that this release may have freed to
        the ready heap."""
        queue.trim()
        if not queue.waiting:
            return
        candidates: list[_Claim] = []
        if queue.entries and queue.entries[0] in queue.waiting:
            candidates.append(queue.entries[0])  # a writer now first in line
        if released_exclusive:
            # Readers up to the next writer may go now.
            limit = queue.exclusive[0].index if queue.exclusive else len(self._members)
            for claim in queue.waiting:
                if claim.index >= limit:
                    break
                candidates.append(claim)
        for claim in candidates:
            if claim.blocked and self._allowed(claim):
                claim.blocked = False
                for name, _exclusive in claim.names:
                    self._queues[name].waiting.pop(claim, None)
                heapq.heappush(self._ready, claim)

    def wake(self) -> None:
        """Let ``wait()`` return: something changed (a release, the run stopping)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Sleep until the next ``release()`` or ``wake()``."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def running(self) -> set[Any]:
        """The members admitted and not yet released (do not change it)."""
        return self._holding
