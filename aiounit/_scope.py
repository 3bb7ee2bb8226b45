"""Loop scopes: one event loop for a class's or a module's tests and async fixtures.

A class with async class fixtures (``asyncSetUpClass``/``asyncTearDownClass``)
or a module with async module fixtures (``asyncSetUpModule``/
``asyncTearDownModule``) owns a *loop scope*: one ``asyncio.Runner`` whose loop
lives from before the async setup to after the last async cleanup.  Every test
of the class (module) runs on that loop: a group as a whole (``run_group`` with
the scope's loop), an ungrouped test one at a time (``run_in``).  A class scope
inside a module scope borrows the module's loop.

This module is the engine: a ``Scope`` runs its fixture calls, each bounded by
the limit and in a task of its own, in a context that marks the tasks they
start as the scope's, and charges those still running at its end to it.  When
scopes open and close, and how their errors reach results, is ``_fixtures``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import sys
import unittest
import weakref
from collections.abc import Callable, Iterable
from types import ModuleType

from . import _config
from ._alone import is_framework as _is_framework
from ._errors import LeakedTaskError, TestTimeoutError
from ._fixture_faults import FIXTURE, Timed, exception_handler
from ._marks import class_timeout
from ._report import tell_notes as _tell_notes
from ._stdlib import ErrorHolder, quiet_pending, unretrieved_error
from ._tasks import Task, describe, loop_error_note

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

CLASS_HOOKS = ("asyncSetUpClass", "asyncTearDownClass")
MODULE_HOOKS = ("asyncSetUpModule", "asyncTearDownModule")

class_scopes: dict[type, Scope] = {}
module_scopes: dict[str, Scope] = {}


# A module whose async setup failed under a foreign runner: each class of it
# re-raises the failure from its setUpClass (unittest has no module hook to
# report it from).
class LoopScopeError(Exception):
    """A group whose members would need two event loops (a usage error)."""


def strclass(cls: type) -> str:
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
        self.name = strclass(owner) if isinstance(owner, type) else owner.__name__
        self.parent = parent
        self.limit = (
            class_timeout(owner, config.timeout) if isinstance(owner, type) else (config.timeout)
        )
        self.grace = config.grace
        self.fail_on_leaks = config.fail_on_leaks
        self.fail_on_loop_errors = config.fail_on_loop_errors
        self.runner: asyncio.Runner
        self.context: contextvars.Context
        if parent is not None:
            self.runner = parent.runner
            # What the module's fixtures set in their context, its classes' see.
            self.context = parent.context.copy()
        else:
            self.runner = asyncio.Runner(debug=config.debug, loop_factory=loop_factory)
            self.runner.get_loop().set_task_factory(_task_factory)
            self.runner.get_loop().set_exception_handler(exception_handler)
            self.context = contextvars.copy_context()
        self.context.run(FIXTURE.set, self)
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.cleanups: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.set_up = False
        self.closed = False
        self.errors: list[BaseException] = []
        self.notes: list[str] = []
        # Raised in the loop by what the fixtures scheduled (callbacks, tasks
        # nobody awaited): asyncio would only log them; they are the scope's.
        self.loop_errors: list[BaseException] = []
        # Set by _fixtures: gives the module its own tearDownModule back.
        self.unhook: Callable[[], None] = lambda: None
        self.lazy = False  # opened by a class of the module, not by our suite

    def __repr__(self) -> str:
        return f"<loop scope of {self.name}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = self.runner.get_loop()
        return loop

    def _hook(self, index: int) -> Callable[[], Any] | None:
        if self.is_class:
            return getattr(self.owner, CLASS_HOOKS[index])  # type: ignore[no-any-return]
        return getattr(self.owner, MODULE_HOOKS[index], None)

    def _register(self) -> None:
        if isinstance(self.owner, type):
            class_scopes[self.owner] = self
        else:
            module_scopes[self.owner.__name__] = self

    def _unregister(self) -> None:
        if isinstance(self.owner, type):
            class_scopes.pop(self.owner, None)
        else:
            module_scopes.pop(self.owner.__name__, None)
            self.unhook()

    # -- async parts (run on the loop, in the scope's context) ------------------------

    async def _open(self) -> BaseException | None:
        if not self.is_class:
            # As for the class hooks (checked when the class is made) and the
            # stdlib's asyncSetUp: a plain function would not be awaited on the
            # module's loop, which is the point of the hook.
            for name in MODULE_HOOKS:
                hook = getattr(self.owner, name, None)
                if hook is not None and not inspect.iscoroutinefunction(hook):
                    return TypeError(f"{self.name}.{name} must be a coroutine function (async def)")
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
        self._charge_loop_errors()

    def _keep(self, error: BaseException | None) -> None:
        if error is not None:
            self.errors.append(error)

    async def _call(
        self, function: Callable[..., Any], /, *args: Any, what: str, **kwargs: Any
    ) -> BaseException | None:
        """Run one fixture call in a task of its own, bounded by the limit; its error."""
        loop = asyncio.get_running_loop()
        timed = Timed(_maybe_async(function, *args, **kwargs))
        task = loop.create_task(timed, context=self.context)
        self.tasks.discard(task)
        started = loop.time()
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
            # Not a CancelledError: raised from setUpClass (a BaseException),
            # unittest would not catch it and the whole run would end.
            return RuntimeError(f"{what} of {self.name} was cancelled")
        error = task.exception()
        elapsed = loop.time() - started
        limit = self.limit
        if error is None and limit is not None and elapsed > limit >= elapsed - timed.busy:
            # It finished past its limit only because its own steps kept the
            # loop busy, so no asyncio timeout could fire (a peer's block, which
            # delays it as much, is not counted).  Still past the limit.
            message = (
                f"{what} of {self.name} did not finish within {limit:g} s;"
                f" it blocked the event loop for {timed.busy:.2f} s and took {elapsed:.2f} s"
            )
            return TestTimeoutError(message)
        if error is not None and not isinstance(error, Exception):
            # Any other BaseException would end the run from setUpClass, too.
            wrapped = RuntimeError(f"{what} of {self.name} raised {type(error).__name__}")
            wrapped.__cause__ = error
            return wrapped
        return error

    async def _settle_tasks(self) -> None:
        leaked = [t for t in self.tasks if not t.done()]
        if not leaked:
            return
        names = ", ".join(describe(t) for t in leaked)
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

    def _charge_loop_errors(self) -> None:
        for task in list(self.tasks):
            if task.done() and unretrieved_error(task):
                error = task.exception()  # also keeps asyncio from logging it again
                assert error is not None
                error.add_note(f"aiounit: raised in task {task.get_name()}, which nobody awaited")
                self.loop_errors.append(error)
        errors, self.loop_errors = self.loop_errors, []
        for error in errors:
            if self.fail_on_loop_errors or isinstance(error, SystemExit):
                self.errors.append(error)
            else:
                self.notes.append(loop_error_note((type(error), error, error.__traceback__)))

    # -- sync entry points ------------------------------------------------------------

    def open(self) -> BaseException | None:
        """Run the async setup; on failure the scope is already closed again."""
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
            self._close_loop()

    def _close_loop(self) -> None:
        loop = self.loop
        stuck = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if stuck:
            for task in stuck:
                task.cancel()
            self.runner.run(asyncio.wait(stuck, timeout=self.grace))
            stuck = [t for t in stuck if not t.done()]
        if not stuck:
            self.runner.close()
            return
        # A task that ignores its cancellation (it was reported: a fixture's
        # leak, a test given up on): Runner.close() would wait for it forever,
        # and the run must end; asyncio's "destroyed but pending" is no news.
        for task in stuck:
            quiet_pending(task)
        with contextlib.suppress(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), self.grace))
        loop.close()

    def tell_notes(self, result: unittest.TestResult | None) -> None:
        notes, self.notes = self.notes, []
        if not notes:
            return
        holder = ErrorHolder(_tear_down_name(self))
        if result is not None:
            _tell_notes(result, holder, notes)
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
    found = None
    coro: Any = task.get_coro()
    if isinstance(coro, Timed):
        coro = coro.coro
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and not _is_framework(frame):
            found = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    task = Task(coro, loop=loop, **kwargs)
    owner = FIXTURE.get()
    if owner is not None:
        owner.tasks.add(task)
        task.aiounit_scope = owner  # type: ignore[attr-defined]  # for its logged errors
    return task


def task_factory_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The task factory a group on a scope's *loop* must create its tasks with."""
    factory = loop.get_task_factory()
    return factory if factory is _task_factory else None


# -- opening and closing, from the fixture hooks ------------------------------------------


def by_runner(scopes: list[Scope]) -> list[tuple[asyncio.Runner, list[Scope]]]:
    by: dict[int, tuple[asyncio.Runner, list[Scope]]] = {}
    for scope in scopes:
        by.setdefault(id(scope.runner), (scope.runner, []))[1].append(scope)
    return list(by.values())


async def gather_in_scopes(parts: list[Callable[[], Any]], scopes: list[Scope]) -> list[Any]:
    loop = asyncio.get_running_loop()
    tasks = [
        loop.create_task(part(), context=scope.context)
        for part, scope in zip(parts, scopes, strict=True)
    ]
    for task, scope in zip(tasks, scopes, strict=True):
        scope.tasks.discard(task)
    return await asyncio.gather(*tasks)


def report_anywhere(result: unittest.TestResult | None, error: BaseException, name: str) -> None:
    if result is not None:
        holder = ErrorHolder(name)
        result.addError(holder, (type(error), error, error.__traceback__))  # type: ignore[arg-type]
    else:
        import traceback

        text = "".join(traceback.format_exception(error))
        sys.stderr.write(f"\naiounit: error in {name}:\n{text}")


def scope_of(test: unittest.TestCase) -> Scope | None:
    """The open scope *test* runs in, if any."""
    cls = type(test)
    return class_scopes.get(cls) or module_scopes.get(cls.__module__)


def loop_for(classes: Iterable[type]) -> asyncio.AbstractEventLoop | None:
    """The loop of the scope a group of tests of *classes* runs in, if any."""
    module = None
    for cls in classes:
        scope = class_scopes.get(cls)
        if scope is not None:
            return scope.loop
        module = module or module_scopes.get(cls.__module__)
    return module.loop if module is not None else None
