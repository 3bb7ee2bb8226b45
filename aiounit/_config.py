"""Run-wide settings (``--timeout`` and friends) that a test's own run() can read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ._marks import check_max_concurrency, check_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, Literal

    DefaultGroup = Literal["none", "class", "module"]

__unittest = True

DEFAULT_GROUPS: Final = ("none", "class", "module")


@dataclass(frozen=True, slots=True)
class Config:
    """Settings of one run; the innermost ``ConcurrentTestSuite.run`` sets them."""

    timeout: float | None = None
    max_concurrency: int | None = None
    default_group: DefaultGroup = "none"
    debug: bool | None = None
    #: a test that keeps the loop busy this long (s) is named; None: never
    blocking_threshold: float | None = 0.1
    #: report a test that blocked the loop as an error, not a warning
    fail_on_blocking: bool = False
    #: report tasks a test left running as an error, not a warning
    fail_on_leaks: bool = False
    #: report a change of process-wide state seen by running peers as an error
    fail_on_hazards: bool = False
    #: report exceptions in loop callbacks and tasks nobody awaited as errors
    fail_on_loop_errors: bool = False
    #: how long (s) a cancelled test, or its leftover tasks, get to finish
    grace: float = 1.0

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        check_max_concurrency(self.max_concurrency)
        check_timeout(self.blocking_threshold, "blocking_threshold")
        if check_timeout(self.grace, "grace") is None:
            msg = "grace must be a positive number of seconds, got None"
            raise TypeError(msg)
        for name in ("fail_on_blocking", "fail_on_leaks", "fail_on_hazards", "fail_on_loop_errors"):
            if not isinstance(getattr(self, name), bool):
                msg = f"{name} must be a bool, got {getattr(self, name)!r}"
                raise TypeError(msg)
        if self.debug is not None and not isinstance(self.debug, bool):
            msg = f"debug must be a bool or None, got {self.debug!r}"
            raise TypeError(msg)
        if self.default_group not in DEFAULT_GROUPS:
            msg = f"default_group must be one of {DEFAULT_GROUPS}, got {self.default_group!r}"
            raise ValueError(msg)

    def merged(self, **changes: Any) -> Config:
        """A copy with the changes applied; None leaves timeout, max_concurrency
        and default_group as they are (it means "the enclosing run's")."""
        inherit = ("timeout", "max_concurrency", "default_group")
        return replace(
            self, **{k: v for k, v in changes.items() if v is not None or k not in inherit}
        )


_current = Config()


def current() -> Config:
    """The settings of the run in progress, or the defaults."""
    return _current


@contextlib.contextmanager
def using(config: Config) -> Iterator[None]:
    """Make *config* current for the duration of a suite's run."""
    global _current
    saved, _current = _current, config
    try:
        yield
    finally:
        _current = saved
