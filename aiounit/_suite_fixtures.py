"""Class and module fixtures around the units of aiounit's own suite.

unittest tracks one set-up class (``result._previousTestClass``) and tears it
down as soon as a test of another class comes; a group needs several classes
set up at once, and pulls later tests forward.  ``Fixtures`` keeps the list
of set-up classes for ``ConcurrentTestSuite`` and calls unittest's own
handlers, so fixtures fail, skip and report as in unittest.  It also knows a
whole unit in advance, which unittest's hooks do not: it opens a module's loop
scope itself, opens the loop scopes of a unit's classes together
(``open_classes``), and closes those it tears down together, through
``_fixtures``' hooks for it (``deferred``, ``replaying``, ``close_classes``).
"""

from __future__ import annotations

import sys
import unittest
from collections.abc import Iterable, Iterator

from . import _fixtures, _scope
from ._fixtures import (
    close_module_cleanup,
    has_class_fixtures,
    has_module_fixtures,
    new_class_scope,
    new_module_scope,
    open_module_lazily,
    set_up_failed,
)
from ._plan import Unit
from ._scope import Scope, by_runner, class_scopes, gather_in_scopes, module_scopes
from ._stdlib import (
    SINCE_315,
    class_setup_failed,
    handle_class_set_up,
    handle_module_fixture,
    handle_module_tear_down,
    module_setup_failed,
    previous_class,
    previous_module,
    report_fixture_error,
    restore_stdout,
    set_module_setup_failed,
    set_previous_class,
    setup_stdout,
    tear_down_previous_class,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True


def open_classes(classes: Iterable[type]) -> dict[type, BaseException]:
    """Open the scopes of *classes* together (on each loop); the failed ones."""
    failed: dict[type, BaseException] = {}
    scopes: list[Scope] = []
    for cls in classes:
        try:
            open_module_lazily(cls)
        except BaseException as module_error:
            failed[cls] = module_error
            continue
        if has_class_fixtures(cls) and cls not in class_scopes:
            scopes.append(new_class_scope(cls))
    for runner, together in by_runner(scopes):
        for scope in together:
            scope._register()
        errors = runner.run(gather_in_scopes([s._open for s in together], together))
        for scope, error in zip(together, errors, strict=True):
            if error is not None:
                scope._finish()
                set_up_failed(scope.owner, scope)  # type: ignore[arg-type]
                failed[scope.owner] = error  # type: ignore[index]
    return failed


def open_module(test: Any, suite: unittest.TestSuite, result: unittest.TestResult) -> None:
    """aiounit's suite: after ``setUpModule``, open the module's scope; a failure
    is reported as unittest reports a failing ``setUpModule``."""
    name = type(test).__module__
    module = sys.modules.get(name)
    if name in module_scopes or not has_module_fixtures(module):
        return
    scope = new_module_scope(module, type(test))  # type: ignore[arg-type]
    unittest.addModuleCleanup(close_module_cleanup, name)
    setup_stdout(result)
    try:
        error = scope.open()
    finally:
        restore_stdout(result)
    if error is None:
        return
    set_module_setup_failed(result)
    for cleanup_error in scope.close():
        report_fixture_error(suite, result, cleanup_error, "setUpModule", name)
    scope.tell_notes(result)
    try:
        unittest.case.doModuleCleanups()
    except Exception as exc:
        # 3.15 raises every failed cleanup at once, and reports each of them
        split = SINCE_315 and isinstance(exc, ExceptionGroup)
        for cleanup_error in exc.exceptions if split else [exc]:  # type: ignore[attr-defined]
            report_fixture_error(suite, result, cleanup_error, "setUpModule", name)
    report_fixture_error(suite, result, error, "setUpModule", name)


def close_module(name: str, suite: unittest.TestSuite, result: unittest.TestResult) -> None:
    """aiounit's suite: close the module's scope before its ``tearDownModule``."""
    scope = module_scopes.get(name)
    if scope is None:
        return
    for error in scope.close():
        report_fixture_error(suite, result, error, "tearDownModule", name)
    scope.tell_notes(result)


class Fixtures:
    """Class and module fixtures around units, through unittest's own handlers.

    unittest tracks the one class whose ``setUpClass`` ran in
    ``result._previousTestClass`` and calls ``tearDownClass`` as soon as a test
    of another class comes.  A group may need several classes set up at once,
    and pulls later tests forward, so this keeps a list of the classes that are
    set up.  A class stays set up past a unit that does not use it only when it
    belongs to a group and a later unit of the same module still needs it;
    suites without groups therefore see exactly the stdlib's calls and order.
    Errors go through the stdlib's ``_ErrorHolder`` reporting.
    """

    def __init__(
        self, suite: unittest.TestSuite, result: unittest.TestResult, units: list[Unit]
    ) -> None:
        self.suite = suite
        self.result = result
        previous = previous_class(result)
        # A class an enclosing suite set up before handing the result to us.
        self.active: list[type] = [previous] if previous is not None else []
        self.last_use: dict[type, int] = {}
        self.grouped: set[type] = set()
        for index, unit in enumerate(units):
            for cls in unit.classes:
                self.last_use[cls] = index
            if unit.is_group:
                self.grouped.update(unit.classes)

    def enter(self, index: int, unit: Unit) -> None:
        result, suite = self.result, self.suite
        first = unit.tests[0]
        module = first.__class__.__module__
        self._tear_down_all(
            [
                cls
                for cls in self.active
                if cls not in unit.classes
                and not (
                    cls in self.grouped
                    and cls.__module__ == module
                    and self.last_use.get(cls, -1) > index
                )
            ]
        )
        previous = previous_module(suite, result)
        if previous is not None and previous != module:
            self._close_module(previous)
        handle_module_fixture(suite, first, result)
        if not module_setup_failed(result):
            open_module(first, suite, result)
        # Sync setUpClass first, one class after the other; then the async
        # class fixtures of all of them together, on their loop.
        firsts = {}
        with _fixtures.deferred() as pending:
            for test in _first_of_each_class(unit):
                cls = test.__class__
                if cls in self.active:
                    continue
                firsts[cls] = test
                set_previous_class(result, None)
                handle_class_set_up(suite, test, result)
                self.active.append(cls)
        failed: dict[type, BaseException] = {}
        for cls in pending:
            if _fixtures.has_class_fixtures(cls):
                self._phase(f"setUpClass ({_scope.strclass(cls)})")
        if pending:
            # Under -b, what the async setups print is kept, as unittest keeps a
            # setUpClass's output, and shown with their failure.
            setup_stdout(result)
            try:
                failed = open_classes(pending)
            finally:
                if not failed:
                    restore_stdout(result)
            for cls, error in failed.items():
                # unittest's own handler reports it, as a failing setUpClass,
                # with the output so far (it restores the streams afterwards).
                _fixtures.replaying(cls, error)
                set_previous_class(result, None)
                handle_class_set_up(suite, firsts[cls], result)
        set_previous_class(result, unit.classes[-1])

    def setup_failed(self, test: Any) -> bool:
        return bool(class_setup_failed(test.__class__) or module_setup_failed(self.result))

    def _tear_down_all(self, classes: list[type]) -> None:
        # Async class teardowns together, then each sync tearDownClass.
        for cls in classes:
            if cls in _scope.class_scopes:
                self._phase(f"tearDownClass ({_scope.strclass(cls)})")
        _fixtures.close_classes(classes, self.result)
        for cls in classes:
            self._tear_down(cls)

    def _tear_down(self, cls: type) -> None:
        set_previous_class(self.result, cls)
        tear_down_previous_class(self.suite, None, self.result)
        self.active.remove(cls)

    def hand_over(self) -> None:
        """Leave exactly one set-up class, in ``_previousTestClass``, for a suite
        that handles fixtures the stdlib way (an enclosing or a nested one)."""
        self._tear_down_all(self.active[:-1])
        if self.active:
            set_previous_class(self.result, self.active[-1])

    def take_back(self) -> None:
        previous = previous_class(self.result)
        self.active = [previous] if previous is not None else []

    def finish(self) -> None:
        self._tear_down_all(list(self.active))
        previous = previous_module(self.suite, self.result)
        if previous is not None:
            self._close_module(previous)
        handle_module_tear_down(self.suite, self.result)

    def _phase(self, name: str) -> None:
        self.suite._fixture_phase(self.result, name)  # type: ignore[attr-defined]

    def _close_module(self, name: str) -> None:
        if name in _scope.module_scopes:
            self._phase(f"tearDownModule ({name})")
        close_module(name, self.suite, self.result)


def _first_of_each_class(unit: Unit) -> Iterator[Any]:
    seen: set[type] = set()
    for test in unit.tests:
        if test.__class__ not in seen:
            seen.add(test.__class__)
            yield test
