"""Tests of the concurrency-hazard detector: process-wide changes seen by running peers."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import logging
import os
import signal
import socket
import sys
import types
import unittest
import warnings
from typing import Any
from unittest import mock

import aiounit
from tests._engine_support import RawResult, make_module

THIS_FILE = os.path.basename(__file__)


class DiagnosticResult(RawResult):
    """A RawResult that also keeps aiounit's warnings, by test name."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: dict[str, list[str]] = {}

    def addDiagnostic(self, test: Any, message: str) -> None:
        self.warnings.setdefault(self._name(test), []).append(message)


def _run(*classes: type, **kwargs: Any) -> DiagnosticResult:
    result = DiagnosticResult()
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in classes)
    aiounit.ConcurrentTestSuite([suite], timeout=1.0, **kwargs).run(result)
    return result


async def _yield(times: int = 3) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


# A "module under test": its function is what the tests patch.
service = types.ModuleType("aiounit_hazard_service")
service.fetch = lambda: "real"  # type: ignore[attr-defined]
sys.modules[service.__name__] = service


def _with_peers(body: Any, peers: int = 2, *, mark: Any = None, **group: Any) -> type:
    """A group: test_a runs *body*, and *peers* tests that just take a few turns."""

    async def test_a(self: Any) -> None:
        await body(self)

    namespace: dict[str, Any] = {"test_a": mark(test_a) if mark is not None else test_a}
    for index in range(peers):

        async def peer(self: Any) -> None:
            await _yield(6)

        namespace[f"test_peer_{index}"] = peer
    return aiounit.group("hazards", **group)(type("Case", (aiounit.AsyncTestCase,), namespace))


class TestMockPatch(unittest.TestCase):
    """Every form of mock.patch of shared state is named on the patching test."""

    def _only_a_warned(self, result: DiagnosticResult, kind: str, *texts: str) -> str:
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(list(result.warnings), ["test_a"], result.warnings)
        [message] = result.warnings["test_a"]
        self.assertIn(f"concurrency hazard ({kind})", message)
        for text in texts:
            self.assertIn(text, message)
        return message

    def test_context_manager_across_an_await(self) -> None:
        """What (module.function), where (this file and line), the peers, the fix."""

        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):  # the line named
                await _yield()

        message = self._only_a_warned(
            _run(_with_peers(body)),
            "mock.patch",
            "patched aiounit_hazard_service.fetch",
            "while 2 peers of its group ran (Case.test_peer_0, Case.test_peer_1)",
            "@aiounit.isolated",
            "@aiounit.lock(",
        )
        line = body.__code__.co_firstlineno + 1
        self.assertIn(f"{THIS_FILE}:{line}", message)

    def test_decorator_object_dict_multiple_and_start(self) -> None:
        """patch as a decorator, patch.object on a class, patch.dict, patch.multiple,
        patcher.start(): each is reported, under one warning of kind mock.patch."""

        class Target:
            value = 1

        @mock.patch("aiounit_hazard_service.fetch")
        async def decorated(test: Any, _fetch: Any) -> None:
            with (
                mock.patch.object(Target, "value", 2),
                mock.patch.dict(os.environ, {"AIOUNIT_HAZARD": "1"}),
                mock.patch.multiple(service, fetch=mock.DEFAULT),
            ):
                await _yield()
            patcher = mock.patch("aiounit_hazard_service.fetch")
            patcher.start()
            await _yield()
            patcher.stop()

        self._only_a_warned(
            _run(_with_peers(decorated)),
            "mock.patch",
            "patched aiounit_hazard_service.fetch",
            f"patched {__name__}.Target.value",
            "patched os.environ (patch.dict)",
            "; and 2 more, while",  # five changes: three shown, the rest counted
        )

    def test_patch_undone_within_one_step_is_not_reported(self) -> None:
        """A patch entered and left with no await in between: no peer could see it."""

        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):
                service.fetch()
            await _yield()

        result = _run(_with_peers(body))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.warnings, {})

    def test_patching_an_instance_is_not_reported(self) -> None:
        """An instance may well be the test's own: patch.object on it is not a hazard."""

        async def body(test: Any) -> None:
            thing = types.SimpleNamespace(value=1)
            with mock.patch.object(thing, "value", 2):
                await _yield()

        result = _run(_with_peers(body))
        self.assertEqual(result.warnings, {})

    def test_alone_isolated_or_capped_is_not_reported(self) -> None:
        """No running peer (a group of one, max_concurrency=1), or @isolated: no warning."""

        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):
                await _yield()

        for peers, mark, group in (
            (0, None, {}),
            (2, None, {"max_concurrency": 1}),
            (2, aiounit.isolated, {}),
        ):
            with self.subTest(peers=peers, mark=mark, group=group):
                result = _run(_with_peers(body, peers, mark=mark, **group))
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(result.warnings, {})

    def test_peer_started_while_the_patch_was_in_force_counts(self) -> None:
        """With max_concurrency=2, a peer that starts only once another ended, while
        the patch is still in force, is named too."""
        gate = asyncio.Event()

        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):
                await gate.wait()

        class Case(aiounit.AsyncTestCase):
            async def test_a(self) -> None:
                await body(self)

            async def test_b(self) -> None:
                await _yield()

            async def test_c(self) -> None:
                gate.set()

        aiounit.group("g", max_concurrency=2)(Case)
        result = _run(Case)
        [message] = result.warnings["test_a"]
        self.assertIn("2 peers of its group ran (Case.test_b, Case.test_c)", message)

    def test_fail_on_hazards_makes_it_an_error(self) -> None:
        """fail_on_hazards=True: aiounit.ConcurrencyHazardError on the patching test only."""

        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):
                await _yield()

        result = _run(_with_peers(body), fail_on_hazards=True)
        self.assertEqual([name for name, _ in result.raw], ["test_a"])
        self.assertIsInstance(result.raw[0][1], aiounit.ConcurrencyHazardError)
        self.assertIn("patched aiounit_hazard_service.fetch", str(result.raw[0][1]))
        self.assertEqual(result.warnings, {})

    def test_bad_fail_on_hazards_is_refused(self) -> None:
        """Like the other options, a non-bool is a TypeError naming it."""
        with self.assertRaises(TypeError) as cm:
            aiounit.ConcurrentTestSuite(fail_on_hazards="yes")  # type: ignore[arg-type]  # the error under test
        self.assertIn("fail_on_hazards", str(cm.exception))


class TestProcessState(unittest.TestCase):
    """The environment, the working directory, signals, warnings, logging, the policy."""

    def _kinds(self, body: Any) -> dict[str, str]:
        result = _run(_with_peers(body))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(set(result.warnings), {"test_a"}, result.warnings)
        found = {}
        for message in result.warnings["test_a"]:
            kind = message.split("(", 1)[1].split(")", 1)[0]
            found[kind] = message
        return found

    def test_environ_and_chdir(self) -> None:
        """os.environ (through the os.putenv audit event) and os.chdir."""

        async def body(test: Any) -> None:
            os.environ["AIOUNIT_HAZARD_X"] = "1"
            test.addCleanup(os.environ.pop, "AIOUNIT_HAZARD_X")
            os.chdir(os.getcwd())
            await _yield()

        found = self._kinds(body)
        self.assertEqual(set(found), {"os.environ", "os.chdir"})
        self.assertIn("os.environ['AIOUNIT_HAZARD_X'] set", found["os.environ"])
        self.assertIn("os.chdir(", found["os.chdir"])

    def test_signal_and_logging_but_not_warning_filters(self) -> None:
        """signal.signal, an existing logger's level and handlers; warning filters
        are each test's own in a group, so changing them is no hazard."""
        logger = logging.getLogger("aiounit.tests.hazard")
        self.addCleanup(logger.setLevel, logger.level)

        async def body(test: Any) -> None:
            signal.signal(signal.SIGINT, signal.getsignal(signal.SIGINT))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await _yield()
            logger.setLevel(logging.DEBUG)
            handler = logging.NullHandler()
            logger.addHandler(handler)
            test.addCleanup(logger.removeHandler, handler)
            await _yield()

        found = self._kinds(body)
        self.assertEqual(set(found), {"signal", "logging"})
        self.assertIn("signal.signal(SIGINT)", found["signal"])
        self.assertIn("logger 'aiounit.tests.hazard'", found["logging"])

    def test_new_logger_and_assertion_helpers_are_not_reported(self) -> None:
        """A logger made by the test, assertLogs and assertWarns (group-safe) are fine."""

        async def body(test: Any) -> None:
            mine = logging.getLogger(f"aiounit.tests.new.{id(test)}")
            mine.setLevel(logging.DEBUG)
            with test.assertLogs("aiounit.tests.hazard2", "INFO"):
                logging.getLogger("aiounit.tests.hazard2").info("x")
                await _yield()
            with test.assertWarns(UserWarning):
                warnings.warn("x", UserWarning, stacklevel=1)
                await _yield()

        logging.getLogger("aiounit.tests.hazard2")  # an existing logger
        result = _run(_with_peers(body))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(result.warnings, {})

    @unittest.skipIf(sys.version_info >= (3, 14), "the policy system is deprecated in 3.14")
    def test_event_loop_policy(self) -> None:
        """asyncio.set_event_loop_policy is process-wide."""

        async def body(test: Any) -> None:
            asyncio.set_event_loop_policy(asyncio.get_event_loop_policy())
            await _yield()

        found = self._kinds(body)
        self.assertEqual(set(found), {"event loop policy"})


class TestPorts(unittest.TestCase):
    """Two members binding one fixed port: the second is told who holds it."""

    def test_second_binder_is_warned_and_its_error_names_the_holder(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        bound, tried = asyncio.Event(), asyncio.Event()

        class Servers(aiounit.AsyncTestCase):
            async def test_1_holder(self) -> None:
                server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
                async with server:
                    bound.set()
                    await tried.wait()

            async def test_2_late(self) -> None:
                await bound.wait()
                try:
                    await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
                finally:
                    tried.set()

        aiounit.group("ports")(Servers)
        result = _run(Servers)
        self.assertEqual(list(result.warnings), ["test_2_late"])
        [message] = result.warnings["test_2_late"]
        self.assertIn(f"concurrency hazard (port): TCP port {port}", message)
        self.assertIn("while Servers.test_1_holder, which bound it too, was running", message)
        [(name, error)] = result.raw
        assert isinstance(error, OSError)
        self.assertEqual(name, "test_2_late")
        self.assertEqual(error.errno, errno.EADDRINUSE)
        self.assertIn(
            f"aiounit: port {port} is held by Servers.test_1_holder, running in the same group",
            error.__notes__,
        )

    def test_port_zero_is_never_a_hazard(self) -> None:
        """Members that bind port 0 get ports of their own."""

        async def body(test: Any) -> None:
            server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            async with server:
                await _yield()

        result = _run(_with_peers(body, 0), default_group="none")
        self.assertEqual(result.warnings, {})


class TestRealSuiteShape(unittest.TestCase):
    """Shaped like the real failure: one test patches a module function to raise,
    twenty peers call it.  Grouped, the detector names the patching test; with
    @aiounit.isolated on it, every peer passes on every run."""

    def _suite(self, isolated: bool) -> type:
        db = types.ModuleType("aiounit_hazard_db")

        def connect() -> str:
            return "connection"

        db.connect = connect  # type: ignore[attr-defined]
        sys.modules[db.__name__] = db
        self.addCleanup(sys.modules.pop, db.__name__, None)

        class TestDatabase(aiounit.AsyncTestCase):
            async def test_connect_failure_is_reported(self) -> None:
                with mock.patch("aiounit_hazard_db.connect", side_effect=OSError("down")):
                    await asyncio.sleep(0)
                    with self.assertRaises(OSError):
                        db.connect()
                    await _yield()

        if isolated:
            method = TestDatabase.test_connect_failure_is_reported
            TestDatabase.test_connect_failure_is_reported = aiounit.isolated(method)  # type: ignore[method-assign]

        for index in range(20):

            async def test_query(self: Any) -> None:
                await asyncio.sleep(0)
                self.assertEqual(db.connect(), "connection")

            setattr(TestDatabase, f"test_query_{index:02d}", test_query)
        make_module(self, TestDatabase)
        return TestDatabase

    def test_grouped_the_detector_names_the_patching_test(self) -> None:
        result = _run(self._suite(isolated=False), default_group="class")
        self.assertEqual(list(result.warnings), ["test_connect_failure_is_reported"])
        [message] = result.warnings["test_connect_failure_is_reported"]
        self.assertIn("patched aiounit_hazard_db.connect", message)
        self.assertFalse(result.wasSuccessful())  # peers saw the patch: the real failure
        self.assertTrue(all(name.startswith("test_query_") for name, _ in result.raw))

    def test_isolated_every_peer_passes_on_every_run(self) -> None:
        case = self._suite(isolated=True)
        for run in range(20):
            with self.subTest(run=run):
                result = _run(case, default_group="class")
                self.assertTrue(result.wasSuccessful(), result.errors)
                self.assertEqual(result.testsRun, 21)
                self.assertEqual(result.warnings, {})


class TestCommandLine(unittest.TestCase):
    """--fail-on-hazards, like fail_on_hazards=True, from aiounit.main."""

    def test_fail_on_hazards_option(self) -> None:
        async def body(test: Any) -> None:
            with mock.patch("aiounit_hazard_service.fetch"):
                await _yield()

        case = _with_peers(body)
        module = make_module(self, case)
        for argv, errors in ((["--fail-on-hazards"], 1), ([], 0)):
            with self.subTest(argv=argv):
                with contextlib.redirect_stderr(io.StringIO()) as err:
                    program = aiounit.main(module=module, argv=["prog", *argv], exit=False)
                self.assertEqual(len(program.result.errors), errors)
                self.assertIn("concurrency hazard (mock.patch)", err.getvalue())
                if errors:
                    self.assertIn("aiounit.ConcurrencyHazardError", err.getvalue())


class TestPlainTestCaseMembers(unittest.TestCase):
    """A plain TestCase in a group runs on a thread, where it is always concurrent."""

    def test_thread_member_patch_is_a_warning(self) -> None:
        class Plain(unittest.TestCase):
            def test_a(self) -> None:
                with mock.patch("aiounit_hazard_service.fetch"):
                    pass

            def test_b(self) -> None:
                pass

        aiounit.group("plain")(Plain)
        result = _run(Plain)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertIn("test_a", result.warnings)
        self.assertIn("patched aiounit_hazard_service.fetch", result.warnings["test_a"][0])
