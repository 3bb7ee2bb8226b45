"""Async class and module fixtures: when loop scopes open and close, and reporting.

Scopes are opened and closed from the class fixture hooks unittest itself
calls: ``AsyncTestCase.setUpClass`` and ``tearDownClass`` (and every override
of them, wrapped in ``__init_subclass__``), so stock unittest, IDE runners and
pytest make the same fixture calls as aiounit's suite.  A module's scope is
opened by the first of its classes that is set up, before that class's own
``setUpClass``, and closed by a ``tearDownModule`` put in the module for as
long as the scope lives (unittest looks it up when it tears the module down).

Only aiounit's suite knows a whole group in advance (``_suite_fixtures``): it
opens the module's scope itself, defers the async setups of the classes a unit
needs to run them together (``deferred``), and closes the scopes of the classes
it tears down together (``close_classes``), before their sync ``tearDownClass``.

Errors reach results the way class and module fixture errors do in unittest:
a failed setup is raised from ``setUpClass`` (so unittest reports
``setUpClass (module.Class)``, or skips the class for ``SkipTest``), teardown
errors are raised from class cleanups (``tearDownClass (module.Class)``), and
the suite reports module errors through unittest's own
``_createClassOrModuleLevelException``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import sys
import unittest
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType

from ._fixture_faults import FIXTURE
from ._scope import (
    CLASS_HOOKS,
    MODULE_HOOKS,
    LoopScopeError,
    Scope,
    by_runner,
    class_scopes,
    gather_in_scopes,
    module_scopes,
    report_anywhere,
    strclass,
)
from ._stdlib import (
    method_name,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_module_failures: dict[str, BaseException] = {}
_closed_errors: dict[type, list[BaseException]] = {}
_in_hook: set[type] = set()
_deferred: list[type] | None = None
_replay: dict[type, BaseException] = {}
_exit_hook = False


def _defaults() -> dict[str, Any]:
    return {name: ClassFixtures.__dict__[name].__func__ for name in CLASS_HOOKS}


def has_class_fixtures(cls: type) -> bool:
    """Whether *cls* overrides ``asyncSetUpClass`` or ``asyncTearDownClass``."""
    defaults = _DEFAULTS
    for name in CLASS_HOOKS:
        hook = getattr(cls, name, None)
        if hook is not None and getattr(hook, "__func__", hook) is not defaults[name]:
            return True
    return False


def owns_loop(cls: type) -> bool:
    """Whether *cls*'s tests run on a loop of the class's own (not its module's)."""
    return has_class_fixtures(cls) and not has_module_fixtures(_module_of(cls))


def has_module_fixtures(module: ModuleType | None) -> bool:
    return module is not None and any(
        callable(getattr(module, name, None)) for name in MODULE_HOOKS
    )


def _module_of(cls: type) -> ModuleType | None:
    return sys.modules.get(cls.__module__)


def open_module_lazily(cls: type) -> None:
    """A foreign runner calls no module hook of ours: open the module's scope
    from the first class of it that is set up; close it as a module cleanup."""
    name = cls.__module__
    failure = _module_failures.get(name)
    if failure is not None:
        raise failure.with_traceback(failure.__traceback__)
    if name in module_scopes:
        return
    for other in [s for s in module_scopes.values() if s.lazy]:
        # A runner that runs no module teardown of ours (pytest) has moved on
        # to another module: that module's scope is done.
        for close_error in other.close():
            report_anywhere(None, close_error, f"tearDownModule ({other.name})")
        other.tell_notes(None)
    if not has_module_fixtures(_module_of(cls)):
        return
    scope = new_module_scope(_module_of(cls), cls)  # type: ignore[arg-type]
    scope.lazy = True
    unittest.addModuleCleanup(close_module_cleanup, name)
    error = scope.open()
    if error is not None:
        _module_failures[name] = error
        for cleanup_error in scope.close():
            unittest.addModuleCleanup(_reraise, cleanup_error)
        raise error


def _hook_tear_down_module(module: ModuleType) -> Callable[[], None]:
    """Have unittest's module teardown close the module's scope first.

    unittest looks ``tearDownModule`` up when it tears the module down, so a
    wrapper put there now makes every runner that uses unittest's suites run
    asyncTearDownModule (and the async module cleanups) before the sync
    ``tearDownModule``, as aiounit's suite does.  The module gets its own
    attribute back when the scope ends (the returned function).
    """
    missing = object()
    original = module.__dict__.get("tearDownModule", missing)

    def tearDownModule() -> None:
        try:
            close_module_cleanup(module.__name__)
        except Exception as error:
            unittest.addModuleCleanup(_reraise, error)
        if callable(original):
            original()

    def unhook() -> None:
        if module.__dict__.get("tearDownModule") is not tearDownModule:
            return
        if original is missing:
            del module.tearDownModule
        else:
            module.tearDownModule = original  # type: ignore[attr-defined]

    module.tearDownModule = tearDownModule  # type: ignore[attr-defined]
    return unhook


def close_module_cleanup(name: str) -> None:
    _module_failures.pop(name, None)
    scope = module_scopes.get(name)
    if scope is None:
        return
    errors = scope.close()
    scope.tell_notes(None)
    # Raised from module cleanups that doModuleCleanups is still running, so
    # unittest reports them as it reports any failing module cleanup.
    for error in errors[1:]:
        unittest.addModuleCleanup(_reraise, error)
    if errors:
        raise errors[0]


def new_module_scope(module: ModuleType, cls: type) -> Scope:
    scope = Scope(module, None, getattr(cls, "loop_factory", None))
    scope.unhook = _hook_tear_down_module(module)
    _install_exit_hook()
    return scope


def new_class_scope(cls: type) -> Scope:
    parent = module_scopes.get(cls.__module__)
    _install_exit_hook()
    return Scope(cls, parent, getattr(cls, "loop_factory", None))


def after_set_up_class(cls: type) -> None:
    """The sync ``setUpClass`` of *cls* succeeded: open its loop scope."""
    if _deferred is not None:
        _deferred.append(cls)
        return
    open_module_lazily(cls)
    if has_class_fixtures(cls) and cls not in class_scopes:
        scope = new_class_scope(cls)
        error = scope.open()
        if error is not None:
            set_up_failed(cls, scope)
            raise error


def set_up_failed(cls: type, scope: Scope) -> None:
    # The async cleanups already ran; their errors are raised from class
    # cleanups, which unittest runs (and reports as setUpClass errors) next.
    for cleanup_error in scope.close():
        cls.addClassCleanup(_reraise, cleanup_error)  # type: ignore[attr-defined]
    scope.tell_notes(None)


def before_tear_down_class(cls: type) -> None:
    """Close *cls*'s loop scope before its sync ``tearDownClass``; its errors are
    raised from class cleanups, which unittest reports as ``tearDownClass``."""
    errors = _closed_errors.pop(cls, [])
    scope = class_scopes.get(cls)
    if scope is not None:
        errors += scope.close()
        scope.tell_notes(None)
    for error in errors:
        cls.addClassCleanup(_reraise, error)  # type: ignore[attr-defined]


def _reraise(error: BaseException) -> None:
    raise error


@contextlib.contextmanager
def deferred() -> Iterator[list[type]]:
    """Collect the classes whose sync setUpClass ran, instead of opening them."""
    global _deferred
    outer, _deferred = _deferred, []
    try:
        yield _deferred
    finally:
        _deferred = outer


def replaying(cls: type, error: BaseException) -> None:
    """Make *cls*'s next ``setUpClass`` call raise *error* (and run nothing), so
    that unittest's ``_handleClassSetUp`` reports it as its own."""
    _replay[cls] = error


def close_classes(classes: Iterable[type], result: unittest.TestResult | None) -> None:
    """Close the scopes of *classes* together, before their ``tearDownClass``."""
    scopes = [class_scopes[cls] for cls in classes if cls in class_scopes]
    for runner, together in by_runner(scopes):
        runner.run(gather_in_scopes([s._close for s in together], together))
        for scope in together:
            scope._finish()
            _closed_errors.setdefault(scope.owner, []).extend(scope.errors)  # type: ignore[arg-type]
            scope.errors = []
            scope.tell_notes(result)


def close_all(result: unittest.TestResult | None) -> None:
    """Close every open scope, classes first (the run was interrupted)."""
    for cls in list(class_scopes):
        scope = class_scopes[cls]
        for error in scope.close():
            report_anywhere(result, error, f"tearDownClass ({scope.name})")
        scope.tell_notes(result)
    for name in list(module_scopes):
        scope = module_scopes[name]
        for error in scope.close():
            report_anywhere(result, error, f"tearDownModule ({name})")
        scope.tell_notes(result)


def _install_exit_hook() -> None:
    # A runner that never tears down (pytest runs no unittest module cleanups;
    # an interrupted run): the async teardown still runs, at exit at the latest.
    global _exit_hook
    if not _exit_hook:
        _exit_hook = True
        atexit.register(close_all, None)


# -- the ungrouped tests of a scope -------------------------------------------------------


def needs_scope(test: unittest.TestCase) -> bool:
    """Whether *test*, run by itself, runs on a loop scope (``run_test``)."""
    cls = type(test)
    if cls in class_scopes or cls.__module__ in module_scopes:
        return True
    if not has_class_fixtures(cls) or getattr(cls, "__unittest_skip__", False):
        return False
    method = getattr(test, method_name(test), None)
    return not getattr(method, "__unittest_skip__", False)


def _wrap_set_up_class(function: Callable[[type], Any]) -> Callable[[type], Any]:
    @functools.wraps(function)
    def setUpClass(cls: type) -> Any:
        error = _replay.pop(cls, None)
        if error is not None:
            raise error
        if cls in _in_hook:  # super().setUpClass() from an override
            return function(cls)
        if _deferred is None:
            # Module fixtures come before any class's: setUpModule (unittest's),
            # asyncSetUpModule, then setUpClass.
            open_module_lazily(cls)
        _in_hook.add(cls)
        try:
            function(cls)
        finally:
            _in_hook.discard(cls)
        after_set_up_class(cls)
        return None

    setUpClass.__aiounit_wrapped__ = True  # type: ignore[attr-defined]
    return setUpClass


def _wrap_tear_down_class(function: Callable[[type], Any]) -> Callable[[type], Any]:
    @functools.wraps(function)
    def tearDownClass(cls: type) -> Any:
        if cls in _in_hook:
            return function(cls)
        before_tear_down_class(cls)
        _in_hook.add(cls)
        try:
            return function(cls)
        finally:
            _in_hook.discard(cls)

    tearDownClass.__aiounit_wrapped__ = True  # type: ignore[attr-defined]
    return tearDownClass


def _no_op_class(cls: type) -> None:
    pass


class ClassFixtures:
    """The async class fixture API of ``AsyncTestCase``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrap in (
            ("setUpClass", _wrap_set_up_class),
            ("tearDownClass", _wrap_tear_down_class),
        ):
            attr = cls.__dict__.get(name)
            if isinstance(attr, classmethod) and not getattr(
                attr.__func__, "__aiounit_wrapped__", False
            ):
                setattr(cls, name, classmethod(wrap(attr.__func__)))
        for name in CLASS_HOOKS:
            attr = cls.__dict__.get(name)
            if attr is not None and not isinstance(attr, classmethod):
                msg = f"{cls.__qualname__}.{name} must be a classmethod (use @classmethod)"
                raise TypeError(msg)
            if attr is not None and not inspect.iscoroutinefunction(attr.__func__):
                # As the stdlib's asyncSetUp: a plain function would not run on
                # the class's loop, which is the point of the hook.
                msg = f"{cls.__qualname__}.{name} must be a coroutine function (async def)"
                raise TypeError(msg)

    setUpClass: Any = classmethod(_wrap_set_up_class(_no_op_class))
    tearDownClass: Any = classmethod(_wrap_tear_down_class(_no_op_class))

    @classmethod
    async def asyncSetUpClass(cls) -> None:
        """Hook method for setting up the class fixture on its event loop.

        Called once, after ``setUpClass``, on the loop every test of the class
        then runs on.
        """

    @classmethod
    async def asyncTearDownClass(cls) -> None:
        """Hook method for deconstructing the class fixture, once, after the
        class's last test, before ``tearDownClass``."""

    @classmethod
    def addAsyncClassCleanup(
        cls, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> None:
        """Call ``function(*args, **kwargs)`` (awaited if it is a coroutine
        function) on the class's loop after ``asyncTearDownClass``, last in
        first out, even if ``asyncSetUpClass`` failed."""
        if not callable(function):
            msg = f"addAsyncClassCleanup(): function must be callable, not {function!r}"
            raise TypeError(msg)
        scope = class_scopes.get(cls)
        if scope is None or scope.closed:
            msg = (
                f"{cls.__qualname__}.addAsyncClassCleanup() must be called while the"
                " class's async fixtures run (asyncSetUpClass, asyncTearDownClass or a test)"
            )
            raise RuntimeError(msg)
        scope.cleanups.append((function, args, kwargs))

    @classmethod
    async def enterAsyncClassContext(cls, cm: Any) -> Any:
        """Enter the asynchronous context manager *cm* for the class; it is
        exited as an async class cleanup.  Returns what ``__aenter__`` returns."""
        enter, exit_ = _async_cm_methods(cm)
        value = await enter(cm)
        cls.addAsyncClassCleanup(exit_, cm, None, None, None)
        return value


_DEFAULTS = _defaults()


def _async_cm_methods(cm: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    cls = type(cm)
    try:
        return cls.__aenter__, cls.__aexit__
    except AttributeError:
        msg = (
            f"'{cls.__module__}.{cls.__qualname__}' object does not support the"
            " asynchronous context manager protocol"
        )
        raise TypeError(msg) from None


def _module_scope_here(what: str) -> Scope:
    scope = FIXTURE.get()
    while scope is not None and scope.is_class:
        scope = scope.parent
    if scope is None or scope.closed:
        msg = (
            f"aiounit.{what}() must be called while a module's async fixtures run"
            " (asyncSetUpModule or asyncTearDownModule)"
        )
        raise RuntimeError(msg)
    return scope


def addAsyncModuleCleanup(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """Call ``function(*args, **kwargs)`` (awaited if it is a coroutine function)
    on the module's loop after ``asyncTearDownModule``, last in first out."""
    if not callable(function):
        msg = f"addAsyncModuleCleanup(): function must be callable, not {function!r}"
        raise TypeError(msg)
    _module_scope_here("addAsyncModuleCleanup").cleanups.append((function, args, kwargs))


async def enterAsyncModuleContext(cm: Any) -> Any:
    """Enter the asynchronous context manager *cm* for the module; it is exited
    as an async module cleanup.  Returns what ``__aenter__`` returns."""
    scope = _module_scope_here("enterAsyncModuleContext")
    enter, exit_ = _async_cm_methods(cm)
    value = await enter(cm)
    scope.cleanups.append((exit_, (cm, None, None, None), {}))
    return value


def check_groups(groups: Iterable[tuple[str, list[type]]]) -> None:
    """Raise LoopScopeError for a group whose classes would need two loops."""
    for label, classes in groups:
        owners = [cls for cls in classes if has_class_fixtures(cls)]
        if len(owners) < 2 or has_module_fixtures(_module_of(owners[0])):
            continue
        first, second = owners[0], owners[1]
        msg = (
            f"{label} has members in {strclass(first)} and {strclass(second)}, which"
            " both have async class fixtures (asyncSetUpClass/asyncTearDownClass), so each"
            " runs its tests on an event loop of its own, but a group runs on one loop."
            " Share the fixtures at module level (asyncSetUpModule), or split the group."
        )
        if _inherited_fixtures(first, second):
            msg += (
                f" ({strclass(first)} and {strclass(second)} have their async class"
                " fixtures by inheritance, and so the group's marks too: to give each"
                " class a group of its own, put @aiounit.group('...') on each class"
                " instead of on the inherited test methods.)"
            )
        raise LoopScopeError(msg)


def _inherited_fixtures(first: type, second: type) -> bool:
    """Whether *first* and *second* have the same (not default) async class fixture."""
    for name in CLASS_HOOKS:
        one = getattr(getattr(first, name), "__func__", None)
        other = getattr(getattr(second, name), "__func__", None)
        if one is other and one is not _DEFAULTS[name]:
            return True
    return False
