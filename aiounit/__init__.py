"""aiounit: run slow, I/O-bound unittest tests concurrently on one event loop."""

from __future__ import annotations

from ._case import AsyncTestCase
from ._errors import (
    ConcurrencyHazardError,
    LeakedTaskError,
    LoopBlockedError,
    TestTimeoutError,
    WorkerCrashedError,
)
from ._fixtures import addAsyncModuleCleanup, enterAsyncModuleContext
from ._loader import TestLoader, defaultTestLoader, load_tests
from ._main import TestProgram, main
from ._marks import group, isolated, lock, timeout
from ._result import TextTestResult
from ._runner import TextTestRunner
from ._suite import ConcurrentTestSuite

__version__ = "0.1.0"

__all__ = (
    "AsyncTestCase",
    "ConcurrencyHazardError",
    "ConcurrentTestSuite",
    "LeakedTaskError",
    "LoopBlockedError",
    "TestLoader",
    "TestProgram",
    "TestTimeoutError",
    "TextTestResult",
    "TextTestRunner",
    "WorkerCrashedError",
    "__version__",
    "addAsyncModuleCleanup",
    "defaultTestLoader",
    "enterAsyncModuleContext",
    "group",
    "isolated",
    "load_tests",
    "lock",
    "main",
    "timeout",
)

# Reprs and tracebacks show aiounit.X, not the private module (trio's way).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
