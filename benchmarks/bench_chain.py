"""Speed of the process chain: one deterministic run (both electrodes) and Monte Carlo.

Targets (issue 3): one deterministic chain evaluation (cathode + anode, no 3D structure)
≤ 20 ms; 1000 Monte Carlo samples ≤ 2 s on 2 cores. The reference measured in the same run is
the *looped* alternative: the deterministic chain called once per sample (what Monte Carlo
would cost without passing arrays through the step functions), extrapolated from a few
calls; the ratio is the speed-up of vectorisation.

Usage::

    python benchmarks/bench_chain.py [--samples 1000] [--repeat 30] [--json]

The recipe is made here (NMC111/C65/PVDF cathode in NMP, graphite/C65/CMC-SBR anode in
water, comma coaters, two-zone dryers); nothing is read from outside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

RECIPE = {
    "name": "benchmark full cell",
    "cathode": {
        "formulation": {
            "active_material": {"material": "NMC111", "mass_fraction": 0.96},
            "conductive_additive": {"material": "C65", "mass_fraction": 0.02},
            "binder": {"material": "PVDF", "mass_fraction": 0.02}, "solvent": "NMP"},
        "current_collector": "Al",
        "coating": {"method": "comma", "gap": "150 um", "speed": "5 mm/s"},
        "drying": {"zones": [{"temperature": "80 degC", "length": "1 m"},
                             {"temperature": "95 degC", "length": "1 m"}]},
        "calendering": {"pressure": "60 MPa", "roll_temperature": "60 degC"},
        "slitting": {"speed": "100 m/min", "width": "200 mm"},
    },
    "anode": {
        "formulation": {
            "active_material": {"material": "graphite", "mass_fraction": 0.95},
            "conductive_additive": {"material": "C65", "mass_fraction": 0.01},
            "binder": {"material": "CMC-SBR", "mass_fraction": 0.04}, "solvent": "water"},
        "current_collector": "Cu",
        "mixing": {"solid_content": 0.5},
        "coating": {"method": "comma", "gap": "200 um", "speed": "5 mm/s"},
        "drying": {"zones": [{"temperature": "60 degC", "length": "1 m"},
                             {"temperature": "80 degC", "length": "1 m"}]},
        "calendering": {"line_load": "300 N/mm"},
        "slitting": {"speed": "100 m/min", "width": "200 mm"},
    },
    "tolerances": {"cathode.coating.gap": "3 um", "cathode.calendering.pressure": "2 MPa",
                   "cathode.mixing.solid_content": 0.005, "anode.coating.gap": "3 um",
                   "anode.drying.temperature": "2 degC"},
}


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
    warnings.simplefilter("ignore")

    from twinline.chain import run_chain
    from twinline.spec.recipe import parse_recipe

    recipe = parse_recipe(RECIPE, "benchmark recipe")
    run_chain(recipe)                                  # warm-up: imports, caches
    run_chain(recipe, samples=10, seed=0)
    det = _time(lambda: run_chain(recipe), args.repeat)
    mc = _time(lambda: run_chain(recipe, samples=args.samples, seed=1), max(3, args.repeat // 10))
    n_loop = 20
    loop = _time(lambda: run_chain(recipe), n_loop)
    loop_est = statistics.median(loop) * args.samples
    res = {
        "deterministic_ms_median": statistics.median(det) * 1e3,
        "deterministic_ms_min": min(det) * 1e3,
        "monte_carlo_samples": args.samples,
        "monte_carlo_s_median": statistics.median(mc),
        "monte_carlo_s_min": min(mc),
        "looped_reference_s": loop_est,
        "speedup_vs_loop": loop_est / statistics.median(mc),
        "target_deterministic_ms": 20.0,
        "target_monte_carlo_s": 2.0,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return res
    print(f"machine: {res['machine']}; load average (1, 5, 15 min): "
          + ", ".join(f"{x:.2f}" for x in res["load_average"]))
    print(f"{'case':<44}{'median':>12}{'min':>12}{'target':>10}{'ratio':>8}")
    print(f"{'deterministic chain, cathode + anode':<44}"
          f"{res['deterministic_ms_median']:>9.2f} ms{res['deterministic_ms_min']:>9.2f} ms"
          f"{'20 ms':>10}{res['deterministic_ms_median'] / 20.0:>8.2f}")
    print(f"{f'Monte Carlo, {args.samples} samples':<44}"
          f"{res['monte_carlo_s_median']:>10.3f} s{res['monte_carlo_s_min']:>10.3f} s"
          f"{'2 s':>10}{res['monte_carlo_s_median'] / 2.0:>8.2f}")
    print(f"{f'reference: {args.samples} looped deterministic runs':<44}"
          f"{loop_est:>10.3f} s{'':>12}{'':>10}"
          f"{res['speedup_vs_loop']:>7.0f}×")
    print("ratio = measured / target (< 1 meets it); × = speed-up of the vectorised Monte "
          "Carlo over the loop")
    return res


if __name__ == "__main__":
    main()
