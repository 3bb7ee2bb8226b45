"""Draw the chart of docs/performance.md from a ``bench.py --json`` file.

Needs matplotlib, a development-only dependency (``pip install matplotlib``);
aiounit and bench.py do not.

    python benchmarks/plot.py results.json docs/performance.png
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

SCENARIOS = (
    "sleep1000",
    "sleep10000",
    "trivial5000_grouped",
    "trivial5000_ungrouped",
    "fixtures40",
)
SYSTEMS = ("unittest", "aiounit", "pytest-asyncio-concurrent", "pytest-asyncio-cooperative")


def main(source: str, target: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(source, encoding="utf-8") as file:
        data = json.load(file)
    # Best (lowest) wall time per scenario and system, over the interpreters;
    # estimated stdlib rows are drawn hatched.
    best: dict[tuple[str, str], tuple[float, bool]] = {}
    for row in data["results"]:
        key = (row["scenario"], row["system"])
        if row["scenario"] not in SCENARIOS or not row.get("ok", True):
            continue
        value = (row["wall_s"], bool(row.get("estimated")))
        if key not in best or value[0] < best[key][0]:
            best[key] = value
    systems = [s for s in SYSTEMS if any((sc, s) in best for sc in SCENARIOS)]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / len(systems)
    bars = defaultdict(list)
    for i, scenario in enumerate(SCENARIOS):
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
    ax.set_xticks(range(len(SCENARIOS)), [s.replace("_", "\n") for s in SCENARIOS])
    ax.legend([bars[s][0] for s in systems], systems, loc="upper right", fontsize=8)
    machine = data.get("machine", {})
    ax.set_title(
        f"aiounit benchmark, {machine.get('cpus', '?')} cores ({machine.get('cpu', '?')});"
        " best interpreter per system; * = estimated (N x 1 s), not run",
        fontsize=9,
    )
    ax.set_ylim(0.1, max(v for v, _ in best.values()) * 8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/plot.py RESULTS.json OUT.png")
    main(sys.argv[1], sys.argv[2])
