"""Every option aiounit adds, defined once.

``OPTIONS`` is the one list: ``python -m aiounit`` builds its command-line
options from it (``add_arguments``), ``_config.Config`` checks keyword values
with it (``check``), and the option tables of README.md, docs/usage.md and
docs/api.md are rendered from it (tools/docs_options.py; a test compares).
The typed keyword-only parameters of ``ConcurrentTestSuite``, ``TestProgram``
and ``Config`` are written out for type checkers and readers; a test checks
them against this list.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from ._marks import UNSET, check_max_concurrency, check_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final, Literal

    Where = Literal["suite", "runner", "program"]

__unittest = True

DEFAULT_GROUPS: Final = ("none", "class", "module")


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its keyword name, its flags, its value and what it means."""

    #: the keyword argument (and ``Config`` field, program attribute) it sets
    name: str
    #: its command-line spelling(s)
    flags: tuple[str, ...]
    #: what it does, one phrase; `backticks` are kept in the docs, dropped in --help
    help: str
    #: who takes it as a keyword argument: "suite" (ConcurrentTestSuite and
    #: main), "runner" (TextTestRunner) or "program" (the command line only)
    where: Where
    #: the Python type of its keyword argument, as the docs write it
    type: str
    #: the value a run has when nobody sets it (suite options: ``Config``'s)
    value: Any = None
    #: that default, as the docs and --help say it; None: nothing to say
    default: str | None = None
    #: special values on the command line, e.g. "`0` or `none`: no limit"
    cli_note: str | None = None
    #: special values as a keyword argument, e.g. "`None`: never"
    keyword_note: str | None = None
    #: the value's placeholder on the command line; None: a flag with no value
    metavar: str | None = None
    #: command-line text -> value; raises OptionError with what is expected
    parse: Callable[[str], Any] | None = None
    #: keyword value -> value; raises TypeError/ValueError naming the keyword
    check: Callable[[Any, str], Any] | None = None
    #: the flag stores False (a ``--no-...`` flag) instead of True
    negative: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def usage(self) -> str:
        """The flags with their placeholder, as the docs show them: ``-j N, --workers N``."""
        if self.choices is not None:
            return ", ".join(f"{flag} {{{','.join(self.choices)}}}" for flag in self.flags)
        if self.metavar is None:
            return ", ".join(self.flags)
        return ", ".join(f"{flag} {self.metavar}" for flag in self.flags)

    def _text(self, note: str | None) -> str:
        text = self.help if note is None else f"{self.help}; {note}"
        return text if self.default is None else f"{text} (default: {self.default})"

    @property
    def cli_text(self) -> str:
        """What the option does on the command line (Markdown)."""
        return self._text(self.cli_note)

    @property
    def keyword_text(self) -> str:
        """What the keyword argument does (Markdown)."""
        return self._text(self.keyword_note)

    @property
    def help_text(self) -> str:
        """``cli_text`` as ``--help`` shows it: capitalised as unittest's help is,
        no `backticks`, [links](x) as their text."""
        text = _LINK.sub(r"\1", self.cli_text).replace("`", "")
        return text[:1].upper() + text[1:]


_LINK = re.compile(r"\[([^]]*)\]\([^)]*\)")


# -- parsing command-line text ---------------------------------------------


class OptionError(ValueError):
    """Bad text for an option; its message says what the option expects."""


def _number(text: str, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"expected {expected}, got {text!r}") from None
    if math.isnan(value):
        raise OptionError(f"expected {expected}, got {text!r}")
    return value


def _seconds_or_none(text: str) -> float | None:
    """``--timeout``, ``--blocking-threshold``: seconds > 0; 0 or ``none``: None.

    Any spelling of zero (``0``, ``0.0``, ``0e0``) is zero.
    """
    expected = "a number of seconds > 0, or 0 or none for no limit"
    if text.strip().lower() == "none":
        return None
    value = _number(text, expected)
    if value == 0:
        return None
    if value < 0:
        raise OptionError(f"expected {expected}, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """``--grace``: seconds > 0."""
    expected = "a number of seconds > 0"
    value = _number(text, expected)
    if not value > 0:
        raise OptionError(f"expected {expected}, got {text!r}")
    return value


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise OptionError(f"expected a whole number >= {minimum}, got {text!r}")
    return value


def _max_concurrency(text: str) -> int:
    return _integer(text, 1)


def _workers(text: str) -> int:
    """``-j N``: N >= 0; 0 means one per CPU."""
    return _integer(text, 0) or (os.cpu_count() or 1)


_SHARD = re.compile(r"([0-9]+)/([0-9]+)")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``; raises ValueError with the rule broken.

    Only ASCII digits, nothing around them: int() would also take " 1",
    "+1", "1_0" and other scripts' digits, which no CI system means.
    """
    match = _SHARD.fullmatch(text)
    i, n = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if n < 1 or not 1 <= i <= n:
        msg = f"--shard must be I/N with 1 <= I <= N, got {text!r}"
        raise ValueError(msg)
    return i, n


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ValueError as exc:  # it says what --shard expects
        raise OptionError(str(exc)) from None


# -- checking keyword values -----------------------------------------------


def _check_positive(value: object, name: str) -> float:
    """A number of seconds > 0; None is not one (grace)."""
    if value is None:
        msg = f"{name} must be a positive number of seconds, got None"
        raise TypeError(msg)
    checked = check_timeout(value, name)
    assert checked is not None
    return checked


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{name} must be a bool, got {value!r}"
        raise TypeError(msg)
    return value


def _check_bool_or_none(value: object, name: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        msg = f"{name} must be a bool or None, got {value!r}"
        raise TypeError(msg)
    return value


def _check_default_group(value: object, name: str) -> str | None:
    if value is not None and value not in DEFAULT_GROUPS:
        msg = f"{name} must be one of {DEFAULT_GROUPS}, got {value!r}"
        raise ValueError(msg)
    return value


def _fail_on(what: str, error: str | None = None) -> str:
    kind = f"an error, `aiounit.{error}`," if error else "an error of its test"
    return f"report {what} as {kind} instead of a warning"


_NOT_SET = "`None`: not set here"

OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "timeout",
        ("--timeout",),
        "default time limit of a test, in seconds",
        "suite",
        "float | None",
        default="no limit",
        cli_note="`0` or `none`: no limit",
        keyword_note=_NOT_SET,
        metavar="S",
        parse=_seconds_or_none,
        check=check_timeout,
    ),
    Option(
        "max_concurrency",
        ("--max-concurrency",),
        "cap on how many members of a group run at once, for groups whose members set none",
        "suite",
        "int | None",
        default="no cap",
        keyword_note=_NOT_SET,
        metavar="N",
        parse=_max_concurrency,
        check=check_max_concurrency,
    ),
    Option(
        "default_group",
        ("--default-group",),
        "put the async tests that have no `@aiounit.group` in a group of their class"
        " or of their module",
        "suite",
        "str | None",
        value="none",
        default="`none`, they run one at a time",
        keyword_note=_NOT_SET,
        choices=DEFAULT_GROUPS,
        check=_check_default_group,
    ),
    Option(
        "blocking_threshold",
        ("--blocking-threshold",),
        "warn about a test that keeps its group's event loop busy this long, in seconds",
        "suite",
        "float | None",
        value=0.1,
        default="`0.1`",
        cli_note="`0` or `none`: never",
        keyword_note="`None`: never",
        metavar="S",
        parse=_seconds_or_none,
        check=check_timeout,
    ),
    Option(
        "fail_on_blocking",
        ("--fail-on-blocking",),
        _fail_on("a test that blocked the event loop", "LoopBlockedError"),
        "suite",
        "bool",
        value=False,
        check=_check_bool,
    ),
    Option(
        "fail_on_leaks",
        ("--fail-on-leaks",),
        _fail_on("tasks a test left running", "LeakedTaskError"),
        "suite",
        "bool",
        value=False,
        check=_check_bool,
    ),
    Option(
        "fail_on_hazards",
        ("--fail-on-hazards",),
        _fail_on(
            "a test that changed process-wide state (`mock.patch`, `os.environ`,"
            " a fixed port...) while peers of its group ran",
            "ConcurrencyHazardError",
        ),
        "suite",
        "bool",
        value=False,
        check=_check_bool,
    ),
    Option(
        "fail_on_loop_errors",
        ("--fail-on-loop-errors",),
        _fail_on("an exception raised in an event loop callback, or in a task nobody awaited,"),
        "suite",
        "bool",
        value=False,
        check=_check_bool,
    ),
    Option(
        "grace",
        ("--grace",),
        "seconds a timed-out or cancelled test, and the tasks a test left, get to stop"
        " before they are given up on",
        "suite",
        "float",
        value=1.0,
        default="`1`",
        metavar="S",
        parse=_seconds,
        check=_check_positive,
    ),
    Option(
        "debug",
        ("--asyncio-debug",),
        "run the event loops in asyncio debug mode",
        "suite",
        "bool | None",
        default="asyncio's choice, by `PYTHONASYNCIODEBUG` or `-X dev`",
        keyword_note="`None`: asyncio's choice",
        check=_check_bool_or_none,
    ),
    Option(
        "workers",
        ("-j", "--workers"),
        "run the tests in N worker processes, whole groups and modules at a time (POSIX only)",
        "program",
        "int",
        cli_note="`0`: one per CPU",
        metavar="N",
        parse=_workers,
    ),
    Option(
        "junit_xml",
        ("--junit-xml",),
        "write a JUnit XML report to PATH, kept up to date as the run goes",
        "runner",
        "str | None",
        metavar="PATH",
        parse=str,
    ),
    Option(
        "shard",
        ("--shard",),
        "run only shard I of N (1 <= I <= N) of the selected tests, for N CI jobs;"
        " groups are never split",
        "program",
        "tuple[int, int]",
        metavar="I/N",
        parse=_shard,
    ),
    Option(
        "durations_file",
        ("--durations-file",),
        "with `--shard`, balance the shards by the test durations recorded in PATH",
        "program",
        "str",
        metavar="PATH",
        parse=str,
    ),
    Option(
        "record_durations",
        ("--record-durations",),
        "merge this run's test durations into PATH (JSON), for `--durations-file`",
        "program",
        "str",
        metavar="PATH",
        parse=str,
    ),
    Option(
        "coverage",
        ("--coverage",),
        "measure coverage of the run, worker processes included, and print the report"
        " (needs coverage.py: `pip install 'aiounit[coverage]'`)",
        "program",
        "bool",
        value=False,
    ),
    Option(
        "progress",
        ("--no-progress",),
        "do not show the live [progress line](usage.md#progress-line) on a terminal",
        "runner",
        "bool",
        value=True,
        negative=True,
    ),
)

BY_NAME: Final = {option.name: option for option in OPTIONS}
#: the options of ConcurrentTestSuite, main() and Config, in their order
SUITE: Final = tuple(option for option in OPTIONS if option.where == "suite")
#: None means "not set here" for these (the enclosing run's value); for the
#: other suite options None is a value, and only leaving them out inherits
INHERIT: Final = ("timeout", "max_concurrency", "default_group")


def check(name: str, value: object) -> Any:
    """*value* checked for the suite option *name* (TypeError/ValueError naming it)."""
    checker = BY_NAME[name].check
    assert checker is not None
    return checker(value, name)


def given(**values: Any) -> dict[str, Any]:
    """The suite options actually given: neither UNSET nor, where that means
    "not set here", None."""
    return {
        name: value
        for name, value in values.items()
        if value is not UNSET and not (value is None and name in INHERIT)
    }


def add_arguments(group: Any, defaults: dict[str, Any]) -> None:
    """Add every option to the argparse *group*; *defaults* by option name
    (an option not in it defaults to UNSET, "not given")."""
    import argparse

    for option in OPTIONS:
        kwargs: dict[str, Any] = {
            "dest": option.name,
            "default": defaults.get(option.name, UNSET),
            "help": option.help_text,
        }
        if option.choices is not None:
            kwargs["choices"] = option.choices
        elif option.metavar is None:
            kwargs["action"] = "store_false" if option.negative else "store_true"
        else:
            kwargs["metavar"] = option.metavar
            kwargs["type"] = _argparse_type(option, argparse)
        group.add_argument(*option.flags, **kwargs)


def _argparse_type(option: Option, argparse: Any) -> Callable[[str], Any]:
    parse = option.parse
    assert parse is not None

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = option.name  # argparse names a failed type by it
    return convert
