"""Speed and memory of the 3D structure tools, with TauFactor 2 measured in the same run.

Usage::

    python benchmarks/bench_structure.py [--sizes 64,128,256] [--repeat 3] [--no-taufactor]
                                         [--json OUT.json]

Measures, on this machine:

1. generation of a 50 × 50 × 100 µm³ electrode at 0.5 µm voxels (100 × 100 × 200);
2. the full analysis of that image (both tortuosity factors, coverage, surfaces, percolation,
   local-thickness pore sizes);
3. twinline's solver against TauFactor 2 (CPU, its default convergence criterion) on the pore
   and solid phases of the same image: time and the difference of the tortuosity factors;
4. scaling of the full analysis with voxel count on cubic images (each size in a fresh
   subprocess so that its peak resident memory is its own).

Benchmarks are not tests: numbers depend on the machine and its load (``os.getloadavg`` is
printed with them). Numba kernels are compiled (or loaded from cache) before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, repeat: int) -> tuple[float, object]:
    out = None
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def _reference_image(seed: int = 0):
    from twinline.structure.generate import generate_electrode

    return generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=100e-6,
                              voxel_size=0.5e-6, box_xy=50e-6, seed=seed)


def _one_size(n: int) -> dict:
    """Run in a subprocess: generate an n³ image and analyse it; report time and peak RSS."""
    import resource

    from twinline.structure.analyse import analyse
    from twinline.structure.generate import generate_electrode

    # warm the numba caches on a tiny image so that compilation is not timed
    analyse(generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=8e-6,
                               voxel_size=1e-6, box_xy=8e-6, seed=0))
    h = 0.5e-6
    t = time.perf_counter()
    m = generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=n * h,
                           voxel_size=h, box_xy=n * h, seed=1)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    a = analyse(m)
    t_an = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # MiB on Linux
    return {"n": n, "voxels": n ** 3, "generate_s": t_gen, "analyse_s": t_an,
            "pore_solve_s": a.solver["pore"]["wall_s"],
            "solid_solve_s": a.solver["solid"]["wall_s"],
            "cg_iterations_pore": a.solver["pore"]["iterations"],
            "tau_pore": a.tortuosity_factor_pore, "peak_rss_MiB": rss}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-taufactor", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--one-size", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one_size:
        print(json.dumps(_one_size(args.one_size)))
        return 0

    from twinline.structure.analyse import analyse
    from twinline.structure.transport import tortuosity_factor

    res: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                            f"{os.cpu_count()} logical CPUs", "loadavg_before": os.getloadavg()}
    m = _reference_image(0)              # also compiles / loads the kernels
    analyse(m)
    t_gen, m = _median_time(lambda: _reference_image(1), args.repeat)
    t_an, a = _median_time(lambda: analyse(m), args.repeat)
    res["generate_100x100x200_s"] = t_gen
    res["analyse_100x100x200_s"] = t_an
    res["analysis"] = {k: a.to_dict()[k] for k in ("porosity", "tortuosity_factor_pore",
                                                     "tortuosity_factor_solid")}
    print(f"load average {res['loadavg_before']}")
    print(f"generation  100×100×200 (50×50×100 µm³ at 0.5 µm): {t_gen:.3f} s (target <= 0.5 s)")
    print(f"full analysis 100×100×200:                         {t_an:.3f} s (target <= 1 s)")

    rows = []
    for name, mask in (("pore", m.labels == 0), ("solid", m.labels != 0)):
        # the analysis tolerance (1e-4: tau2 within ~0.1 %) and a tight one (1e-6)
        t_ours, r = _median_time(lambda mask=mask: tortuosity_factor(mask, tol=1e-4),
                                 args.repeat)
        t_tight, r_tight = _median_time(lambda mask=mask: tortuosity_factor(mask, tol=1e-6),
                                        args.repeat)
        row = {"phase": name, "twinline_s": t_ours, "twinline_tau": r.tau,
               "iterations": r.iterations, "twinline_tol1e-6_s": t_tight,
               "twinline_tol1e-6_tau": r_tight.tau}
        if not args.no_taufactor:
            try:
                import taufactor

                img = mask.astype(np.uint8)

                def run_tf(img=img):
                    s = taufactor.Solver(img, device="cpu")
                    return float(np.asarray(s.solve(verbose=False)).ravel()[0])

                t_tf, tau_tf = _median_time(run_tf, 1 if args.repeat < 3 else 2)
                row.update({"taufactor_s": t_tf, "taufactor_tau": tau_tf,
                            "speedup": t_tf / t_ours,
                            "difference_pct": 100 * (r.tau - tau_tf) / tau_tf})
            except ImportError:
                row["taufactor_s"] = None
        rows.append(row)
    res["solver_vs_taufactor"] = rows
    print("\nphase   twinline [s]  τ_f twinline  TauFactor [s]  τ_f TauFactor  speed-up  diff [%]"
          "  (twinline tol 1e-4; at tol 1e-6)")
    for r in rows:
        tight = f"  ({r['twinline_tol1e-6_s']:.3f} s, τ_f {r['twinline_tol1e-6_tau']:.5f})"
        if r.get("taufactor_s"):
            print(f"{r['phase']:6s} {r['twinline_s']:12.3f} {r['twinline_tau']:12.4f} "
                  f"{r['taufactor_s']:14.3f} {r['taufactor_tau']:13.4f} {r['speedup']:8.1f}× "
                  f"{r['difference_pct']:+8.3f}{tight}")
        else:
            print(f"{r['phase']:6s} {r['twinline_s']:12.3f} {r['twinline_tau']:12.4f}{tight}")

    scal = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        out = subprocess.run([sys.executable, __file__, "--one-size", str(n)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            scal.append({"n": n, "error": out.stderr.strip().splitlines()[-1:]})
            continue
        scal.append(json.loads(out.stdout.strip().splitlines()[-1]))
    res["scaling"] = scal
    print("\nsize     voxels       generate [s]  analyse [s]  pore solve [s]  CG its"
          "  peak RSS [MiB]")
    for s in scal:
        if "error" in s:
            print(f"{s['n']}³  failed: {s['error']}")
            continue
        print(f"{s['n']:4d}³ {s['voxels']:12,d} {s['generate_s']:12.3f} {s['analyse_s']:12.3f} "
              f"{s['pore_solve_s']:14.3f} {s['cg_iterations_pore']:7d} {s['peak_rss_MiB']:14.0f}")
    res["loadavg_after"] = os.getloadavg()
    print(f"load average after: {res['loadavg_after']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
