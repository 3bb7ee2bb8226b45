"""``aiounit.main``: unittest's TestProgram with aiounit's runner and options."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import unittest

from . import _config
from ._loader import defaultTestLoader
from ._marks import check_max_concurrency, check_timeout
from ._runner import TextTestRunner
from ._scope import LoopScopeError
from ._shard import load_durations, parse_shard, record_durations, select_shard
from ._stdlib import IS_311
from ._suite import ConcurrentTestSuite, check_suite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._workers import WorkerSuite

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


def _workers_count(value: int) -> int:
    if value < 0:
        msg = f"--workers must be >= 0, got {value}"
        raise ValueError(msg)
    return value or (os.cpu_count() or 1)


def _seconds(text: str) -> float:
    if text.lower() in ("none", "0"):
        return None  # type: ignore[return-value]
    return float(text)


class TestProgram(unittest.TestProgram):
    """``unittest.main`` with concurrent groups (drop-in; same arguments).

    Adds ``--timeout``, ``--max-concurrency``, ``--default-group`` (also as
    keyword arguments), the diagnostics options of ``ConcurrentTestSuite``
    (``--blocking-threshold``, ``--fail-on-blocking``, ``--fail-on-leaks``,
    ``--fail-on-hazards``, ``--fail-on-loop-errors``, ``--grace``, ``--asyncio-debug``;
    as keyword arguments by their ``ConcurrentTestSuite`` names), the CI options (``-j/--workers``,
    ``--junit-xml``, ``--shard``, ``--durations-file``, ``--record-durations``,
    ``--coverage``, ``--no-progress``), ``--durations`` on 3.11, and the exit status of 3.14
    everywhere: 0 all passed, 1 a failure or error (even if no test ran; unittest
    3.12 and 3.13.0 exit 5 when only a class fixture failed), 2 usage, 5 no tests ran.
    """

    timeout: float | None = None
    max_concurrency: int | None = None
    default_group: str | None = None
    workers: int | None = None
    junit_xml: str | None = None
    shard: tuple[int, int] | None = None
    durations_file: str | None = None
    record_durations: str | None = None
    coverage: bool = False
    progress: bool = True
    _coverage: Any = None
    # Set by unittest.TestProgram, which typeshed does not declare.
    test: unittest.TestSuite | unittest.TestCase | WorkerSuite
    testRunner: Any
    exit: bool
    tb_locals: bool

    def __init__(
        self,
        module: Any = "__main__",
        defaultTest: Any = None,
        argv: list[str] | None = None,
        testRunner: Any = None,
        testLoader: unittest.TestLoader = defaultTestLoader,
        exit: bool = True,
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
        # typeshed types TestProgram.durations (3.12+) as a list: it is the int.
        self.durations = durations  # type: ignore[assignment,unused-ignore]
        if testRunner is None:
            testRunner = TextTestRunner
        kwargs: dict[str, Any] = {"tb_locals": tb_locals}
        if not IS_311:
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

    def _getParentArgParser(self) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super()._getParentArgParser()  # type: ignore[misc]
        if IS_311:
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
            "--fail-on-hazards",
            dest="fail_on_hazards",
            action="store_true",
            default=self.options.get("fail_on_hazards", False),
            help="Report a test that changed process-wide state (mock.patch, os.environ,"
            " a fixed port...) while peers of its group ran as an error, not a warning",
        )
        group.add_argument(
            "--fail-on-loop-errors",
            dest="fail_on_loop_errors",
            action="store_true",
            default=self.options.get("fail_on_loop_errors", False),
            help=(
                "Report an exception in an event loop callback, or in a task nobody"
                " awaited, as an error of its test, not a warning"
            ),
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
            "-j",
            "--workers",
            dest="workers",
            type=_argument(_workers_count, int),
            default=None,
            metavar="N",
            help="Run the tests in N worker processes, whole groups and modules"
            " at a time (0: one per CPU; POSIX only)",
        )
        group.add_argument(
            "--junit-xml",
            dest="junit_xml",
            default=None,
            metavar="PATH",
            help="Write a JUnit XML report to PATH (kept up to date as the run goes)",
        )
        group.add_argument(
            "--shard",
            dest="shard",
            type=_argument(lambda v: v, parse_shard),
            default=None,
            metavar="I/N",
            help="Run only shard I of N: the selected tests split over N machines,"
            " groups kept whole",
        )
        group.add_argument(
            "--durations-file",
            dest="durations_file",
            default=None,
            metavar="PATH",
            help="Balance --shard by the test durations recorded in PATH",
        )
        group.add_argument(
            "--record-durations",
            dest="record_durations",
            default=None,
            metavar="PATH",
            help="Merge this run's test durations into PATH (JSON), for --durations-file",
        )
        group.add_argument(
            "--coverage",
            dest="coverage",
            action="store_true",
            default=False,
            help="Measure coverage of the run, workers included, and print the report"
            " (needs the coverage package: pip install 'aiounit[coverage]')",
        )
        group.add_argument(
            "--no-progress",
            dest="progress",
            action="store_false",
            default=True,
            help="Do not show the live progress line on a terminal",
        )
        group.add_argument(
            "--asyncio-debug",
            dest="debug",
            action="store_true",
            default=self.options.get("debug", None),
            help="Run the event loops in asyncio debug mode",
        )
        return parser

    def createTests(self, *args: Any, **kwargs: Any) -> None:
        # Measure from before the test modules are imported.
        if self.coverage:
            self._start_coverage()
        super().createTests(*args, **kwargs)

    def _start_coverage(self) -> None:
        try:
            import coverage
        except ImportError:
            sys.stderr.write(
                "error: --coverage needs the coverage package;"
                " install it with: pip install 'aiounit[coverage]'\n"
            )
            sys.exit(2)
        options: dict[str, Any] = {"data_suffix": True, "config_file": True}
        cov = coverage.Coverage(**options)
        cov.erase()  # stale parallel data would be combined in
        cov.start()
        self._coverage = (cov, options)

    def _finish_coverage(self) -> None:
        cov, _options = self._coverage
        cov.stop()
        cov.save()
        cov.combine()
        cov.save()
        sys.stdout.flush()
        try:
            cov.report(file=sys.stdout)
        except Exception as exc:  # coverage's NoDataError and friends
            sys.stderr.write(f"coverage: {exc}\n")

    def _suite(self, tests: Any) -> ConcurrentTestSuite:
        options = {
            name: getattr(self, name)
            for name in (
                "blocking_threshold",
                "fail_on_blocking",
                "fail_on_leaks",
                "fail_on_hazards",
                "fail_on_loop_errors",
                "grace",
                "debug",
            )
            if getattr(self, name, _UNSET_OPTION) is not _UNSET_OPTION
        }
        if options.get("debug") is None:
            options.pop("debug", None)
        return ConcurrentTestSuite(
            tests,
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            default_group=self.default_group,
            **options,
        )

    def runTests(self) -> None:
        suite = self._suite([self.test])
        try:
            check_suite(suite, self.default_group or "none")
        except LoopScopeError as exc:
            sys.stderr.write(f"error: {exc}\n")
            sys.exit(2)
        if self.shard is not None:
            index, count = self.shard
            try:
                durations = load_durations(self.durations_file)
            except (OSError, ValueError) as exc:
                sys.stderr.write(f"error: --durations-file: {exc}\n")
                sys.exit(2)
            suite = self._suite(
                select_shard(
                    suite,
                    index,
                    count,
                    default_group=self.default_group or "none",
                    durations=durations,
                )
            )
        self.test = suite
        if self.workers is not None and self.workers > 1:
            import multiprocessing

            if "fork" not in multiprocessing.get_all_start_methods():
                sys.stderr.write(
                    "error: -j/--workers needs the 'fork' start method, which this"
                    " platform does not have; run without -j\n"
                )
                sys.exit(2)
            from ._workers import WorkerSuite

            options = self._coverage[1] if self._coverage is not None else None
            self.test = WorkerSuite(suite, self.workers, coverage=options)
        if self.catchbreak:
            unittest.installHandler()
        if self.testRunner is None:
            self.testRunner = TextTestRunner
        if isinstance(self.testRunner, type):
            test_runner = self._make_runner()
        else:
            # it is assumed to be a TestRunner instance
            test_runner = self.testRunner
            if self.junit_xml is not None:
                if not isinstance(test_runner, TextTestRunner):
                    sys.stderr.write(
                        "error: --junit-xml needs aiounit.TextTestRunner (or a subclass)\n"
                    )
                    sys.exit(2)
                test_runner.junit_xml = self.junit_xml
        try:
            self.result = test_runner.run(self.test)
        finally:
            if self._coverage is not None:
                self._finish_coverage()
        if self.record_durations:
            by_id = getattr(self.result, "durationsById", None)
            if by_id is None:
                sys.stderr.write("error: --record-durations needs aiounit.TextTestResult\n")
            else:
                record_durations(self.record_durations, by_id)
        if self.exit:
            # The interpreter is about to go: its last garbage collection would
            # walk every test and module for nothing (about 15 ms of a run that
            # may last 1.3 s).  Objects are still freed, files still flushed.
            gc.freeze()
            # An error (a failed setUpClass, say) is exit 1 even when no test ran;
            # unittest 3.14 does the same; 3.12 and 3.13.0 exit 5 there.
            if not self.result.wasSuccessful():
                sys.exit(1)
            if self.result.testsRun == 0 and not getattr(self.result, "skipped", ()):
                sys.exit(_NO_TESTS_EXITCODE)
            sys.exit(0)

    def _make_runner(self) -> Any:
        base = {
            "verbosity": self.verbosity,
            "failfast": self.failfast,
            "buffer": self.buffer,
            "warnings": self.warnings,
        }
        extra: dict[str, Any] = {}
        if self.junit_xml is not None:
            extra["junit_xml"] = self.junit_xml
        attempts: tuple[dict[str, Any], ...] = (
            {"tb_locals": self.tb_locals, "durations": self.durations},
            # a runner from before 3.12 knows tb_locals but not durations
            {"tb_locals": self.tb_locals},
            {},
        )
        # A runner without a progress line has nothing for --no-progress to do.
        progress = [{"progress": False}, {}] if not self.progress else [{}]
        for attempt in attempts:
            for quiet in progress:
                try:
                    return self.testRunner(**base, **attempt, **extra, **quiet)
                except TypeError:
                    continue
        if extra:
            options = ", ".join(f"--{name.replace('_', '-')}" for name in extra)
            sys.stderr.write(f"error: the test runner does not support {options}\n")
            sys.exit(2)
        # didn't accept the verbosity, buffer or failfast arguments
        return self.testRunner()


main = TestProgram
