"""Speed and accuracy of the cell simulation (PyBaMM with geometric inputs).

Usage: python benchmarks/bench_cell.py [--recipe examples/nmc622_graphite_pouch.yaml] [--json]

Cases
-----
1. cold: a fresh Python process runs recipe → chain → assembly, filling, formation →
   DFN discharge at 0.5, 1, 2 C (imports and model build included); target ≤ 5 s.
2. warm, second recipe with a different cathode thickness (comma gap −15 %): target ≤ 1 s.
   Reference: the same discharges with a naive PyBaMM use (a new Simulation with the new
   values, so a rebuild), measured in the same run.
3. accuracy: (a) the input model against a rebuild at the new thickness; (b) twinline's
   DFN with the electrodes set equal to Chen2020 against PyBaMM called directly (capacity
   and the voltage curve on a common capacity grid), 1 C.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
ROOT = Path(__file__).resolve().parents[1]

COLD = r"""
import os, time, warnings
os.environ["PYBAMM_OPTOUT_TELEMETRY"] = "true"
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from twinline.spec.recipe import load_recipe
from twinline.chain import run_chain
from twinline.chain import simulate_cell
rec = load_recipe({recipe!r})
run = run_chain(rec)
perf = simulate_cell(rec, run.products, c_rates=(0.5, 1, 2))
print(time.perf_counter() - t0)
"""


def cold(recipe: str) -> float:
    out = subprocess.run([sys.executable, "-c", COLD.format(recipe=recipe)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=str(ROOT / "examples" / "nmc622_graphite_pouch.yaml"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import warnings

    warnings.simplefilter("ignore")
    import numpy as np
    import pybamm

    from twinline.cell import electrochemistry as ec
    from twinline.chain import run_chain, simulate_cell
    from twinline.spec.recipe import load_recipe

    colds = [cold(args.recipe) for _ in range(args.repeats)]

    rec = load_recipe(args.recipe)
    run = run_chain(rec)
    simulate_cell(rec, run.products)  # warm-up: model built and cached
    gap = rec.cathode.coating.gap * 0.85
    rec2 = rec.model_copy(update={"cathode": rec.cathode.model_copy(update={
        "coating": rec.cathode.coating.model_copy(update={"gap": gap})})})
    warm = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        run2 = run_chain(rec2)
        perf2 = simulate_cell(rec2, run2.products)
        warm.append(time.perf_counter() - t)

    # naive PyBaMM: a new Simulation with the values (rebuild per recipe), same 3 C-rates
    inp = dict(perf2.parameters)
    built = ec.built_simulation("DFN", perf2.parameter_set)
    t = time.perf_counter()
    pv = ec.base_parameter_values(perf2.parameter_set).copy()
    pv.update({k: v for k, v in inp.items() if k != "Current function [A]"},
              check_already_exists=False)
    pv.update({"Current function [A]": "[input]"})
    opts = {"transport efficiency": "tortuosity factor"}
    sim = pybamm.Simulation(pybamm.lithium_ion.DFN(opts), parameter_values=pv,
                            solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8))
    naive_caps = []
    for c in perf2.c_rates:
        sol = sim.solve([0, 3600 / c * 1.3],
                        inputs={"Current function [A]": c * perf2.nominal_capacity})
        naive_caps.append(float(sol["Discharge capacity [A.h]"].entries[-1]))
    naive = time.perf_counter() - t
    rebuild_err = max(abs(a / b - 1) for a, b in zip(perf2.capacity, naive_caps, strict=True))

    # twinline (inputs) vs PyBaMM direct on Chen2020, 1 C
    chen = ec.default_inputs("Chen2020")
    b = ec.built_simulation("DFN", "Chen2020")
    d = ec.discharge(b, chen, 1.0, 5.0)
    pv = pybamm.ParameterValues("Chen2020")
    pv["Current function [A]"] = 5.0
    sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=pv).solve([0, 4700])
    qd, vd = sol["Discharge capacity [A.h]"].entries, sol["Voltage [V]"].entries
    grid = np.linspace(0.02, 0.98, 100) * min(d.capacity, qd[-1])
    v_err = float(np.max(np.abs(np.interp(grid, d.capacity_curve, d.voltage)
                                / np.interp(grid, qd, vd) - 1)))
    q_err = abs(d.capacity / qd[-1] - 1)
    del built

    load = os.getloadavg()
    rows = [
        ("cold: recipe → formed cell → DFN at 0.5/1/2 C (new process)", min(colds),
         float(np.median(colds)), 5.0),
        ("warm: second recipe, cathode gap −15 % (chain + cell)", min(warm),
         float(np.median(warm)), 1.0),
        ("reference: naive PyBaMM rebuild + 3 discharges", naive, naive, float("nan")),
    ]
    result = {
        "load_average": load, "rows": [dict(case=r[0], min_s=r[1], median_s=r[2],
                                            target_s=r[3]) for r in rows],
        "speedup_vs_rebuild": naive / float(np.median(warm)),
        "input_model_vs_rebuild_capacity_rel": rebuild_err,
        "chen2020_capacity_rel": q_err, "chen2020_voltage_max_rel": v_err,
        "second_recipe_capacity_Ah": list(perf2.capacity),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (2 CPUs, shared)")
    print(f"{'case':62s} {'min [s]':>8s} {'median [s]':>10s} {'target [s]':>10s}")
    for name, mn, md, tg in rows:
        print(f"{name:62s} {mn:8.2f} {md:10.2f} {tg:10.1f}")
    print(f"warm second recipe is {result['speedup_vs_rebuild']:.1f}x faster than a rebuild")
    print(f"input model vs rebuild, capacity: {rebuild_err * 100:.3f} % (target ≤ 0.1 %)")
    print(f"Chen2020 vs PyBaMM direct at 1 C: capacity {q_err * 100:.3f} %, voltage max "
          f"{v_err * 100:.3f} % (target ≤ 0.5 %)")


if __name__ == "__main__":
    main()
