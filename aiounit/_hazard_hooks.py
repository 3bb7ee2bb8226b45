"""The hooks of the concurrency-hazard detector (``_hazards``), installed for
the duration of a group only.

They wrap the callables that change process-wide state (``os.environ``'s
``__setitem__``/``__delitem__``, ``os.chdir``, ``socket.socket.bind``,
``signal.signal``, ``asyncio.set_event_loop_policy``, the ``logging.Logger``
methods and attributes that configure a logger) and listen to ``_restore``'s
mock patch events; each change is handed to the running group's detector,
which charges it to the member whose context made it.  A wrapper does what it
wraps first or last, exactly once, and never raises anything of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from ._restore import add_patch_listener
from ._stdlib import Environ, getframe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__unittest = True

# The detector of the group that is running (``_hazards.Detector``), or None.
_active: Any = None
_MISSING: Final = object()


def install(detector: Any) -> list[Callable[[], None]]:
    """Wrap everything for *detector*'s group; return what puts it all back.

    Only one group at a time is watched: a group run meanwhile from another
    thread (each ``ConcurrentTestSuite.run`` is sync) is not, rather than
    stacking wrappers that could be put back in the wrong order.
    """
    global _active
    if _active is not None:
        return []
    restore = [add_patch_listener(_patched)]
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
        restore.append(_restorer(target, name, original))
    _active = detector
    return restore


def uninstall(restore: list[Callable[[], None]]) -> None:
    global _active
    if not restore:
        return  # not installed by this group
    _active = None
    while restore:
        restore.pop()()


def _restorer(target: Any, name: str, original: Any) -> Callable[[], None]:
    def put_back() -> None:
        if original is _MISSING:
            delattr(target, name)
        else:
            setattr(target, name, original)

    return put_back


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _note(kind: str, what: Callable[[], str]) -> None:
    """A wrapper saw a change of *kind*: charge it to the running member."""
    detector = _active
    if detector is None:
        return
    with _never_raise():
        if _in_mock():
            return
        member = detector.member()
        if member is not None:
            detector.record(member, kind, what())


def _never_raise() -> contextlib.suppress:
    # The detector watches the test's own calls (os.environ[...] = ..., bind):
    # a fault of the detector must never become the test's error, or stop the
    # change the test asked for.
    return contextlib.suppress(Exception)


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
            with _never_raise():
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
    with _never_raise():
        _patch_event(event, patcher, member)


def _patch_event(event: str, patcher: Any, member: Any) -> None:
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
    frame: Any = getframe(3)
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
                with _never_raise():
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
    frame: Any = getframe(1)
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
    if detector is None or id(logger) not in detector.loggers:
        return
    with _never_raise():
        if _from_framework():
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
    (lambda: Environ, "__setitem__", _wrap_environ_set),
    (lambda: Environ, "__delitem__", _wrap_environ_del),
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
