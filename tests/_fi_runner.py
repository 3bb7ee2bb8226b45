"""Run one generated fault-injection module in one mode; dump what the result saw as JSON.

    python -m tests._fi_runner MODE OUT.json MODULE [ARGS...]

MODE is ``unittest`` (``unittest.main``, what ``python -m unittest`` runs) or
``aiounit`` (``aiounit.main``, what ``python -m aiounit`` runs); ARGS are
passed on as command-line arguments.  The result is the runner's own text
result class (so the stream shows the usual ``-v`` output) extended to record,
per test id, every call it gets.  The JSON holds those calls, the warnings
aiounit reported (``addDiagnostic``), the exit status, the fixture log of
``tests._fi_state`` and its state fingerprints.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from tests import _fi_state

_results: list[Any] = []


def _key(test: Any) -> str:
    # test.id() of a test, the description of a fixture's _ErrorHolder.
    return str(test.id()) if hasattr(test, "_testMethodName") else str(test)


def _err(result: Any, test: Any, kind: str, err: Any) -> list[Any]:
    # The text the result shows (unittest's own frames left out), which is
    # where aiounit's frames must not show either.
    try:
        text = result._exc_info_to_string(err, test)
    except Exception:
        text = "".join(traceback.format_exception(*err))
    return [kind, err[0].__name__, text]


def recording(base: type) -> type:
    """A subclass of the text result *base* that records every call per test."""

    class Recording(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fi_calls: dict[str, list[list[Any]]] = {}
            self.fi_order: list[str] = []
            self.fi_diagnostics: list[list[str]] = []
            self.fi_state: dict[str, Any] = {}
            _results.append(self)

        def _rec(self, test: Any, *call: Any) -> None:
            key = _key(test)
            if key not in self.fi_calls:
                self.fi_order.append(key)
            self.fi_calls.setdefault(key, []).append(list(call))

        def startTestRun(self) -> None:
            self.fi_state["start"] = _fi_state.fingerprint()
            super().startTestRun()

        def stopTestRun(self) -> None:
            super().stopTestRun()
            self.fi_state["stop"] = _fi_state.fingerprint()

        def startTest(self, test: Any) -> None:
            self._rec(test, "start")
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            self._rec(test, "stop")
            super().stopTest(test)

        def addSuccess(self, test: Any) -> None:
            self._rec(test, "success")
            super().addSuccess(test)

        def addError(self, test: Any, err: Any) -> None:
            self._rec(test, *_err(self, test, "error", err))
            super().addError(test, err)

        def addFailure(self, test: Any, err: Any) -> None:
            self._rec(test, *_err(self, test, "failure", err))
            super().addFailure(test, err)

        def addSkip(self, test: Any, reason: str) -> None:
            self._rec(test, "skip", reason)
            super().addSkip(test, reason)

        def addExpectedFailure(self, test: Any, err: Any) -> None:
            self._rec(test, *_err(self, test, "expected failure", err))
            super().addExpectedFailure(test, err)

        def addUnexpectedSuccess(self, test: Any) -> None:
            self._rec(test, "unexpected success")
            super().addUnexpectedSuccess(test)

        def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
            desc = subtest._subDescription()
            if err is None:
                self._rec(test, "subtest", desc, "ok")
            else:
                kind = "failure" if issubclass(err[0], test.failureException) else "error"
                self._rec(test, "subtest", desc, *_err(self, test, kind, err))
            super().addSubTest(test, subtest, err)

        def addDiagnostic(self, test: Any, message: str) -> None:
            self.fi_diagnostics.append([_key(test), str(message)])
            parent = getattr(super(), "addDiagnostic", None)
            if parent is not None:
                parent(test, message)

    return Recording


def _runner(mode: str) -> Any:
    if mode == "unittest":
        import unittest

        base_runner: Any = unittest.TextTestRunner
        base_result: Any = unittest.TextTestResult
    else:
        import aiounit

        base_runner = aiounit.TextTestRunner
        base_result = aiounit.TextTestResult

    class Runner(base_runner):  # type: ignore[misc]
        resultclass = recording(base_result)

    return Runner


def main(argv: list[str]) -> None:
    mode, out, *args = argv
    runner = _runner(mode)
    code: Any = None
    crash = None
    try:
        if mode == "unittest":
            import unittest

            unittest.main(module=None, argv=["python -m unittest", *args], testRunner=runner)
        else:
            import aiounit

            aiounit.main(module=None, argv=["python -m aiounit", *args], testRunner=runner)
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        # A run that crashed: no summary, later tests never ran.  Dump what was
        # seen, then let the traceback show.
        crash = traceback.format_exc()
        code = "crashed"
    result = _results[-1] if _results else None
    dump = {
        "exit": int(code) if isinstance(code, (bool, int)) else code,
        "calls": result.fi_calls if result else {},
        "order": result.fi_order if result else [],
        "diagnostics": result.fi_diagnostics if result else [],
        "state": result.fi_state if result else {},
        "probes": _fi_state.PROBES,
        "log": _fi_state.LOG,
        "crash": crash,
    }
    with open(out, "w", encoding="utf-8") as file:
        json.dump(dump, file, indent=1)
    if crash is not None:
        sys.stderr.write(crash)
        sys.exit(70)
    sys.stderr.flush()
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
