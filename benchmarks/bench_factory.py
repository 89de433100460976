"""Speed of the line's discrete-event simulation (twinline.factory.throughput, SimPy).

Usage: python benchmarks/bench_factory.py [--lot-cells 1000] [--replications 5] [--json]

The line: 25 steps in series (cathode and anode electrode lines as consecutive steps, then
cell assembly, formation and testing), one simulated year (365 d, 24/7), flow unit a lot of
``--lot-cells`` cells (default 1 000: the modelling choice that keeps a year to ~10⁶ events).

Inputs and where they come from (per lot of 1 000 cells; all scale with the lot size):
- coating at 60 m/min, the reference wet speed of Örüm Aydin et al. 2023 (Batteries 9, 555),
  on 3 000 m of electrode per lot (assumption: ~3 m of electrode per cell and side) → 3 000 s;
  the coater is the intended bottleneck;
- slitting at 100 m/min, inside the 80–150 m/min of Zanotto et al. 2022 → 1 800 s;
- scrap 0.5 % per step: Örüm Aydin et al. 2023 (25 steps × 99.5 % → 88 % yield);
- everything else (other cycle times, MTBF 20–100 h, MTTR 0.5–2 h, a 15 min roll change every
  3 lots on the web machines, buffers of 4 lots, 8 after post-drying) is an assumption for the
  benchmark, not a plant default: the examples in examples/plant_*.yaml carry the plant's own.

Cases: (1) one replication, target ≤ 30 s on the 2-core development machine; (2)
``--replications`` replications (95 % CI of good cells/year); (3) a 4× finer lot (lot/4), to
show how the cost scales with the number of events.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

#: (name, cycle time per 1000-cell lot [s], mtbf_h, mttr_h, roll change every n lots or 0)
STEPS: tuple[tuple[str, float, float, float, int], ...] = (
    ("cathode mixing", 2400, 100, 2.0, 0),
    ("cathode coating", 3000, 40, 1.0, 3),
    ("cathode drying", 2950, 60, 1.0, 0),
    ("cathode calendering", 2250, 40, 1.0, 3),
    ("cathode slitting", 1800, 40, 0.5, 3),
    ("cathode post-drying", 2700, 100, 2.0, 0),
    ("anode mixing", 2400, 100, 2.0, 0),
    ("anode coating", 2900, 40, 1.0, 3),
    ("anode drying", 2850, 60, 1.0, 0),
    ("anode calendering", 2250, 40, 1.0, 3),
    ("anode slitting", 1800, 40, 0.5, 3),
    ("anode post-drying", 2700, 100, 2.0, 0),
    ("notching", 2500, 20, 0.5, 0),
    ("separation", 2400, 20, 0.5, 0),
    ("stacking", 2800, 20, 0.5, 0),
    ("tab welding", 2200, 30, 0.5, 0),
    ("packaging", 2200, 30, 0.5, 0),
    ("electrolyte filling", 2300, 40, 1.0, 0),
    ("wetting", 2600, 100, 1.0, 0),
    ("formation", 2700, 80, 2.0, 0),
    ("degassing", 2300, 40, 1.0, 0),
    ("final sealing", 2000, 40, 0.5, 0),
    ("ageing", 2600, 100, 1.0, 0),
    ("end-of-line test", 2400, 50, 0.5, 0),
    ("grading and packing", 1800, 50, 0.5, 0),
)


def plant(lot_cells: int) -> dict[str, Any]:
    """The benchmark line as the plain mapping `line_from_plant` takes."""
    f = lot_cells / 1000.0
    machines = [{"name": n, "cycle_time_s": ct * f, "unit": f"lot of {lot_cells} cells",
                 "mtbf_h": mtbf, "mttr_h": mttr, "changeover_s": 900.0 if every else 0.0,
                 "changeover_every": round(every / f) if every else 0, "scrap": 0.005}
                for n, ct, mtbf, mttr, every in STEPS]
    buffers = [{"after": n, "capacity": (8 if "post-drying" in n else 4) * round(1 / f)}
               for n, *_ in STEPS[:-1]]
    return {"machines": machines, "buffers": buffers}


def case(lot_cells: int, replications: int, seed: int = 2026) -> dict[str, Any]:
    from twinline.factory.throughput import line_from_plant, simulate_line

    line = line_from_plant(plant(lot_cells))
    t0 = time.perf_counter()
    r = simulate_line(line, seed=seed, replications=replications, samples=200)
    wall = time.perf_counter() - t0
    neck = next(m for m in r.machines if m.name == r.bottleneck)
    g = r.good_per_year
    return {"lot_cells": lot_cells, "replications": replications, "wall_s": wall,
            "wall_per_replication_s": wall / replications, "events": r.events,
            "events_per_s": r.events / wall, "good_cells_per_year": g.mean * lot_cells,
            "ci95": None if g.low is None else [g.low * lot_cells, g.high * lot_cells],
            "bottleneck": r.bottleneck, "bottleneck_share": r.bottleneck_share,
            "bottleneck_oee": neck.oee.mean}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lot-cells", type=int, default=1000)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import os

    rows = [case(args.lot_cells, 1), case(args.lot_cells, args.replications),
            case(max(1, args.lot_cells // 4), 1)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| case | wall | events | events/s | good cells/year (95 % CI) | bottleneck "
          "(share, OEE) | target |")
    print("|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows):
        ci = "" if r["ci95"] is None else f" ({r['ci95'][0] / 1e6:.3f}–{r['ci95'][1] / 1e6:.3f})"
        name = (f"25 steps, 1 year, lot {r['lot_cells']}, {r['replications']} replication"
                + ("s" if r["replications"] > 1 else ""))
        target = "≤ 30 s" if i == 0 else ""
        print(f"| {name} | {r['wall_s']:.2f} s | {r['events']:,} | {r['events_per_s']:,.0f} | "
              f"{r['good_cells_per_year'] / 1e6:.3f} M{ci} | {r['bottleneck']} "
              f"({r['bottleneck_share']:.0%}, {r['bottleneck_oee']:.2f}) | {target} |")


if __name__ == "__main__":
    main()
