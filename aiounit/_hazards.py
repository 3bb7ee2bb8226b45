"""The concurrency-hazard detector: tests that change process-wide state while
peers of their group run.

A mock patch, an environment variable, the working directory, a signal
handler, the logging configuration, the event loop policy: whatever one
member changes, every member running beside it sees.  So does a fixed port:
two members that bind it cannot both run.  While a group runs, this module
watches those changes, charges each to the member whose context made it
(``CURRENT``), and when the member's test ends, reports the changes some peer
could have seen: one warning per test and kind, naming what changed, where,
which peers ran, and the fix.

Nothing is hooked outside a group.  During a group, the methods and functions
that make the changes are wrapped (``_hazard_hooks``): ``os.environ``'s ``__setitem__`` and
``__delitem__``, ``os.chdir``, ``socket.socket.bind``, ``signal.signal``,
``asyncio.set_event_loop_policy``, and the ``logging.Logger`` methods and
attributes that configure an existing logger.  (An audit hook would see
``os.chdir``, ``os.putenv`` and ``socket.bind`` too, but it cannot be removed
and costs about a microsecond for every audited event of the process, three of
which happen per test: over 5 % of a run of trivial tests.)  Mock patches
come from ``_restore``'s patch listener, which already watches every form of
``patch`` during a group.  Warning filters are not a hazard: during a group
each test has its own (``_warnstate``).

A scoped change (a patch) that is undone before the member's task yields
cannot be seen by an async peer; it is reported only when it outlived a turn
of the loop or a peer runs on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import heapq
import inspect
import logging
import os
import socket
import sys
import threading
import unittest
from collections.abc import Callable

from . import _hazard_hooks
from ._capture import CURRENT
from ._marks import admission_marks_of, is_coroutine_function
from ._stdlib import getframe, method_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__unittest = True

_NAMED: Final = 3  # peers named in a message
_MAX_CHANGES: Final = 32  # per member: enough to report, bounded if a test loops

_FIX: Final = {
    "port": (
        "keep them apart: give every test that binds it one @aiounit.lock(...) (or"
        " @aiounit.isolated), or bind port 0 and pass the port on"
    ),
}
_DEFAULT_FIX: Final = (
    "keep them apart: mark this test @aiounit.isolated, give it and the tests that"
    " depend on this state one @aiounit.lock(...), or move it to another group"
)


class _Change:
    """One change of process-wide state by one member."""

    __slots__ = (
        "count",
        "fixed_peers",
        "handle",
        "kind",
        "peers",
        "since",
        "threaded",
        "turned",
        "until",
        "what",
        "where",
    )

    def __init__(
        self,
        kind: str,
        what: str,
        where: str,
        peers: list[Any],
        count: int,
        since: int,
        threaded: bool,
    ) -> None:
        self.kind = kind
        self.what = what
        self.where = where
        self.peers = peers  # the first few running when it was made, in loader order
        self.count = count  # how many were running
        self.since = since  # members admitted before it was made
        self.until: int | None = None  # ... before it was undone; None: still in force
        self.turned = True
        self.threaded = threaded  # made on a thread other than the loop's
        self.fixed_peers = False  # a port: only the holders count, not every peer
        self.handle: asyncio.Handle | None = None

    def turn(self) -> None:
        self.turned = True


class Detector:
    """Watches one group while it runs (a context manager around its loop)."""

    def __init__(self, group: Any) -> None:
        self.group = group
        self.changes: dict[Any, list[_Change]] = {}
        self.open: dict[int, _Change] = {}  # scoped changes not yet undone, by id of the patcher
        self.ports: dict[tuple[int, int], list[Any]] = {}
        self.bound: dict[Any, tuple[int, list[Any]]] = {}  # member -> a port it fought over
        self.loggers: set[int] = set()
        self._restore: list[Callable[[], None]] = []
        self.loop_thread = threading.get_ident()
        self.threaded_members: bool | None = None

    # -- installing -------------------------------------------------------------------

    def __enter__(self) -> Detector:
        manager = logging.Logger.manager
        self.loggers = {
            id(lg) for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)
        }
        self.loggers.add(id(logging.getLogger()))
        self._restore = _hazard_hooks.install(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _hazard_hooks.uninstall(self._restore)
        self._restore = []

    # -- recording --------------------------------------------------------------------

    def member(self) -> Any:
        """The member whose code is running, if it may be warned at all."""
        member = CURRENT.get()
        if member is None or member.finished or member._group is not self.group:
            return None
        if admission_marks_of(member.test)[1]:
            return None  # isolated: it has no peers by construction
        return member

    def record(
        self,
        member: Any,
        kind: str,
        what: str,
        *,
        scoped: object = None,
        peers: list[Any] | None = None,
    ) -> _Change | None:
        changes = self.changes.setdefault(member, [])
        if len(changes) >= _MAX_CHANGES:
            return None
        admission = self.group.admission
        fixed = peers is not None
        if peers is None:
            # A copy first: a sync member's thread may be here while the loop
            # admits and releases (copying a set is atomic, iterating it is not).
            running = tuple(admission.running())
            count = len(running) - (member in running)
            # Few peers are named, and a group may have thousands running.
            peers = heapq.nsmallest(
                _NAMED + 1, (m for m in running if m is not member), key=admission.order
            )
        else:
            count = len(peers)
        threaded = threading.get_ident() != self.loop_thread
        since = len(admission.started)
        change = _Change(kind, what, _where(member.test), peers, count, since, threaded)
        change.fixed_peers = fixed
        changes.append(change)
        if scoped is not None:
            self.open[id(scoped)] = change
            if not change.threaded:
                # Undone before this callback runs, the change lived within one
                # step of the test's task: no async peer ran meanwhile.
                change.turned = False
                change.handle = self.group.loop.call_soon(change.turn)
        return change

    def undo(self, scoped: object) -> None:
        change = self.open.pop(id(scoped), None)
        if change is not None:
            change.until = len(self.group.admission.started)
            if change.handle is not None:
                change.handle.cancel()  # not run yet: undone within the same step

    def bind(self, member: Any, sock: Any, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        try:
            port = int(address[1])
        except (TypeError, ValueError, IndexError):
            return
        if port == 0:
            return
        key = (port, int(sock.type))
        binders = self.ports.setdefault(key, [])
        running = set(self.group.admission.running())
        holders = [m for m in binders if m is not member and m in running]
        if holders:
            proto = "UDP" if sock.type == socket.SOCK_DGRAM else "TCP"
            self.record(member, "port", f"{proto} port {port}", peers=holders)
            self.bound[member] = (port, holders)
        if member not in binders:
            binders.append(member)

    # -- reporting --------------------------------------------------------------------

    def settle(self, member: Any, result: Any) -> list[str]:
        """The hazard messages of *member*, whose test just ended; annotate an
        "address already in use" error with the peer that holds the port."""
        changes = self.changes.pop(member, None)
        if changes is None:
            return []
        bound = self.bound.pop(member, None)
        if bound is not None:
            _annotate_address_in_use(result, *bound)
        started = self.group.admission.started
        by_kind: dict[str, list[_Change]] = {}
        for change in changes:
            if not change.fixed_peers:
                # Peers that started while it was in force saw it too.
                later = [m for m in started[change.since : change.until] if m is not member]
                change.count += len(later)
                change.peers += later[: _NAMED + 1]
            if not change.count:
                continue
            if not (change.turned or change.threaded or self._thread_members()):
                continue  # undone within one step: only a peer on a thread could see it
            by_kind.setdefault(change.kind, []).append(change)
        return [_message(kind, found) for kind, found in by_kind.items()]

    def _thread_members(self) -> bool:
        """Whether any member of the group runs code on a thread (then a change
        undone within one step may still be seen)."""
        if self.threaded_members is None:
            self.threaded_members = any(_on_thread(m) for m in self.group.members)
        return self.threaded_members

    def finish(self, member: Any) -> None:
        """*member* ended without a settle (a plain TestCase run on a thread):
        its hazards become warnings."""
        if member in self.changes:
            member.notes.extend(self.settle(member, None))


def _on_thread(member: Any) -> bool:
    test = member.test
    if not isinstance(test, unittest.IsolatedAsyncioTestCase):
        return True
    return not is_coroutine_function(getattr(test, method_name(test), None))


# -- where, and the message -----------------------------------------------------------

_OURS = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
_paths: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def _library_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The stdlib's directories, and the third-party ones inside them (imported
    on first use: sysconfig is not worth loading for a run without hazards)."""
    global _paths
    if _paths is None:
        import sysconfig

        paths = sysconfig.get_paths()
        _paths = (
            tuple({os.path.normcase(paths[key]) for key in ("stdlib", "platstdlib")}),
            tuple({os.path.normcase(paths[key]) for key in ("purelib", "platlib")}),
        )
    return _paths


def _where(test: Any) -> str:
    """file:line of the test's code that made the change: the innermost frame in
    the test's module, else the innermost frame of user code, else the test method."""
    module = sys.modules.get(type(test).__module__)
    home = os.path.normcase(getattr(module, "__file__", None) or "")
    fallback = None
    frame: Any = getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        name = os.path.normcase(filename)
        if name == home:
            return _place(filename, frame.f_lineno)
        if fallback is None and not _is_library(name):
            fallback = _place(filename, frame.f_lineno)
        frame = frame.f_back
    if fallback is not None:
        return fallback
    method = getattr(type(test), method_name(test), None)
    if callable(method):
        with contextlib.suppress(ValueError):
            method = inspect.unwrap(method)  # under @mock.patch and friends
    code = getattr(method, "__code__", None)
    if code is not None:
        return _place(code.co_filename, code.co_firstlineno)
    return "?"


def _is_library(name: str) -> bool:
    if name.startswith("<") or name.startswith(_OURS):
        return True
    library, third_party = _library_paths()
    return name.startswith(library) and not name.startswith(third_party)


def _place(filename: str, line: int) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive
        relative = filename
    if not relative.startswith(".."):
        filename = relative
    return f"{filename}:{line}"


def _name_of(test: Any) -> str:
    cls = type(test).__qualname__.rsplit("<locals>.", 1)[-1]
    return f"{cls}.{method_name(test)}"


def _message(kind: str, found: list[_Change]) -> str:
    whats: list[str] = []
    for change in found:
        item = f"{change.what} at {change.where}"
        if item not in whats:
            whats.append(item)
    shown = "; ".join(whats[:3]) + (f"; and {len(whats) - 3} more" if len(whats) > 3 else "")
    # The change that was seen by most peers speaks for the others.
    widest = max(found, key=lambda c: c.count)
    count = widest.count
    names = [_name_of(m.test) for m in widest.peers[:_NAMED]]
    if count > len(names):
        names.append(f"{count - len(names)} more")
    if kind == "port":
        verb = "was" if count == 1 else "were"
        ran = f"while {', '.join(names)}, which bound it too, {verb} running"
    else:
        noun = "peer" if count == 1 else "peers"
        ran = f"while {count} {noun} of its group ran ({', '.join(names)}), which see it"
    return f"concurrency hazard ({kind}): {shown}, {ran}; {_FIX.get(kind, _DEFAULT_FIX)}"


def _annotate_address_in_use(result: Any, port: int, holders: list[Any]) -> None:
    calls = getattr(result, "calls", None)
    if not calls:
        return
    names = ", ".join(_name_of(m.test) for m in holders)
    for name, args in calls:
        if name not in ("addError", "addFailure", "addSubTest"):
            continue
        err = args[-1]
        exc = err[1] if isinstance(err, tuple) and len(err) == 3 else None
        while exc is not None:
            if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
                exc.add_note(f"aiounit: port {port} is held by {names}, running in the same group")
                break
            exc = exc.__cause__ or exc.__context__
