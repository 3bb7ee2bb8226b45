"""What generated fault-injection modules share with their runner (see tests/_faultgen.py).

A generated module logs each fixture and hook call with ``log`` and patches
``SHARED``; the runner (tests/_fi_runner.py) dumps ``LOG`` and the
``fingerprint`` of process-wide state taken when the run starts, by the probe
test at the end of the module, and when the run ends.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import unittest
import unittest.case
import warnings
from typing import Any

ORIGINAL = "original"
SHARED = ORIGINAL

LOG: list[str] = []
PROBES: list[dict[str, Any]] = []


def log(event: str, who: Any = None) -> None:
    """Record that *event* happened (to test *who*, a TestCase or a name)."""
    name = getattr(who, "_testMethodName", who)
    # list.append is atomic: sync members log from their threads too.
    LOG.append(event if name is None else f"{event} {name}")


def _logger_state(logger: logging.Logger) -> list[Any]:
    return [
        logger.level,
        logger.propagate,
        logger.disabled,
        [f"{type(h).__name__}@{id(h):x}" for h in logger.handlers],
    ]


def fingerprint() -> dict[str, Any]:
    """Process-wide state a test (or a group) must leave as it found it, as plain data."""
    loggers = {"": _logger_state(logging.getLogger())}
    for name, logger in sorted(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            loggers[name] = _logger_state(logger)
    try:
        from unittest import _log

        assert_logs = f"{_log._AssertLogsContext.__module__}.{_log._AssertLogsContext.__qualname__}"
    except ImportError:  # pragma: no cover
        assert_logs = ""
    warns = unittest.case._AssertWarnsContext
    return {
        "SHARED": repr(SHARED),
        "environ": sorted(os.environ.items()),
        "cwd": os.getcwd(),
        "warnings.filters": [repr(f) for f in warnings.filters],
        "warnings.showwarning": repr(warnings.showwarning),
        "loggers": loggers,
        "logging.disable": logging.root.manager.disable,
        "sys.stdout": f"{type(sys.stdout).__name__}@{id(sys.stdout):x}",
        "sys.stderr": f"{type(sys.stderr).__name__}@{id(sys.stderr):x}",
        "excepthooks": [repr(sys.excepthook), repr(threading.excepthook), repr(sys.unraisablehook)],
        "signals": [repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGUSR2)],
        "assert_contexts": [assert_logs, f"{warns.__module__}.{warns.__qualname__}"],
    }


def probe() -> None:
    """Called by the module's last test: the state between groups, as a test sees it."""
    PROBES.append(fingerprint())
