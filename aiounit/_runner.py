"""TextTestRunner: unittest's, with aiounit's result and 3.12+ behaviour everywhere."""

from __future__ import annotations

import time
import unittest
import warnings
from collections.abc import Sized

from ._colour import theme
from ._result import TextTestResult
from ._stdlib import IS_311

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

__unittest = True


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class TextTestRunner(unittest.TextTestRunner):
    """Drop-in for ``unittest.TextTestRunner`` (same arguments, same output).

    Its default result class is ``aiounit.TextTestResult``.  With *junit_xml*,
    it also writes a JUnit XML report to that path.  On a terminal, unless
    *progress* is false, a live line shows tests done, running and the time.  It gives the 3.12+
    behaviour on every supported Python: ``durations``, the "Slowest test
    durations" table and "NO TESTS RAN".
    """

    resultclass = TextTestResult

    def __init__(
        self,
        stream: TextIO | None = None,
        descriptions: bool = True,
        verbosity: int = 1,
        failfast: bool = False,
        buffer: bool = False,
        resultclass: Any = None,
        warnings: str | None = None,
        *,
        tb_locals: bool = False,
        durations: int | None = None,
        junit_xml: str | None = None,
        progress: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            stream,
            descriptions,
            verbosity,
            failfast,
            buffer,
            resultclass,
            warnings,  # type: ignore[arg-type,unused-ignore]  # typeshed 3.14+ wants a Literal
            tb_locals=tb_locals,
            **kwargs,
        )
        self.durations = durations
        self.junit_xml = junit_xml
        self.progress = progress

    def _makeResult(self) -> unittest.TextTestResult:
        try:
            return self.resultclass(
                self.stream, self.descriptions, self.verbosity, durations=self.durations
            )
        except TypeError:
            # didn't accept the durations argument
            return self.resultclass(self.stream, self.descriptions, self.verbosity)

    def _printDurations(self, result: unittest.TestResult) -> None:
        collected = getattr(result, "collectedDurations", None)
        if not collected:
            return
        ls = sorted(collected, key=lambda x: x[1], reverse=True)
        if self.durations is not None and self.durations > 0:
            ls = ls[: self.durations]
        self.stream.writeln("Slowest test durations")
        if hasattr(result, "separator2"):
            self.stream.writeln(result.separator2)
        hidden = False
        for test, elapsed in ls:
            if self.verbosity < 2 and elapsed < 0.001:
                hidden = True
                continue
            self.stream.writeln("%-10s %s" % ("%.3fs" % elapsed, test))
        if hidden:
            self.stream.writeln(
                "\n(durations < 0.001s were hidden; use -v to show these durations)"
            )
        else:
            self.stream.writeln("")

    def run(self, test: Any) -> unittest.TextTestResult:
        """Run the given test case or test suite (the 3.14 ``TextTestRunner.run``)."""
        result = self._makeResult()
        if self.progress and hasattr(result, "progress") and _isatty(self.stream):
            from ._progress import Progress

            count = getattr(test, "countTestCases", None)
            result.progress = Progress(self.stream, count() if count is not None else None)
        if self.junit_xml is not None:
            from ._junit import JUnitXml, attach

            attach(result, JUnitXml(self.junit_xml))
        unittest.registerResult(result)
        result.failfast = self.failfast
        result.buffer = self.buffer
        result.tb_locals = self.tb_locals
        with warnings.catch_warnings():
            if self.warnings:
                # if self.warnings is set, use it to filter all the warnings
                warnings.simplefilter(self.warnings)
                if IS_311 and self.warnings in ("default", "always"):
                    # 3.11 shows its deprecated assert aliases once per module
                    warnings.filterwarnings(
                        "module",
                        category=DeprecationWarning,
                        message=r"Please use assert\w+ instead.",
                    )
            start_time = time.perf_counter()
            start_test_run = getattr(result, "startTestRun", None)
            if start_test_run is not None:
                start_test_run()
            try:
                test(result)
            finally:
                stop_test_run = getattr(result, "stopTestRun", None)
                if stop_test_run is not None:
                    stop_test_run()
            stop_time = time.perf_counter()
        time_taken = stop_time - start_time
        result.printErrors()
        if self.durations is not None:
            self._printDurations(result)

        if hasattr(result, "separator2"):
            self.stream.writeln(result.separator2)

        run = result.testsRun
        self.stream.writeln("Ran %d test%s in %.3fs" % (run, (run != 1 and "s") or "", time_taken))
        self.stream.writeln()

        expected_fails = unexpected_successes = skipped = 0
        try:
            lists: tuple[Sized, ...] = (
                result.expectedFailures,
                result.unexpectedSuccesses,
                result.skipped,
            )
            results = map(len, lists)
        except AttributeError:
            pass
        else:
            expected_fails, unexpected_successes, skipped = results

        infos = []
        t = theme(self.stream)  # 3.14 colours the summary
        if not result.wasSuccessful():
            self.stream.write(f"{t.fail_info}FAILED{t.reset}")
            failed, errored = len(result.failures), len(result.errors)
            if failed:
                infos.append(f"{t.fail_info}failures={failed}{t.reset}")
            if errored:
                infos.append(f"{t.fail_info}errors={errored}{t.reset}")
        elif run == 0 and not skipped:
            self.stream.write(f"{t.warn}NO TESTS RAN{t.reset}")
        else:
            self.stream.write(f"{t.passed}OK{t.reset}")
        if skipped:
            infos.append(f"{t.warn}skipped={skipped}{t.reset}")
        if expected_fails:
            infos.append(f"{t.warn}expected failures={expected_fails}{t.reset}")
        if unexpected_successes:
            infos.append(f"{t.fail}unexpected successes={unexpected_successes}{t.reset}")
        diagnostics = getattr(result, "diagnostics", None)
        if diagnostics:
            infos.append(f"{t.warn}warnings={len(diagnostics)}{t.reset}")
        if infos:
            self.stream.writeln(" (%s)" % (", ".join(infos),))
        else:
            self.stream.write("\n")
        self.stream.flush()
        return result
