"""``--junit-xml``: a JUnit XML report, written atomically as the run goes."""

from __future__ import annotations

import datetime
import os
import re
import socket
import time
import unittest

from ._colour import uncoloured
from ._errors import exception_message, remote_message, type_name
from ._stdlib import exc_info_to_string, method_name, output_buffers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

# XML 1.0 allows tab, newline, carriage return and these ranges, nothing else:
# a test that prints an escape sequence or a lone surrogate must not make the
# whole report unreadable.
_INVALID_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HOLDER = re.compile(r"^(\w+) \((.*)\)$")  # "setUpClass (module.Class)"
_WRITE_EVERY = 1.0  # seconds between rewrites while the run goes on


def _clean(text: str) -> str:
    """*text* with what XML cannot hold shown as escapes (``\\x1b``, ``\\udcff``)."""
    return _INVALID_XML.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class _Case:
    __slots__ = (
        "classname",
        "elapsed",
        "err",
        "name",
        "out",
        "outcomes",
        "started",
    )

    def __init__(self, test: Any) -> None:
        self.classname, self.name = _names(test)
        self.outcomes: list[tuple[str, str, str, str]] = []  # kind, type, text, message
        self.out = self.err = ""
        self.elapsed: float | None = None
        self.started = time.perf_counter()


def _names(test: Any) -> tuple[str, str]:
    if isinstance(test, unittest.TestCase):
        cls = type(test)
        return f"{cls.__module__}.{cls.__qualname__}", method_name(test)
    match = _HOLDER.match(str(test))
    if match:  # a class or module fixture's _ErrorHolder
        return match.group(2), match.group(1)
    text = str(test)
    head, _, tail = text.rpartition(".")
    return (head or text), (tail or text)


class JUnitXml:
    """Listens to a run (see ``attach``) and keeps *path* up to date.

    The file is rewritten as a whole, to a temporary name then renamed over
    *path*, at most every second and at the end of the run: a run killed
    halfway leaves the report of what had finished, never half a file.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.cases: dict[int, _Case] = {}
        self.order: list[_Case] = []
        self.started = time.time()
        self.start_clock = time.perf_counter()
        self._last_write = 0.0
        self.tests: dict[int, Any] = {}  # keeps ids valid while a test is recorded

    def _case(self, test: Any) -> _Case:
        # A subtest (a skipTest() inside subTest()) belongs to its test.
        test = getattr(test, "test_case", test)
        case = self.cases.get(id(test))
        if case is None:
            case = self.cases[id(test)] = _Case(test)
            self.tests[id(test)] = test
            self.order.append(case)
        return case

    def start(self, test: Any) -> None:
        self._case(test).started = time.perf_counter()

    def outcome(
        self, kind: str, test: Any, text: str = "", type_name: str = "", message: str = ""
    ) -> None:
        self._case(test).outcomes.append((kind, type_name, text, message))
        if not isinstance(test, unittest.TestCase):
            self._forget(test)  # a fixture error has no stopTest

    def duration(self, test: Any, elapsed: float) -> None:
        self._case(test).elapsed = elapsed

    def stop(self, test: Any, out: str, err: str) -> None:
        case = self._case(test)
        case.out, case.err = out, err
        if case.elapsed is None:
            case.elapsed = time.perf_counter() - case.started
        self._forget(test)
        if time.perf_counter() - self._last_write >= _WRITE_EVERY:
            self.write()

    def _forget(self, test: Any) -> None:
        test = getattr(test, "test_case", test)
        self.cases.pop(id(test), None)
        self.tests.pop(id(test), None)

    def write(self) -> None:
        """Write the report of everything recorded so far, atomically."""
        import xml.etree.ElementTree as ET

        self._last_write = time.perf_counter()
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suites: dict[str, list[_Case]] = {}
        for case in self.order:
            suites.setdefault(case.classname, []).append(case)
        root = ET.Element("testsuites", name="aiounit")
        stamp = datetime.datetime.fromtimestamp(self.started).isoformat(timespec="seconds")
        for classname, cases in suites.items():
            suite = ET.SubElement(
                root,
                "testsuite",
                name=_clean(classname),
                timestamp=stamp,
                hostname=_clean(socket.gethostname()),
            )
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            elapsed = 0.0
            for case in cases:
                counts["tests"] += 1
                elapsed += case.elapsed or 0.0
                kind = self._add_case(ET, suite, case)
                if kind:
                    counts[kind] += 1
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
            suite.set("time", f"{elapsed:.3f}")
        # junit-10.xsd allows only these on <testsuites>; skipped and timestamp
        # live on each <testsuite> (Jenkins rejects them here).
        for key in ("tests", "failures", "errors"):
            root.set(key, str(totals[key]))
        root.set("time", f"{time.perf_counter() - self.start_clock:.3f}")
        tree = ET.ElementTree(root)
        ET.indent(tree)
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as file:
            tree.write(file, encoding="utf-8", xml_declaration=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    @staticmethod
    def _add_case(ET: Any, suite: Any, case: _Case) -> str | None:
        # Only what junit-10.xsd (the Jenkins xUnit plugin's schema) allows on
        # a testcase: no file or line, which make the plugin skip the report.
        element = ET.SubElement(
            suite,
            "testcase",
            classname=_clean(case.classname),
            name=_clean(case.name),
            time=f"{case.elapsed or 0.0:.3f}",
        )
        kinds = [outcome[0] for outcome in case.outcomes]
        counted: str | None = None
        # One failure or error element per test, as strict consumers want: the
        # texts of all its failing parts (subtests, teardown) go into it.
        bad = [o for o in case.outcomes if o[0] in ("error", "failure")]
        if bad:
            counted = "errors" if any(o[0] == "error" for o in bad) else "failures"
            tag = "error" if counted == "errors" else "failure"
            # The type and message of the first part of that kind: an error
            # element names an error's type even if a subtest failed before.
            _, type_name, _, message = next(o for o in bad if o[0] == tag)
            node = ET.SubElement(
                element, tag, type=_clean(type_name), message=_clean(message[:1000])
            )
            node.text = _clean("\n".join(o[2] for o in bad))
        elif "skipped" in kinds:
            counted = "skipped"
            reason = next(o[2] for o in case.outcomes if o[0] == "skipped")
            ET.SubElement(element, "skipped", message=_clean(reason))
        elif "unexpected success" in kinds:
            counted = "failures"
            ET.SubElement(
                element, "failure", type="UnexpectedSuccess", message="unexpected success"
            )
        elif not {"success", "expected failure"} & set(kinds):
            # Started and stopped with no outcome: unittest's report of the test
            # a KeyboardInterrupt cut off.  Not a pass.
            counted = "errors"
            ET.SubElement(
                element,
                "error",
                type="Interrupted",
                message="the test has no outcome: the run was interrupted while it ran",
            )
        if case.out:
            ET.SubElement(element, "system-out").text = _clean(case.out)
        if case.err:
            ET.SubElement(element, "system-err").text = _clean(case.err)
        return counted


def _message(err: Any) -> str:
    """ "Type: message" of *err*; for an error raised in a worker, as the worker made it."""
    remote = remote_message(err)
    return remote if remote is not None else exception_message(err)


def attach(result: unittest.TestResult, report: JUnitXml) -> unittest.TestResult:
    """Make *result* tell *report* about the run too, and return it.

    The result's own bound methods are wrapped on the instance, so it stays
    the very object the runner made (its type, its attributes, the hooks it
    has and has not), and *report* hears every call first.
    """

    def wrap(name: str, before: Any = None, after: Any = None) -> None:
        original = getattr(result, name, None)
        if original is None:
            return  # an optional hook this result does not have: neither do we

        def hook(*args: Any) -> Any:
            if before is not None:
                before(*args)
            try:
                return original(*args)
            finally:
                if after is not None:
                    after(*args)

        setattr(result, name, hook)

    def text(err: Any, test: Any) -> str:
        to_string = exc_info_to_string(result)
        if to_string is not None:
            # 3.14 colours it for the result's terminal; the report is a file.
            return uncoloured(to_string(err, test))
        import traceback

        return "".join(traceback.format_exception(*err))

    captured: dict[int, tuple[str, str]] = {}

    def grab_output(test: Any) -> None:
        # A buffering result empties its buffers in stopTest: read them first.
        out = err = ""
        if getattr(result, "buffer", False):
            out_buffer, err_buffer = output_buffers(result)
            out = out_buffer.getvalue() if out_buffer is not None else ""
            err = err_buffer.getvalue() if err_buffer is not None else ""
        captured[id(test)] = (out, err)

    def stopped(test: Any) -> None:
        report.stop(test, *captured.pop(id(test), ("", "")))

    def sub_test(test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            report.outcome(
                kind, test, f"{subtest}\n{text(err, test)}", type_name(err), _message(err)
            )

    wrap("startTest", before=report.start)
    wrap("stopTest", before=grab_output, after=stopped)
    wrap(
        "addError",
        before=lambda t, e: report.outcome("error", t, text(e, t), type_name(e), _message(e)),
    )
    wrap(
        "addFailure",
        before=lambda t, e: report.outcome("failure", t, text(e, t), type_name(e), _message(e)),
    )
    wrap("addSkip", before=lambda t, reason: report.outcome("skipped", t, reason))
    wrap("addSuccess", before=lambda t: report.outcome("success", t))
    wrap("addExpectedFailure", before=lambda t, e: report.outcome("expected failure", t))
    wrap("addUnexpectedSuccess", before=lambda t: report.outcome("unexpected success", t))
    wrap("addSubTest", before=sub_test)
    wrap("addDuration", before=report.duration)
    wrap("_aiounit_elapsed", before=report.duration)  # 3.11: see Recorder.stopTest
    original_stop_run = getattr(result, "stopTestRun", None)

    def stop_test_run() -> None:
        try:
            if original_stop_run is not None:
                original_stop_run()
        finally:
            report.write()

    result.stopTestRun = stop_test_run  # type: ignore[method-assign]
    return result
