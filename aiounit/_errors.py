"""Exceptions that aiounit users may catch, and how reports name any exception.

An exception raised in a ``-j`` worker process reaches the parent as text
(``RemoteError``, or the test's ``failureException`` for a failing subtest);
this module is the one place that tells such a stand-in from a real exception.
"""

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
    value = err[1] if err else None
    if isinstance(value, RemoteError):  # raised in a worker process
        return value.type_name
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


# -- exceptions raised in a worker process (-j) ---------------------------------------


class RemoteError(Exception):
    """Stands for an exception raised in a worker: its traceback, as text."""

    def __init__(self, text: str, type_name: str, message: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.type_name = type_name
        #: the JUnit message, "Type: str(exception)", as the worker made it
        self.aiounit_remote_message = message


def remote_error(
    error_type: type[BaseException], text: str, type_name: str, message: str
) -> BaseException:
    """An exception of *error_type* (``RemoteError``, or the test's
    ``failureException`` for a failing subtest) standing for one a worker raised."""
    if error_type is RemoteError:
        return RemoteError(text, type_name, message)
    error = error_type(text)
    error.aiounit_remote_text = text  # type: ignore[attr-defined]
    error.aiounit_remote_message = message  # type: ignore[attr-defined]
    return error


def remote_text(err: Any) -> str | None:
    """The traceback text a worker formatted, if exc_info *err* stands for one."""
    value = err[1] if err else None
    if isinstance(value, RemoteError):
        return value.text
    return getattr(value, "aiounit_remote_text", None)


def remote_message(err: Any) -> str | None:
    """The JUnit message a worker made, if exc_info *err* stands for its exception."""
    message = getattr(err[1] if err else None, "aiounit_remote_message", None)
    return None if message is None else str(message)
