"""``aiounit.main``: unittest's TestProgram with aiounit's runner and options."""

from __future__ import annotations

import argparse
import sys
import unittest
from typing import Any

from . import _config
from ._loader import defaultTestLoader
from ._marks import check_max_concurrency, check_timeout
from ._runner import TextTestRunner
from ._suite import ConcurrentTestSuite

__unittest = True

_NO_TESTS_EXITCODE = 5
_UNSET_OPTION: Any = object()


def _argument(check: Any, convert: Any) -> Any:
    def parse(text: str) -> Any:
        try:
            return check(convert(text))
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _seconds(text: str) -> float:
    if text.lower() in ("none", "0"):
        return None  # type: ignore[return-value]
    return float(text)


class TestProgram(unittest.TestProgram):
    """``unittest.main`` with concurrent groups (drop-in; same arguments).

    Adds ``--timeout``, ``--max-concurrency``, ``--default-group`` (also as
    keyword arguments), the diagnostics options of ``ConcurrentTestSuite``
    (``--blocking-threshold``, ``--fail-on-blocking``, ``--fail-on-leaks``,
    ``--grace``, ``--asyncio-debug``; as keyword arguments by their
    ``ConcurrentTestSuite`` names), ``--durations`` on 3.11, and the exit status of 3.12+
    everywhere: 0 all passed, 1 a failure or error (even if no test ran, unlike
    3.12+ unittest, which exits 5 when only a class fixture failed), 2 usage,
    5 no tests ran.
    """

    timeout: float | None = None
    max_concurrency: int | None = None
    default_group: str | None = None

    def __init__(
        self,
        module: Any = "__main__",
        defaultTest: Any = None,  # noqa: N803
        argv: list[str] | None = None,
        testRunner: Any = None,  # noqa: N803
        testLoader: unittest.TestLoader = defaultTestLoader,  # noqa: N803
        exit: bool = True,  # noqa: A002
        verbosity: int = 1,
        failfast: bool | None = None,
        catchbreak: bool | None = None,
        buffer: bool | None = None,
        warnings: str | None = None,
        *,
        tb_locals: bool = False,
        durations: int | None = None,
        timeout: float | None = None,
        max_concurrency: int | None = None,
        default_group: str | None = None,
        **options: Any,
    ) -> None:
        # Checked here, not only at run time: a bad keyword is a usage error.
        ConcurrentTestSuite(**options)
        self.options = options
        self.timeout = check_timeout(timeout)
        self.max_concurrency = check_max_concurrency(max_concurrency)
        if default_group is not None and default_group not in _config.DEFAULT_GROUPS:
            msg = f"default_group must be one of {_config.DEFAULT_GROUPS}, got {default_group!r}"
            raise ValueError(msg)
        self.default_group = default_group
        self.durations = durations
        if testRunner is None:
            testRunner = TextTestRunner
        kwargs: dict[str, Any] = {"tb_locals": tb_locals}
        if sys.version_info >= (3, 12):
            kwargs["durations"] = durations
        super().__init__(
            module,
            defaultTest,
            argv,
            testRunner,
            testLoader,
            exit,
            verbosity,
            failfast,
            catchbreak,
            buffer,
            warnings,
            **kwargs,
        )

    def _getParentArgParser(self) -> argparse.ArgumentParser:  # noqa: N802
        parser = super()._getParentArgParser()
        if sys.version_info < (3, 12):
            parser.add_argument(
                "--durations",
                dest="durations",
                type=int,
                default=self.durations,
                metavar="N",
                help="Show the N slowest test cases (N=0 for all)",
            )
        group = parser.add_argument_group("aiounit")
        group.add_argument(
            "--timeout",
            dest="timeout",
            type=_argument(check_timeout, _seconds),
            default=self.timeout,
            metavar="S",
            help="Default per-test time limit in seconds (0 or none: no limit)",
        )
        group.add_argument(
            "--max-concurrency",
            dest="max_concurrency",
            type=_argument(check_max_concurrency, int),
            default=self.max_concurrency,
            metavar="N",
            help="Default cap on the running members of a group",
        )
        group.add_argument(
            "--default-group",
            dest="default_group",
            choices=_config.DEFAULT_GROUPS,
            default=self.default_group,
            help="Group async tests that have no @group by class or by module"
            " (default: none, they run one at a time)",
        )
        group.add_argument(
            "--blocking-threshold",
            dest="blocking_threshold",
            type=_argument(lambda v: check_timeout(v, "--blocking-threshold"), _seconds),
            default=self.options.get("blocking_threshold", _UNSET_OPTION),
            metavar="S",
            help="Warn about a test that blocks its group's event loop this long"
            " (default 0.1; 0 or none: never)",
        )
        group.add_argument(
            "--fail-on-blocking",
            dest="fail_on_blocking",
            action="store_true",
            default=self.options.get("fail_on_blocking", False),
            help="Report a test that blocked the event loop as an error, not a warning",
        )
        group.add_argument(
            "--fail-on-leaks",
            dest="fail_on_leaks",
            action="store_true",
            default=self.options.get("fail_on_leaks", False),
            help="Report tasks a test left running as an error, not a warning",
        )
        group.add_argument(
            "--grace",
            dest="grace",
            type=_argument(lambda v: check_timeout(v, "--grace"), float),
            default=self.options.get("grace", _UNSET_OPTION),
            metavar="S",
            help="Seconds a timed-out or cancelled test gets to stop before it is"
            " given up on (default 1)",
        )
        group.add_argument(
            "--asyncio-debug",
            dest="debug",
            action="store_true",
            default=self.options.get("debug", None),
            help="Run the event loops in asyncio debug mode",
        )
        return parser

    def runTests(self) -> None:  # noqa: N802
        options = {
            name: getattr(self, name)
            for name in ("blocking_threshold", "fail_on_blocking", "fail_on_leaks", "grace", "debug")
            if getattr(self, name, _UNSET_OPTION) is not _UNSET_OPTION
        }
        if options.get("debug") is None:
            options.pop("debug", None)
        self.test = ConcurrentTestSuite(
            [self.test],
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            default_group=self.default_group,
            **options,
        )
        if self.catchbreak:
            unittest.installHandler()
        if self.testRunner is None:
            self.testRunner = TextTestRunner
        if isinstance(self.testRunner, type):
            base = {
                "verbosity": self.verbosity,
                "failfast": self.failfast,
                "buffer": self.buffer,
                "warnings": self.warnings,
            }
            attempts = (
                {"tb_locals": self.tb_locals, "durations": self.durations},
                # a runner from before 3.12 knows tb_locals but not durations
                {"tb_locals": self.tb_locals},
                {},
            )
            for extra in attempts:
                try:
                    test_runner = self.testRunner(**base, **extra)
                    break
                except TypeError:
                    continue
            else:
                # didn't accept the verbosity, buffer or failfast arguments
                test_runner = self.testRunner()
        else:
            # it is assumed to be a TestRunner instance
            test_runner = self.testRunner
        self.result = test_runner.run(self.test)
        if self.exit:
            # An error (a failed setUpClass, say) is exit 1 even when no test ran;
            # 3.12+ unittest would exit 5 there.
            if not self.result.wasSuccessful():
                sys.exit(1)
            if self.result.testsRun == 0 and not getattr(self.result, "skipped", ()):
                sys.exit(_NO_TESTS_EXITCODE)
            sys.exit(0)


main = TestProgram
