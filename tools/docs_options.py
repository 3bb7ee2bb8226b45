"""Render the option tables of the docs from aiounit/_options.py.

    python tools/docs_options.py            # rewrite the tables in place
    python tools/docs_options.py --check    # exit 1 if a table is out of date

Each table sits between two markers in its file:

    <!-- begin options-table: cli -->
    ...
    <!-- end options-table -->

``cli`` is the table of ``python -m aiounit``'s own options (docs/usage.md),
``keywords`` that of the keyword arguments of ``ConcurrentTestSuite`` and
``aiounit.main()`` (docs/api.md).  tests/test_options.py runs the check.
"""

from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from aiounit import _options  # noqa: E402

FILES = ("docs/usage.md", "docs/api.md")
_REGION = re.compile(
    r"(<!-- begin options-table: (?P<kind>\w+) -->\n)(?P<body>.*?)(<!-- end options-table -->)",
    re.DOTALL,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def cli_table() -> str:
    rows = ["| option | meaning |", "|---|---|"]
    for option in _options.OPTIONS:
        flags = ", ".join(f"`{usage}`" for usage in option.usage.split(", "))
        rows.append(f"| {_cell(flags)} | {_cell(option.cli_text)} |")
    return "\n".join(rows) + "\n"


def keywords_table() -> str:
    rows = ["| keyword | type | option | meaning |", "|---|---|---|---|"]
    for option in _options.SUITE:
        rows.append(
            f"| `{option.name}` | `{_cell(option.type)}` | `{option.flags[-1]}`"
            f" | {_cell(option.keyword_text)} |"
        )
    return "\n".join(rows) + "\n"


TABLES = {"cli": cli_table, "keywords": keywords_table}


def rendered(text: str) -> str:
    """*text* with every marked table rendered afresh."""

    def render(match: re.Match[str]) -> str:
        return match.group(1) + TABLES[match.group("kind")]() + match.group(4)

    return _REGION.sub(render, text)


def tables_in(text: str) -> list[str]:
    """The kinds of the marked tables in *text*, in order."""
    return [match.group("kind") for match in _REGION.finditer(text)]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in FILES:
        path = os.path.join(ROOT, name)
        with open(path, encoding="utf-8") as file:
            text = file.read()
        new = rendered(text)
        if new != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8") as file:
                    file.write(new)
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run python tools/docs_options.py")
        return 1
    for name in stale:
        print(f"rewrote the option tables of {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
