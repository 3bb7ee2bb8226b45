"""Every private part of CPython's stdlib that aiounit relies on, in one place.

aiounit extends unittest and asyncio from the inside: it reports through
unittest's private helpers, drives its suite's fixture handlers, overrides
``IsolatedAsyncioTestCase``'s private hooks and reads asyncio handles' context.
None of that is public API, so any CPython release may change it.  Here each
such name gets a small accessor or alias, with what it relies on; ``NAMES``
lists every private name aiounit touches, where it lives, the CPython versions
it was checked on and which modules of aiounit use it.

``tests/test_stdlib_drift.py`` checks that each name in ``NAMES`` still exists,
and fingerprints the source of each stdlib function aiounit copies, overrides
or depends on, per CPython version: on a new CPython it fails, naming what to
re-check (see docs/design.md, "Stdlib internals").

The version differences aiounit works around are flags here too (``IS_311``…),
and the 3.11-only code lives in this module's "3.11 only" section, but for a
few one-line ``IS_311`` guards: dropping 3.11 is deleting that section and the
flag, then the guards mypy and ruff point at.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import operator
import os
import sys
import time
import unittest
from unittest.runner import _WritelnDecorator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__unittest = True

#: The CPython releases every entry below was checked on (``NAMES`` says where
#: a name exists only from some version on).
CHECKED_ON: Final = ("3.11.7", "3.12.1", "3.13.0", "3.14.10", "3.15.2")

# -- versions ------------------------------------------------------------------------
# mypy treats these as the constants they are for its python_version (3.11), as
# it would the sys.version_info tests they replace (pyproject: always_true/false).

#: 3.11: no TestCase durations, no ``--durations``, deprecated assert aliases
#: shown once per module by ``-W default``.  Drop 3.11: see "3.11 only" below.
IS_311: Final = sys.version_info < (3, 12)
#: 3.13 only: ``create_task`` calls ``set_name(None)`` on a factory's task.
IS_313: Final = sys.version_info[:2] == (3, 13)
#: 3.14+: coloured unittest output, context-aware warnings, the warning text for
#: a test method that returns a value names its type.
SINCE_314: Final = sys.version_info >= (3, 14)
#: 3.15+: ``doModuleCleanups`` raises every failed cleanup at once (an ExceptionGroup).
SINCE_315: Final = sys.version_info >= (3, 15)

# -- unittest.case ---------------------------------------------------------------------
# Module-level aliases: the hot paths call them once per test part.

#: ``_Outcome``: run_case's part executor (_AsyncOutcome) subclasses it.
Outcome: Any = unittest.case._Outcome  # type: ignore[attr-defined]
#: ``_ShouldStop``: what a stopping subTest raises; the part executor swallows it.
ShouldStop: Any = unittest.case._ShouldStop  # type: ignore[attr-defined]
#: ``_SubTest``: the subtest object a result receives; -j rebuilds one in the parent.
SubTest: Any = unittest.case._SubTest  # type: ignore[attr-defined]
#: ``_subtest_msg_sentinel``: the "no message" of a subTest() call.
SUBTEST_MSG_SENTINEL: Any = unittest.case._subtest_msg_sentinel  # type: ignore[attr-defined]
#: ``_addError(result, test, exc_info)``: an error, as a part executor reports it
#: (a failure if it is the test's failureException).
add_error: Any = unittest.case._addError  # type: ignore[attr-defined]
#: ``_addSkip(result, test, reason)``: a skip, or a RuntimeWarning for a result without addSkip.
add_skip: Any = unittest.case._addSkip  # type: ignore[attr-defined]

#: ``test._testMethodName``: the name of the method the test runs.
method_name: Any = operator.attrgetter("_testMethodName")
#: ``test._cleanups``: the test's pending cleanups, a list popped from its end.
cleanups_of: Any = operator.attrgetter("_cleanups")


def set_outcome(test: unittest.TestCase, outcome: Any) -> None:
    """``test._outcome``: what ``subTest`` and the result of a running test go through."""
    test._outcome = outcome  # type: ignore[attr-defined]


def add_expected_failure(test: unittest.TestCase, result: Any, exc_info: Any) -> None:
    """``test._addExpectedFailure``: addExpectedFailure, or a RuntimeWarning if missing."""
    test._addExpectedFailure(result, exc_info)  # type: ignore[attr-defined]


def add_unexpected_success(test: unittest.TestCase, result: Any) -> None:
    """``test._addUnexpectedSuccess``: addUnexpectedSuccess, or addFailure if missing."""
    test._addUnexpectedSuccess(result)  # type: ignore[attr-defined]


def duration_adder(test: unittest.TestCase) -> Any:
    """``test._addDuration`` (3.12+, None before): addDuration, warning if missing."""
    return getattr(test, "_addDuration", None)


def class_setup_failed(cls: type) -> bool:
    """``cls._classSetupFailed``: the suite set it when ``setUpClass`` failed."""
    return bool(getattr(cls, "_classSetupFailed", False))


def class_cleanups(cls: type) -> Any:
    """``cls._class_cleanups``: the class's pending ``addClassCleanup`` calls."""
    return getattr(cls, "_class_cleanups", None)


def module_cleanups_pending() -> bool:
    """``unittest.case._module_cleanups``: ``addModuleCleanup`` calls not run yet."""
    return bool(unittest.case._module_cleanups)  # type: ignore[attr-defined]


# -- unittest.async_case ---------------------------------------------------------------

#: The private hooks through which ``IsolatedAsyncioTestCase.run`` drives a
#: test (its own runner, then each part).  AsyncTestCase overrides them (to add
#: the time limit) and calls the stdlib's by name; a group runs a member whose
#: class overrides one of them alone.
ASYNC_CASE_HOOKS: Final = (
    "_setupAsyncioRunner",
    "_tearDownAsyncioRunner",
    "_callSetUp",
    "_callTearDown",
    "_callTestMethod",
    "_callAsync",
    "_callMaybeAsync",
    "_callCleanup",
)


# The stdlib's own hooks, which AsyncTestCase's overrides call by name (not
# through super(): run_bounded lends those overrides to a plain
# IsolatedAsyncioTestCase too).
_IATC: Any = unittest.IsolatedAsyncioTestCase
iatc_call_set_up: Any = _IATC._callSetUp
iatc_call_tear_down: Any = _IATC._callTearDown
iatc_call_async: Any = _IATC._callAsync
iatc_call_maybe_async: Any = _IATC._callMaybeAsync
iatc_call_cleanup: Any = _IATC._callCleanup


def async_runner(test: unittest.TestCase) -> Any:
    """``test._asyncioRunner``: the Runner ``IsolatedAsyncioTestCase.run`` drives
    the test's parts with, from ``_setupAsyncioRunner`` to ``_tearDownAsyncioRunner``."""
    return test._asyncioRunner  # type: ignore[attr-defined]


def set_async_runner(test: unittest.TestCase, runner: Any) -> None:
    test._asyncioRunner = runner  # type: ignore[attr-defined]


def async_test_context(test: unittest.TestCase) -> Any:
    """``test._asyncioTestContext`` (None if absent): the context copied when an
    ``IsolatedAsyncioTestCase`` was built, which every part of it runs in."""
    return getattr(test, "_asyncioTestContext", None)


# -- unittest.suite --------------------------------------------------------------------
# The fixture handlers go through the suite itself: a subclass may override
# them (aiounit's -j batch suite does).

#: ``_ErrorHolder(description)``: what a result is told about in place of a
#: test that is not one (a class or module fixture, a group's loop).
ErrorHolder: Any = unittest.suite._ErrorHolder  # type: ignore[attr-defined]
#: ``_isnotsuite(test)``: a test, not a suite (it has no ``__iter__``).
isnotsuite: Any = unittest.suite._isnotsuite  # type: ignore[attr-defined]


def suite_tests(suite: unittest.BaseTestSuite) -> list[Any]:
    """``suite._tests``: its tests, as a list (``None`` where one was already run and freed)."""
    return suite._tests


def release_test(suite: unittest.BaseTestSuite, index: int) -> None:
    """As the suite frees a test it ran (``_cleanup``, ``_removeTestAtIndex``)."""
    if suite._cleanup:  # type: ignore[attr-defined]
        suite._removeTestAtIndex(index)  # type: ignore[attr-defined]


def handle_module_fixture(suite: unittest.TestSuite, test: Any, result: Any) -> None:
    """``suite._handleModuleFixture``: tear down the previous module, set up *test*'s."""
    suite._handleModuleFixture(test, result)  # type: ignore[attr-defined]


def handle_class_set_up(suite: unittest.TestSuite, test: Any, result: Any) -> None:
    """``suite._handleClassSetUp``: ``setUpClass`` of *test*'s class, if not done."""
    suite._handleClassSetUp(test, result)  # type: ignore[attr-defined]


def tear_down_previous_class(suite: unittest.TestSuite, test: Any, result: Any) -> None:
    """``suite._tearDownPreviousClass``: ``tearDownClass`` of ``previous_class(result)``."""
    suite._tearDownPreviousClass(test, result)  # type: ignore[attr-defined]


def handle_module_tear_down(suite: unittest.TestSuite, result: Any) -> None:
    """``suite._handleModuleTearDown``: ``tearDownModule`` of the previous class's module."""
    suite._handleModuleTearDown(result)  # type: ignore[attr-defined]


def previous_module(suite: unittest.TestSuite, result: Any) -> str | None:
    """``suite._get_previous_module``: the module of ``previous_class(result)``."""
    return suite._get_previous_module(result)  # type: ignore[attr-defined,no-any-return]


def report_fixture_error(
    suite: unittest.TestSuite, result: Any, error: BaseException, what: str, where: str
) -> None:
    """``suite._createClassOrModuleLevelException``: *error* of fixture *what*
    (``setUpModule``…) of *where*, reported as the stdlib reports its own."""
    info = (type(error), error, error.__traceback__)
    suite._createClassOrModuleLevelException(result, error, what, where, info=info)  # type: ignore[attr-defined]


# The state a suite keeps on the result across nested suites.


def previous_class(result: Any) -> Any:
    """``result._previousTestClass``: the class whose ``setUpClass`` ran last."""
    return getattr(result, "_previousTestClass", None)


def set_previous_class(result: Any, cls: type | None) -> None:
    result._previousTestClass = cls


def module_setup_failed(result: Any) -> bool:
    """``result._moduleSetUpFailed``: the current module's ``setUpModule`` failed."""
    return bool(getattr(result, "_moduleSetUpFailed", False))


def set_module_setup_failed(result: Any) -> None:
    result._moduleSetUpFailed = True


def run_entered(result: Any) -> bool:
    """``result._testRunEntered``: an outer suite runs (it tears the fixtures down)."""
    return getattr(result, "_testRunEntered", False) is not False


def set_run_entered(result: Any, value: bool) -> None:
    result._testRunEntered = value


# -- unittest.result -------------------------------------------------------------------
# -b: TestResult._setupStdout/_restoreStdout swap sys.stdout/sys.stderr for
# _stdout_buffer/_stderr_buffer, and _mirrorOutput says a failure's output is
# to be shown (in _restoreStdout) on _original_stdout/_original_stderr.


#: ``unittest.runner._WritelnDecorator``: the stream a TextTestResult writes to.
WritelnDecorator = _WritelnDecorator


def setup_stdout(result: Any) -> None:
    """``result._setupStdout()``, if it has one (-b starts capturing)."""
    method = getattr(result, "_setupStdout", None)
    if method is not None:
        method()


def restore_stdout(result: Any) -> None:
    """``result._restoreStdout()``, if it has one (-b ends capturing, shows a failure's output)."""
    method = getattr(result, "_restoreStdout", None)
    if method is not None:
        method()


def output_buffers(result: Any) -> tuple[Any, Any]:
    """``(result._stdout_buffer, result._stderr_buffer)``: -b's captures, or Nones."""
    return getattr(result, "_stdout_buffer", None), getattr(result, "_stderr_buffer", None)


def set_output_buffers(result: Any, stdout: Any, stderr: Any) -> None:
    """Make -b capture into *stdout* and *stderr* (``_setupStdout`` makes its
    own ``StringIO`` buffers only while these are None)."""
    result._stdout_buffer = stdout
    result._stderr_buffer = stderr


def mirror_output(result: Any) -> bool:
    """``result._mirrorOutput``: a test failed, so -b is to show its output."""
    return bool(getattr(result, "_mirrorOutput", False))


def set_mirror_output(result: Any, value: bool) -> None:
    result._mirrorOutput = value


def original_streams(result: Any) -> tuple[Any, Any]:
    """``(result._original_stdout, result._original_stderr)``: the real streams
    while -b captures."""
    return result._original_stdout, result._original_stderr


def original_stderr(result: Any) -> Any:
    """``result._original_stderr``: the real stderr while -b captures (None if unknown)."""
    return getattr(result, "_original_stderr", None)


def exc_info_to_string(result: Any) -> Any:
    """``result._exc_info_to_string`` (None if absent): the traceback text of an error."""
    return getattr(result, "_exc_info_to_string", None)


# -- unittest._log: imported on first use, not worth importing up front ----------------


def assert_logs_context() -> Any:
    """``unittest._log._AssertLogsContext``: what ``assertLogs``/``assertNoLogs``
    return.  TestCase imports it from the module at each call: setting it
    (``set_assert_logs_context``) changes theirs."""
    import unittest._log

    return unittest._log._AssertLogsContext


def set_assert_logs_context(cls: Any) -> None:
    import unittest._log

    unittest._log._AssertLogsContext = cls  # type: ignore[misc]


def capturing_handler() -> Any:
    """``unittest._log._CapturingHandler()``: the handler ``assertLogs`` captures
    with; its ``watcher`` holds the records and their formatted output."""
    import unittest._log

    return unittest._log._CapturingHandler()  # type: ignore[attr-defined]


# -- unittest.mock ---------------------------------------------------------------------

#: The methods through which unittest.mock's patchers start and stop a patch:
#: (class of ``unittest.mock``, method, whether it starts).  ``patch``,
#: ``patch.object`` and ``patch.multiple`` are ``_patch``; ``patch.dict`` is
#: ``_patch_dict``, whose decorators call ``_patch_dict``/``_unpatch_dict``, not
#: ``__enter__``/``__exit__``.
PATCH_METHODS: Final = (
    ("_patch", "__enter__", True),
    ("_patch", "__exit__", False),
    ("_patch_dict", "_patch_dict", True),
    ("_patch_dict", "_unpatch_dict", False),
)


def patch_dict_original(patcher: Any) -> Any:
    """``patcher._original``: a started ``patch.dict``'s copy of the dict before it."""
    return patcher._original


# -- warnings ----------------------------------------------------------------------------
# aiounit._warnstate gives each member of a group its own warning state by
# standing in for these (warnings.py up to 3.13; _py_warnings, which
# ``warnings`` re-exports, from 3.14).  *module* is the ``warnings`` module.

#: The module globals that hold the process's warning state: the C ``warn()``
#: and ``catch_warnings`` read them as module attributes.
WARNINGS_STATE: Final = ("filters", "showwarning", "_showwarnmsg_impl")


def filters_mutated(module: Any) -> None:
    """``module._filters_mutated()``: forget the "already shown" registries."""
    module._filters_mutated()


def showwarning_orig(module: Any) -> Any:
    """``module._showwarning_orig``: the original ``showwarning``, which
    ``_showwarnmsg`` tells from a user's replacement."""
    return module._showwarning_orig


def show_warning_message(module: Any, msg: Any) -> None:
    """``module._showwarnmsg_impl(msg)``: print a WarningMessage, as the module
    attribute is now (a test's own, while a group runs)."""
    module._showwarnmsg_impl(msg)


def py_warnings_module() -> Any:
    """``_py_warnings`` (3.14+): the Python implementation ``warnings`` re-exports."""
    return sys.modules["_py_warnings"]


def warnings_context_var(module: Any) -> Any:
    """``module._warnings_context`` (3.14+): the ContextVar that holds a
    context's warning state, when context-aware warnings are on."""
    return module._warnings_context


def uses_context(py_warnings: Any) -> bool:
    """``_py_warnings._use_context`` (3.14+): context-aware warnings are on."""
    return bool(py_warnings._use_context)


def set_uses_context(py_warnings: Any, value: bool) -> None:
    py_warnings._use_context = value


def warnings_context_class(py_warnings: Any) -> Any:
    """``_py_warnings._Context`` (3.14+): one context's warning state."""
    return py_warnings._Context


def context_filters(context: Any) -> list[Any]:
    """``context._filters`` (3.14+): a warnings context's filter list."""
    return context._filters  # type: ignore[no-any-return]


def record_warning(context: Any, msg: Any) -> None:
    """``context._record_warning(msg)`` (3.14+): append to a recording
    ``catch_warnings``' log."""
    context._record_warning(msg)


# -- asyncio ---------------------------------------------------------------------------

#: ``asyncio._get_running_loop()``: the running loop or None, without raising.
get_running_loop_or_none = asyncio._get_running_loop
#: ``asyncio.coroutines._format_coroutine``: a coroutine as a Task's repr shows it.
format_coroutine: Any = asyncio.coroutines._format_coroutine  # type: ignore[attr-defined]


def handle_context(handle: Any) -> Any:
    """``handle._context``: the context a loop callback runs in (None for
    uvloop's handles, which keep none but run the exception handler in it)."""
    return getattr(handle, "_context", None)


def handle_callback(handle: Any) -> Any:
    """``handle._callback``: the function a loop callback calls (None if unknown)."""
    return getattr(handle, "_callback", None)


def unretrieved_error(task: asyncio.Future[Any]) -> bool:
    """``task._log_traceback``: it raised, and nobody has retrieved the error
    yet (asyncio logs it when the task is collected).  Unlike
    ``task.exception()``, asking does not retrieve it."""
    return bool(getattr(task, "_log_traceback", False))


def quiet_pending(task: asyncio.Task[Any]) -> None:
    """``task._log_destroy_pending = False``: no "Task was destroyed but it is
    pending!" when it is collected (it was reported already)."""
    task._log_destroy_pending = False  # type: ignore[attr-defined]


def runner_loop(runner: asyncio.Runner) -> asyncio.AbstractEventLoop | None:
    """``runner._loop``: its loop, None before its first use and after close()."""
    return getattr(runner, "_loop", None)


def runner_set_event_loop(runner: asyncio.Runner) -> bool:
    """``runner._set_event_loop``: it made its loop the current one (close() unsets it)."""
    return bool(getattr(runner, "_set_event_loop", False))


def mark_runner_closed(runner: asyncio.Runner) -> None:
    """As ``runner.close()`` leaves it (``_loop``, ``_state``), when the loop was
    closed by hand: close() would wait for its stuck tasks again."""
    runner._loop = None  # type: ignore[attr-defined]
    runner._state = type(runner._state).CLOSED  # type: ignore[attr-defined]


# -- sys, os, atexit -------------------------------------------------------------------

#: ``sys._getframe``: a caller's frame (CPython's; aiounit's stacklevels and
#: "who called" checks walk from it).  An alias adds no frame.
getframe = sys._getframe
#: ``sys._current_frames``: the stack of another thread (a blocked loop, a test thread).
current_frames = sys._current_frames
#: ``os._Environ``: the class of ``os.environ``; hazard detection wraps its setters.
Environ = os._Environ
#: ``atexit._clear``: a forked -j worker drops its parent's exit handlers.
atexit_clear: Any = atexit._clear
#: ``atexit._run_exitfuncs``: and runs the tests' own before ``os._exit``.
atexit_run: Any = atexit._run_exitfuncs


#: The mark ``inspect.markcoroutinefunction`` (3.12+) sets as a function's
#: ``_is_coroutine_marker`` (COROUTINE_MARKER): ``inspect._is_coroutine_mark`` from 3.13 on,
#: ``inspect._is_coroutine_marker`` in 3.12.1; a mark no function has on 3.11.
COROUTINE_MARKER: Final = "_is_coroutine_marker"
COROUTINE_MARK: Any = getattr(
    inspect, "_is_coroutine_mark", getattr(inspect, "_is_coroutine_marker", object())
)


# -- 3.11 only -----------------------------------------------------------------------
# What aiounit does for 3.11 alone.  Dropping 3.11: delete this section and
# IS_311 (TextTestResultBase becomes unittest.TextTestResult); mypy and ruff
# then point at the few one-line IS_311 guards left elsewhere, each deleted with
# its branch: _main (--durations and its keyword), _runner (the deprecated
# assert aliases' warnings), _report and _wire (timing a test 3.11's
# TestCase.run does not time).

if TYPE_CHECKING:
    # self.stream is in turn the given stream, a _ThrottledFlush or a decorated
    # StringIO (see aiounit._result): Any, not typeshed's _WritelnDecorator.
    _TextTestResult = unittest.TextTestResult[Any]
else:
    _TextTestResult = unittest.TextTestResult

if IS_311:

    class TextTestResultBase(_TextTestResult):
        """unittest's TextTestResult with 3.12's ``durations``, ``collectedDurations``
        and ``addDuration``.  3.11's ``TestCase.run`` never calls ``addDuration``:
        the tests it runs are timed from startTest to stopTest (aiounit's own
        runs call ``addDuration``, and a Recorder its ``_aiounit_elapsed``)."""

        _aiounit_started: float | None = None
        _aiounit_timed = False
        _aiounit_measured: float | None = None
        durationsById: dict[str, float]

        def __init__(
            self,
            stream: Any,
            descriptions: bool,
            verbosity: int,
            *,
            durations: int | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(stream, descriptions, verbosity, **kwargs)
            self.durations = durations
            self.collectedDurations: list[tuple[str, float]] = []

        def _aiounit_elapsed(self, test: Any, elapsed: float) -> None:
            # From a Recorder: the test ran before its replayed startTest.
            self._aiounit_measured = elapsed

        def addDuration(self, test: unittest.TestCase, elapsed: float) -> None:
            """Called when a test finished to run, regardless of its outcome."""
            self._aiounit_timed = True
            self.collectedDurations.append((str(test), elapsed))

        def startTest(self, test: unittest.TestCase) -> None:
            self._aiounit_started = time.perf_counter()
            self._aiounit_timed = False
            super().startTest(test)

        def stopTest(self, test: unittest.TestCase) -> None:
            super().stopTest(test)
            self._time_stop(test)

        def _time_stop(self, test: unittest.TestCase) -> None:
            started, self._aiounit_started = self._aiounit_started, None
            measured, self._aiounit_measured = self._aiounit_measured, None
            if started is not None and not self._aiounit_timed:
                if measured is None:
                    measured = time.perf_counter() - started
                self.collectedDurations.append((str(test), measured))
                self.durationsById[test.id()] = measured
            self._aiounit_timed = False

else:
    TextTestResultBase = _TextTestResult


# -- the inventory -----------------------------------------------------------------------
# (where, name, checked on, used by).  *where* is a module, or a class of one,
# by its dotted name; an entry whose *where* ends in "()" is an attribute of
# the instances, set at run time, and "import" means a private module.
# *checked on*: "3.11+" exists from 3.11 on, checked on every release of
# CHECKED_ON from that one; "3.12" in 3.12 only.  *used by*: the modules of
# aiounit that rely on it, through this module's accessor unless they override
# (define a method of that name), subclass or replace it.
_ALL = "3.11+"
NAMES: Final = (
    # unittest.case
    ("unittest.case", "_Outcome", _ALL, "_stdlib, _outcome (subclassed), _lifecycle"),
    ("unittest.case", "_ShouldStop", _ALL, "_stdlib, _outcome"),
    ("unittest.case", "_SubTest", _ALL, "_stdlib, _wire, _workers (subclassed)"),
    ("unittest.case", "_subtest_msg_sentinel", _ALL, "_stdlib, _workers"),
    ("unittest.case", "_addError", _ALL, "_stdlib, _outcome, _member"),
    ("unittest.case", "_addSkip", _ALL, "_stdlib, _outcome, _scheduler"),
    ("unittest.case", "_module_cleanups", _ALL, "_stdlib, _wire"),
    ("unittest.case._Outcome", "testPartExecutor", _ALL, "_outcome (copied)"),
    ("unittest.case._SubTest", "_subDescription", _ALL, "_wire, _workers (overridden)"),
    (
        "unittest.case.TestCase()",
        "_testMethodName",
        _ALL,
        "_stdlib, _fixtures, _hazards, _junit, _lifecycle, _marks, _plan",
    ),
    ("unittest.case.TestCase()", "_outcome", _ALL, "_stdlib, _lifecycle"),
    ("unittest.case.TestCase()", "_cleanups", _ALL, "_stdlib, _lifecycle"),
    ("unittest.case.TestCase", "_addExpectedFailure", _ALL, "_stdlib, _lifecycle"),
    ("unittest.case.TestCase", "_addUnexpectedSuccess", _ALL, "_stdlib, _lifecycle"),
    ("unittest.case.TestCase", "_addDuration", "3.12+", "_stdlib, _lifecycle"),
    ("unittest.case.TestCase()", "_classSetupFailed", _ALL, "_stdlib, _suite_fixtures"),
    ("unittest.case.TestCase()", "_class_cleanups", _ALL, "_stdlib, _wire"),
    # unittest.async_case
    ("unittest.async_case.IsolatedAsyncioTestCase()", "_asyncioRunner", _ALL, "_stdlib, _case"),
    (
        "unittest.async_case.IsolatedAsyncioTestCase()",
        "_asyncioTestContext",
        _ALL,
        "_stdlib, _lifecycle",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_setupAsyncioRunner",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_tearDownAsyncioRunner",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callSetUp",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callTearDown",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callTestMethod",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callAsync",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callMaybeAsync",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    (
        "unittest.async_case.IsolatedAsyncioTestCase",
        "_callCleanup",
        _ALL,
        "_case (overridden; drives_itself)",
    ),
    # unittest.suite
    ("unittest.suite", "_ErrorHolder", _ALL, "_stdlib, _case, _scheduler, _scope, _workers"),
    ("unittest.suite", "_isnotsuite", _ALL, "_stdlib, _plan"),
    ("unittest.suite.BaseTestSuite()", "_tests", _ALL, "_stdlib, _plan"),
    ("unittest.suite.BaseTestSuite()", "_cleanup", _ALL, "_stdlib, _suite"),
    ("unittest.suite.BaseTestSuite", "_removeTestAtIndex", _ALL, "_stdlib, _suite"),
    (
        "unittest.suite.TestSuite",
        "_handleModuleFixture",
        _ALL,
        "_stdlib, _suite_fixtures, _wire (overridden)",
    ),
    (
        "unittest.suite.TestSuite",
        "_handleClassSetUp",
        _ALL,
        "_stdlib, _suite_fixtures, _wire (overridden)",
    ),
    (
        "unittest.suite.TestSuite",
        "_tearDownPreviousClass",
        _ALL,
        "_stdlib, _suite_fixtures, _wire (overridden)",
    ),
    (
        "unittest.suite.TestSuite",
        "_handleModuleTearDown",
        _ALL,
        "_stdlib, _suite_fixtures, _wire (overridden)",
    ),
    ("unittest.suite.TestSuite", "_get_previous_module", _ALL, "_stdlib, _suite_fixtures"),
    (
        "unittest.suite.TestSuite",
        "_createClassOrModuleLevelException",
        _ALL,
        "_stdlib, _suite_fixtures",
    ),
    ("unittest.suite.TestSuite()", "_previousTestClass", _ALL, "_stdlib, _suite_fixtures, _wire"),
    ("unittest.suite.TestSuite()", "_moduleSetUpFailed", _ALL, "_stdlib, _suite_fixtures"),
    ("unittest.suite.TestSuite()", "_testRunEntered", _ALL, "_stdlib, _suite"),
    # unittest.result, runner, main, _log
    ("unittest.result.TestResult", "_setupStdout", _ALL, "_stdlib, _suite_fixtures"),
    (
        "unittest.result.TestResult",
        "_restoreStdout",
        _ALL,
        "_stdlib, _suite_fixtures, _result (overridden)",
    ),
    (
        "unittest.result.TestResult",
        "_exc_info_to_string",
        _ALL,
        "_stdlib, _junit, _report, _result (overridden), _wire",
    ),
    ("unittest.result.TestResult()", "_mirrorOutput", _ALL, "_stdlib, _result, _wire"),
    (
        "unittest.result.TestResult()",
        "_stdout_buffer",
        _ALL,
        "_stdlib, _junit, _result, _wire (set)",
    ),
    (
        "unittest.result.TestResult()",
        "_stderr_buffer",
        _ALL,
        "_stdlib, _junit, _result, _wire (set)",
    ),
    ("unittest.result.TestResult()", "_original_stdout", _ALL, "_stdlib, _result"),
    ("unittest.result.TestResult()", "_original_stderr", _ALL, "_stdlib, _report, _result"),
    ("unittest.runner", "_WritelnDecorator", _ALL, "_stdlib, _result (subclassed)"),
    ("unittest.runner.TextTestRunner", "_makeResult", _ALL, "_runner"),
    ("unittest.runner.TextTestRunner", "_printDurations", "3.12+", "_runner (overridden)"),
    ("unittest.main.TestProgram", "_getParentArgParser", _ALL, "_main (overridden)"),
    ("import", "unittest._log", _ALL, "_stdlib"),
    ("unittest._log", "_AssertLogsContext", _ALL, "_stdlib, _capture (subclassed)"),
    ("unittest._log", "_CapturingHandler", _ALL, "_stdlib, _capture"),
    # unittest.mock
    ("unittest.mock", "_patch", _ALL, "_stdlib, _restore (methods wrapped)"),
    ("unittest.mock", "_patch_dict", _ALL, "_stdlib, _restore (methods wrapped)"),
    ("unittest.mock._patch_dict", "_patch_dict", _ALL, "_stdlib, _restore (wrapped)"),
    ("unittest.mock._patch_dict", "_unpatch_dict", _ALL, "_stdlib, _restore (wrapped)"),
    ("unittest.mock._patch_dict()", "_original", _ALL, "_stdlib, _restore"),
    # warnings
    ("import", "_py_warnings", "3.14+", "_stdlib"),
    ("warnings", "_showwarnmsg_impl", _ALL, "_stdlib, _warnstate (replaced)"),
    ("warnings", "_showwarning_orig", _ALL, "_stdlib"),
    ("warnings", "_filters_mutated", _ALL, "_stdlib"),
    ("warnings", "_add_filter", _ALL, "_warnstate (replaced)"),
    ("warnings", "_showwarnmsg", _ALL, "_warnstate (replaced)"),
    ("warnings", "_warnings_context", "3.14+", "_stdlib"),
    ("warnings", "_get_context", "3.14+", "_warnstate (replaced)"),
    ("_py_warnings", "_use_context", "3.14+", "_stdlib"),
    ("_py_warnings", "_Context", "3.14+", "_stdlib, _warnstate (subclassed)"),
    ("_py_warnings._Context", "_record_warning", "3.14+", "_stdlib"),
    ("_py_warnings._Context()", "_filters", "3.14+", "_stdlib, _warnstate (overridden)"),
    ("import", "_colorize", "3.14+", "_colour"),
    ("_colorize", "get_theme", "3.14+", "_colour"),
    # asyncio
    ("asyncio", "_get_running_loop", _ALL, "_stdlib, _alone"),
    ("asyncio.coroutines", "_format_coroutine", _ALL, "_stdlib, _tasks"),
    ("asyncio.events.Handle()", "_context", _ALL, "_stdlib, _attribution, _fixture_faults"),
    ("asyncio.events.Handle()", "_callback", _ALL, "_stdlib, _attribution"),
    ("asyncio.futures.Future()", "_log_traceback", _ALL, "_stdlib, _attribution, _member, _scope"),
    ("asyncio.tasks.Task()", "_log_destroy_pending", _ALL, "_stdlib, _scope"),
    ("asyncio.runners.Runner()", "_loop", _ALL, "_stdlib, _alone"),
    ("asyncio.runners.Runner()", "_state", _ALL, "_stdlib, _alone"),
    ("asyncio.runners.Runner()", "_set_event_loop", _ALL, "_stdlib, _alone"),
    # sys, os, atexit, inspect
    ("sys", "_getframe", _ALL, "_stdlib, _hazard_hooks, _hazards, _lifecycle, _loader"),
    ("sys", "_current_frames", _ALL, "_stdlib, _lifecycle, _watchdog"),
    ("os", "_Environ", _ALL, "_stdlib, _hazard_hooks"),
    ("atexit", "_clear", _ALL, "_stdlib, _wire"),
    ("atexit", "_run_exitfuncs", _ALL, "_stdlib, _wire"),
    ("inspect", "_is_coroutine_mark", "3.13+", "_stdlib"),
    ("inspect", "_is_coroutine_marker", "3.12", "_stdlib (3.12's mark)"),
    ("inspect.markcoroutinefunction()", "_is_coroutine_marker", "3.12+", "_stdlib, _marks"),
    # documented, public despite its name: listed, not routed
    ("os", "_exit", _ALL, "_alone, _watchdog, _wire"),
)
