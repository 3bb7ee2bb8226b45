"""Planning a run: a suite's tests as units, each run at one place of the order.

A unit is a test without a group, a whole group (at the place of its first
member), or a nested suite with a ``run()`` of its own (never flattened).
``ConcurrentTestSuite`` runs the units, ``--shard`` deals them out to CI
machines, ``-j`` cuts them into batches for worker processes: all three plan
with ``plan``, so a group is never split.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import _fixtures
from ._marks import group_mark_of, is_coroutine_function
from ._stdlib import isnotsuite, method_name, suite_tests

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

# The run() of a suite that only runs its tests, in order: a nested suite with
# it is planned as its tests (``flattened`` adds ConcurrentTestSuite.run).
_FLATTENED: set[Callable[..., Any]] = {unittest.TestSuite.run}


def flattened(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a suite class's *run* that runs its tests as ``TestSuite.run``
    does, so that an enclosing plan flattens a nested suite of that class."""
    _FLATTENED.add(run)
    return run


_MODULE_GROUP = object()  # the key part of --default-group module


@dataclass(slots=True)
class Unit:
    """Something run at one place of the order: a test, a group, or a foreign suite."""

    key: object
    tests: list[Any] = field(default_factory=list)
    owners: list[tuple[unittest.BaseTestSuite, int]] = field(default_factory=list)
    classes: list[type] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.key is not None and not isinstance(self.key, Opaque)


class Opaque:
    """Key of a nested suite that runs itself (a custom ``run``): never flattened."""

    __slots__ = ()


def check_loop_scopes(units: list[Unit]) -> None:
    """Raise ``_scope.LoopScopeError`` for a group that would need two loops."""
    _fixtures.check_groups((label(u.key), u.classes) for u in units if u.is_group)


def label(key: object) -> str:
    pair: tuple[str, object] = key  # type: ignore[assignment]  # (module, group name or class)
    module, name = pair
    if isinstance(name, type):
        return f"group of {name.__module__}.{name.__qualname__}"
    if name is _MODULE_GROUP:
        return f"group of module {module}"
    return f"group {name!r} of {module}"


def leaves(suite: unittest.BaseTestSuite) -> Iterator[tuple[Any, unittest.BaseTestSuite, int]]:
    """Tests of *suite* and its plain nested suites, with where each one lives."""
    for index, test in enumerate(suite_tests(suite)):
        if test is None:  # already run and released
            continue
        if isinstance(test, unittest.TestSuite) and type(test).run in _FLATTENED:
            yield from leaves(test)
        else:
            yield test, suite, index


def _group_key(test: Any, default_group: str) -> object:
    if not isinstance(test, unittest.TestCase):
        return None
    cls = type(test)
    mark = group_mark_of(test)
    if mark is not None:
        # Names are scoped to the module; an unnamed group is its class's own.
        return (cls.__module__, cls if mark.name is None else mark.name)
    if default_group == "none" or not isinstance(test, unittest.IsolatedAsyncioTestCase):
        return None
    if not is_coroutine_function(getattr(test, method_name(test), None)):
        return None
    if default_group == "class" or _fixtures.owns_loop(cls):
        # A class with a loop of its own cannot share a module-wide group.
        return (cls.__module__, cls)
    return (cls.__module__, _MODULE_GROUP)


def plan(suite: unittest.BaseTestSuite, default_group: str) -> list[Unit]:
    """The units to run, in order: each group at the place of its first member."""
    units: list[Unit] = []
    groups: dict[object, Unit] = {}
    for test, owner, index in leaves(suite):
        key = _group_key(test, default_group) if isnotsuite(test) else Opaque()
        unit = groups.get(key) if key is not None else None
        if unit is None:
            unit = Unit(key)
            units.append(unit)
            if unit.is_group:
                groups[key] = unit
        unit.tests.append(test)
        unit.owners.append((owner, index))
        if not isinstance(key, Opaque) and test.__class__ not in unit.classes:
            unit.classes.append(test.__class__)
    return units
