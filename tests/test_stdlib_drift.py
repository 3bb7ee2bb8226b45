"""aiounit's view of CPython's private internals is still true on this CPython.

aiounit copies, overrides or relies on private stdlib code (``aiounit/_stdlib.py``
lists it).  These tests fail on a CPython where that code changed, or on one
not checked yet, naming what of aiounit to re-check:

- every stdlib function in ``DEPENDS`` has a fingerprint per CPython minor
  version in ``stdlib_fingerprints.json`` (a hash of its syntax tree, without
  docstrings, comments or formatting);
- every private name in ``aiounit._stdlib.NAMES`` exists where it says;
- every private stdlib name aiounit's code uses is in ``NAMES``.

After re-checking aiounit against a new or changed CPython, record its
fingerprints with that interpreter::

    python -m tests.test_stdlib_drift --update

(without ``--update`` it prints this interpreter's fingerprints and what differs).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import textwrap
import unittest
from typing import Any

from aiounit import _stdlib

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "stdlib_fingerprints.json")
PACKAGE = os.path.join(os.path.dirname(HERE), "aiounit")
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"

_ASYNC_HOOK = "aiounit._case.AsyncTestCase.{0} (overrides it), aiounit._case._DRIVING_HOOKS"
_FIXTURES = "aiounit._suite_fixtures.Fixtures, aiounit._wire._BatchSuite.{0}"

#: stdlib function or class -> what of aiounit copies, overrides or relies on it.
DEPENDS: dict[str, str] = {
    # unittest.case
    "unittest.case.TestCase.__init__": "aiounit._stdlib (_testMethodName, _outcome, _cleanups)",
    "unittest.case.TestCase.run": "aiounit._lifecycle.run_case (a copy of it)",
    "unittest.case.TestCase.doCleanups": "aiounit._lifecycle._do_cleanups (a copy of it)",
    "unittest.case.TestCase.subTest": (
        "aiounit._outcome.AsyncOutcome (what subTest asks of _outcome)"
    ),
    "unittest.case.TestCase._addExpectedFailure": "aiounit._stdlib.add_expected_failure",
    "unittest.case.TestCase._addUnexpectedSuccess": "aiounit._stdlib.add_unexpected_success",
    "unittest.case.TestCase._addDuration": "aiounit._stdlib.duration_adder",
    "unittest.case._Outcome": "aiounit._outcome.PartExecutor (testPartExecutor, a copy)",
    "unittest.case._addSkip": "aiounit._stdlib.add_skip",
    "unittest.case._addError": "aiounit._stdlib.add_error",
    "unittest.case._SubTest": "aiounit._workers._RemoteSubTest, aiounit._wire._WireResult.addSkip",
    "unittest.case.doModuleCleanups": "aiounit._suite_fixtures.open_module (3.15's ExceptionGroup)",
    # unittest.async_case
    "unittest.async_case.IsolatedAsyncioTestCase.__init__": "aiounit._stdlib.async_test_context",
    "unittest.async_case.IsolatedAsyncioTestCase.run": "aiounit._alone (drives a lone test)",
    "unittest.async_case.IsolatedAsyncioTestCase._setupAsyncioRunner": _ASYNC_HOOK.format(
        "_setupAsyncioRunner"
    ),
    "unittest.async_case.IsolatedAsyncioTestCase._tearDownAsyncioRunner": _ASYNC_HOOK.format(
        "_tearDownAsyncioRunner"
    ),
    "unittest.async_case.IsolatedAsyncioTestCase._callSetUp": _ASYNC_HOOK.format("_callSetUp")
    + ", aiounit._lifecycle._call_set_up",
    "unittest.async_case.IsolatedAsyncioTestCase._callTearDown": _ASYNC_HOOK.format("_callTearDown")
    + ", aiounit._lifecycle._call_tear_down",
    "unittest.async_case.IsolatedAsyncioTestCase._callTestMethod": _ASYNC_HOOK.format(
        "_callTestMethod"
    )
    + ", aiounit._lifecycle._test_method_part",
    "unittest.async_case.IsolatedAsyncioTestCase._callAsync": _ASYNC_HOOK.format("_callAsync")
    + ", aiounit._lifecycle._call_async",
    "unittest.async_case.IsolatedAsyncioTestCase._callMaybeAsync": _ASYNC_HOOK.format(
        "_callMaybeAsync"
    )
    + ", aiounit._lifecycle._call_part",
    "unittest.async_case.IsolatedAsyncioTestCase._callCleanup": _ASYNC_HOOK.format("_callCleanup")
    + ", aiounit._lifecycle._call_maybe_async",
    # unittest.suite
    "unittest.suite.BaseTestSuite._removeTestAtIndex": "aiounit._stdlib.release_test",
    "unittest.suite.TestSuite.run": "aiounit._suite.ConcurrentTestSuite._run (its fixture order)",
    "unittest.suite.TestSuite._handleClassSetUp": _FIXTURES.format("_handleClassSetUp"),
    "unittest.suite.TestSuite._handleModuleFixture": _FIXTURES.format("_handleModuleFixture"),
    "unittest.suite.TestSuite._handleModuleTearDown": _FIXTURES.format("_handleModuleTearDown"),
    "unittest.suite.TestSuite._tearDownPreviousClass": _FIXTURES.format("_tearDownPreviousClass"),
    "unittest.suite.TestSuite._get_previous_module": "aiounit._stdlib.previous_module",
    "unittest.suite.TestSuite._createClassOrModuleLevelException": (
        "aiounit._stdlib.report_fixture_error"
    ),
    "unittest.suite._ErrorHolder": "aiounit._stdlib.ErrorHolder",
    "unittest.suite._isnotsuite": "aiounit._stdlib.isnotsuite",
    # unittest.result, runner, main, loader, _log
    "unittest.result.TestResult._setupStdout": "aiounit._stdlib.setup_stdout",
    "unittest.result.TestResult._restoreStdout": "aiounit._result.TextTestResult._restoreStdout",
    "unittest.result.TestResult._exc_info_to_string": (
        "aiounit._result.TextTestResult._exc_info_to_string, aiounit._report._formatted_as"
    ),
    "unittest.runner.TextTestResult.__init__": "aiounit._result.TextTestResult.__init__",
    "unittest.runner.TextTestRunner.run": "aiounit._runner.TextTestRunner.run (a copy of it)",
    "unittest.runner.TextTestRunner._printDurations": (
        "aiounit._runner.TextTestRunner._printDurations (overrides it)"
    ),
    "unittest.runner._WritelnDecorator": "aiounit._result._ThrottledFlush",
    "unittest.main.TestProgram.runTests": "aiounit._main.TestProgram.runTests (a copy of it)",
    "unittest.main.TestProgram._getParentArgParser": (
        "aiounit._main.TestProgram._getParentArgParser (overrides it)"
    ),
    "unittest.loader.TestLoader.loadTestsFromModule": (
        "aiounit._loader._calling_module (reads its local `module`)"
    ),
    "unittest._log._AssertLogsContext": "aiounit._capture._ConcurrentAssertLogsContext",
    # unittest.mock
    "unittest.mock._patch.__enter__": "aiounit._restore._hook",
    "unittest.mock._patch.__exit__": "aiounit._restore._hook",
    "unittest.mock._patch_dict._patch_dict": "aiounit._restore._hook, _Watch.started",
    "unittest.mock._patch_dict._unpatch_dict": "aiounit._restore._hook",
    # warnings
    "warnings._add_filter": "aiounit._warnstate._add_filter (a copy of it)",
    "warnings.resetwarnings": "aiounit._warnstate._resetwarnings (a copy of it)",
    "warnings._showwarnmsg": "aiounit._warnstate._showwarnmsg (a copy of it)",
    "warnings._showwarnmsg_impl": "aiounit._warnstate (a test's own _showwarnmsg_impl)",
    "warnings.catch_warnings.__enter__": "aiounit._warnstate (what it saves and restores)",
    "warnings.catch_warnings.__exit__": "aiounit._warnstate (what it saves and restores)",
    "warnings._get_context": "aiounit._warnstate._install_contexts",
    "_py_warnings._Context": "aiounit._warnstate._test_context_class",
    "_colorize.get_theme": "aiounit._colour.theme",
    # asyncio
    "asyncio.runners.Runner.run": "aiounit._lifecycle._call_part (the loop turns it copies)",
    "asyncio.runners.Runner.close": "aiounit._alone.close_runner, _close_without",
    "asyncio.events.Handle.__init__": "aiounit._stdlib.handle_context, handle_callback",
    "asyncio.coroutines._format_coroutine": "aiounit._tasks.Task.__repr__",
    "asyncio.tasks._PyTask.__init__": "aiounit._tasks.Task, aiounit._stdlib.quiet_pending",
    "asyncio.futures._PyFuture.exception": "aiounit._stdlib.unretrieved_error",
    "asyncio.base_events.BaseEventLoop.create_task": (
        "aiounit._tasks.Task (the factory's arguments, 3.13's set_name)"
    ),
}


def _module_of(dotted: str) -> Any:
    """The module *dotted* is in: its longest importable prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
    raise ImportError(dotted)


def _resolve(dotted: str) -> Any:
    """The object at *dotted* (module, then attributes), or None if it is absent."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = inspect.getattr_static(obj, name, None)
            if obj is None:
                return None
        return obj
    return None


class _NoDocstrings(ast.NodeTransformer):
    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node


def fingerprint(dotted: str) -> str | None:
    """A hash of *dotted*'s code, without docstrings, comments or formatting;
    None where this CPython has no such function."""
    obj = _resolve(dotted)
    if obj is None:
        return None
    obj = getattr(obj, "__func__", obj)  # a staticmethod or classmethod
    source = textwrap.dedent(inspect.getsource(obj))
    tree = _NoDocstrings().visit(ast.parse(source))
    dump = ast.dump(tree, annotate_fields=False, include_attributes=False)
    return hashlib.sha256(dump.encode()).hexdigest()[:16]


def current() -> dict[str, str | None]:
    return {name: fingerprint(name) for name in DEPENDS}


def load_table() -> dict[str, Any]:
    with open(TABLE, encoding="utf-8") as f:
        table: dict[str, Any] = json.load(f)
    return table


def drift(table: dict[str, Any], now: dict[str, str | None]) -> list[str]:
    """What to re-check, one line per stdlib function that differs from *table*."""
    entry = table.get(VERSION)
    if entry is None:
        checked = ", ".join(sorted(table, key=lambda v: tuple(map(int, v.split(".")))))
        return [
            f"CPython {VERSION} has not been checked (only {checked}): re-check what"
            " aiounit/_stdlib.py lists, then record it (python -m tests.test_stdlib_drift"
            " --update)"
        ]
    recorded: dict[str, str | None] = entry["fingerprints"]
    lines = []
    for name, what in DEPENDS.items():
        if name not in recorded:
            lines.append(f"{name} has no fingerprint for CPython {VERSION}: record it")
        elif recorded[name] != now[name]:
            if now[name] is None:
                change = "removed"
            elif recorded[name] is None:
                change = "added"
            else:
                change = "changed"
            lines.append(f"CPython {VERSION} {change} {name}: re-check {what}")
    return lines


# -- which names of aiounit's code are private stdlib ones -----------------------------

_STDLIB_MODULES = (
    "unittest.case",
    "unittest.async_case",
    "unittest.suite",
    "unittest.result",
    "unittest.runner",
    "unittest.main",
    "unittest.loader",
    "unittest.util",
    "unittest.signals",
    "unittest._log",
    "unittest.mock",
    "asyncio.base_events",
    "asyncio.coroutines",
    "asyncio.events",
    "asyncio.futures",
    "asyncio.runners",
    "asyncio.tasks",
    "asyncio.timeouts",
    "warnings",
    "_py_warnings",
    "os",
    "inspect",
    "logging",
    "contextvars",
    "traceback",
)


#: aiounit's own attributes that share a name with a private one of the stdlib
#: modules scanned: not uses of the stdlib's.
OWN_ATTRIBUTES = {
    "_ready": "_admission.Admission's heap of claims",
    "_stopping": "_report.Recorder's stop flag",
    "_description": "_workers._RemoteSubTest's description",
    "_thread": "_alone._Alarm's and _watchdog.Watchdog's threads",
}


def _stdlib_private_names() -> set[str]:
    names: set[str] = set()
    for name in _STDLIB_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        names.update(re.findall(r"\b(_[A-Za-z]\w*)", inspect.getsource(module)))
    for module in (sys, atexit_module()):
        names.update(n for n in dir(module) if n.startswith("_") and not n.startswith("__"))
    return names


def atexit_module() -> Any:
    import atexit

    return atexit


@functools.cache  # parsed once for the tests that read it
def _aiounit_sources() -> dict[str, ast.Module]:
    trees = {}
    for name in sorted(os.listdir(PACKAGE)):
        if name.endswith(".py"):
            with open(os.path.join(PACKAGE, name), encoding="utf-8") as f:
                trees[name[:-3]] = ast.parse(f.read())
    return trees


def _own_names(trees: dict[str, ast.Module]) -> set[str]:
    """Names aiounit defines itself: modules, functions, classes, variables,
    arguments (not attributes: ``self._x = ...`` may set a stdlib base's)."""
    own = set(trees)
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
            elif isinstance(node, ast.alias):
                own.add(node.asname or node.name.split(".")[0])
    return own


def _inventory_node(tree: ast.Module) -> ast.AST:
    """The ``NAMES = (...)`` of _stdlib: its strings name, not use."""
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "NAMES":
            return node
    raise AssertionError("aiounit._stdlib has no NAMES")


def private_uses(trees: dict[str, ast.Module] | None = None) -> dict[str, set[str]]:
    """Private stdlib names aiounit's code (or *trees*, by module name) uses
    (``x._name``, ``getattr(x, "_name")``), each with the modules that use it."""
    if trees is None:
        return _aiounit_private_uses()
    own = _own_names(trees)
    stdlib = _stdlib_private_names()
    uses: dict[str, set[str]] = {}
    for module, tree in trees.items():
        skip = {id(n) for n in ast.walk(_inventory_node(tree))} if module == "_stdlib" else set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value
            else:
                continue
            if (
                re.fullmatch(r"_[A-Za-z]\w*", name)
                and not name.startswith("__")
                and name in stdlib
                and name not in own
            ):
                uses.setdefault(name, set()).add(module)
    return uses


@functools.cache
def _aiounit_private_uses() -> dict[str, set[str]]:
    return private_uses(_aiounit_sources())


def _applies(entry: str) -> bool:
    """Whether a NAMES entry's versions ("3.12+", or "3.12" alone) include this one."""
    major, minor = entry.rstrip("+").split(".")
    since = (int(major), int(minor))
    here = sys.version_info[:2]
    return here >= since if entry.endswith("+") else here == since


class TestFingerprints(unittest.TestCase):
    def test_stdlib_code_aiounit_depends_on_is_as_checked(self) -> None:
        """Each stdlib function aiounit copies or relies on is as it was when
        aiounit was last checked against this CPython version."""
        problems = drift(load_table(), current())
        if problems:
            self.fail("\n" + "\n".join(problems))

    def test_every_version_aiounit_supports_is_recorded(self) -> None:
        table = load_table()
        for version in _stdlib.CHECKED_ON:
            minor = ".".join(version.split(".")[:2])
            with self.subTest(version=version):
                self.assertIn(minor, list(table))
                self.assertEqual(table[minor]["checked"], version)
                self.assertEqual(sorted(table[minor]["fingerprints"]), sorted(DEPENDS))

    def test_a_change_is_named_with_what_to_recheck(self) -> None:
        table = load_table()
        now = current()
        name = "unittest.case.TestCase.run"
        altered = dict(now, **{name: "0" * 16})
        table[VERSION] = {"checked": sys.version.split()[0], "fingerprints": altered}
        self.assertEqual(
            drift(table, now),
            [
                f"CPython {VERSION} changed {name}:"
                " re-check aiounit._lifecycle.run_case (a copy of it)"
            ],
        )
        del table[VERSION]
        (line,) = drift(table, now)
        self.assertIn(f"CPython {VERSION} has not been checked", line)

    def test_fingerprints_ignore_docstrings_and_comments_only(self) -> None:
        def f(x: int) -> int:
            """doc"""
            return x + 1  # a comment

        def g(x: int) -> int:
            return x + 1

        def h(x: int) -> int:
            return x + 2

        dumps = []
        for func in (f, g, h):
            tree = _NoDocstrings().visit(ast.parse(textwrap.dedent(inspect.getsource(func))))
            tree.body[0].name = "same"
            dumps.append(ast.dump(tree, annotate_fields=False, include_attributes=False))
        self.assertEqual(dumps[0], dumps[1])
        self.assertNotEqual(dumps[1], dumps[2])


class TestInventory(unittest.TestCase):
    def test_every_listed_name_exists_where_it_says(self) -> None:
        for where, name, since, _used_by in _stdlib.NAMES:
            if not _applies(since):
                continue
            with self.subTest(where=where, name=name):
                if where == "import":
                    importlib.import_module(name)
                elif where.endswith("()"):
                    # set on instances at run time: its class's module assigns it
                    self.assertIsNotNone(_resolve(where[:-2]), f"{where[:-2]} is gone")
                    source = inspect.getsource(_module_of(where[:-2]))
                    found = re.search(rf"\b{name}\b", source) is not None
                    self.assertTrue(found, f"{where[:-2]}'s module has no {name}")
                else:
                    owner = _resolve(where)
                    self.assertIsNotNone(owner, f"{where} is gone")
                    self.assertIsNotNone(
                        inspect.getattr_static(owner, name, None), f"{where}.{name} is gone"
                    )

    def test_every_private_stdlib_name_aiounit_uses_is_listed(self) -> None:
        listed = {name.rpartition(".")[2] for _where, name, _since, _used_by in _stdlib.NAMES}
        unlisted = {
            name: sorted(modules)
            for name, modules in private_uses().items()
            if name not in listed and name not in OWN_ATTRIBUTES
        }
        self.assertEqual(unlisted, {}, "add these to aiounit._stdlib.NAMES (or OWN_ATTRIBUTES)")

    def test_version_checks_are_stdlib_flags(self) -> None:
        """Only _stdlib tests ``sys.version_info``: elsewhere its flags (IS_311…)
        say which version a branch is for, so one place tells what a dropped
        version leaves behind."""
        found = sorted(
            f"aiounit/{module}.py:{node.lineno}"
            for module, tree in _aiounit_sources().items()
            if module != "_stdlib"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("version_info", "hexversion")
        )
        self.assertEqual(found, [], "use aiounit._stdlib's version flags")

    def test_the_scan_finds_private_names(self) -> None:
        self.assertIn("_stdlib", private_uses()["_addError"])
        code = """
class Result(unittest.TestResult):
    def _done(self, handle):
        self._mirrorOutput = False  # a stdlib base's attribute
        self._done_already = True  # its own
        return getattr(handle, "_callback", None)
"""
        uses = private_uses({"mod": ast.parse(code)})
        self.assertEqual(uses, {"_mirrorOutput": {"mod"}, "_callback": {"mod"}})


def main(argv: list[str]) -> int:
    now = current()
    try:
        table = load_table()
    except FileNotFoundError:
        table = {}
    if "--update" in argv:
        table[VERSION] = {"checked": sys.version.split()[0], "fingerprints": now}
        ordered = dict(sorted(table.items(), key=lambda kv: tuple(map(int, kv[0].split(".")))))
        with open(TABLE, "w", encoding="utf-8") as f:
            json.dump(ordered, f, indent=2)
            f.write("\n")
        print(f"recorded CPython {sys.version.split()[0]} in {os.path.relpath(TABLE)}")
        return 0
    print(json.dumps({VERSION: {"checked": sys.version.split()[0], "fingerprints": now}}, indent=2))
    for line in drift(table, now):
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
