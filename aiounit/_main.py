"""``aiounit.main``: unittest's TestProgram with aiounit's runner and options."""

from __future__ import annotations

import argparse
import gc
import sys
import unittest

from . import _options
from ._loader import defaultTestLoader
from ._marks import UNSET, Unset
from ._runner import TextTestRunner
from ._scope import LoopScopeError
from ._shard import load_durations, record_durations, select_shard
from ._stdlib import IS_311
from ._suite import ConcurrentTestSuite, check_suite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._workers import WorkerSuite

__unittest = True

_NO_TESTS_EXITCODE = 5


class TestProgram(unittest.TestProgram):
    """``unittest.main`` with concurrent groups (drop-in; same arguments).

    Adds aiounit's options (``_options.OPTIONS``) to the command line, and
    those of ``ConcurrentTestSuite`` as keyword arguments, the defaults of
    their command-line options; ``--durations`` on 3.11; and the exit status
    of 3.14 everywhere: 0 all passed, 1 a failure or error (even if no test
    ran; unittest 3.12 and 3.13.0 exit 5 when only a class fixture failed),
    2 usage, 5 no tests ran.
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
        blocking_threshold: float | Unset | None = UNSET,
        fail_on_blocking: bool | Unset = UNSET,
        fail_on_leaks: bool | Unset = UNSET,
        fail_on_hazards: bool | Unset = UNSET,
        fail_on_loop_errors: bool | Unset = UNSET,
        grace: float | Unset = UNSET,
        debug: bool | Unset | None = UNSET,
    ) -> None:
        # Checked here, not only at run time: a bad keyword is a usage error.
        # The keyword arguments by name (a test checks they are _options.SUITE).
        arguments = locals()
        options = {option.name: arguments[option.name] for option in _options.SUITE}
        ConcurrentTestSuite(**options)
        #: the defaults of the suite options' command-line flags
        self.option_defaults = {k: v for k, v in options.items() if v is not UNSET}
        # argparse leaves an attribute the namespace (self) already has alone.
        for name, value in self.option_defaults.items():
            setattr(self, name, value)
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
        # Each attribute holds the value the run will have (None: not set).
        defaults = {
            o.name: None if o.name in _options.INHERIT else o.value for o in _options.OPTIONS
        }
        defaults.update(self.option_defaults)
        _options.add_arguments(parser.add_argument_group("aiounit"), defaults)
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
        options: dict[str, Any] = {
            option.name: getattr(self, option.name, UNSET) for option in _options.SUITE
        }
        if options["debug"] is None:
            options["debug"] = UNSET
        return ConcurrentTestSuite(tests, **options)

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
