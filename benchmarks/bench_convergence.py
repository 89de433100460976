"""Voxel-size convergence of the 3D generator + analysis (issue 17, part 3).

Usage::

    python benchmarks/bench_convergence.py [--json] [--voxels 1.0,0.67,0.5] [--seeds 5]
        [--box 50,50,60] [--recipes paper|corners] [--set NAME=VALUE ...]

For each recipe (AM mass fraction, total porosity) of the in-silico paper's range (Duquesnoy
et al. 2020: porosity 0.29-0.42, 93-96 wt % AM; the recipes need no data file) the same
physical box is generated at each voxel size with ``--seeds`` seeds, and analysed (CBD dense
for ions, as in the paper). The table gives the seed means of the pore and solid tortuosity
factors (ε·D₀/D_eff, TauFactor's ``tau``) and of σ_eff = σ_bulk·ε/τ_f (σ_bulk = 1.119 S/m,
ε the pore voxel fraction), and for each the spread: (max − min)/min over the voxel sizes of
those means. The bound of issue 17 is 10 %.

The generator builds each structure on its 1 µm feature lattice (``FEATURE_SIZE``) and a
finer voxel samples it, so one seed is one structure at every voxel size; what moves is the
transport solve. A seed whose phase does not percolate (τ_f = ∞ at every voxel size, since
the connectivity is the lattice's) is left out of that mean and counted in ``non_percolating``.
``--set feature_size=0`` generates directly on each voxel grid instead (all constants in
metres), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

#: (AM mass fraction, total porosity): corners and centre of the paper's range.
RECIPES = {
    "paper": [(0.93, 0.29), (0.93, 0.42), (0.96, 0.29), (0.96, 0.42), (0.945, 0.35)],
    "corners": [(0.93, 0.29), (0.96, 0.42)],
}
KEYS = ("tau_pore", "tau_solid", "sigma_eff")


def run_one(w_am: float, eps: float, h: float, seed: int, box, constants) -> dict[str, float]:
    from twinline.structure.analyse import analyse
    from twinline.structure.generate import generate_electrode

    m = generate_electrode(
        porosity=eps,
        am_mass_fraction=w_am,
        thickness=box[2] * 1e-6,
        voxel_size=h * 1e-6,
        box_xy=(box[0] * 1e-6, box[1] * 1e-6),
        seed=seed,
        **constants,
    )
    a = analyse(m, pore_sizes=False, electrolyte_conductivity=1.119)
    return {
        "tau_pore": a.tortuosity_factor_pore,
        "tau_solid": a.tortuosity_factor_solid,
        "sigma_eff": a.sigma_eff_S_per_m,
        "gen_s": m.metadata["wall_s"],
    }


def convergence(recipes, voxels, seeds: int, box, constants) -> list[dict]:
    """Seed means per (recipe, voxel size) and the spread over voxel sizes [-]."""
    out = []
    for w_am, eps in recipes:
        row: dict = {"am_mass_fraction": w_am, "porosity": eps, "by_voxel_um": {}}
        for h in voxels:
            vals = [run_one(w_am, eps, h, s, box, constants) for s in range(seeds)]
            fin = [v for v in vals if np.isfinite(v["tau_pore"]) and v["tau_pore"] > 0]
            row["by_voxel_um"][f"{h:g}"] = {
                k: float(np.mean([v[k] for v in fin])) if fin else float("nan")
                for k in (*KEYS, "gen_s")
            }
            row["by_voxel_um"][f"{h:g}"]["non_percolating"] = len(vals) - len(fin)
        for k in KEYS:
            m = [row["by_voxel_um"][f"{h:g}"][k] for h in voxels]
            row[f"spread_{k}"] = float((max(m) - min(m)) / min(m))
        out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--voxels", default="1.0,0.67,0.5", help="voxel sizes [µm]")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--box",
        default="50,50,80",
        help="x,y,thickness [µm] (the paper's "
        "50 x 50 µm, 80 µm: its calendered thickness at porosity 0.29)",
    )
    ap.add_argument("--recipes", choices=tuple(RECIPES), default="paper")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a generator constant (e.g. cbd_noise_length=1.5e-6)",
    )
    args = ap.parse_args(argv)
    voxels = [float(v) for v in args.voxels.split(",")]
    box = [float(v) for v in args.box.split(",")]
    constants = {k: float(v) for k, v in (s.split("=", 1) for s in args.set)}
    t0 = time.perf_counter()
    rows = convergence(RECIPES[args.recipes], voxels, args.seeds, box, constants)
    res = {
        "rows": rows,
        "voxels_um": voxels,
        "seeds": args.seeds,
        "box_um": box,
        "constants": constants,
        "wall_s": time.perf_counter() - t0,
        "load_average": os.getloadavg(),
        "max_spread": {k: max(r[f"spread_{k}"] for r in rows) for k in KEYS},
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(
        f"box {box} µm, {args.seeds} seeds, {res['wall_s']:.0f} s, load "
        f"{res['load_average'][0]:.1f}"
    )
    head = "  ".join(f"{k:>9s}@{h:g}" for k in KEYS for h in voxels)
    print(f"{'AM':>5s} {'eps':>5s}  {head}  spread: pore  solid  sigma")
    for r in rows:
        vals = "  ".join(f"{r['by_voxel_um'][f'{h:g}'][k]:11.4g}" for k in KEYS for h in voxels)
        print(
            f"{r['am_mass_fraction']:5.3f} {r['porosity']:5.2f}  {vals}  "
            + "  ".join(f"{100 * r[f'spread_{k}']:5.1f}%" for k in KEYS)
        )
    print(
        "max spread: "
        + ", ".join(f"{k} {100 * v:.1f} %" for k, v in res["max_spread"].items())
        + "  (bound 10 %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
