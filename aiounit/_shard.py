"""``--shard I/N``: split the selected tests over N CI machines, groups whole."""

from __future__ import annotations

import os
import unittest

from ._plan import leaves, plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True


def load_durations(path: str | None) -> dict[str, float]:
    """Test id -> seconds from a file written by ``--record-durations``."""
    if not path or not os.path.exists(path):
        return {}
    import json

    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict):
        msg = f"{path}: expected a JSON object of test id -> seconds"
        raise ValueError(msg)
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_durations(path: str, tests: dict[str, float]) -> None:
    """Merge this run's *tests* (id -> seconds) into the file at *path*, atomically."""
    import json

    merged = load_durations(path)
    merged.update(tests)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(dict(sorted(merged.items())), file, indent=1)
    os.replace(temporary, path)


def select_shard(
    suite: unittest.TestSuite,
    index: int,
    count: int,
    *,
    default_group: str = "none",
    durations: dict[str, float] | None = None,
) -> list[Any]:
    """The tests of shard *index* (1-based) of *count*, in their original order.

    Units are what runs at one place (a test, a whole group, or a suite with a
    run() of its own), so a group is never split.  They are dealt out by the
    longest-processing-time rule: heaviest first, each to the lightest shard,
    ties to the lower shard; the same suite gives the same split everywhere.
    A unit weighs its number of tests, or with *durations* its expected
    seconds (a group runs its members together, so its longest member).
    """
    units = plan(suite, default_group)
    known = durations or {}
    mean = sum(known.values()) / len(known) if known else 1.0

    def weight(unit: Any) -> float:
        if not known:
            return float(sum(t.countTestCases() for t in unit.tests))
        seconds = [known.get(_id(t), mean) for t in unit.tests]
        return max(seconds) if unit.is_group else sum(seconds)

    order = sorted(range(len(units)), key=lambda i: (-weight(units[i]), i))
    loads = [0.0] * count
    mine: set[int] = set()
    for position in order:
        shard = min(range(count), key=lambda s: (loads[s], s))
        loads[shard] += weight(units[position])
        if shard == index - 1:
            mine.add(position)
    chosen = {id(t) for i in mine for t in units[i].tests}
    return [t for t, _, _ in leaves(suite) if id(t) in chosen]


def _id(test: Any) -> str:
    try:
        return str(test.id())
    except Exception:  # a foreign suite object
        return str(test)
