"""Time of the twin's calibration update and prediction (twinline.twin.calibration).

    python benchmarks/bench_calibration.py [--repeat 7] [--json]

Case: ``examples/nmc111_cathode.yaml``, the six default cathode constants (with the batch
offsets, the coater's gap offset per batch and the coated strips' offsets); a measurement
batch of one slurry batch coated at N gaps (each gap its own coated strip, ``roll`` group),
8 discs per gap, each disc measured for AM loading and porosity after drying, plus one
viscosity per gap (2 gaps: 34 measurements).
Target: one update ≤ 1 s (issue 15).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from twinline.spec.recipe import load_recipe
from twinline.twin.calibration import Calibration, Observation, chain_outputs, predict, update

ROOT = Path(__file__).resolve().parents[1]


def batch(recipe, cal, gaps):
    obs = []
    for gap in gaps:
        el = recipe.cathode
        r = recipe.model_copy(update={"cathode": el.model_copy(
            update={"coating": el.coating.model_copy(update={"gap": gap})})})
        out = chain_outputs(r, cal.values(), cal.constants)
        for disc in range(8):
            for key in ("cathode.coating.am_loading", "cathode.drying.porosity"):
                obs.append(Observation(key, out[key][0] * (1 + 0.002 * disc), 0.01 * out[key][0],
                                       recipe=r, groups={"batch": "96/70.84",
                                                         "roll": f"CR-{gap * 1e6:.0f}"},
                                       object_id=f"{gap}/{disc}"))
        v = out["cathode.mixing.viscosity"][0]
        obs.append(Observation("cathode.mixing.viscosity", v * 1.1, 0.05 * v, recipe=r,
                               groups={"batch": "96/70.84"}))
    return obs


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    recipe = load_recipe(ROOT / "examples" / "nmc111_cathode.yaml")
    cal = Calibration.initial(recipe)
    rows = []
    for gaps in ((200e-6,), (200e-6, 300e-6), (100e-6, 150e-6, 200e-6, 250e-6, 300e-6)):
        obs = batch(recipe, cal, gaps)
        med, best = timed(lambda obs=obs: update(cal, obs), args.repeat)
        rows.append((f"update, {len(gaps)} gap(s), {len(obs)} measurements", med, best, 1.0))
        med, best = timed(lambda obs=obs: update(cal, obs, iterations=3), args.repeat)
        rows.append((f"update IEKF x3, {len(obs)} measurements", med, best, 1.0))
    for samples in (0, 200):
        med, best = timed(lambda s=samples: predict(recipe, cal, group_ids={"batch": "b"},
                                                    samples=s, seed=1), args.repeat)
        rows.append((f"predict every output, {samples} Monte Carlo samples", med, best, None))
    if args.json:
        print(json.dumps([{"case": c, "median_s": m, "min_s": b, "target_s": t}
                          for c, m, b, t in rows], indent=1))
        return
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':58s} {'median':>9s} {'min':>9s} {'target':>8s}")
    for c, m, b, t in rows:
        print(f"{c:58s} {m:8.3f}s {b:8.3f}s {'' if t is None else f'<= {t:g} s':>8s}")


if __name__ == "__main__":
    main()
