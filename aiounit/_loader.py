"""TestLoader that builds ConcurrentTestSuites, and the ``load_tests`` hook."""

from __future__ import annotations

import os
import sys
import unittest

from ._stdlib import getframe
from ._suite import ConcurrentTestSuite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True


class TestLoader(unittest.TestLoader):
    """Drop-in for ``unittest.TestLoader`` whose suites are ``ConcurrentTestSuite``."""

    suiteClass = ConcurrentTestSuite


defaultTestLoader = TestLoader()


def load_tests(
    loader: unittest.TestLoader, standard_tests: unittest.TestSuite, pattern: str | None
) -> unittest.TestSuite:
    """The ``load_tests`` protocol: import it into a test module or a package.

    ``from aiounit import load_tests`` makes any unittest runner (``python -m
    unittest``, an IDE's) run that module's groups concurrently, by returning its
    tests in a ``ConcurrentTestSuite``.  In a package's ``__init__`` it also
    discovers the package's test modules, which unittest leaves to a package's
    ``load_tests``.
    """
    tests: list[Any] = [standard_tests]
    package = _calling_module()
    is_package = hasattr(package, "__path__") and getattr(package, "__file__", None)
    if pattern is not None and is_package:
        start = os.path.dirname(os.path.abspath(package.__file__))
        tests.append(loader.discover(start_dir=start, pattern=pattern))
    if isinstance(standard_tests, ConcurrentTestSuite) and len(tests) == 1:
        return standard_tests
    return ConcurrentTestSuite(tests)


def _calling_module() -> Any:
    # unittest calls load_tests(loader, tests, pattern) from
    # TestLoader.loadTestsFromModule(module, ...) on 3.11-3.13; the module is
    # only known there.
    frame = getframe(2)
    module = frame.f_locals.get("module")
    return module if isinstance(module, type(sys)) else None
