"""Helpers for aiounit's own tests.

- Running tiny test classes in this process and recording what results see
  (``LoggingResult``, ``run_tests``, ``run_text``, ``Steps``).
- Running child interpreters: ``child_env``, ``run_python``, ``run_warm`` (forks
  of warm interpreters, tests/_warm.py) and ``run_parallel``.
- The background lane, which runs children while other tests run:
  ``in_background``, ``BackgroundCase``, ``AheadCase`` with ``@ahead``
  (docs/design.md, "The project's own test suite").
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import importlib.util
import io
import json
import locale
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import aiounit

_T = TypeVar("_T")
_K = TypeVar("_K")

# The checkout: what a child interpreter must find on its path to import aiounit.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# How many child interpreters to run at once: one per core this process may use.
PARALLEL = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LoggingResult(unittest.TestResult):
    """A foreign TestResult that records every call it gets, in order.

    ``events`` holds tuples such as ``("startTest", "test_a")``,
    ``("addSuccess", "test_a")``, ``("addSubTest", "test_a", "(i=1)", "FAIL")``,
    ``("stopTest", "test_a")``; class and module fixtures show up as
    ``("addError", "setUpClass (mod.Class)")``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []

    @staticmethod
    def _name(test: Any) -> str:
        return getattr(test, "_testMethodName", None) or str(test)

    def startTest(self, test: Any) -> None:
        self.events.append(("startTest", self._name(test)))
        super().startTest(test)

    def stopTest(self, test: Any) -> None:
        self.events.append(("stopTest", self._name(test)))
        super().stopTest(test)

    def addSuccess(self, test: Any) -> None:
        self.events.append(("addSuccess", self._name(test)))
        super().addSuccess(test)

    def addError(self, test: Any, err: Any) -> None:
        self.events.append(("addError", self._name(test)))
        super().addError(test, err)

    def addFailure(self, test: Any, err: Any) -> None:
        self.events.append(("addFailure", self._name(test)))
        super().addFailure(test, err)

    def addSkip(self, test: Any, reason: str) -> None:
        self.events.append(("addSkip", self._name(test)))
        super().addSkip(test, reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self.events.append(("addExpectedFailure", self._name(test)))
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test: Any) -> None:
        self.events.append(("addUnexpectedSuccess", self._name(test)))
        super().addUnexpectedSuccess(test)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is None:
            status = "ok"
        elif issubclass(err[0], test.failureException):
            status = "FAIL"
        else:
            status = "ERROR"
        self.events.append(("addSubTest", self._name(test), subtest._subDescription(), status))
        super().addSubTest(test, subtest, err)

    def addDuration(self, test: Any, elapsed: float) -> None:
        self.events.append(("addDuration", self._name(test)))
        parent = getattr(super(), "addDuration", None)  # 3.12+
        if parent is not None:
            parent(test, elapsed)


def suite_of(*classes: type, suite_class: type = aiounit.ConcurrentTestSuite, **kwargs: Any) -> Any:
    """A suite of the tests of *classes*, in the loader's order."""
    loader = unittest.TestLoader()
    return suite_class([loader.loadTestsFromTestCase(cls) for cls in classes], **kwargs)


def run_tests(*classes: type, result: unittest.TestResult | None = None, **kwargs: Any) -> Any:
    """Run the tests of *classes* in a ConcurrentTestSuite; return the result.

    Keyword arguments go to ConcurrentTestSuite (``timeout``, ``max_concurrency``,
    ``default_group``).
    """
    if result is None:
        result = LoggingResult()
    suite_of(*classes, **kwargs).run(result)
    return result


def run_text(suite: Any, *, runner: type = aiounit.TextTestRunner, **kwargs: Any) -> str:
    """Run *suite* with a text runner writing to a string; return the output."""
    stream = io.StringIO()
    runner(stream=stream, **kwargs).run(suite)
    return stream.getvalue()


def tests_of(events: Iterable[tuple[Any, ...]]) -> list[str]:
    """The test names in *events*, in the order their startTest came."""
    return [e[1] for e in events if e[0] == "startTest"]


def mixed_outcome_classes() -> list[type]:
    """Sync test classes with every kind of outcome unittest reports (fresh ones per call)."""

    class Mixed(unittest.TestCase):
        def test_pass(self) -> None:
            pass

        def test_doc(self) -> None:
            """First line of a docstring.

            Only the first line is shown.
            """

        def test_fail(self) -> None:
            self.assertEqual([1, 2], [1, 3])

        def test_error(self) -> None:
            raise RuntimeError("boom")

        @unittest.skip("decorated")
        def test_skip(self) -> None:
            pass

        def test_skip_inside(self) -> None:
            self.skipTest("inside")

        @unittest.expectedFailure
        def test_xfail(self) -> None:
            self.fail("expected")

        @unittest.expectedFailure
        def test_xpass(self) -> None:
            pass

        def test_subtests(self) -> None:
            for i in range(4):
                with self.subTest(i=i):
                    if i == 2:
                        raise ValueError(i)
                    self.assertLess(i, 1)

        def test_subtests_pass(self) -> None:
            for i in range(2):
                with self.subTest(i=i):
                    pass

        def test_cleanup_error(self) -> None:
            self.addCleanup(self.fail, "in cleanup")

    @unittest.skip("whole class")
    class Skipped(unittest.TestCase):
        def test_never(self) -> None:
            pass

    class BrokenClass(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise OSError("no fixture")

        def test_unreached(self) -> None:
            pass

    class BrokenTearDownClass(unittest.TestCase):
        @classmethod
        def tearDownClass(cls) -> None:
            raise OSError("no teardown")

        def test_fine(self) -> None:
            pass

    return [Mixed, Skipped, BrokenClass, BrokenTearDownClass]


class Steps:
    """Lockstep for async tests: a step ends only once every named test reached it.

    A test that passes a step has seen its peer reach the same step, so
    everything the two tests do is interleaved, step by step.
    """

    def __init__(self, *names: str) -> None:
        self.names = names
        self.reached: dict[tuple[str, int], asyncio.Event] = {}

    def _event(self, name: str, step: int) -> asyncio.Event:
        return self.reached.setdefault((name, step), asyncio.Event())

    async def step(self, me: str, step: int) -> None:
        self._event(me, step).set()
        for name in self.names:
            await self._event(name, step).wait()


def read_terminal(master: int) -> bytes:
    """Everything a child writes to the pseudo-terminal *master* until it closes
    its side; *master* is closed afterwards."""
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return b"".join(chunks)


# The background lane's threads (see in_background, below).
_lane_threads: list[threading.Thread] = []


def in_lane() -> bool:
    """Whether this runs in the background lane (its jobs run their children one at a time)."""
    return threading.current_thread() in _lane_threads


def child_env(*first_on_path: str, drop: Iterable[str] = (), **values: str) -> dict[str, str]:
    """The environment for a child interpreter that imports this checkout's aiounit.

    ``PYTHONPATH`` gets *first_on_path*, then the checkout, then what it held;
    the child writes no ``__pycache__`` (in the fixtures or temporary dirs);
    the variables named in *drop* are removed and *values* are set.  Not in the
    background lane: tests may change ``os.environ`` meanwhile, so a job takes
    its environment when it is made, in the main thread.
    """
    if in_lane():
        raise ValueError("a background job takes child_env() when it is made")
    dropped = set(drop)
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    path = [*first_on_path, ROOT]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(values)
    return env


def run_python(
    *args: str,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    werror: bool = True,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -W error *args`` (this interpreter) to its end; text output captured.

    *env* defaults to ``child_env()``; without *werror*, no ``-W error``; other
    keyword arguments go to ``subprocess.run``.
    """
    return subprocess.run(
        [sys.executable, *(("-W", "error") if werror else ()), *args],
        cwd=cwd,
        env=child_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@contextlib.contextmanager
def sigint_by_default() -> Iterator[None]:
    """Children started inside start with SIGINT's default action (Ctrl-C stops them).

    A child inherits an ignored SIGINT, and this suite runs with one whenever
    it was started as a background job of a shell without job control
    (``cmd &`` in a script): there a child that must see Ctrl-C would hang.
    A handled signal is reset to its default in the child.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def write_files(directory: str, files: Mapping[str, str]) -> None:
    """Write each of *files* (path relative to *directory*: source, dedented)."""
    for path, source in files.items():
        full = os.path.join(directory, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))


def ahead(
    *args: str, files: Mapping[str, str] | None = None, more: Iterable[tuple[str, ...]] = ()
) -> Callable[[Callable[..., None]], Callable[[Any], None]]:
    """The test gets the run of ``python -W error *args`` in a directory holding *files*
    (and then the runs of the command lines in *more*, in the same directory).

    For an ``AheadCase``: the runs are made before the class's first test, with
    the other runs of its class; ``self.directory_ahead()`` is their directory.
    """
    commands = [args, *more]

    def decorate(test: Callable[..., None]) -> Callable[[Any], None]:
        @functools.wraps(test)
        def check(self: Any) -> None:
            runs = type(self).background_runs
            test(self, *(runs[test.__name__, i] for i in range(len(commands))))

        check.ahead = (commands, dict(files or {}))  # type: ignore[attr-defined]
        return check

    return decorate


class BackgroundCase(unittest.TestCase):
    """A test class whose children run in the background lane from the moment the class is made.

    A subclass gives the job in ``background()``, a classmethod called once, in
    the main thread, when the class is made (its module is imported): it writes
    the files the children need (in ``background_directory()``s) and returns the
    job, or None for nothing to run.  ``setUpClass`` waits for the job and puts
    what it returned in ``cls.background_runs``.  For children whose results do not depend
    on timing.
    """

    background_runs: ClassVar[Any] = None
    _early: ClassVar[Early[Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        job = cls.background()
        cls._early = None if job is None else in_background(job)

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        return None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if cls._early is not None:
            cls.background_runs = cls._early.result()


class AheadCase(BackgroundCase):
    """Tests that each check the run of a child (``@ahead``), none of which depends on timing.

    Every such run of the class is a job of the background lane, in a
    temporary directory of its own per test.
    """

    dirs_ahead: ClassVar[dict[str, str]] = {}

    @classmethod
    def background(cls) -> Callable[[], Any] | None:
        jobs: dict[tuple[str, int], tuple[str, tuple[str, ...], dict[str, str]]] = {}
        cls.dirs_ahead = {}
        env = child_env()
        for name in unittest.TestLoader().getTestCaseNames(cls):
            spec = getattr(getattr(cls, name), "ahead", None)
            if spec is None:
                continue
            commands, files = spec
            directory = background_directory()
            write_files(directory, files)
            cls.dirs_ahead[name] = directory
            for index, args in enumerate(commands):
                jobs[name, index] = (directory, args, env)
        return functools.partial(run_warm, jobs) if jobs else None

    def directory_ahead(self) -> str:
        """The directory this test's runs were made in."""
        return type(self).dirs_ahead[self._testMethodName]


# Variables a child interpreter reads as it starts (a fork of a warm one
# cannot take a new value of them); every other one is read at run time.
_READ_AT_START = re.compile(
    r"^(?:PYTHON(?!ASYNCIODEBUG$|DONTWRITEBYTECODE$|_COLORS$)\w*|LANG|LC_\w+)$"
)


def _package_of(module: str) -> tuple[str, ...]:
    """What a warm interpreter may import before ``-m module`` runs: the module if it
    is a package (``-m`` runs its ``__main__``), else its package (runpy warns about
    a module imported before it runs)."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations is not None:
        return (module,)
    return (module.rpartition(".")[0],) if "." in module else ()


class _WarmServer:
    """A warm interpreter (tests/_warm.py) kept for the whole run: jobs go to it
    as they come, from any thread, and each gets a future of its exit status."""

    def __init__(self, command: list[str], env: Mapping[str, str]) -> None:
        # Its own stderr, read if it ends early; closed by close().
        self.errors = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.lock = threading.Lock()
        self.waiting: dict[int, concurrent.futures.Future[int]] = {}
        self.ended = False
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, name="tests-warm-reader", daemon=True)
        self.reader.start()

    def submit(self, job: dict[str, Any]) -> concurrent.futures.Future[int]:
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self.lock:
            if self.ended:
                raise RuntimeError(f"tests._warm has ended: {self._why()}")
            self.next_id += 1
            self.waiting[self.next_id] = future
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({**job, "id": self.next_id}) + "\n")
            self.proc.stdin.flush()
        return future

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            answer = json.loads(line)
            with self.lock:
                future = self.waiting.pop(answer["id"])
            future.set_result(answer["status"])
        with self.lock:  # the server ended: what it had not answered never will be
            self.ended = True
            left, self.waiting = list(self.waiting.values()), {}
        for future in left:
            future.set_exception(RuntimeError(f"tests._warm ended: {self._why()}"))

    def _why(self) -> str:
        self.proc.poll()
        self.errors.seek(0)
        return f"exit status {self.proc.returncode}\n{self.errors.read()}"

    def close(self) -> None:
        """End it, once its children have (at exit: see ``_at_exit``)."""
        with self.lock:
            self.ended = True
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.errors.close()


_servers: dict[tuple[Any, ...], _WarmServer] = {}
_servers_lock = threading.Lock()


def _warm_server(key: tuple[Any, ...], command: list[str], env: Mapping[str, str]) -> _WarmServer:
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = _WarmServer(command, env)
            _at_exit_once()
    return server


def run_warm(
    jobs: Mapping[_K, tuple[str, tuple[str, ...]] | tuple[str, tuple[str, ...], Mapping[str, str]]],
    *,
    parallel: int | None = None,
    werror: bool = True,
    timeout: float = 60,
    preload: tuple[str, ...] = (),
) -> dict[_K, Any]:
    """For each job (cwd, command line, and optionally its environment, else
    ``child_env()``): the run of ``python -W error COMMAND LINE``.

    A command line is ``("-m", module, *args)`` or ``("-c", code, *args)``, after
    interpreter options if any (``"-X", "dev"``).  Each is a fork of a warm
    interpreter (tests/_warm.py) that has imported its module (for ``-c``: asyncio
    and unittest) and the modules in *preload* once, and serves every such job of
    the test run; *parallel* at a time (by default ``PARALLEL``, one in the
    background lane); killed if still running after *timeout* seconds.  An
    environment may differ from the others only in variables read at run time
    (not ``PYTHON*``, ``LANG`` or ``LC_*``): those that differ there get warm
    interpreters of their own.  Without *werror*, no ``-W error``.
    """
    if parallel is None:
        parallel = 1 if in_lane() else PARALLEL
    encoding = locale.getpreferredencoding(False)
    flags = ("-W", "error") if werror else ()
    runs: dict[_K, Any] = {}
    with tempfile.TemporaryDirectory() as outputs:
        planned = []
        for index, (key, (cwd, command, *given)) in enumerate(jobs.items()):
            env = dict(given[0]) if given else child_env()
            at = next((i for i, arg in enumerate(command) if arg in ("-m", "-c")), None)
            if at is None:
                raise ValueError(f"not a -m or -c command line: {command}")
            options, args = tuple(command[:at]), tuple(command[at:])
            imports = _package_of(args[1]) if args[0] == "-m" else ("asyncio", "unittest")
            imports += preload
            start = tuple(sorted((k, v) for k, v in env.items() if _READ_AT_START.match(k)))
            server_line = [sys.executable, *flags, *options, "-m", "tests._warm", *imports]
            server = _warm_server((werror, options, imports, start), server_line, env)
            out, err = (os.path.join(outputs, f"{index}.{n}") for n in ("out", "err"))
            what = {"module": args[1]} if args[0] == "-m" else {"code": args[1]}
            job = {"cwd": cwd, **what, "args": args[2:], "out": out, "err": err, "env": env}
            line = [sys.executable, *flags, *options, *args]
            planned.append((key, server, {**job, "timeout": timeout}, line, out, err))
        running: dict[concurrent.futures.Future[int], tuple[Any, ...]] = {}
        for item in planned:
            while len(running) >= parallel:
                _wait_one(running, runs, encoding)
            running[item[1].submit(item[2])] = item
        while running:
            _wait_one(running, runs, encoding)
    return {key: runs[key] for key in jobs}


def _wait_one(
    running: dict[concurrent.futures.Future[int], tuple[Any, ...]],
    runs: dict[Any, Any],
    encoding: str,
) -> None:
    """Wait for one of *running* to end; put its run in *runs*."""
    done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
    for future in done:
        key, _, _, line, out, err = running.pop(future)
        status = future.result()
        texts: list[str] = []
        for path in (out, err):
            with open(path, encoding=encoding) as f:
                texts.append(f.read())
        runs[key] = subprocess.CompletedProcess(line, status, *texts)


class Early(Generic[_T]):
    """A job (children run to their end) started in the background lane.

    ``result()`` waits for it, or runs it at once in the caller if the lane
    has not begun it yet.
    """

    def __init__(self, job: Callable[[], _T]) -> None:
        self._job: Callable[[], _T] | None = job
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._value: _T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Run the job unless it has been begun already."""
        with self._lock:
            job, self._job = self._job, None
        if job is None:
            return
        try:
            self._value = job()
        except BaseException as error:  # for result() to raise
            self._error = error
        finally:
            self._done.set()

    def cancel(self) -> None:
        """Never run it (at exit, for classes that did not run)."""
        with self._lock:
            if self._job is not None:
                self._job = None
                self._error = RuntimeError("cancelled: the test run ended first")
                self._done.set()

    def result(self) -> _T:
        self.run()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


# The background lane: LANES threads taking jobs in the order given.  One per
# core this process may use: with the main thread's, one runnable child per
# core and then some (children mostly wait).
LANES = PARALLEL
_lane_queue: queue.SimpleQueue[Early[Any] | None] = queue.SimpleQueue()
_lane_lock = threading.Lock()
# One directory for every background job's directories: a run killed before
# its exit functions leaves one (aiounit-tests-*) behind, not dozens.
_background_root: str | None = None


def _lane() -> None:
    while (early := _lane_queue.get()) is not None:
        early.run()


def _descendants() -> list[int]:
    """The processes this one started, and theirs (from /proc: Linux; elsewhere none)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as file:
                    stat = file.read()
            except OSError:
                continue  # ended meanwhile
            # "pid (command) state ppid ...": the command may hold spaces and parentheses.
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, parents = [], [os.getpid()]
    while parents:
        for child in children.get(parents.pop(), ()):
            found.append(child)
            parents.append(child)
    return found


def _kill_descendants() -> None:
    """Kill every process this one started, and theirs: all stopped first, so that
    none starts another meanwhile (a warm interpreter its next fork)."""
    stopped: set[int] = set()
    while more := [pid for pid in _descendants() if pid not in stopped]:
        for pid in more:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        stopped.update(more)
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _stop_lane() -> None:
    # At exit: jobs not begun are dropped, and the children of those running are
    # killed (no test is left to look at them; every test's own have ended).
    while True:
        try:
            early = _lane_queue.get_nowait()
        except queue.Empty:
            break
        if early is not None:
            early.cancel()
    for _ in _lane_threads:
        _lane_queue.put(None)
    for thread in _lane_threads:
        # A job may start another child after one is killed: until its thread ends.
        while thread.is_alive():
            if hasattr(signal, "SIGKILL"):
                _kill_descendants()
            thread.join(0.1)


_exit_registered = False


def _at_exit_once() -> None:
    """Register the end of the lane and of the warm interpreters, and the removal
    of the background directories, at exit, once."""
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        # At exit, jobs end before the finalizers of what they use run (a
        # TemporaryDirectory's): atexit runs the latest registered first, and
        # weakref.finalize registers its own atexit function with its first use.
        weakref.finalize(_lane_queue, lambda: None)
        atexit.register(_at_exit)


def _at_exit() -> None:
    _stop_lane()
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    if hasattr(signal, "SIGKILL") and any(server.waiting for server in servers):
        _kill_descendants()  # children of a test that was interrupted: nobody waits for them
    for server in servers:
        server.close()
    if _background_root is not None:  # what they ran in
        shutil.rmtree(_background_root, ignore_errors=True)


def in_background(job: Callable[[], _T]) -> Early[_T]:
    """Start *job* in the background lane, which runs LANES jobs at a time in the order given.

    Test classes whose children take long but do not depend on timing start
    them when their module is imported (discovery imports every module before
    the first test runs), so that the children run while other tests do.
    A job that needs the environment should take ``child_env()`` when it is
    made, in the main thread: tests may change ``os.environ`` while it runs.
    """
    early = Early(job)
    with _lane_lock:
        if not _lane_threads:
            for n in range(LANES):
                thread = threading.Thread(target=_lane, name=f"tests-lane-{n}", daemon=True)
                _lane_threads.append(thread)
                thread.start()
            _at_exit_once()
    _lane_queue.put(early)
    return early


def background_directory() -> str:
    """A new temporary directory for a background job, removed at exit."""
    global _background_root
    with _lane_lock:
        if _background_root is None:
            _background_root = tempfile.mkdtemp(prefix="aiounit-tests-")
            _at_exit_once()
    return tempfile.mkdtemp(dir=_background_root)


def run_parallel(jobs: Mapping[_K, Callable[[], _T]]) -> dict[_K, _T]:
    """Call each of *jobs* (each runs a child to its end), ``PARALLEL`` at a time.

    For children whose results do not depend on timing: they share the cores.
    The first exception a job raised is raised once all have ended.  In the
    background lane they run one at a time.
    """
    if in_lane():
        return {key: job() for key, job in jobs.items()}
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
    return {key: future.result() for key, future in futures.items()}
