"""Draw the chart of docs/performance.md from a ``bench.py --json`` file.

Needs matplotlib, a development-only dependency (``pip install matplotlib``);
aiounit and bench.py do not.

    python benchmarks/plot.py results.json docs/performance.png

The chart has a group of bars for each scenario of ``SCENARIOS`` the file has,
and a bar for each system measured (or estimated) there; a file with none of
them is an error, said as such.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

SCENARIOS = (
    "sleep1000",
    "sleep10000",
    "sleep100000",
    "trivial5000_grouped",
    "trivial5000_ungrouped",
    "fixtures40",
    "classfixture40",
)
SYSTEMS = (
    "asyncio (floor)",
    "aiounit",
    "unittest",
    "pytest-asyncio-concurrent",
    "pytest-asyncio-cooperative",
    "pytest-asyncio",
)


class NothingToDraw(ValueError):
    """The results hold none of the chart's scenarios."""


def select(
    data: dict[str, Any],
) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[float, bool]]]:
    """The scenarios and systems to draw, and the best (lowest) wall time of each
    pair over the interpreters, with whether it is an estimate."""
    best: dict[tuple[str, str], tuple[float, bool]] = {}
    for row in data.get("results", []):
        key = (row["scenario"], row["system"])
        if key[0] not in SCENARIOS or key[1] not in SYSTEMS or not row.get("ok", True):
            continue
        value = (row["wall_s"], bool(row.get("estimated")))
        if key not in best or value[0] < best[key][0]:
            best[key] = value
    scenarios = [sc for sc in SCENARIOS if any((sc, s) in best for s in SYSTEMS)]
    systems = [s for s in SYSTEMS if any((sc, s) in best for sc in SCENARIOS)]
    if not best:
        msg = "none of the chart's scenarios (" + ", ".join(SCENARIOS) + ") is in the results"
        raise NothingToDraw(msg)
    return scenarios, systems, best


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as file:
        data = json.load(file)
    try:
        scenarios, systems, best = select(data)
    except NothingToDraw as exc:
        sys.exit(f"plot: {source}: {exc}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(systems)
    bars = defaultdict(list)
    for i, scenario in enumerate(scenarios):
        for j, system in enumerate(systems):
            if (scenario, system) not in best:
                continue
            wall, estimated = best[scenario, system]
            x = i + (j - (len(systems) - 1) / 2) * width
            bar = ax.bar(
                x,
                wall,
                width,
                color=f"C{j}",
                hatch="//" if estimated else None,
                alpha=0.45 if estimated else 1.0,
            )
            bars[system].append(bar)
            label = f"{wall:.2f}" if wall < 100 else f"{wall:.0f}"
            ax.text(
                x,
                wall * 1.08,
                label + ("*" if estimated else ""),
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
            )
    ax.set_yscale("log")
    ax.set_ylabel("wall time, whole process (s, log scale)")
    ax.set_xticks(range(len(scenarios)), [s.replace("_", "\n") for s in scenarios])
    ax.legend([bars[s][0] for s in systems], systems, loc="upper left", fontsize=8)
    machine = data.get("machine", {})
    ax.set_title(
        f"aiounit benchmark, {machine.get('cpus', '?')} cores ({machine.get('cpu', '?')});"
        " best interpreter per system; * = estimated (N x its sleep time), not run",
        fontsize=9,
    )
    ax.set_ylim(0.1, max(v for v, _ in best.values()) * 8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/plot.py RESULTS.json OUT.png")
    main(sys.argv[1], sys.argv[2])
