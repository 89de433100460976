"""Time of one recommendation of the twin (twinline.twin.recommend).

    python benchmarks/bench_recommend.py [--repeat 7] [--json]

Case: ``examples/nmc111_cathode.yaml``, a calibration whose compaction pressure is shifted
from the prior (as a line would have learnt), recommendations for 1 target (calendered
porosity by the line load), 2 targets (porosity and AM loading by line load and gap), and an
unreachable target (refused: the diagnosis adds a solve per target and the window's
corners). Each includes the final prediction of every output with 64 Monte Carlo samples.
Target: one recommendation ≤ 1 s for 1–2 targets (issue 15). The first call of a process
(imports, material library, numba) is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench_calibration import timed  # median and minimum of repeated calls
from twinline.spec.recipe import load_recipe
from twinline.twin.calibration import Calibration
from twinline.twin.recommend import recommend

ROOT = Path(__file__).resolve().parents[1]
POR = "cathode.calendering.porosity=0.30±0.005"
AM = "cathode.coating.am_loading=30 mg/cm^2 ± 0.3 mg/cm^2"
LOAD, GAP = "cathode.calendering.line_load", "cathode.coating.gap"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    recipe = load_recipe(ROOT / "examples" / "nmc111_cathode.yaml")
    prior = Calibration.initial(recipe)
    d = prior.to_dict()
    d["mean"][d["labels"].index("cathode.calendering.compaction_pressure")] += 0.2
    d["id"], d["parent_id"] = "bench-learnt", prior.id
    cal = Calibration.from_dict(d)
    t0 = time.perf_counter()
    first = recommend(recipe, [POR], adjust=[LOAD], calibration=cal)
    rows = [("first call of the process (1 target, imports included)",
             time.perf_counter() - t0, None, first.reachable)]
    cases = [("1 target (porosity), 1 setting (line load)", [POR], [LOAD]),
             ("2 targets (porosity, AM loading), 2 settings", [POR, AM], [LOAD, GAP]),
             ("1 target unreachable (porosity 0.10): refused", ["cathode.calendering."
                                                                "porosity=0.10±0.01"], [LOAD])]
    for name, targets, adjust in cases:
        rec = recommend(recipe, targets, adjust=adjust, calibration=cal)
        med, best = timed(lambda t=targets, a=adjust: recommend(recipe, t, adjust=a,
                                                                calibration=cal), args.repeat)
        rows.append((name, med, best, rec.reachable))
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"load_average": load, "cases": [
            {"case": c, "median_s": m, "min_s": b, "reachable": r, "target_s": 1.0}
            for c, m, b, r in rows]}, indent=1))
        return
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {' / '.join(f'{x:.2f}' for x in load)}")
    print(f"{'case':58s} {'median':>9s} {'min':>9s} {'reachable':>10s} {'ratio':>6s}")
    for c, m, b, r in rows:
        ratio = f"{m / 1.0:.2f}" if b is not None else ""
        print(f"{c:58s} {m:8.3f}s {'' if b is None else f'{b:8.3f}s':>9s} {r!s:>10s} "
              f"{ratio:>6s}")
    print("target: one recommendation <= 1 s for 1-2 targets (ratio = median / 1 s)")


if __name__ == "__main__":
    main()
