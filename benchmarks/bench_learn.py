"""Speed of the learn layer: surrogate prediction, inverse design, symbolic regression and
the structure-bound campaign serially and on 1 vs 2 local Dask workers.

Usage::

    python benchmarks/bench_learn.py [--structures 16] [--voxel 1e-6] [--skip-dask]

Prints a table, the ratios against the issue's targets and the machine load (``uptime``);
figures measured on a shared machine are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average n/a"


def chain_dataset(points: int, seed: int = 0):
    """A 4-parameter Sobol campaign through the real chain (SI outputs)."""
    from twinline.learn.campaign import Campaign, Parameter
    from twinline.learn.recipe_points import ChainEvaluator, recipe_data

    params = [Parameter("cathode.coating.gap", 200e-6, 320e-6, "m"),
              Parameter("cathode.mixing.solid_content", 0.60, 0.70),
              Parameter("cathode.calendering.pressure", 20e6, 170e6, "Pa"),
              Parameter("cathode.formulation.active_material.mass_fraction", 0.93, 0.96)]
    outs = ["cathode.calendering.porosity", "cathode.calendering.thickness",
            "cathode.coating.areal_capacity", "cathode.calendering.effective_ionic_conductivity"]
    ev = ChainEvaluator(recipe_data(ROOT / "examples" / "nmc111_cathode.yaml"), outs)
    t0 = time.perf_counter()
    res = Campaign(params, ev, design="sobol", points=points, seed=seed).run()
    return res.table, [p.name for p in params], outs, time.perf_counter() - t0


def bench_surrogates(table, inputs, outputs) -> list[tuple[str, float, str]]:
    from twinline.learn.surrogate import fit_surrogate

    rows = []
    rng = np.random.default_rng(0)
    lo = table[inputs].min().to_numpy()
    hi = table[inputs].max().to_numpy()
    X = lo + rng.random((100_000, len(inputs))) * (hi - lo)
    surs = {}
    for kind in ("gp", "mlp", "gbr"):
        t0 = time.perf_counter()
        sur = fit_surrogate(table, inputs, outputs, kind=kind, cv=0)
        fit = time.perf_counter() - t0
        surs[kind] = sur
        sur.predict(X[:1000])
        t0 = time.perf_counter()
        sur.predict(X)
        dt = time.perf_counter() - t0
        r2 = min(m.get("r2", np.nan) for m in sur.metrics.values())
        rows.append((f"surrogate {kind}: predict 100 000 points x {len(outputs)} outputs",
                     1e5 / dt, f"points/s (target >= 100 000: {1e5 / dt / 1e5:.1f}x); "
                     f"fit {fit:.1f} s; worst held-out R2 {r2:.3f}"))
    return rows, surs


def bench_inverse(sur, inputs) -> tuple[str, float, str]:
    from twinline.learn.inverse import DesignProblem, Objective, optimise, surrogate_predictor

    bounds = {k: sur.bounds[k] for k in inputs}
    problem = DesignProblem(bounds, [
        Objective("cathode.calendering.porosity", "target", 0.30, 0.01),
        Objective("cathode.calendering.effective_ionic_conductivity", "max"),
        Objective("cathode.coating.areal_capacity", "max")],
        trials=3000, seed=0)
    t0 = time.perf_counter()
    res = optimise(problem, surrogate_predictor(sur))
    dt = time.perf_counter() - t0
    return ("inverse design, 4 parameters x 3 objectives, 3000 NSGA-II trials on the GP",
            dt, f"s (target <= 60 s: {60 / dt:.0f}x margin); {len(res.front)} on the front")


def bench_symbolic() -> tuple[str, float, str]:
    from twinline.learn.symbolic import fit_equation

    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.5, (440, 3))
    t0 = time.perf_counter()
    eq = fit_equation(x, 1.119 * x[:, 0] / (1.5 * x[:, 1] ** -0.5), inputs=["e", "a", "b"],
                      max_terms=2)
    return ("SISSO, 3 inputs, 440 rows, up to 2 terms", time.perf_counter() - t0,
            f"s; found {eq}")


def bench_structures(n: int, voxel: float, workers_list: tuple[int, ...]) -> list[tuple]:
    from twinline.learn.campaign import Campaign
    from twinline.learn.executors import make_executor
    from twinline.learn.study import INPUTS, CalenderingStudy

    rows = []
    ev = CalenderingStudy(voxel_size=voxel)
    ev({"am_mass_fraction": 0.95, "porosity_before": 0.45, "pressure": 60e6}, 0)  # JIT warm-up
    times = {}
    for w in workers_list:
        camp = Campaign(list(INPUTS), ev, design="lhs", points=n, seed=1)
        ex = make_executor(workers=w)
        try:
            if w:  # warm the workers (imports, numba compilation) outside the timing
                list(ex.map_unordered(_warm, [voxel] * w * 2))
            t0 = time.perf_counter()
            res = camp.run(None, executor=ex)
            dt = time.perf_counter() - t0
        finally:
            ex.close()
        times[w] = min(dt, times.get(w, np.inf))
        per = dt / n
        nvox = round(50e-6 / voxel)
        rows.append((f"study structures {n} x ({nvox}x{nvox}x~{round(85e-6 / voxel)} voxels of "
                     f"{voxel * 1e6:g} um), "
                     f"{res.executor}", per, f"s per structure (wall {dt:.1f} s)"))
    if 1 in times and 2 in times:
        rows.append(("speed-up 2 vs 1 Dask workers (structure-bound)", times[1] / times[2],
                     "x (target >= 1.8x on 2 cores)"))
    best = min(times.values()) / n
    rows.append(("extrapolated full study: 8800 structures", 8800 * best / 3600,
                 "h with the fastest executor measured (target <= 3 h on 2 cores)"))
    return rows


def _warm(voxel: float) -> float:
    from twinline.learn.study import CalenderingStudy

    t0 = time.perf_counter()
    CalenderingStudy(voxel_size=voxel)({"am_mass_fraction": 0.95, "porosity_before": 0.45,
                                        "pressure": 60e6}, 0)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=128, help="chain campaign points")
    ap.add_argument("--structures", type=int, default=16)
    ap.add_argument("--voxel", type=float, default=1e-6)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--only-structures", action="store_true",
                    help="only the structure-bound campaign (executors in --order)")
    ap.add_argument("--order", default="0,1,2",
                    help="executors to time, in order (0 serial, N Dask workers)")
    args = ap.parse_args()
    os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
    print(f"# bench_learn  ({load()} at start; {os.cpu_count()} CPUs)")
    order = tuple(int(w) for w in args.order.split(","))
    if args.only_structures:
        rows = bench_structures(args.structures, args.voxel, order)
        width = max(len(r[0]) for r in rows)
        for name, value, unit in rows:
            print(f"{name:<{width}}  {value:12.4g}  {unit}")
        print(f"# {load()} at end")
        return
    table, inputs, outputs, t_camp = chain_dataset(args.points)
    rows = [(f"chain campaign, {args.points} Sobol points, serial", args.points / t_camp,
             "points/s")]
    srows, surs = bench_surrogates(table, inputs, outputs)
    rows += srows
    rows.append(bench_inverse(surs["gp"], inputs))
    rows.append(bench_symbolic())
    if not args.skip_dask:
        rows += bench_structures(args.structures, args.voxel, order)
    width = max(len(r[0]) for r in rows)
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:12.4g}  {unit}")
    print(f"# {load()} at end")


if __name__ == "__main__":
    main()
