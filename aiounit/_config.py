"""Run-wide settings (``--timeout`` and friends) that a test's own run() can read."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, replace

from . import _options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, Literal

    DefaultGroup = Literal["none", "class", "module"]

__unittest = True

DEFAULT_GROUPS: Final = _options.DEFAULT_GROUPS


@dataclass(frozen=True, slots=True)
class Config:
    """Settings of one run; the innermost ``ConcurrentTestSuite.run`` sets them.

    One field per suite option of ``_options.OPTIONS``, in its order, with the
    default a run has when nobody sets it (a test checks the two agree).
    """

    timeout: float | None = None
    max_concurrency: int | None = None
    default_group: DefaultGroup = "none"
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
    debug: bool | None = None

    def __post_init__(self) -> None:
        for option in _options.SUITE:
            _options.check(option.name, getattr(self, option.name))
        if self.default_group is None:
            msg = f"default_group must be one of {DEFAULT_GROUPS}, got None"
            raise ValueError(msg)

    def merged(self, **changes: Any) -> Config:
        """A copy with the given options (``_options.given``) applied."""
        return replace(self, **_options.given(**changes))


# A context variable, not a global: a suite run inside a test (aiounit's own
# tests do that), or on another thread, sees its own settings and leaves the
# enclosing run's untouched; see design.md, "Run settings".
_current: contextvars.ContextVar[Config] = contextvars.ContextVar(
    "aiounit_config",
    default=Config(),  # noqa: B039  # frozen: never changed in place
)


def current() -> Config:
    """The settings of the run in progress, or the defaults."""
    return _current.get()


def lend(context: object) -> None:
    """Make the current settings those of a test's own *context* too.

    An ``IsolatedAsyncioTestCase`` copies the context when it is built, before
    any run has set its settings, and runs every part of the test in it: called
    (outside that context) just before the test runs, so that the test, its
    tasks and threads see the settings of the suite that runs it.
    """
    if isinstance(context, contextvars.Context):
        config = _current.get()
        if context.get(_current) is not config:
            context.run(_current.set, config)


@contextlib.contextmanager
def using(config: Config) -> Iterator[None]:
    """Make *config* current for the duration of a suite's run."""
    token = _current.set(config)
    try:
        yield
    finally:
        _current.reset(token)
