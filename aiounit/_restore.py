"""What the members of a group patched with ``unittest.mock`` is back when it ends.

``mock.patch`` saves the attribute's value when it starts and puts that value
back when it stops.  Tests that run one after another nest their patches
properly; members of a group do not: when two members patch one attribute and
the first to start is the first to stop, the second puts back the first one's
mock, which stays on the module for every later test.  A member may also
``start()`` a patch and never stop it.

While a group runs, ``mock._patch`` and ``mock._patch_dict`` (``patch``,
``patch.object``, ``patch.multiple``, ``patch.dict``, as context managers,
decorators or started patchers) are watched: the first
time a member patches an attribute or a dict, its state from before the patch
is kept.  When the group ends, whatever differs from that state is put back,
and the member that last patched or unpatched it gets a warning that names it.

The hook is one place, ``add_patch_listener``, so that other checks can hear
each patch and unpatch of a member too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator

from ._capture import CURRENT
from ._stdlib import PATCH_METHODS, patch_dict_original

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

if TYPE_CHECKING:
    #: ``listener(event, patcher, member)``: *event* is "start" or "stop",
    #: *patcher* the ``mock._patch`` or ``mock._patch_dict``, *member* the
    #: running test's ``_member.Member``; called after mock did its work.
    PatchListener = Callable[[str, Any, Any], None]

_MISSING = object()
_listeners: list[PatchListener] = []
_lock = threading.RLock()
_hooked: dict[tuple[str, str], Any] | None = None  # the mock methods we wrapped, while hooked
_users = 0


def add_patch_listener(listener: PatchListener) -> Callable[[], None]:
    """Call *listener* on every patch start and stop while a group runs.

    Returns the function that removes it again.
    """
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock, contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return remove


class _Target:
    """One patched attribute (or one patched dict) and its state before the group."""

    __slots__ = ("attribute", "before", "last", "name", "target")

    def __init__(self, target: Any, attribute: str | None, before: Any, name: str) -> None:
        self.target = target
        self.attribute = attribute
        self.before = before
        self.name = name
        self.last: Any = None  # the member that last patched or unpatched it

    def current(self) -> Any:
        if self.attribute is None:
            return dict(self.target)
        return _state(self.target, self.attribute)

    def changed(self) -> bool:
        now = self.current()
        if self.attribute is None:
            return bool(now != self.before)
        return now is not self.before

    def restore(self) -> None:
        if self.attribute is None:
            self.target.clear()
            self.target.update(self.before)
        elif self.before is _MISSING:
            delattr(self.target, self.attribute)
        else:
            setattr(self.target, self.attribute, self.before)


def _has_dict(target: Any) -> bool:
    return isinstance(getattr(target, "__dict__", None), (dict, types.MappingProxyType))


def _state(target: Any, attribute: str) -> Any:
    # What mock saves and restores: the target's own attribute if it has a
    # __dict__ (an inherited one is absent), else whatever getattr gives.
    if _has_dict(target):
        return target.__dict__.get(attribute, _MISSING)
    return getattr(target, attribute, _MISSING)


def _name_of(target: Any) -> str:
    if target is os.environ:
        return "os.environ"
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if isinstance(name, str):
        module = getattr(target, "__module__", None)
        return f"{module}.{name}" if isinstance(module, str) and module != name else name
    return f"{type(target).__qualname__} object at {id(target):#x}"


class _Watch:
    """The targets the members of one group patched."""

    def __init__(self) -> None:
        self.targets: dict[tuple[int, str | None], _Target] = {}

    def started(self, patcher: Any, member: Any, dict_name: str | None) -> None:
        if hasattr(patcher, "attribute"):
            target, attribute = patcher.target, patcher.attribute
            key: tuple[int, str | None] = (id(target), attribute)
            if key not in self.targets:
                before = patcher.temp_original
                if before is _default() or (_has_dict(target) and not patcher.is_local):
                    before = _MISSING  # mock will delete its own attribute
                name = f"{_name_of(target)}.{attribute}"
                self.targets[key] = _Target(target, attribute, before, name)
        else:
            target = patcher.in_dict
            key = (id(target), None)
            if key not in self.targets:
                self.targets[key] = _Target(
                    target, None, dict(patch_dict_original(patcher)), dict_name or _name_of(target)
                )
        self.targets[key].last = member

    def stopped(self, key: tuple[int, str | None], member: Any) -> None:
        entry = self.targets.get(key)
        if entry is not None:
            entry.last = member

    def restore(self) -> list[tuple[Any, str]]:
        """Put back what differs; return (member, message) for each."""
        reports = []
        for entry in self.targets.values():
            if not entry.changed():
                continue
            now = entry.current()
            try:
                entry.restore()
            except Exception as exc:  # a property that refuses, a read-only dict...
                outcome = f"it could not be put back: {type(exc).__name__}: {exc}"
            else:
                outcome = "it was put back"
            shown = _difference(entry.before, now) if entry.attribute is None else _short(now)
            reports.append(
                (
                    entry.last,
                    f"left {entry.name} patched when its group ended ({shown}); {outcome}",
                )
            )
        self.targets.clear()
        return reports


def _difference(before: dict[Any, Any], now: dict[Any, Any]) -> str:
    keys = [k for k in {**before, **now} if before.get(k, _MISSING) != now.get(k, _MISSING)]
    shown = ", ".join(f"{k}={_short(now[k])}" if k in now else f"{k} removed" for k in keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def _default() -> Any:
    from unittest import mock

    return mock.DEFAULT


_watches: list[_Watch] = []


def _key_of(patcher: Any) -> tuple[int, str | None] | None:
    if hasattr(patcher, "attribute"):
        target = getattr(patcher, "target", None)
        return None if target is None else (id(target), patcher.attribute)
    in_dict = getattr(patcher, "in_dict", None)
    return None if isinstance(in_dict, str) or in_dict is None else (id(in_dict), None)


def _tell(event: str, patcher: Any, member: Any) -> None:
    for listener in list(_listeners):
        listener(event, patcher, member)


def _hook(mock: Any) -> dict[tuple[str, str], Any]:
    def make_enter(original: Callable[..., Any]) -> Callable[..., Any]:
        def __enter__(self: Any) -> Any:
            in_dict = getattr(self, "in_dict", None)
            dict_name = in_dict if isinstance(in_dict, str) else None
            result = original(self)
            member = CURRENT.get()
            if member is not None:
                with _lock:
                    for watch in _watches:
                        watch.started(self, member, dict_name)
                _tell("start", self, member)
            return result

        return __enter__

    def make_exit(original: Callable[..., Any]) -> Callable[..., Any]:
        def __exit__(self: Any, *exc_info: Any) -> Any:
            key = _key_of(self)  # mock forgets its target on the way out
            try:
                return original(self, *exc_info)
            finally:
                member = CURRENT.get()
                if member is not None:
                    with _lock:
                        if key is not None:
                            for watch in _watches:
                                watch.stopped(key, member)
                    _tell("stop", self, member)

        return __exit__

    saved: dict[tuple[str, str], Any] = {}
    for class_name, name, starts in PATCH_METHODS:
        cls = getattr(mock, class_name)
        original = saved[class_name, name] = getattr(cls, name)
        setattr(cls, name, make_enter(original) if starts else make_exit(original))
    return saved


def _unhook(mock: Any, saved: dict[tuple[str, str], Any]) -> None:
    for (class_name, name), original in saved.items():
        setattr(getattr(mock, class_name), name, original)


@contextlib.contextmanager
def restored_patches(report: Callable[[Any, str], None]) -> Iterator[None]:
    """Watch what members patch during a group; put it back when it ends.

    ``report(member, message)`` is called for each attribute or dict that a
    member left changed, after it was put back.  Only when ``unittest.mock``
    is imported already: a test module that patches imported it when it was
    loaded, and a run that never patches does not pay for importing it.
    """
    global _hooked, _users
    mock = sys.modules.get("unittest.mock")
    if mock is None:
        yield
        return
    watch = _Watch()
    with _lock:
        if _users == 0:
            _hooked = _hook(mock)
        _users += 1
        _watches.append(watch)
    try:
        yield
    finally:
        with _lock:
            _watches.remove(watch)
            _users -= 1
            if _users == 0 and _hooked is not None:
                _unhook(mock, _hooked)
                _hooked = None
            reports = watch.restore()
        for member, message in reports:
            report(member, message)
