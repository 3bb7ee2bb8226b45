"""unittest's output colours (3.14+), for what aiounit writes beside unittest's."""

from __future__ import annotations

import re

from ._stdlib import SINCE_314

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# What 3.14's traceback and unittest colouring put in text: SGR sequences only.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


class _NoColour:
    passed = warn = fail = fail_info = reset = ""


def theme(stream: Any) -> Any:
    """The colours unittest uses on *stream*: none before 3.14.

    3.14's ``TextTestResult`` and ``TextTestRunner.run`` colour their output
    when ``_colorize.can_colorize`` says so for the stream (a terminal, unless
    ``PYTHON_COLORS``, ``NO_COLOR``, ``FORCE_COLOR`` or ``TERM=dumb`` decide);
    asking the same function keeps aiounit's additions in step with them.
    """
    if SINCE_314:
        # the stdlib's private module unittest itself colours with (no stubs)
        from _colorize import get_theme  # type: ignore[import-not-found,unused-ignore]

        return get_theme(tty_file=stream).unittest
    return _NoColour


def uncoloured(text: str) -> str:
    """*text* without colour: for reports that are files, never terminals."""
    return _SGR.sub("", text) if "\x1b" in text else text
