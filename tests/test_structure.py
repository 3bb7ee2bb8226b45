"""Tests for the package's module boundaries: no import cycle, no private name across modules."""

from __future__ import annotations

import ast
import functools
import os
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "aiounit")


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


@functools.cache  # trees are parsed once (_parse)
def _relative_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """Every ``from . import x`` and ``from ._x import y`` of a module, also inside
    functions (an import there only hides a cycle), but not under TYPE_CHECKING."""
    found: list[ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 1:
                found.append(child)
            walk(child)

    walk(tree)
    return found


@functools.cache  # for the tests that read the same package
def _parse(package: str) -> dict[str, ast.Module]:
    trees = {}
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            with open(os.path.join(package, name), encoding="utf-8") as file:
                trees[name[:-3]] = ast.parse(file.read(), name)
    return trees


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of *package* it imports (see ``_relative_imports``)."""
    graph: dict[str, set[str]] = {}
    for module, tree in _parse(package).items():
        targets = graph.setdefault(module, set())
        for node in _relative_imports(tree):
            if node.module is not None:
                targets.add(node.module.split(".")[0])
            else:
                targets.update(alias.name for alias in node.names)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of *graph* (``[a, b, a]``), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done or module not in graph:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle is not None:
            return cycle
    return None


def private_uses(package: str) -> list[str]:
    """Where a module of *package* uses another's private (``_x``) name."""
    trees = _parse(package)
    found = []
    for module, tree in trees.items():
        modules = {}  # local name -> module of the package, from ``from . import _x``
        for imported in _relative_imports(tree):
            for alias in imported.names:
                if imported.module is None:
                    modules[alias.asname or alias.name] = alias.name
                elif _private(alias.name):
                    found.append(f"{module} imports {imported.module}.{alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _private(node.attr)
            ):
                found.append(f"{module} uses {modules[node.value.id]}.{node.attr}")
    return sorted(set(found))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


class TestModuleBoundaries(unittest.TestCase):
    def test_no_import_cycle(self) -> None:
        """aiounit's modules import each other without a cycle, counting the
        imports inside functions too."""
        self.assertIsNone(find_cycle(import_graph(PACKAGE)))

    def test_no_module_uses_another_modules_private_names(self) -> None:
        """What a module offers the others has a name without a leading underscore."""
        self.assertEqual(private_uses(PACKAGE), [])


class TestTheChecks(unittest.TestCase):
    """The checks above find what they look for."""

    def package(self, **modules: str) -> str:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        for name, text in modules.items():
            with open(os.path.join(tmp.name, f"{name}.py"), "w", encoding="utf-8") as file:
                file.write(text)
        return tmp.name

    def test_a_cycle_through_a_function_level_import_is_found(self) -> None:
        """A cycle hidden by an import inside a function is named, module by module."""
        package = self.package(
            _a="from ._b import f\n",
            _b="def f():\n    from ._c import g\n",
            _c="from . import _a\n",
            _d="from ._a import x\n",
        )
        self.assertEqual(find_cycle(import_graph(package)), ["_a", "_b", "_c", "_a"])

    def test_type_checking_imports_are_no_cycle(self) -> None:
        """Imports only the type checker sees are not cycles."""
        package = self.package(
            _a="from ._b import f\n",
            _b="TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from ._a import x\n",
        )
        self.assertIsNone(find_cycle(import_graph(package)))

    def test_private_names_across_modules_are_found(self) -> None:
        """Both ``from ._a import _x`` and ``_a._x`` are found; dunders are not private."""
        package = self.package(
            _a="_x = 1\n__all__ = ()\n",
            _b="from . import _a\nfrom ._a import _x\nprint(_a._y, _a.__all__)\n",
        )
        self.assertEqual(private_uses(package), ["_b imports _a._x", "_b uses _a._y"])


if __name__ == "__main__":
    unittest.main()
