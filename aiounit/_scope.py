"""Loop scopes: async class and module fixtures, and the loop their tests share.

A class with async class fixtures (``asyncSetUpClass``/``asyncTearDownClass``)
or a module with async module fixtures (``asyncSetUpModule``/
``asyncTearDownModule``) owns a *loop scope*: one ``asyncio.Runner`` whose loop
lives from before the async setup to after the last async cleanup.  Every test
of the class (module) runs on that loop: a group as a whole (``run_group`` with
the scope's loop), an ungrouped test one at a time.  A class scope inside a
module scope borrows the module's loop.

Scopes are opened and closed from the class fixture hooks unittest itself
calls: ``AsyncTestCase.setUpClass`` and ``tearDownClass`` (and every override
of them, wrapped in ``__init_subclass__``), so stock unittest, IDE runners and
pytest run the same fixture calls as aiounit's suite.  Only the suite knows
a whole group in advance: it defers the async setups of the classes a unit
needs and runs them together (``deferred``, ``open_classes``), and closes the
scopes of the classes it tears down together (``close_classes``) before their
sync ``tearDownClass``.

Errors reach results the way class and module fixture errors do in unittest:
a failed setup is raised from ``setUpClass`` (so unittest reports
``setUpClass (module.Class)``), teardown errors are raised from class cleanups
(``tearDownClass (module.Class)``), and the suite reports module errors through
unittest's own ``_createClassOrModuleLevelException``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import functools
import sys
import unittest
import weakref
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from . import _config
from ._errors import LeakedTaskError, TestTimeoutError
from ._marks import class_timeout

__unittest = True

CLASS_HOOKS = ("asyncSetUpClass", "asyncTearDownClass")
MODULE_HOOKS = ("asyncSetUpModule", "asyncTearDownModule")

# The scope whose fixture code created the current context (and so owns the
# tasks created in it); the task list of the ungrouped test running in it.
_FIXTURE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "aiounit_fixture", default=None
)
_SPAWNED: contextvars.ContextVar[list[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "aiounit_spawned", default=None
)

_class_scopes: dict[type, Scope] = {}
_module_scopes: dict[str, Scope] = {}
# A module whose async setup failed under a foreign runner: each class of it
# re-raises the failure from its setUpClass (unittest has no module hook to
# report it from).
_module_failures: dict[str, BaseException] = {}
_closed_errors: dict[type, list[BaseException]] = {}
_in_hook: set[type] = set()
_deferred: list[type] | None = None
_replay: dict[type, BaseException] = {}
_exit_hook = False


class LoopScopeError(Exception):
    """A group whose members would need two event loops (a usage error)."""


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


def has_module_fixtures(module: ModuleType | None) -> bool:
    return module is not None and any(
        callable(getattr(module, name, None)) for name in MODULE_HOOKS
    )


def _strclass(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Scope:
    """One class's or module's async fixtures and the runner of their loop."""

    def __init__(
        self,
        owner: type | ModuleType,
        parent: Scope | None,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    ) -> None:
        config = _config.current()
        self.owner = owner
        self.is_class = isinstance(owner, type)
        self.name = _strclass(owner) if isinstance(owner, type) else owner.__name__
        self.parent = parent
        self.limit = class_timeout(owner, config.timeout) if isinstance(owner, type) else (
            config.timeout
        )
        self.grace = config.grace
        self.fail_on_leaks = config.fail_on_leaks
        if parent is not None:
            self.runner = parent.runner
        else:
            self.runner = asyncio.Runner(debug=config.debug, loop_factory=loop_factory)
            self.runner.get_loop().set_task_factory(_task_factory)
        self.context = contextvars.copy_context()
        self.context.run(_FIXTURE.set, self)
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.cleanups: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.set_up = False
        self.closed = False
        self.errors: list[BaseException] = []
        self.notes: list[str] = []
        self.unhook: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"<loop scope of {self.name}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.runner.get_loop()

    def _hook(self, index: int) -> Callable[[], Any] | None:
        if self.is_class:
            return getattr(self.owner, CLASS_HOOKS[index])  # type: ignore[no-any-return]
        return getattr(self.owner, MODULE_HOOKS[index], None)

    def _register(self) -> None:
        if isinstance(self.owner, type):
            _class_scopes[self.owner] = self
        else:
            _module_scopes[self.owner.__name__] = self
            self.unhook = _hook_tear_down_module(self.owner)

    def _unregister(self) -> None:
        if isinstance(self.owner, type):
            _class_scopes.pop(self.owner, None)
        else:
            _module_scopes.pop(self.owner.__name__, None)
            self.unhook()

    # -- async parts (run on the loop, in the scope's context) ------------------------

    async def _open(self) -> BaseException | None:
        hook = self._hook(0)
        error = await self._call(hook, what=_hook_name(self, 0)) if hook is not None else None
        if error is None:
            self.set_up = True
            return None
        await self._close()
        return error

    async def _close(self) -> None:
        if self.set_up:
            hook = self._hook(1)
            if hook is not None:
                self._keep(await self._call(hook, what=_hook_name(self, 1)))
        while self.cleanups:
            function, args, kwargs = self.cleanups.pop()
            what = "an async class cleanup" if self.is_class else "an async module cleanup"
            self._keep(await self._call(function, *args, what=what, **kwargs))
        await self._settle_tasks()

    def _keep(self, error: BaseException | None) -> None:
        if error is not None:
            self.errors.append(error)

    async def _call(
        self, function: Callable[..., Any], /, *args: Any, what: str, **kwargs: Any
    ) -> BaseException | None:
        """Run one fixture call in a task of its own, bounded by the limit; its error."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(_maybe_async(function, *args, **kwargs), context=self.context)
        self.tasks.discard(task)
        done, _ = await asyncio.wait({task}, timeout=self.limit)
        if not done:
            where = _where(task)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self.grace)
            message = f"{what} of {self.name} did not finish within {self.limit:g} s"
            if where:
                message += f"; it was waiting at {where}"
            if not done:
                message += "; it ignored its cancellation and is still running"
            return TestTimeoutError(message)
        if task.cancelled():
            return asyncio.CancelledError(f"{what} of {self.name} was cancelled")
        return task.exception()

    async def _settle_tasks(self) -> None:
        from ._scheduler import _describe

        leaked = [t for t in self.tasks if not t.done()]
        if not leaked:
            return
        names = ", ".join(_describe(t) for t in leaked)
        for task in leaked:
            task.cancel()
        _, stuck = await asyncio.wait(leaked, timeout=self.grace)
        kind = "async class fixtures" if self.is_class else "async module fixtures"
        message = (
            f"the {kind} of {self.name} left {len(leaked)} task(s) running,"
            f" cancelled when its loop scope ended: {names}"
        )
        if stuck:
            message += f"; {len(stuck)} ignored the cancellation"
        if self.fail_on_leaks:
            self.errors.append(LeakedTaskError(message))
        else:
            self.notes.append(message)

    # -- sync entry points ------------------------------------------------------------

    def open(self) -> BaseException | None:
        """Run the async setup; on failure the scope is already closed again."""
        _install_exit_hook()
        self._register()
        error = self.runner.run(self._open(), context=self.context)
        if error is not None:
            self._finish()
        return error

    def close(self) -> list[BaseException]:
        """Run the async teardown and cleanups (once); the errors they raised."""
        if not self.closed:
            self.runner.run(self._close(), context=self.context)
            self._finish()
        errors, self.errors = self.errors, []
        return errors

    def _finish(self) -> None:
        self.closed = True
        self._unregister()
        if self.parent is None:
            self.runner.close()

    def tell_notes(self, result: unittest.TestResult | None) -> None:
        from ._report import tell_notes

        notes, self.notes = self.notes, []
        if not notes:
            return
        holder = unittest.suite._ErrorHolder(_tear_down_name(self))  # type: ignore[attr-defined]
        if result is not None:
            tell_notes(result, holder, notes)
        else:
            for note in notes:
                sys.stderr.write(f"\naiounit: warning: {holder}: {note}\n")


def _hook_name(scope: Scope, index: int) -> str:
    return (CLASS_HOOKS if scope.is_class else MODULE_HOOKS)[index]


def _tear_down_name(scope: Scope) -> str:
    return f"{'tearDownClass' if scope.is_class else 'tearDownModule'} ({scope.name})"


async def _maybe_async(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    value = function(*args, **kwargs)
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


def _where(task: asyncio.Task[Any]) -> str | None:
    """The innermost frame of *task*'s await chain that is not a framework's."""
    from ._case import _is_framework

    found, coro = None, task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and not _is_framework(frame):
            found = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    from ._scheduler import _Task

    task = _Task(coro, loop=loop, **kwargs)
    owner = _FIXTURE.get()
    if owner is not None:
        owner.tasks.add(task)
    spawned = _SPAWNED.get()
    if spawned is not None:
        spawned.append(task)
    return task


def task_factory_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The task factory a group on a scope's *loop* must create its tasks with."""
    factory = loop.get_task_factory()
    return factory if factory is _task_factory else None


# -- opening and closing, from the fixture hooks ------------------------------------------


def _module_of(cls: type) -> ModuleType | None:
    return sys.modules.get(cls.__module__)


def _open_module_lazily(cls: type) -> None:
    """A foreign runner calls no module hook of ours: open the module's scope
    from the first class of it that is set up; close it as a module cleanup."""
    name = cls.__module__
    failure = _module_failures.get(name)
    if failure is not None:
        raise failure.with_traceback(failure.__traceback__)
    if name in _module_scopes or not has_module_fixtures(_module_of(cls)):
        return
    scope = Scope(_module_of(cls), None, getattr(cls, "loop_factory", None))  # type: ignore[arg-type]
    unittest.addModuleCleanup(_close_module_cleanup, name)
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

    def tearDownModule() -> None:  # noqa: N802
        try:
            _close_module_cleanup(module.__name__)
        except Exception as error:  # noqa: BLE001 - reported as a module cleanup
            unittest.addModuleCleanup(_reraise, error)
        if callable(original):
            original()

    def unhook() -> None:
        if module.__dict__.get("tearDownModule") is not tearDownModule:
            return
        if original is missing:
            del module.tearDownModule  # type: ignore[attr-defined]
        else:
            module.tearDownModule = original  # type: ignore[attr-defined]

    module.tearDownModule = tearDownModule  # type: ignore[attr-defined]
    return unhook


def _close_module_cleanup(name: str) -> None:
    _module_failures.pop(name, None)
    scope = _module_scopes.get(name)
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


def _new_class_scope(cls: type) -> Scope:
    parent = _module_scopes.get(cls.__module__)
    return Scope(cls, parent, getattr(cls, "loop_factory", None))


def after_set_up_class(cls: type) -> None:
    """The sync ``setUpClass`` of *cls* succeeded: open its loop scope."""
    if _deferred is not None:
        _deferred.append(cls)
        return
    _open_module_lazily(cls)
    if has_class_fixtures(cls) and cls not in _class_scopes:
        scope = _new_class_scope(cls)
        error = scope.open()
        if error is not None:
            _set_up_failed(cls, scope)
            raise error


def _set_up_failed(cls: type, scope: Scope) -> None:
    # The async cleanups already ran; their errors are raised from class
    # cleanups, which unittest runs (and reports as setUpClass errors) next.
    for cleanup_error in scope.close():
        cls.addClassCleanup(_reraise, cleanup_error)
    scope.tell_notes(None)


def before_tear_down_class(cls: type) -> None:
    """Close *cls*'s loop scope before its sync ``tearDownClass``; its errors are
    raised from class cleanups, which unittest reports as ``tearDownClass``."""
    errors = _closed_errors.pop(cls, [])
    scope = _class_scopes.get(cls)
    if scope is not None:
        errors += scope.close()
        scope.tell_notes(None)
    for error in errors:
        cls.addClassCleanup(_reraise, error)


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


def open_classes(classes: Iterable[type]) -> dict[type, BaseException]:
    """Open the scopes of *classes* together (on each loop); the failed ones."""
    failed: dict[type, BaseException] = {}
    scopes: list[Scope] = []
    for cls in classes:
        try:
            _open_module_lazily(cls)
        except BaseException as error:  # noqa: BLE001 - reported as setUpClass
            failed[cls] = error
            continue
        if has_class_fixtures(cls) and cls not in _class_scopes:
            scopes.append(_new_class_scope(cls))
    for runner, together in _by_runner(scopes):
        for scope in together:
            scope._register()
        _install_exit_hook()
        errors = runner.run(_gather([s._open for s in together], together))
        for scope, error in zip(together, errors, strict=True):
            if error is not None:
                scope._finish()
                _set_up_failed(scope.owner, scope)  # type: ignore[arg-type]
                failed[scope.owner] = error  # type: ignore[index]
    return failed


def replaying(cls: type, error: BaseException) -> None:
    """Make *cls*'s next ``setUpClass`` call raise *error* (and run nothing), so
    that unittest's ``_handleClassSetUp`` reports it as its own."""
    _replay[cls] = error


def close_classes(classes: Iterable[type], result: unittest.TestResult | None) -> None:
    """Close the scopes of *classes* together, before their ``tearDownClass``."""
    scopes = [_class_scopes[cls] for cls in classes if cls in _class_scopes]
    for runner, together in _by_runner(scopes):
        runner.run(_gather([s._close for s in together], together))
        for scope in together:
            scope._finish()
            _closed_errors.setdefault(scope.owner, []).extend(scope.errors)  # type: ignore[arg-type]
            scope.errors = []
            scope.tell_notes(result)


def _by_runner(scopes: list[Scope]) -> list[tuple[asyncio.Runner, list[Scope]]]:
    by: dict[int, tuple[asyncio.Runner, list[Scope]]] = {}
    for scope in scopes:
        by.setdefault(id(scope.runner), (scope.runner, []))[1].append(scope)
    return list(by.values())


async def _gather(parts: list[Callable[[], Any]], scopes: list[Scope]) -> list[Any]:
    loop = asyncio.get_running_loop()
    tasks = [
        loop.create_task(part(), context=scope.context)
        for part, scope in zip(parts, scopes, strict=True)
    ]
    for task, scope in zip(tasks, scopes, strict=True):
        scope.tasks.discard(task)
    return await asyncio.gather(*tasks)


def open_module(test: Any, suite: unittest.TestSuite, result: unittest.TestResult) -> None:
    """aiounit's suite: after ``setUpModule``, open the module's scope; a failure
    is reported as unittest reports a failing ``setUpModule``."""
    name = type(test).__module__
    module = sys.modules.get(name)
    if name in _module_scopes or not has_module_fixtures(module):
        return
    scope = Scope(module, None, getattr(test, "loop_factory", None))  # type: ignore[arg-type]
    unittest.addModuleCleanup(_close_module_cleanup, name)
    _call_if_exists(result, "_setupStdout")
    try:
        error = scope.open()
    finally:
        _call_if_exists(result, "_restoreStdout")
    if error is None:
        return
    result._moduleSetUpFailed = True  # type: ignore[attr-defined]
    for cleanup_error in scope.close():
        _report(suite, result, cleanup_error, "setUpModule", name)
    scope.tell_notes(result)
    try:
        unittest.case.doModuleCleanups()
    except Exception as exc:  # noqa: BLE001 - reported as unittest does
        _report(suite, result, exc, "setUpModule", name)
    _report(suite, result, error, "setUpModule", name)


def close_module(name: str, suite: unittest.TestSuite, result: unittest.TestResult) -> None:
    """aiounit's suite: close the module's scope before its ``tearDownModule``."""
    scope = _module_scopes.get(name)
    if scope is None:
        return
    for error in scope.close():
        _report(suite, result, error, "tearDownModule", name)
    scope.tell_notes(result)


def close_all(result: unittest.TestResult | None) -> None:
    """Close every open scope, classes first (the run was interrupted)."""
    for cls in list(_class_scopes):
        scope = _class_scopes[cls]
        for error in scope.close():
            _report_anywhere(result, error, f"tearDownClass ({scope.name})")
        scope.tell_notes(result)
    for name in list(_module_scopes):
        scope = _module_scopes[name]
        for error in scope.close():
            _report_anywhere(result, error, f"tearDownModule ({name})")
        scope.tell_notes(result)


def _report(
    suite: unittest.TestSuite, result: unittest.TestResult, error: BaseException, what: str, where: str
) -> None:
    info = (type(error), error, error.__traceback__)
    suite._createClassOrModuleLevelException(result, error, what, where, info=info)  # type: ignore[attr-defined]


def _report_anywhere(result: unittest.TestResult | None, error: BaseException, name: str) -> None:
    if result is not None:
        holder = unittest.suite._ErrorHolder(name)  # type: ignore[attr-defined]
        result.addError(holder, (type(error), error, error.__traceback__))
    else:
        import traceback

        text = "".join(traceback.format_exception(error))
        sys.stderr.write(f"\naiounit: error in {name}:\n{text}")


def _call_if_exists(result: unittest.TestResult, name: str) -> None:
    method = getattr(result, name, None)
    if method is not None:
        method()


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
    if cls in _class_scopes or cls.__module__ in _module_scopes:
        return True
    if not has_class_fixtures(cls) or getattr(cls, "__unittest_skip__", False):
        return False
    method = getattr(test, test._testMethodName, None)
    return not getattr(method, "__unittest_skip__", False)


def scope_of(test: unittest.TestCase) -> Scope | None:
    """The open scope *test* runs in, if any."""
    cls = type(test)
    return _class_scopes.get(cls) or _module_scopes.get(cls.__module__)


def loop_for(classes: Iterable[type]) -> asyncio.AbstractEventLoop | None:
    """The loop of the scope a group of tests of *classes* runs in, if any."""
    module = None
    for cls in classes:
        scope = _class_scopes.get(cls)
        if scope is not None:
            return scope.loop
        module = module or _module_scopes.get(cls.__module__)
    return module.loop if module is not None else None


def run_test(
    test: unittest.TestCase, result: unittest.TestResult | None, limit: float | None
) -> unittest.TestResult | None:
    """Run an ungrouped test of a class with async class fixtures, or in a
    module with async module fixtures, on its scope's loop, one at a time."""
    cls = type(test)
    scope = scope_of(test)
    temporary = None
    if has_class_fixtures(cls) and cls not in _class_scopes:
        # Run without setUpClass (``test.run()`` by hand, a runner that skips
        # class fixtures): the class's async fixtures run around this test.
        temporary = _new_class_scope(cls)
        error = temporary.open()
        if error is not None:
            result = result if result is not None else test.defaultTestResult()
            _report_anywhere_skip(result, error, f"setUpClass ({temporary.name})")
            return result
        scope = temporary
    assert scope is not None
    stop_test_run = None
    if result is None:
        result = test.defaultTestResult()
        start_test_run = getattr(result, "startTestRun", None)
        stop_test_run = getattr(result, "stopTestRun", None)
        if start_test_run is not None:
            start_test_run()
    try:
        from ._case import _context_of

        scope.runner.run(_run_one(test, result, limit, scope.grace), context=_context_of(test))
    finally:
        if temporary is not None:
            for error in temporary.close():
                _report_anywhere(result, error, f"tearDownClass ({temporary.name})")
            temporary.tell_notes(result)
        if stop_test_run is not None:
            stop_test_run()
    return result


def _report_anywhere_skip(result: unittest.TestResult, error: BaseException, name: str) -> None:
    if isinstance(error, unittest.SkipTest) and hasattr(result, "addSkip"):
        result.addSkip(unittest.suite._ErrorHolder(name), str(error))  # type: ignore[attr-defined]
    else:
        _report_anywhere(result, error, name)


async def _run_one(
    test: unittest.TestCase, result: unittest.TestResult, limit: float | None, grace: float
) -> None:
    from ._case import run_case

    spawned: list[asyncio.Task[Any]] = []
    token = _SPAWNED.set(spawned)
    try:
        await run_case(test, result, limit)
    finally:
        _SPAWNED.reset(token)
        # What a test leaves running is cancelled at its end, as its own loop's
        # closing would have done in the stdlib; fixture tasks go on.
        pending = [t for t in spawned if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace)


# -- AsyncTestCase's side -----------------------------------------------------------------


def _wrap_set_up_class(function: Callable[[type], Any]) -> Callable[[type], Any]:
    @functools.wraps(function)
    def setUpClass(cls: type) -> Any:  # noqa: N802
        error = _replay.pop(cls, None)
        if error is not None:
            raise error
        if cls in _in_hook:  # super().setUpClass() from an override
            return function(cls)
        if _deferred is None:
            # Module fixtures come before any class's: setUpModule (unittest's),
            # asyncSetUpModule, then setUpClass.
            _open_module_lazily(cls)
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
    def tearDownClass(cls: type) -> Any:  # noqa: N802
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

    setUpClass = classmethod(_wrap_set_up_class(_no_op_class))
    tearDownClass = classmethod(_wrap_tear_down_class(_no_op_class))

    @classmethod
    async def asyncSetUpClass(cls) -> None:  # noqa: N802
        """Hook method for setting up the class fixture on its event loop.

        Called once, after ``setUpClass``, on the loop every test of the class
        then runs on.
        """

    @classmethod
    async def asyncTearDownClass(cls) -> None:  # noqa: N802
        """Hook method for deconstructing the class fixture, once, after the
        class's last test, before ``tearDownClass``."""

    @classmethod
    def addAsyncClassCleanup(  # noqa: N802
        cls, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> None:
        """Call ``function(*args, **kwargs)`` (awaited if it is a coroutine
        function) on the class's loop after ``asyncTearDownClass``, last in
        first out, even if ``asyncSetUpClass`` failed."""
        if not callable(function):
            msg = f"addAsyncClassCleanup(): function must be callable, not {function!r}"
            raise TypeError(msg)
        scope = _class_scopes.get(cls)
        if scope is None or scope.closed:
            msg = (
                f"{cls.__qualname__}.addAsyncClassCleanup() must be called while the"
                " class's async fixtures run (asyncSetUpClass, asyncTearDownClass or a test)"
            )
            raise RuntimeError(msg)
        scope.cleanups.append((function, args, kwargs))

    @classmethod
    async def enterAsyncClassContext(cls, cm: Any) -> Any:  # noqa: N802
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
    scope = _FIXTURE.get()
    while scope is not None and scope.is_class:
        scope = scope.parent
    if scope is None or scope.closed:
        msg = (
            f"aiounit.{what}() must be called while a module's async fixtures run"
            " (asyncSetUpModule or asyncTearDownModule)"
        )
        raise RuntimeError(msg)
    return scope


def addAsyncModuleCleanup(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:  # noqa: N802
    """Call ``function(*args, **kwargs)`` (awaited if it is a coroutine function)
    on the module's loop after ``asyncTearDownModule``, last in first out."""
    if not callable(function):
        msg = f"addAsyncModuleCleanup(): function must be callable, not {function!r}"
        raise TypeError(msg)
    _module_scope_here("addAsyncModuleCleanup").cleanups.append((function, args, kwargs))


async def enterAsyncModuleContext(cm: Any) -> Any:  # noqa: N802
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
            f"{label} has members in {_strclass(first)} and {_strclass(second)}, which"
            " both have async class fixtures (asyncSetUpClass/asyncTearDownClass), so each"
            " runs its tests on an event loop of its own, but a group runs on one loop."
            " Share the fixtures at module level (asyncSetUpModule), or split the group."
        )
        raise LoopScopeError(msg)
