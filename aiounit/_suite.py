"""ConcurrentTestSuite: split a suite into serial tests and groups, keep fixtures."""

from __future__ import annotations

import unittest
from collections.abc import Iterable

from . import _config, _fixtures, _options, _scope
from ._case import run_alone_first
from ._marks import UNSET, Unset, group_mark_of, timeout_of
from ._member import Member
from ._plan import Opaque, Unit, check_loop_scopes, flattened, label, plan
from ._scheduler import run_group
from ._stdlib import (
    async_test_context,
    release_test,
    run_entered,
    set_run_entered,
)
from ._suite_fixtures import Fixtures

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True


class ConcurrentTestSuite(unittest.TestSuite):
    """A ``unittest.TestSuite`` that runs each group's tests concurrently.

    Tests run in the suite's order, except that a group runs as a whole at the
    place of its first member; tests with no group run one at a time, as the
    stdlib runs them.  Class and module fixtures run once around the tests that
    need them.  Nested plain suites are flattened; a nested suite with a
    ``run()`` of its own is run as it is.  Any ``unittest.TestResult`` works.

    Args:
        tests: tests and suites, as for ``unittest.TestSuite``.

    The keyword-only options are those of ``python -m aiounit`` that a suite
    takes (``_options.SUITE``; docs/api.md tables them).  One left out, and
    ``timeout``, ``max_concurrency`` or ``default_group`` given as None, keeps
    the value of an enclosing run, else the default.
    """

    def __init__(
        self,
        tests: Iterable[Any] = (),
        *,
        timeout: float | None = None,
        max_concurrency: int | None = None,
        default_group: str | None = None,
        blocking_threshold: float | Unset | None = UNSET,
        fail_on_blocking: bool | Unset = UNSET,
        fail_on_leaks: bool | Unset = UNSET,
        fail_on_hazards: bool | Unset = UNSET,
        fail_on_loop_errors: bool | Unset = UNSET,
        grace: float | Unset = UNSET,
        debug: bool | Unset | None = UNSET,
    ) -> None:
        # The keyword arguments by name (a test checks they are _options.SUITE).
        arguments = locals()
        options = _options.given(
            **{o.name: arguments[o.name] for o in _options.SUITE if o.name not in _options.INHERIT}
        )
        super().__init__(tests)
        # Validate now, at the boundary; None means "the enclosing run's value".
        _config.Config().merged(
            timeout=timeout, max_concurrency=max_concurrency, default_group=default_group, **options
        )
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.default_group = default_group
        #: the other options given (left out: the enclosing run's value)
        self.options = options
        #: (default group, units) planned by check_suite, for the run that follows
        self.planned: tuple[str, list[Unit]] | None = None

    def config_in(self, enclosing: _config.Config) -> _config.Config:
        """The settings this suite runs with, inside a run with *enclosing*'s."""
        return enclosing.merged(
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            default_group=self.default_group,
            **self.options,
        )

    @flattened
    def run(self, result: unittest.TestResult, debug: bool = False) -> unittest.TestResult:
        if debug:
            return super().run(result, debug)
        config = self.config_in(_config.current())
        with _config.using(config):
            return self._run(result, config)

    def _fixture_phase(self, result: unittest.TestResult, name: str) -> None:
        """An async class or module fixture (*name*, as its ``_ErrorHolder`` is
        named) is about to run: ``-j``'s batch suite tells its parent."""

    def _run(self, result: unittest.TestResult, config: _config.Config) -> unittest.TestResult:
        planned, self.planned = self.planned, None
        if planned is not None and planned[0] == config.default_group:
            units = planned[1]  # checked already (a plan of 10 000 tests takes 0.1 s)
        else:
            units = plan(self, config.default_group)
            check_loop_scopes(units)  # a usage error: before anything runs or changes
        top_level = False
        if not run_entered(result):
            set_run_entered(result, True)
            top_level = True

        fixtures = Fixtures(self, result, units)
        try:
            self._run_units(units, fixtures, result, config)
        except KeyboardInterrupt:
            # unittest tears nothing down here; async fixtures still end
            # (a logged-in session logs out), reporting what failed.
            _fixtures.close_all(result)
            raise

        if top_level:
            fixtures.finish()
            set_run_entered(result, False)
        else:
            fixtures.hand_over()
        return result

    def _run_units(
        self,
        units: list[Unit],
        fixtures: Fixtures,
        result: unittest.TestResult,
        config: _config.Config,
    ) -> None:
        for index, unit in enumerate(units):
            if result.shouldStop:
                break
            if isinstance(unit.key, Opaque):
                fixtures.hand_over()
                unit.tests[0](result)
                fixtures.take_back()
            else:
                fixtures.enter(index, unit)
                runnable = [t for t in unit.tests if not fixtures.setup_failed(t)]
                if not unit.is_group:
                    for test in runnable:
                        _config.lend(async_test_context(test))  # a stock async test too
                        test(result)
                elif runnable:
                    _run_unit_group(unit.key, runnable, result, config)
            for owner, position in unit.owners:
                release_test(owner, position)
            units[index] = None  # type: ignore[call-overload]  # free the tests


def _run_unit_group(
    key: object, tests: list[unittest.TestCase], result: unittest.TestResult, config: _config.Config
) -> None:
    marks = [group_mark_of(test) for test in tests]
    caps = [m.max_concurrency for m in marks if m is not None and m.max_concurrency]
    members = [
        Member(test, timeout_of(test, mark, config.timeout))
        for test, mark in zip(tests, marks, strict=True)
    ]
    loop_factory = getattr(tests[0], "loop_factory", None)
    loop = _scope.loop_for(test.__class__ for test in tests)
    left = run_alone_first(members, result)
    if left is None:
        return
    run_group(
        left,
        result,
        label=label(key),
        # Members may disagree; the strictest cap is the only safe one.
        max_concurrency=min(caps) if caps else config.max_concurrency,
        config=config,
        loop_factory=loop_factory,
        loop=loop,
    )


def check_suite(suite: unittest.BaseTestSuite, default_group: str) -> None:
    """``check_loop_scopes`` for a whole suite, before anything runs; a
    ConcurrentTestSuite keeps the plan for its next run."""
    units = plan(suite, default_group)
    check_loop_scopes(units)
    if isinstance(suite, ConcurrentTestSuite):
        suite.planned = (default_group, units)
