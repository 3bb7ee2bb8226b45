"""Tests for ``--junit-xml``: the report parsed back, its shape, hostile text, atomic writes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, ClassVar

import aiounit
from tests._support import (
    BackgroundCase,
    background_directory,
    child_env,
    run_warm,
    write_files,
)

# Control bytes, a lone surrogate and markup: what a test may print or raise.
HOSTILE = "esc\x1b[31m nul\x00 bell\x07 lone\udcff cdata]]> markup<&>'\""


def _words(text: str) -> set[str]:
    return set(text.split())


# The Jenkins xUnit plugin validates JUnit reports against its junit-10.xsd and
# skips a file that fails it.  Its rules are written out below (_SCHEMA, and the
# time pattern) rather than vendored; _schema_xsd() renders them as an XSD that
# lxml validates every report against, and the structural checker uses them for
# the interpreters without lxml.  Where a copy of the plugin's own file is at
# $AIOUNIT_JUNIT_XSD, reports are validated against it as well.
REAL_XSD = os.environ.get("AIOUNIT_JUNIT_XSD")

try:
    # lxml-stubs is not a test dependency; "as" names re-exported (test_workers).
    import lxml as lxml  # type: ignore[import-untyped]
    import lxml.etree  # type: ignore[import-untyped]
except ImportError:  # test-only dependency
    lxml = None
try:
    import junitparser as junitparser
except ImportError:  # test-only dependency
    junitparser = None  # type: ignore[assignment]  # its tests skip

# element -> (allowed attributes, required attributes, allowed children), as
# junit-10.xsd has them.  None for children: text only.
_SCHEMA: dict[str, tuple[set[str], set[str], set[str] | None]] = {
    "testsuites": (_words("name time tests failures errors"), set(), {"testsuite"}),
    "testsuite": (
        _words(
            "name tests failures errors group time skipped timestamp hostname id"
            " package file log url version"
        ),
        _words("name tests failures errors"),
        _words("testsuite properties testcase system-out system-err"),
    ),
    "testcase": (
        _words("name time classname group"),
        {"name"},
        _words("skipped error failure system-out system-err"),
    ),
    "failure": ({"type", "message"}, set(), None),
    "error": ({"type", "message"}, set(), None),
    "skipped": ({"type", "message"}, set(), None),
    "system-out": (set(), set(), None),
    "system-err": (set(), set(), None),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
}
_COUNTS = ("tests", "failures", "errors", "skipped", "disabled", "skips", "assertions")
_TIME = re.compile(r"^[0-9]+(\.[0-9]*)?$")
_OUTCOMES = ("skipped", "error", "failure")


def schema_problems(root: ET.Element, *, root_attributes: bool = True) -> list[str]:
    """What in the report under *root* the JUnit XSD would reject; [] if nothing.

    Also the usual consumers' rules: at most one outcome element per testcase,
    before its output; numbers numeric; a suite's counts are its testcases'.
    """
    problems: list[str] = []
    if root.tag != "testsuites":
        problems.append(f"root is <{root.tag}>, not <testsuites>")

    def check(element: ET.Element, path: str) -> None:
        spec = _SCHEMA.get(element.tag)
        if spec is None:
            problems.append(f"{path}: unknown element")
            return
        allowed, required, children = spec
        if element is not root or root_attributes:
            unknown = set(element.attrib) - allowed
            problems.extend(f"{path}: attribute {a!r} not allowed" for a in sorted(unknown))
        problems.extend(f"{path}: attribute {a!r} missing" for a in required - set(element.attrib))
        for name, value in element.attrib.items():
            if name in _COUNTS and not value.isdigit():
                problems.append(f"{path}: {name}={value!r} is not a count")
            if name == "time" and not _TIME.match(value):
                problems.append(f"{path}: time={value!r} is not a number of seconds")
        if children is None:
            if len(element):
                problems.append(f"{path}: has child elements, text only allowed")
            return
        if element.tag not in ("testcase",) and (element.text or "").strip():
            problems.append(f"{path}: has text")
        tags = [child.tag for child in element]
        if element.tag == "testcase":
            if sum(tag in _OUTCOMES for tag in tags) > 1:
                problems.append(f"{path}: more than one of skipped/error/failure: {tags}")
            order = {"skipped": 0, "error": 0, "failure": 0, "system-out": 1, "system-err": 2}
            ranks = [order.get(tag, 0) for tag in tags]
            if ranks != sorted(ranks) or len(set(tags)) != len(tags):
                problems.append(f"{path}: children not (outcome?, system-out?, system-err?) {tags}")
        for index, child in enumerate(element):
            if child.tag not in children:
                problems.append(f"{path}: <{child.tag}> not allowed in <{element.tag}>")
            else:
                check(child, f"{path}/{child.tag}[{index}]")
        if element.tag == "testsuite":
            cases = element.findall("testcase")
            expected = {
                "tests": len(cases),
                "failures": sum(c.find("failure") is not None for c in cases),
                "errors": sum(c.find("error") is not None for c in cases),
                "skipped": sum(c.find("skipped") is not None for c in cases),
            }
            for name, count in expected.items():
                if element.get(name, str(count)) != str(count):
                    got = element.get(name)
                    problems.append(f"{path}: {name}={got}, its testcases say {count}")

    check(root, root.tag)
    if root.tag == "testsuites":
        for name in ("tests", "failures", "errors"):
            total = sum(int(s.get(name, "0")) for s in root.findall("testsuite"))
            if root.get(name, str(total)) != str(total):
                got = root.get(name)
                problems.append(f"testsuites: {name}={got}, its suites add up to {total}")
    return problems


# junit-10.xsd's SUREFIRE_TIME: digits with optional thousands commas and
# up to three decimals.
_SUREFIRE_TIME = r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?"
_TIMED = {"testsuites", "testsuite"}  # where time is SUREFIRE_TIME, not any string


def _schema_xsd() -> bytes:
    """_SCHEMA as an XML Schema: what junit-10.xsd allows, element by element."""
    parts = [
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">',
        '<xs:simpleType name="SUREFIRE_TIME"><xs:restriction base="xs:string">'
        f'<xs:pattern value="{_SUREFIRE_TIME}"/></xs:restriction></xs:simpleType>',
    ]
    for tag, (allowed, required, children) in _SCHEMA.items():
        if tag in ("system-out", "system-err"):
            parts.append(f'<xs:element name="{tag}" type="xs:string"/>')
            continue
        mixed = ' mixed="true"' if children is None else ""
        body = ""
        if children:
            refs = "".join(f'<xs:element ref="{child}"/>' for child in sorted(children))
            body = f'<xs:choice minOccurs="0" maxOccurs="unbounded">{refs}</xs:choice>'
        for name in sorted(allowed):
            kind = "SUREFIRE_TIME" if name == "time" and tag in _TIMED else "xs:string"
            use = ' use="required"' if name in required else ""
            body += f'<xs:attribute name="{name}" type="{kind}"{use}/>'
        parts.append(
            f'<xs:element name="{tag}"><xs:complexType{mixed}>{body}</xs:complexType></xs:element>'
        )
    parts.append("</xs:schema>")
    return "".join(parts).encode()


def xsd_problems(path: str) -> list[str]:
    """What lxml finds wrong in the report at *path* against junit-10.xsd's rules
    (and against the plugin's own file where $AIOUNIT_JUNIT_XSD names one); [] if nothing."""
    schemas = [lxml.etree.XMLSchema(lxml.etree.fromstring(_schema_xsd()))]
    if REAL_XSD:
        schemas.append(lxml.etree.XMLSchema(lxml.etree.parse(REAL_XSD)))
    report = lxml.etree.parse(path)
    problems = []
    for schema in schemas:
        schema.validate(report)
        problems += [f"line {e.line}: {e.message}" for e in schema.error_log]
    return problems


def parsed_outcomes(path: str) -> dict[str, tuple[str | None, ...]]:
    """junitparser's reading of the report: "classname.name" -> its result tags."""
    report = junitparser.JUnitXml.fromfile(path)
    suites = [report] if isinstance(report, junitparser.TestSuite) else list(report)
    return {
        f"{case.classname}.{case.name}": tuple(r._tag for r in case.result)
        for suite in suites
        for case in suite
    }


def testcases(root: ET.Element) -> dict[str, ET.Element]:
    """The report's testcases by name; fails on a name seen twice."""
    cases: dict[str, ET.Element] = {}
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if name in cases:
            msg = f"testcase {name!r} twice"
            raise AssertionError(msg)
        cases[name] = case
    return cases


def child_of(element: ET.Element, tag: str) -> ET.Element:
    """The first *tag* child of *element*; fails if there is none."""
    found = element.find(tag)
    if found is None:
        msg = f"no <{tag}> in <{element.tag} {element.attrib}>"
        raise AssertionError(msg)
    return found


def text_of(element: ET.Element) -> str:
    """The text of *element*; fails if it has none."""
    if element.text is None:
        msg = f"<{element.tag} {element.attrib}> has no text"
        raise AssertionError(msg)
    return element.text


def attr_of(element: ET.Element, name: str) -> str:
    """The attribute *name* of *element*; fails if it has none."""
    value = element.get(name)
    if value is None:
        msg = f"<{element.tag} {element.attrib}> has no {name}"
        raise AssertionError(msg)
    return value


def classname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def run_with_report(path: str, *classes: type, **runner_kwargs: Any) -> ET.Element:
    """Run *classes* with aiounit.TextTestRunner(junit_xml=path); return the parsed report."""
    loader = unittest.TestLoader()
    suite = aiounit.ConcurrentTestSuite([loader.loadTestsFromTestCase(c) for c in classes])
    # A failed test's -b output goes to sys.stdout: keep it out of our own run's output.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        aiounit.TextTestRunner(stream=io.StringIO(), junit_xml=path, **runner_kwargs).run(suite)
    return ET.parse(path).getroot()


def _mixed_classes() -> tuple[type, type]:
    a_started, b_started = asyncio.Event(), asyncio.Event()

    class Mixed(aiounit.AsyncTestCase):
        async def test_pass(self) -> None:
            print("pass out")
            sys.stderr.write("pass err\n")

        async def test_fail(self) -> None:
            print("fail out")
            self.fail("fail message")

        async def test_error(self) -> None:
            raise KeyError("error message")

        @unittest.skip("skip reason")
        async def test_skip(self) -> None:
            pass

        async def test_subtests(self) -> None:
            for i in range(4):
                with self.subTest(i=i):
                    self.assertNotIn(i, (1, 3), f"subtest {i} broke")

        @unittest.expectedFailure
        async def test_expected_failure(self) -> None:
            self.fail("known")

        @unittest.expectedFailure
        async def test_unexpected_success(self) -> None:
            pass

        @aiounit.group("pair")
        async def test_grouped_a(self) -> None:
            print("only a")
            a_started.set()
            await b_started.wait()

        @aiounit.group("pair")
        async def test_grouped_b(self) -> None:
            print("only b")
            b_started.set()
            await a_started.wait()

    class BrokenFixture(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise ValueError("fixture message")

        def test_never_runs(self) -> None:
            pass

    return Mixed, BrokenFixture


class _TempDirCase(unittest.TestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name


class TestReportContents(unittest.TestCase):
    """A run of every kind of outcome, with -b, parsed back from the report."""

    root: ClassVar[ET.Element]
    cases: ClassVar[dict[str, ET.Element]]
    path: ClassVar[str]
    mixed: ClassVar[type]
    broken: ClassVar[type]

    @classmethod
    def setUpClass(cls) -> None:
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        cls.mixed, cls.broken = _mixed_classes()
        cls.path = os.path.join(tmp.name, "junit.xml")
        cls.root = run_with_report(cls.path, cls.mixed, cls.broken, buffer=True)
        cls.cases = testcases(cls.root)

    def test_one_testcase_per_test(self) -> None:
        """Each test that ran is one testcase; a failed setUpClass is one too."""
        self.assertEqual(
            sorted(self.cases),
            sorted(
                [
                    "setUpClass",
                    "test_error",
                    "test_expected_failure",
                    "test_fail",
                    "test_grouped_a",
                    "test_grouped_b",
                    "test_pass",
                    "test_skip",
                    "test_subtests",
                    "test_unexpected_success",
                ]
            ),
        )

    def test_testcase_names_its_class_and_nothing_the_xsd_forbids(self) -> None:
        """classname is module.Class; no file or line, which junit-10.xsd rejects."""
        for name, case in self.cases.items():
            with self.subTest(name):
                self.assertEqual(
                    case.get("classname"),
                    classname(self.broken if name == "setUpClass" else self.mixed),
                )
                self.assertEqual(set(case.attrib), {"classname", "name", "time"})

    @unittest.skipUnless(lxml, "needs lxml")
    def test_report_validates_against_the_jenkins_xunit_schema(self) -> None:
        """lxml finds nothing wrong in the report against junit-10.xsd."""
        self.assertEqual(xsd_problems(self.path), [])

    @unittest.skipUnless(junitparser, "needs junitparser")
    def test_junitparser_reads_every_outcome(self) -> None:
        """junitparser reads each testcase with the outcome the run gave it."""
        prefix = classname(self.mixed)
        expected = {
            f"{prefix}.{name}": tags
            for name, tags in (
                ("test_pass", ()),
                ("test_fail", ("failure",)),
                ("test_error", ("error",)),
                ("test_skip", ("skipped",)),
                ("test_subtests", ("failure",)),
                ("test_expected_failure", ()),
                ("test_unexpected_success", ("failure",)),
                ("test_grouped_a", ()),
                ("test_grouped_b", ()),
            )
        }
        expected[f"{classname(self.broken)}.setUpClass"] = ("error",)
        self.assertEqual(parsed_outcomes(self.path), expected)

    def test_testcase_time_is_seconds(self) -> None:
        """Every testcase has a time, a non-negative number of seconds."""
        for name, case in self.cases.items():
            with self.subTest(name):
                self.assertGreaterEqual(float(attr_of(case, "time")), 0.0)

    def test_failure_element(self) -> None:
        """A failed test has one failure element: the exception type and its traceback."""
        failure = child_of(self.cases["test_fail"], "failure")
        self.assertEqual(failure.get("type"), "AssertionError")
        self.assertIn("Traceback (most recent call last):", text_of(failure))
        self.assertIn("AssertionError: fail message", text_of(failure))

    def test_failure_message_is_the_exception_under_buffer(self) -> None:
        """With -b, a failure's message is its exception, not the test's last output line."""
        self.assertEqual(
            child_of(self.cases["test_fail"], "failure").get("message"),
            "AssertionError: fail message",
        )

    def test_error_element(self) -> None:
        """An error has one error element with the exception's type and message."""
        error = child_of(self.cases["test_error"], "error")
        self.assertEqual(error.get("type"), "KeyError")
        self.assertEqual(error.get("message"), "KeyError: 'error message'")
        self.assertIn("raise KeyError", text_of(error))

    def test_skipped_element(self) -> None:
        """A skipped test has a skipped element with the reason as message."""
        skipped = child_of(self.cases["test_skip"], "skipped")
        self.assertEqual(skipped.get("message"), "skip reason")
        self.assertEqual(list(self.cases["test_skip"]), [skipped])

    def test_subtest_failures_share_one_failure_element(self) -> None:
        """Failing subtests make one failure element that holds each one's text."""
        case = self.cases["test_subtests"]
        self.assertEqual([child.tag for child in case], ["failure"])
        text = text_of(child_of(case, "failure"))
        self.assertIn("(i=1)", text)
        self.assertIn("subtest 1 broke", text)
        self.assertIn("(i=3)", text)
        self.assertIn("subtest 3 broke", text)
        self.assertNotIn("(i=0)", text)

    def test_fixture_error_is_a_testcase(self) -> None:
        """A failed setUpClass is a testcase of its class holding the error."""
        case = self.cases["setUpClass"]
        self.assertEqual(case.get("classname"), classname(self.broken))
        error = child_of(case, "error")
        self.assertEqual(error.get("type"), "ValueError")
        self.assertIn("ValueError: fixture message", text_of(error))

    def test_captured_output_per_test(self) -> None:
        """With -b a test's stdout and stderr are its system-out and system-err."""
        self.assertEqual(child_of(self.cases["test_pass"], "system-out").text, "pass out\n")
        self.assertEqual(child_of(self.cases["test_pass"], "system-err").text, "pass err\n")
        self.assertEqual(child_of(self.cases["test_fail"], "system-out").text, "fail out\n")
        self.assertIsNone(self.cases["test_error"].find("system-out"))

    def test_concurrent_group_members_keep_their_own_output(self) -> None:
        """Members of a group that ran together each have only their own output."""
        self.assertEqual(child_of(self.cases["test_grouped_a"], "system-out").text, "only a\n")
        self.assertEqual(child_of(self.cases["test_grouped_b"], "system-out").text, "only b\n")
        self.assertEqual([c.tag for c in self.cases["test_grouped_a"]], ["system-out"])

    def test_expected_failure_passes_and_unexpected_success_fails(self) -> None:
        """An expected failure is a passed testcase; an unexpected success is a failure."""
        self.assertEqual(list(self.cases["test_expected_failure"]), [])
        self.assertEqual([c.tag for c in self.cases["test_unexpected_success"]], ["failure"])

    def test_counts(self) -> None:
        """The totals count testcases, failures, errors and skips."""
        attributes = {k: self.root.get(k) for k in ("tests", "failures", "errors")}
        self.assertEqual(attributes, {"tests": "10", "failures": "3", "errors": "2"})

    def test_report_has_the_junit_xsd_shape(self) -> None:
        """Elements, attributes, nesting and counts are what the JUnit XSD allows."""
        self.assertEqual(schema_problems(self.root, root_attributes=False), [])

    def test_root_has_only_junit_xsd_attributes(self) -> None:
        """<testsuites> carries only attributes junit-10.xsd allows there."""
        self.assertEqual(schema_problems(self.root), [])


class TestSchemaChecker(unittest.TestCase):
    """The structural checker the other tests rely on rejects what the XSD rejects."""

    @unittest.skipUnless(lxml, "lxml is a test-only dependency")
    def test_rendered_xsd_rejects_what_junit_10_rejects(self) -> None:
        """The XSD rendered from the rules rejects file/line on a testcase, a
        testcase without a name, a suite without counts and a bad suite time."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.xml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(
                    '<testsuites time="1.5"><testsuite name="s" tests="1" failures="0"'
                    ' errors="0" time="soon"><testcase name="t" file="x.py" line="3"/>'
                    '<testcase classname="c"/></testsuite><testsuite name="u"/></testsuites>'
                )
            problems = "\n".join(xsd_problems(path))
        for expected in ("'file'", "'line'", "'name' is required", "'tests' is required", "'soon'"):
            with self.subTest(expected):
                self.assertIn(expected, problems)

    def test_checker_finds_each_kind_of_problem(self) -> None:
        """Unknown elements and attributes, missing names, two outcomes, bad numbers, bad counts."""
        root = ET.fromstring(
            '<testsuites tests="3"><testsuite name="s" tests="2" failures="0" errors="0">'
            '<testcase classname="c" time="fast"><failure/><error/></testcase>'
            '<testcase name="t" line="0" colour="red"><system-out/><skipped/></testcase>'
            "<bogus/></testsuite></testsuites>"
        )
        problems = "\n".join(schema_problems(root))
        for expected in (
            "attribute 'name' missing",
            "more than one of skipped/error/failure",
            "time='fast'",
            "attribute 'line' not allowed",
            "attribute 'colour' not allowed",
            "children not (outcome?, system-out?, system-err?)",
            "<bogus> not allowed",
            "errors=0, its testcases say 1",
            "tests=3, its suites add up to 2",
        ):
            with self.subTest(expected):
                self.assertIn(expected, problems)


class TestHostileText(_TempDirCase):
    """Control bytes, lone surrogates and markup in output and exceptions."""

    def setUp(self) -> None:
        super().setUp()

        class Hostile(aiounit.AsyncTestCase):
            async def test_prints(self) -> None:
                print(HOSTILE)
                sys.stderr.write(HOSTILE)

            async def test_raises(self) -> None:
                print(HOSTILE)
                raise RuntimeError(HOSTILE)

            async def test_fails(self) -> None:
                self.fail(HOSTILE)

            async def test_subtest(self) -> None:
                with self.subTest(HOSTILE):
                    self.fail(HOSTILE)

            async def test_skips(self) -> None:
                self.skipTest(HOSTILE)

        self.path = os.path.join(self.dir, "junit.xml")
        self.root = run_with_report(self.path, Hostile, buffer=True)
        self.cases = testcases(self.root)

    @unittest.skipUnless(lxml, "needs lxml")
    def test_report_validates_against_the_jenkins_xunit_schema(self) -> None:
        """Hostile text leaves the report valid against junit-10.xsd."""
        self.assertEqual(xsd_problems(self.path), [])

    def test_report_is_well_formed(self) -> None:
        """The file is UTF-8 XML with no character XML 1.0 forbids, and keeps its shape."""
        with open(self.path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")  # strict: a lone surrogate would not encode
        self.assertEqual(re.findall(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text), [])
        self.assertEqual(len(self.cases), 5)
        self.assertEqual(schema_problems(self.root, root_attributes=False), [])

    def test_markup_survives(self) -> None:
        """ "]]>", "<&>" and quotes read back unchanged from output, messages and tracebacks."""
        out = text_of(child_of(self.cases["test_prints"], "system-out"))
        error = child_of(self.cases["test_raises"], "error")
        failure = child_of(self.cases["test_fails"], "failure")
        texts = {
            "system-out": out,
            "system-err": text_of(child_of(self.cases["test_prints"], "system-err")),
            "error text": text_of(error),
            "error message": attr_of(error, "message"),
            "failure text": text_of(failure),
            "skipped message": attr_of(child_of(self.cases["test_skips"], "skipped"), "message"),
        }
        for where, text in texts.items():
            with self.subTest(where):
                self.assertIn("cdata]]> markup<&>'\"", text)

    def test_unwritable_characters_are_shown_escaped(self) -> None:
        """What XML cannot hold appears as a visible escape: \\x1b, \\x00, \\udcff."""
        out = child_of(self.cases["test_prints"], "system-out").text
        self.assertEqual(
            out,
            HOSTILE.replace("\x1b", "\\x1b")
            .replace("\x00", "\\x00")
            .replace("\x07", "\\x07")
            .replace("\udcff", "\\udcff")
            + "\n",
        )
        failure = text_of(child_of(self.cases["test_subtest"], "failure"))
        self.assertIn("esc\\x1b[31m nul\\x00", failure)


class TestFailedAndErroredSubtests(_TempDirCase):
    """A test with a failing and an erroring subtest."""

    def test_error_element_names_the_error(self) -> None:
        """Its one error element has the error's type and message, not the failure's."""

        class Both(unittest.TestCase):
            def test_both(self) -> None:
                with self.subTest("fails"):
                    self.fail("first, a failure")
                with self.subTest("errs"):
                    raise KeyError("then an error")

        root = run_with_report(os.path.join(self.dir, "junit.xml"), Both)
        case = testcases(root)["test_both"]
        self.assertEqual([child.tag for child in case], ["error"])
        error = child_of(case, "error")
        self.assertEqual(error.get("type"), "KeyError")
        self.assertEqual(error.get("message"), "KeyError: 'then an error'")
        self.assertIn("first, a failure", text_of(error))


class TestErrorWithTypeNameAttribute(_TempDirCase):
    """An exception's own attributes never pass for a worker's (-j) error."""

    def test_type_is_its_class_whatever_its_type_name_attribute(self) -> None:
        """An error whose exception has a ``type_name`` attribute is named by its class."""

        class Tagged(Exception):
            type_name = "not.TheType"

        class Raises(unittest.TestCase):
            def test_raises(self) -> None:
                raise Tagged("tagged")

        root = run_with_report(os.path.join(self.dir, "junit.xml"), Raises)
        error = child_of(testcases(root)["test_raises"], "error")
        expected = f"{__name__}.{Tagged.__qualname__}"
        self.assertEqual(error.get("type"), expected)
        self.assertEqual(error.get("message"), f"{expected}: tagged")


class TestSkippedSubtest(_TempDirCase):
    """A subtest that skips belongs to its test in the report."""

    def test_skipped_subtest_is_not_a_testcase(self) -> None:
        """A skipTest inside subTest adds no testcase of its own."""

        class Partly(unittest.TestCase):
            def test_partly_skipped(self) -> None:
                for i in range(2):
                    with self.subTest(i=i):
                        if i:
                            self.skipTest("not this one")

        root = run_with_report(os.path.join(self.dir, "junit.xml"), Partly)
        self.assertEqual(
            [(c.get("classname"), c.get("name")) for c in root.iter("testcase")],
            [(classname(Partly), "test_partly_skipped")],
        )


class TestForeignResult(_TempDirCase):
    """--junit-xml through aiounit.TextTestRunner with another result class."""

    def test_foreign_result_sees_every_call_and_report_is_written(self) -> None:
        """A foreign resultclass gets its calls unchanged and the report still lists every test."""
        events: list[tuple[str, str]] = []

        class Foreign(unittest.TestResult):
            def startTest(self, test: unittest.TestCase) -> None:
                events.append(("startTest", test._testMethodName))
                super().startTest(test)

            def addSuccess(self, test: unittest.TestCase) -> None:
                events.append(("addSuccess", test._testMethodName))
                super().addSuccess(test)

            def addFailure(self, test: unittest.TestCase, err: Any) -> None:
                events.append(("addFailure", test._testMethodName))
                super().addFailure(test, err)

            def stopTest(self, test: unittest.TestCase) -> None:
                events.append(("stopTest", test._testMethodName))
                super().stopTest(test)

        class Two(aiounit.AsyncTestCase):
            @aiounit.group("g")
            async def test_a(self) -> None:
                pass

            @aiounit.group("g")
            async def test_b(self) -> None:
                self.fail("b")

        root = run_with_report(os.path.join(self.dir, "junit.xml"), Two, resultclass=Foreign)
        self.assertEqual(
            sorted(events),
            sorted(
                [
                    ("startTest", "test_a"),
                    ("addSuccess", "test_a"),
                    ("stopTest", "test_a"),
                    ("startTest", "test_b"),
                    ("addFailure", "test_b"),
                    ("stopTest", "test_b"),
                ]
            ),
        )
        for start, outcome, stop in zip(events[::3], events[1::3], events[2::3], strict=True):
            self.assertEqual({start[1], outcome[1], stop[1]}, {start[1]})
        cases = testcases(root)
        self.assertEqual(sorted(cases), ["test_a", "test_b"])
        self.assertEqual([c.tag for c in cases["test_b"]], ["failure"])

    def test_run_returns_the_result_itself(self) -> None:
        """With junit_xml, run() returns the result its resultclass made, not a wrapper."""

        class Foreign(unittest.TestResult):
            pass

        made: list[unittest.TestResult] = []

        class Runner(aiounit.TextTestRunner):
            # It returns the Foreign result, a TestResult: typeshed's TextTestResult is too narrow.
            def _makeResult(self) -> unittest.TestResult:  # type: ignore[override]
                made.append(super()._makeResult())
                return made[-1]

        class One(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                pass

        path = os.path.join(self.dir, "junit.xml")
        runner = Runner(stream=io.StringIO(), resultclass=Foreign, junit_xml=path)
        result = runner.run(unittest.defaultTestLoader.loadTestsFromTestCase(One))
        self.assertIs(type(result), Foreign)
        self.assertIs(result, made[0])
        self.assertTrue(os.path.exists(path))


class _CliCase(_TempDirCase):
    def write(self, path: str, source: str) -> None:
        with open(os.path.join(self.dir, path), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-W", "error", "-m", "aiounit", *args]


_KILLED_RUN = """
    import asyncio
    import os
    import unittest
    import xml.etree.ElementTree as ET

    import aiounit

    REPORT = os.path.join("reports", "junit.xml")


    def report_lists_a_test():
        try:
            return ET.parse(REPORT).getroot().find("testsuite/testcase") is not None
        except (OSError, ET.ParseError):
            return False


    class TestA(unittest.TestCase):
        def test_1_passes(self):
            pass

        def test_2_fails(self):
            self.fail("no")


    class TestB(aiounit.AsyncTestCase):
        async def test_3_hangs(self):
            for _ in range(250):  # until the finished tests are on disk (5 s at most)
                if report_lists_a_test():
                    break
                await asyncio.sleep(0.02)
            print("READY", flush=True)
            await asyncio.Event().wait()
"""


class TestAtomicWrite(_CliCase):
    """The report on disk is always whole, also when the run is killed."""

    def test_killed_run_leaves_a_whole_report_of_finished_tests(self) -> None:
        """SIGKILL mid-run leaves a parseable report of finished tests and no temporary file."""
        self.write("test_killed.py", _KILLED_RUN)
        proc = subprocess.Popen(
            self.command("--junit-xml", os.path.join("reports", "junit.xml")),
            cwd=self.dir,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        try:
            self.assertEqual(proc.stdout.readline(), "READY\n")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        reports = os.path.join(self.dir, "reports")
        self.assertEqual(os.listdir(reports), ["junit.xml"])
        root = ET.parse(os.path.join(reports, "junit.xml")).getroot()
        names = [c.get("name") for c in root.iter("testcase")]
        self.assertTrue(names)
        self.assertLessEqual(set(names), {"test_1_passes", "test_2_fails"})
        self.assertEqual(schema_problems(root, root_attributes=False), [])


_WORKER_MODULE = """
    import unittest

    import aiounit


    class Test{name}(aiounit.AsyncTestCase):
        @aiounit.group("g")
        async def test_pass(self):
            print("out of {name}")

        @aiounit.group("g")
        async def test_subtests(self):
            for i in range(3):
                with self.subTest(i=i):
                    self.assertNotEqual(i, 1, "sub {name}")

        async def test_error(self):
            raise LookupError("{hostile}")


    class TestFixture{name}(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise OSError("fixture {name}")

        def test_never(self):
            pass
"""


class TestWithWorkers(BackgroundCase):
    """--junit-xml with -j 2: tests run in worker processes, reported by the parent."""

    dir: ClassVar[str]

    @classmethod
    def background(cls) -> Callable[[], Any]:
        # The run is made in the background lane; the test reads its report.
        cls.dir = background_directory()
        hostile = "esc\\x1b nul\\x00 cdata]]> <&>"  # escapes as written in the generated source
        write_files(
            cls.dir,
            {
                f"test_{name.lower()}.py": _WORKER_MODULE.format(name=name, hostile=hostile)
                for name in ("One", "Two")
            },
        )
        command = ("-m", "aiounit", "-j", "2", "-b", "--junit-xml", "junit.xml")
        return functools.partial(run_warm, {"run": (cls.dir, command, child_env())})

    def test_report_from_workers(self) -> None:
        """Outcomes, output, subtests and fixture errors from workers are in the report."""
        proc = self.background_runs["run"]
        self.assertEqual(proc.returncode, 1, proc.stderr)
        path = os.path.join(self.dir, "junit.xml")
        root = ET.parse(path).getroot()
        self.assertEqual(schema_problems(root), [])
        if lxml is not None:
            self.assertEqual(xsd_problems(path), [])
        if junitparser is not None:
            self.assertEqual(len(parsed_outcomes(path)), 8)
        found = sorted((c.get("classname"), c.get("name")) for c in root.iter("testcase"))
        expected = []
        for name in ("One", "Two"):
            module = f"test_{name.lower()}"
            for test in ("test_error", "test_pass", "test_subtests"):
                expected.append((f"{module}.Test{name}", test))
            expected.append((f"{module}.TestFixture{name}", "setUpClass"))
        self.assertEqual(found, sorted(expected))
        cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
        for name in ("One", "Two"):
            module = f"test_{name.lower()}"
            with self.subTest(name):
                self.assertEqual(
                    child_of(cases[f"{module}.Test{name}", "test_pass"], "system-out").text,
                    f"out of {name}\n",
                )
                subtests = cases[f"{module}.Test{name}", "test_subtests"]
                self.assertEqual([c.tag for c in subtests], ["failure"])
                self.assertIn(
                    f"AssertionError: 1 == 1 : sub {name}", text_of(child_of(subtests, "failure"))
                )
                error = child_of(cases[f"{module}.Test{name}", "test_error"], "error")
                self.assertEqual(error.get("type"), "LookupError")
                self.assertIn("cdata]]> <&>", attr_of(error, "message"))
                self.assertIn("esc\\x1b nul\\x00", text_of(error))
                fixture = child_of(cases[f"{module}.TestFixture{name}", "setUpClass"], "error")
                self.assertIn(f"OSError: fixture {name}", text_of(fixture))
        self.assertEqual(
            {k: root.get(k) for k in ("tests", "failures", "errors")},
            {"tests": "8", "failures": "2", "errors": "4"},
        )


if __name__ == "__main__":
    unittest.main()
