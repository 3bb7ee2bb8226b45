"""Exceptions that aiounit users may catch."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__unittest = True


class TestTimeoutError(TimeoutError):
    """A test, or one of its fixtures, ran past its ``timeout``.

    It is reported through ``TestResult.addError``, so it shows up as an
    ``ERROR`` line; its ``__cause__`` carries the traceback of the point where
    the test was waiting when the limit expired.
    """

    __test__ = False  # not a test, whatever pytest's collector thinks


class LeakedTaskError(RuntimeError):
    """A test left tasks running when it ended.

    Reported as an error only with ``--fail-on-leaks`` (``fail_on_leaks=True``);
    otherwise the test gets a warning.  The tasks are cancelled either way.
    """


class LoopBlockedError(RuntimeError):
    """A test kept its group's event loop busy past the blocking threshold.

    Reported as an error only with ``--fail-on-blocking``
    (``fail_on_blocking=True``); otherwise the test gets a warning.
    """


class ConcurrencyHazardError(RuntimeError):
    """A test changed process-wide state (a mock patch, the environment, a fixed
    port...) while peers of its group were running.

    Reported as an error only with ``--fail-on-hazards``
    (``fail_on_hazards=True``); otherwise the test gets a warning.
    """


class WorkerCrashedError(RuntimeError):
    """A worker process (``-j``) died while the test reported with it ran."""


def type_name(err: Any) -> str:
    """The qualified name of the exception in exc_info *err* ("module.Class"; builtins bare)."""
    remote = getattr(err[1], "type_name", None) if err else None
    if isinstance(remote, str):  # raised in a worker process
        return remote
    exc_type = err[0] if err else None
    if exc_type is None:
        return ""
    module = getattr(exc_type, "__module__", "")
    name = getattr(exc_type, "__qualname__", str(exc_type))
    return name if module in ("builtins", "") else f"{module}.{name}"


def exception_message(err: Any) -> str:
    """ "Type: message" of exc_info *err*, from the exception itself (a JUnit message).

    Not from the formatted traceback, which may end with the test's output (-b)
    and whose lines a vertical tab or a form feed would split.
    """
    value = err[1] if err else None
    try:
        detail = str(value)
    except Exception:
        detail = "<exception str() failed>"
    name = type_name(err)
    return f"{name}: {detail}" if detail else name
