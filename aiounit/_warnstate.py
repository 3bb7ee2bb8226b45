"""Per-test warning filters while the tests of a group run together.

``warnings.filters``, ``warnings.showwarning`` and ``warnings._showwarnmsg_impl``
are process-wide, and ``catch_warnings`` (so ``assertWarns``) saves and restores
them around a block.  Two tests of a group inside such blocks at once would
restore each other's state out of order, catch or hide each other's warnings,
and leave filters behind after the group.

During a group, each member sees its own copy of that state, made from the
state when the group started, the first time the test touches it.

* Up to 3.13, the ``warnings`` module's class is swapped for a subclass whose
  properties answer with the running test's copy and with the real state
  everywhere else.  The C ``warn()`` and ``catch_warnings`` look these names
  up as module attributes, so they see the test's copy; ``warnings.py``'s own
  functions that read them as globals (``_add_filter``, which
  ``simplefilter``/``filterwarnings`` call, ``resetwarnings``,
  ``_showwarnmsg``) are replaced by versions that go through the attributes.
* From 3.14 on, ``warnings`` can keep its state in a context variable (what
  ``-X context_aware_warnings`` turns on for the whole process), and the C
  ``warn()`` honours that variable whenever it is set.  During a group the
  Python side is switched to it, and its lookup of the current state answers,
  in a test with nothing set yet, with the test's own copy.  (Properties on a
  module subclass cannot be used there: 3.14's specializing interpreter reads
  a module attribute from the module's dict, past the property.)

When the group ends, the module is put back as it was: the process's filters
are exactly those it had before the group, whatever the tests did.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Callable, Iterator

from ._capture import CURRENT
from ._stdlib import (
    SINCE_314,
    WARNINGS_STATE,
    context_filters,
    filters_mutated,
    py_warnings_module,
    record_warning,
    set_uses_context,
    show_warning_message,
    showwarning_orig,
    uses_context,
    warnings_context_class,
    warnings_context_var,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_NAMES = WARNINGS_STATE
# 3.14+: warnings keeps its state in a context when asked to (_py_warnings).
_CONTEXTS = SINCE_314


class _View:
    """One test's copy of the warning state."""

    __slots__ = _NAMES

    filters: list[Any]
    showwarning: Any
    _showwarnmsg_impl: Any


class _Installed:
    """The warnings module as it was, and every member's view of it."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.saved_class = module.__class__
        self.real = {name: module.__dict__[name] for name in _NAMES}
        # the process's filters, as they must be after the group
        self.filters = module.__dict__["filters"]
        self.saved_filters = list(self.filters)
        self.replaced: dict[str, Any] = {}
        self.views: dict[Any, Any] = {}
        self.lock = threading.Lock()
        # 3.14+ only
        self.py_module: Any = None
        self.use_context = False
        self.detach: Callable[[], object] = lambda: None

    def view(self) -> _View | None:
        member = CURRENT.get()
        if member is None or member.finished:
            return None
        view = self.views.get(member)
        if view is None:
            with self.lock:
                view = self.views.get(member)
                if view is None:
                    view = _View()
                    view.filters = list(self.real["filters"])
                    view.showwarning = self.real["showwarning"]
                    view._showwarnmsg_impl = self.real["_showwarnmsg_impl"]
                    self.views[member] = view
        return view


_installed: _Installed | None = None
_module_class: type | None = None  # made once: a class per group costs a group 70 us
_depth = 0
_install_lock = threading.Lock()


def _property(name: str) -> property:
    def get(module: types.ModuleType) -> Any:
        installed = _installed
        assert installed is not None
        view = installed.view()
        return installed.real[name] if view is None else getattr(view, name)

    def set_(module: types.ModuleType, value: Any) -> None:
        installed = _installed
        assert installed is not None
        view = installed.view()
        if view is None:
            installed.real[name] = value
        else:
            setattr(view, name, value)

    return property(get, set_)


# -- replacements for warnings.py's global readers (3.11-3.13) --------------------


def _warnings() -> Any:
    # Private names of warnings differ between versions: no static types.
    import warnings

    return warnings


def _add_filter(*item: Any, append: bool) -> None:
    warnings = _warnings()
    filters = warnings.filters
    if not append:
        with contextlib.suppress(ValueError):
            filters.remove(item)
        filters.insert(0, item)
    elif item not in filters:
        filters.append(item)
    filters_mutated(warnings)


def _resetwarnings() -> None:
    warnings = _warnings()
    warnings.filters[:] = []
    filters_mutated(warnings)


def _showwarnmsg(msg: Any) -> None:
    warnings = _warnings()
    show = warnings.showwarning
    if show is not showwarning_orig(warnings):
        if not callable(show):
            raise TypeError("warnings.showwarning() must be set to a function or method")
        show(msg.message, msg.category, msg.filename, msg.lineno, msg.file, msg.line)
        return
    show_warning_message(warnings, msg)


def _showwarnmsg_impl(msg: Any) -> None:
    # What the original showwarning() calls as a global: the test's own impl.
    show_warning_message(_warnings(), msg)


_REPLACEMENTS = {
    "_add_filter": _add_filter,
    "resetwarnings": _resetwarnings,
    "_showwarnmsg": _showwarnmsg,
}


@contextlib.contextmanager
def per_test_warnings() -> Iterator[None]:
    """Give each member of the running group its own warning filters.

    Re-entrant (a group run from a thread of another group's member shares the
    views); the state is put back when the outermost one exits.
    """
    global _depth
    with _install_lock:
        # Not when someone else swapped the module's class: leave it alone.
        active = _depth > 0 or _install()
        if active:
            _depth += 1
    if not active:
        yield
        return
    try:
        yield
    finally:
        with _install_lock:
            _depth -= 1
            if _depth == 0:
                _uninstall()


def _install() -> bool:
    global _installed
    import warnings

    module = warnings
    if type(module) is not types.ModuleType or not all(n in module.__dict__ for n in _NAMES):
        return False
    installed = _Installed(module)
    _installed = installed
    if _CONTEXTS:
        _install_contexts(installed)
        return True
    for name, function in _REPLACEMENTS.items():
        installed.replaced[name] = module.__dict__[name]
        module.__dict__[name] = function
    # the original showwarning() calls it as a global; the property, read as
    # an attribute, still answers with the real or the test's one
    installed.replaced["_showwarnmsg_impl"] = module.__dict__["_showwarnmsg_impl"]
    module.__dict__["_showwarnmsg_impl"] = _showwarnmsg_impl
    global _module_class
    if _module_class is None:
        namespace = {name: _property(name) for name in _NAMES}
        _module_class = type("_PerTestWarningsModule", (types.ModuleType,), namespace)
    module.__class__ = _module_class
    _forget_specializations(module)
    return True


_test_context: Any = None


def _test_context_class(py_warnings: Any) -> Any:
    global _test_context
    if _test_context is None:

        class _TestContext(warnings_context_class(py_warnings)):  # type: ignore[misc]
            """A test's own state; once the group is over, the process's again."""

            def __init__(self, filters: list[Any] | None, member: Any) -> None:
                self.own = filters
                self.member = member
                self.log: list[Any] | None = None

            @property
            def _filters(self) -> list[Any]:
                return sys.modules["warnings"].filters if self.own is None else self.own

            def copy(self) -> Any:
                # catch_warnings in the test: still the test's
                context = _TestContext(self._filters[:], self.member)
                context.log = self.log
                return context

        _test_context = _TestContext
    return _test_context


def _install_contexts(installed: _Installed) -> None:
    py_warnings = py_warnings_module()
    module: Any = installed.module
    var = warnings_context_var(module)
    original_get_context = module.__dict__["_get_context"]
    installed.py_module = py_warnings
    installed.use_context = uses_context(py_warnings)
    contexts = installed.views

    test_context = _test_context_class(py_warnings)

    def _get_context() -> Any:
        member = CURRENT.get()
        context = var.get(None)
        if member is None or member.finished:
            return context if context is not None else original_get_context()
        if context is not None and getattr(context, "member", None) is member:
            return context  # the test's own, or a catch_warnings copy of it
        # The test's first use of warnings, or a context it inherited from the
        # run (a catch_warnings around it, with context_aware_warnings): from
        # now on it has its own copy.
        base = contexts.get(member)
        if base is None:
            with installed.lock:
                base = contexts.get(member)
                if base is None:
                    source = context if context is not None else original_get_context()
                    base = contexts[member] = test_context(list(context_filters(source)), member)
                    base.log = source.log
        # Set where the test runs, so that the C warn() sees it from now on
        # (before, the filters it saw were what the copy holds).
        var.set(base)
        return base

    outer_impl = module.__dict__["_showwarnmsg_impl"]

    def _showwarnmsg_impl(msg: Any) -> None:
        # A catch_warnings(record=True) of the process, entered before the group
        # without context_aware_warnings, put its log.append here; a test's own
        # recording context must still come first.
        context = _get_context()
        if context.log is not None:
            record_warning(context, msg)
        else:
            outer_impl(msg)

    def detach() -> None:
        for context in contexts.values():
            context.own = context.member = None

    installed.detach = detach
    installed.replaced["_get_context"] = original_get_context
    module.__dict__["_get_context"] = _get_context
    module.__dict__["_showwarnmsg_impl"] = _showwarnmsg_impl
    set_uses_context(py_warnings, True)


def _forget_specializations(module: types.ModuleType) -> None:
    # The specializing interpreter (3.12+) caches ``module.name`` as a read of
    # the module's dict, guarded by the version of the dict's keys only, not by
    # the module's class: code that ran before the swap would go on bypassing
    # the properties.  Adding and removing a key gives the keys a new version.
    module.__dict__["_aiounit_swapped"] = None
    del module.__dict__["_aiounit_swapped"]


def _uninstall() -> None:
    global _installed
    installed = _installed
    assert installed is not None
    module = installed.module
    if installed.py_module is not None:
        set_uses_context(installed.py_module, installed.use_context)
        # A test's context may keep its state set (a test's context object
        # outlives the group); from now on it reads the process's filters.
        installed.detach()
    else:
        module.__class__ = installed.saved_class
        _forget_specializations(module)
    for name, value in installed.replaced.items():
        module.__dict__[name] = value
    # Up to 3.13, values set outside any test during the group were kept
    # aside (and the dict entry of _showwarnmsg_impl was a forwarder); from
    # 3.14, catch_warnings still saves and restores showwarning in the module,
    # which tests may have done out of order.
    for name, value in installed.real.items():
        module.__dict__[name] = value
    # Exactly the filters of before the group, the same list too, whatever
    # changed them: from 3.14 a test that edits the list ``warnings.filters``
    # itself (not through simplefilter or catch_warnings) edits the process's.
    module.__dict__["filters"] = installed.filters
    if installed.filters != installed.saved_filters:
        installed.filters[:] = installed.saved_filters
    _installed = None
    installed.views.clear()
    # Registries of "already shown" warnings were filled under the tests' filters.
    filters_mutated(_warnings())
