"""The ``@group``, ``@timeout``, ``@lock`` and ``@isolated`` decorators and the marks they leave."""

from __future__ import annotations

import inspect
import math
import unittest
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType

from ._stdlib import COROUTINE_MARK, COROUTINE_MARKER, method_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TypeVar, overload

    _T = TypeVar("_T")
    _F = TypeVar("_F", bound=Callable[..., Any])  # a test method or a TestCase class

__unittest = True


GROUP_ATTR: Final = "__aiounit_group__"
TIMEOUT_ATTR: Final = "__aiounit_timeout__"
LOCKS_ATTR: Final = "__aiounit_locks__"
ISOLATED_ATTR: Final = "__aiounit_isolated__"


class Unset:
    """Marks "not given", where ``None`` already means "no limit"."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = Unset()


@dataclass(frozen=True, slots=True)
class GroupMark:
    """What ``@group(...)`` recorded on a test method or a TestCase class."""

    name: str | None
    timeout: float | Unset | None  # UNSET: not given; None: no limit
    max_concurrency: int | None


def check_timeout(value: object, what: str = "timeout") -> float | None:
    """Return *value* as seconds, or raise a clear error; None means no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what} must be a positive number of seconds or None, got {value!r}"
        raise TypeError(msg)
    if not value > 0 or math.isnan(value):
        msg = f"{what} must be a positive number of seconds, got {value!r}"
        raise ValueError(msg)
    return float(value)


def check_max_concurrency(value: object, what: str = "max_concurrency") -> int | None:
    """Return *value* as a member cap, or raise a clear error; None means no cap."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} must be an int >= 1 or None, got {value!r}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{what} must be an int >= 1, got {value!r}"
        raise ValueError(msg)
    return value


def _check_target(obj: object, decorator: str) -> None:
    if isinstance(obj, type):
        if not issubclass(obj, unittest.TestCase):
            msg = f"@{decorator} marks test methods or unittest.TestCase subclasses, not {obj!r}"
            raise TypeError(msg)
        return
    if isinstance(obj, staticmethod | classmethod) or not inspect.isfunction(obj):
        msg = f"@{decorator} marks test methods or unittest.TestCase subclasses, not {obj!r}"
        raise TypeError(msg)
    if not obj.__name__.startswith("test"):
        msg = (
            f"@{decorator} marks test methods or unittest.TestCase subclasses,"
            f" not {obj!r}; test method names start with 'test'"
        )
        raise TypeError(msg)
    if "." not in obj.__qualname__:
        # Defined at a module's top level: no TestCase runs it as a method, so
        # the mark would do nothing, silently.  (A function made inside another
        # one, such as a test factory's, may still become a method.)
        msg = (
            f"@{decorator} marks test methods or unittest.TestCase subclasses,"
            f" not {obj!r}, a module-level function"
        )
        raise TypeError(msg)


if TYPE_CHECKING:
    # Typed for the user's mypy: bare, the decorated method or class comes back
    # as it went in; with arguments, a decorator that does the same.

    @overload
    def group(
        name: _F, /, *, timeout: float | Unset | None = ..., max_concurrency: int | None = ...
    ) -> _F: ...

    @overload
    def group(
        name: str | None = ...,
        /,
        *,
        timeout: float | Unset | None = ...,
        max_concurrency: int | None = ...,
    ) -> Callable[[_T], _T]: ...


def group(
    name: str | Callable[..., Any] | type | None = None,
    /,
    *,
    timeout: float | Unset | None = UNSET,
    max_concurrency: int | None = None,
) -> Any:
    """Put async test methods, or every test of a class, in one concurrent group.

    Members of a group run concurrently on one event loop, each with its own
    TestCase instance, fixtures, cleanups and contextvars context.  Names are
    scoped to the test's module; with no name, the group is the decorated
    class's (or the method's class's) own.

    Args:
        name: the group's name, a non-empty str; omit it for a group of one class.
        timeout: per-test limit in seconds (> 0) for the tests this decorator
            marks, or None for no limit; omitted, the class attribute
            ``timeout`` or ``--timeout`` decides.
        max_concurrency: most members running at once (int >= 1), or None.

    Raises:
        TypeError: *name* is not a str, or the target is not a test method or a
            ``unittest.TestCase`` subclass.
        ValueError: *name* is empty, *timeout* is not positive, or
            *max_concurrency* is below 1.
    """
    if callable(name) and not isinstance(name, str):
        # Bare ``@aiounit.group`` on a method or a class.
        return group(timeout=timeout, max_concurrency=max_concurrency)(name)
    if name is not None and not isinstance(name, str):
        msg = f"group name must be a non-empty str, got {name!r}"
        raise TypeError(msg)
    if name is not None and not name.strip():
        msg = f"group name must be a non-empty str, got {name!r}"
        raise ValueError(msg)
    mark = GroupMark(
        name,
        timeout if timeout is UNSET else check_timeout(timeout),
        check_max_concurrency(max_concurrency),
    )

    def decorate(obj: _T) -> _T:
        _check_target(obj, "group")
        setattr(obj, GROUP_ATTR, mark)
        return obj

    return decorate


def timeout(seconds: float | None, /) -> Callable[[_T], _T]:
    """Bound one test method (or, on a class, each of its tests) to *seconds*.

    The method decorator wins over a group's ``timeout`` argument, which wins over
    the class attribute ``timeout`` and then ``--timeout``.  ``None`` lifts any
    limit for that test.

    Raises:
        TypeError: *seconds* is not a number, or the target is not a test method
            or a ``unittest.TestCase`` subclass.
        ValueError: *seconds* is not positive.
    """
    if callable(seconds):
        msg = "timeout needs its limit: use @aiounit.timeout(seconds)"
        raise TypeError(msg)
    limit = check_timeout(seconds)

    def decorate(obj: _T) -> _T:
        _check_target(obj, "timeout")
        if isinstance(obj, type):
            # On a class this is the class attribute, so the precedence rule
            # stays a single chain.
            obj.timeout = limit  # type: ignore[attr-defined]
        else:
            setattr(obj, TIMEOUT_ATTR, limit)
        return obj

    return decorate


def lock(*names: str, shared: bool = False) -> Callable[[_T], _T]:
    """Keep the marked tests of a group from overlapping other holders of *names*.

    A member starts only when it can hold all its locks at once.  An exclusive
    holder never overlaps another holder of the same name; ``shared=True``
    holders overlap each other but not an exclusive holder.  On a class, each
    of its tests holds the locks.  Outside a group the mark does nothing.

    Raises:
        TypeError: no name, a name that is not a str, a *shared* that is not a
            bool, or a target that is not a test method or a TestCase class.
        ValueError: an empty name, or one with a NUL character.
    """
    if not names:
        msg = 'lock needs at least one name: use @aiounit.lock("name")'
        raise TypeError(msg)
    for name in names:
        if not isinstance(name, str):
            if callable(name):
                msg = 'lock needs its names: use @aiounit.lock("name"), not bare @aiounit.lock'
            else:
                msg = f"lock names must be non-empty str, got {name!r}"
            raise TypeError(msg)
        if not name.strip():
            msg = f"lock names must be non-empty str, got {name!r}"
            raise ValueError(msg)
        if "\0" in name:  # aiounit's own names have one (the lock of @isolated)
            msg = f"lock names must not contain NUL, got {name!r}"
            raise ValueError(msg)
    if not isinstance(shared, bool):
        msg = f"lock's shared must be a bool, got {shared!r}"
        raise TypeError(msg)

    def decorate(obj: _T) -> _T:
        global _marks_made
        _check_target(obj, "lock")
        _marks_made = True
        held = dict(getattr(obj, LOCKS_ATTR, ()))  # stacked marks, or a base class's
        for name in names:
            # Exclusive wins: a test that says both needs the stronger one.
            held[name] = held.get(name, True) and shared
        setattr(obj, LOCKS_ATTR, tuple(sorted(held.items())))
        return obj

    return decorate


if TYPE_CHECKING:

    @overload
    def isolated(obj: _T, /) -> _T: ...

    @overload
    def isolated(obj: None = ..., /) -> Callable[[_T], _T]: ...


def isolated(obj: _T | None = None, /) -> Any:
    """Run the marked test (on a class: each of its tests) with no other member of
    its group running: it waits for the running members to finish, runs alone,
    then the group goes on.  Outside a group the mark does nothing.

    Written bare, ``@aiounit.isolated``; ``@aiounit.isolated()`` is the same.

    Raises:
        TypeError: the target is not a test method or a TestCase class.
    """
    if obj is None:
        return isolated
    global _marks_made
    _check_target(obj, "isolated")
    _marks_made = True
    setattr(obj, ISOLATED_ATTR, True)
    return obj


def admission_marks_of(test: unittest.TestCase) -> tuple[tuple[tuple[str, bool], ...], bool]:
    """The locks *test* holds, as sorted (name, shared) pairs, and whether it is
    isolated: its method's marks together with its class's."""
    cls = type(test)
    method = getattr(cls, method_name(test), None)
    own: tuple[tuple[str, bool], ...] = getattr(method, LOCKS_ATTR, ())
    inherited: tuple[tuple[str, bool], ...] = getattr(cls, LOCKS_ATTR, ())
    if own and inherited:
        held = dict(inherited)
        for name, shared in own:
            held[name] = held.get(name, True) and shared
        locks = tuple(sorted(held.items()))
    else:
        locks = own or inherited
    alone = bool(getattr(method, ISOLATED_ATTR, False) or getattr(cls, ISOLATED_ATTR, False))
    return locks, alone


def has_admission_marks(cls: type) -> bool:
    """Whether any test of *cls* may hold a lock or be isolated (cheap per class)."""
    if not _marks_made:
        return False  # the common case: nobody used @lock or @isolated
    known = _admission_classes.get(cls)
    if known is None:
        known = _admission_classes[cls] = any(
            hasattr(klass, LOCKS_ATTR) or hasattr(klass, ISOLATED_ATTR)
            for klass in [cls, *(v for v in vars_of(cls) if callable(v))]
        )
    return known


def vars_of(cls: type) -> list[Any]:
    """The attributes of *cls* and its bases (methods included), most derived first."""
    seen: dict[str, Any] = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            seen.setdefault(name, value)
    return list(seen.values())


_marks_made = False
_admission_classes: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def is_coroutine_function(func: Any) -> bool:
    """``inspect.iscoroutinefunction``, with a fast path for plain functions and
    methods: it runs several times per test."""
    f = getattr(func, "__func__", func)
    if type(f) is FunctionType:
        return bool(f.__code__.co_flags & inspect.CO_COROUTINE) or (
            getattr(f, COROUTINE_MARKER, None) is COROUTINE_MARK
        )
    return inspect.iscoroutinefunction(func)


def group_mark_of(test: unittest.TestCase) -> GroupMark | None:
    """The mark that puts *test* in a group, or None.

    A mark on the method wins.  A mark on a class covers every test method of
    a plain ``TestCase``, but only the ``async def`` ones of an
    ``IsolatedAsyncioTestCase``: a sync method there runs alone unless marked.
    """
    cls = type(test)
    # Asked for each test when planning and again when running: marks are set
    # at import time, so remember them per class (weakly: tests define classes).
    known = _marks_of.get(cls)
    if known is None:
        known = _marks_of[cls] = {}
    name = method_name(test)
    try:
        return known[name]
    except KeyError:
        mark = known[name] = _find_group_mark(cls, name)
        return mark


_marks_of: weakref.WeakKeyDictionary[type, dict[str, GroupMark | None]] = (
    weakref.WeakKeyDictionary()
)


def _find_group_mark(cls: type, name: str) -> GroupMark | None:
    method = getattr(cls, name, None)
    mark: GroupMark | None = getattr(method, GROUP_ATTR, None)
    if mark is not None:
        return mark
    class_mark: GroupMark | None = getattr(cls, GROUP_ATTR, None)
    if class_mark is None:
        return None
    if issubclass(cls, unittest.IsolatedAsyncioTestCase) and not (is_coroutine_function(method)):
        return None
    return class_mark


def timeout_of(
    test: unittest.TestCase, mark: GroupMark | None, default: float | None
) -> float | None:
    """The limit for *test*: method decorator, group, class attribute, *default*.

    At each level None means "no limit" and ends the search; only a level that
    says nothing passes the question on.
    """
    cls = type(test)
    method = getattr(cls, method_name(test), None)
    limit = getattr(method, TIMEOUT_ATTR, UNSET)
    if limit is not UNSET:
        return limit  # type: ignore[return-value]
    if mark is not None and mark.timeout is not UNSET:
        return mark.timeout  # type: ignore[return-value]
    return class_timeout(cls, default)


def class_timeout(cls: type, default: float | None) -> float | None:
    """The limit a class's ``timeout`` attribute sets, else *default*."""
    for klass in cls.__mro__:
        if "timeout" in klass.__dict__:
            if klass.__dict__.get("__aiounit_default_timeout__", False):
                break  # AsyncTestCase's own default: nothing said
            value = klass.__dict__["timeout"]
            if value is None:
                return None
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return float(value)
            break  # something else called timeout on a plain TestCase: not ours
    return default
