"""The concurrency-hazard detector: tests that change process-wide state while
peers of their group run.

A mock patch, an environment variable, the working directory, a signal
handler, the warning filters, the logging configuration, the event loop
policy: whatever one member changes, every member running beside it sees.  So
does a fixed port: two members that bind it cannot both run.  While a group
runs, this module watches those changes, charges each to the member whose
context made it (``CURRENT``), and when the member's test ends, reports the
changes some peer could have seen: one warning per test and kind, naming what
changed, where, which peers ran, and the fix.

Nothing is hooked outside a group.  During a group, the methods and functions
that make the changes are wrapped: ``os.environ``'s ``__setitem__`` and
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
import signal
import socket
import sys
import threading
import unittest
from collections.abc import Callable

from ._capture import CURRENT
from ._marks import admission_marks_of, is_coroutine_function
from ._restore import add_patch_listener

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
        global _active
        self._restore.append(add_patch_listener(_patched))
        manager = logging.Logger.manager
        self.loggers = {
            id(lg) for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)
        }
        self.loggers.add(id(logging.getLogger()))
        for owner, name, make in _WRAPPERS:
            target = owner()
            if target is None:
                continue
            original = (
                target.__dict__.get(name, _MISSING)
                if isinstance(target, type)
                else getattr(target, name, _MISSING)
            )
            if original is _MISSING and not isinstance(target, type):
                continue
            setattr(target, name, make(original))
            self._restore.append(_restorer(target, name, original))
        _active = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _active
        _active = None
        while self._restore:
            self._restore.pop()()

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
            running = admission.running()
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


_active: Detector | None = None
_MISSING: Final = object()


def _restorer(target: Any, name: str, original: Any) -> Callable[[], None]:
    def restore() -> None:
        if original is _MISSING:
            delattr(target, name)
        else:
            setattr(target, name, original)

    return restore


def _on_thread(member: Any) -> bool:
    test = member.test
    if not isinstance(test, unittest.IsolatedAsyncioTestCase):
        return True
    return not is_coroutine_function(getattr(test, test._testMethodName, None))


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
    frame: Any = sys._getframe(1)
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
    method = getattr(type(test), test._testMethodName, None)
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
    return f"{cls}.{test._testMethodName}"


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


# -- the hooks ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _note(kind: str, what: Callable[[], str]) -> None:
    """A wrapper saw a change of *kind*: charge it to the running member."""
    detector = _active
    if detector is None or _in_mock():
        return
    member = detector.member()
    if member is not None:
        detector.record(member, kind, what())


def _wrap_environ_set(original: Any) -> Callable[..., Any]:
    def __setitem__(self: Any, key: Any, value: Any) -> None:
        original(self, key, value)
        if self is os.environ and _active is not None:
            _note("os.environ", lambda: f"os.environ[{_text(key)!r}] set")

    return __setitem__


def _wrap_environ_del(original: Any) -> Callable[..., Any]:
    def __delitem__(self: Any, key: Any) -> None:
        original(self, key)
        if self is os.environ and _active is not None:
            _note("os.environ", lambda: f"os.environ[{_text(key)!r}] deleted")

    return __delitem__


def _wrap_chdir(original: Any) -> Callable[..., Any]:
    def chdir(path: Any) -> None:
        original(path)
        if _active is not None:
            _note("os.chdir", lambda: f"os.chdir({_text(path)!r})")

    return chdir


def _wrap_bind(original: Any) -> Callable[..., Any]:
    bind = socket.socket.bind if original is _MISSING else original  # the C method

    def wrapper(self: Any, address: Any) -> None:
        detector = _active
        if detector is not None:
            member = detector.member()
            if member is not None:
                detector.bind(member, self, address)
        bind(self, address)

    return wrapper


def _patch_name(patcher: Any) -> str:
    target = getattr(patcher, "target", None)
    owner = getattr(target, "__name__", None) or type(target).__name__
    if isinstance(target, type):
        owner = f"{target.__module__}.{target.__qualname__.rsplit('<locals>.', 1)[-1]}"
    return f"{owner}.{patcher.attribute}"


def _shared_target(target: Any) -> bool:
    """A module or a class: state that every test sees.  An instance may well be
    the test's own; it is not reported."""
    return isinstance(target, type | type(os))


def _dict_name(patcher: Any) -> str:
    in_dict = patcher.in_dict
    if in_dict is os.environ:
        return "os.environ"
    if in_dict is sys.modules:
        return "sys.modules"
    size = len(in_dict) if hasattr(in_dict, "__len__") else "?"
    return f"a {type(in_dict).__name__} of {size} items"


def _patched(event: str, patcher: Any, member: Any) -> None:
    """``_restore``'s listener: a member started or stopped a mock patch."""
    detector = _active
    if detector is None:
        return
    if event == "stop":
        detector.undo(patcher)
        return
    if detector.member() is not member or member is None:
        return
    if hasattr(patcher, "attribute"):
        if not _shared_target(getattr(patcher, "target", None)):
            return
        what = f"patched {_patch_name(patcher)}"
    else:
        what = f"patched {_dict_name(patcher)} (patch.dict)"
    detector.record(member, "mock.patch", what, scoped=patcher)


def _in_mock() -> bool:
    """An environment change made by ``patch.dict(os.environ)``: reported as the
    patch it is, not twice."""
    frame: Any = sys._getframe(3)
    for _ in range(8):
        if frame is None:
            return False
        if frame.f_globals.get("__name__") == "unittest.mock":
            return True
        frame = frame.f_back
    return False


def _wrap_simple(kind: str, describe: Callable[..., str]) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Any) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            detector = _active
            if detector is not None:
                member = detector.member()
                if member is not None:
                    detector.record(member, kind, describe(*args, **kwargs))
            return original(*args, **kwargs)

        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        return wrapper

    return make


_PASS_THROUGH: Final = frozenset({__name__, "logging"})


def _from_framework() -> bool:
    """Called by aiounit's or unittest's own group-safe ``assertLogs``, or by
    logging configuring itself on their behalf."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module in _PASS_THROUGH:
            frame = frame.f_back
            continue
        return bool(module.startswith("aiounit") or module == "unittest._log")
    return False


_LOGGER_STATE: Final = frozenset({"level", "propagate", "disabled", "handlers"})


def _logger_change(logger: Any, what: str) -> None:
    detector = _active
    if detector is None or id(logger) not in detector.loggers or _from_framework():
        return
    member = detector.member()
    if member is not None:
        name = "the root logger" if logger.name == "root" else f"logger {logger.name!r}"
        detector.record(member, "logging", f"{what} of {name}")


def _wrap_logger_setattr(original: Any) -> Callable[..., Any]:
    base = object.__setattr__ if original is _MISSING else original

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name in _LOGGER_STATE and _active is not None:
            _logger_change(self, f"set {name}")
        base(self, name, value)

    return __setattr__


def _wrap_logger_method(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _active is not None:
                _logger_change(self, what)
            return original(self, *args, **kwargs)

        return method

    return make


def _signal_name(signalnum: Any, *_args: Any, **_kwargs: Any) -> str:
    try:
        return f"signal.signal({signal.Signals(signalnum).name})"
    except ValueError:
        return f"signal.signal({signalnum!r})"


_WRAPPERS: Final[list[tuple[Callable[[], Any], str, Callable[[Any], Any]]]] = [
    (lambda: os._Environ, "__setitem__", _wrap_environ_set),
    (lambda: os._Environ, "__delitem__", _wrap_environ_del),
    (lambda: os, "chdir", _wrap_chdir),
    (lambda: socket.socket, "bind", _wrap_bind),
    (lambda: signal, "signal", _wrap_simple("signal", _signal_name)),
    (
        lambda: asyncio,
        "set_event_loop_policy",
        _wrap_simple("event loop policy", lambda *a, **k: "asyncio.set_event_loop_policy(...)"),
    ),
    (
        lambda: asyncio.events,
        "set_event_loop_policy",
        _wrap_simple("event loop policy", lambda *a, **k: "asyncio.set_event_loop_policy(...)"),
    ),
    (lambda: logging.Logger, "__setattr__", _wrap_logger_setattr),
    (lambda: logging.Logger, "addHandler", _wrap_logger_method("added a handler")),
    (lambda: logging.Logger, "removeHandler", _wrap_logger_method("removed a handler")),
]
