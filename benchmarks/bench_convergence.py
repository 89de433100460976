"""Voxel-size convergence of the 3D generator + analysis (issue 17, part 3).

Usage::

    python benchmarks/bench_convergence.py [--json] [--voxels 1.0,0.67,0.5] [--seeds 5]
        [--box 50,50,60] [--recipes paper|corners] [--set NAME=VALUE ...] [--extrapolate]
    python benchmarks/bench_convergence.py --order [--json] [--box 20,20,24] [--seeds 2]

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

``--extrapolate`` analyses each image with ``extrapolate=True`` (the image and its 2 × 2 × 2
split, Richardson on each seed's conductances; :mod:`twinline.structure.extrapolation`) and
adds the seed means of the extrapolated (h → 0) values and their spreads beside the raw ones.

``--order`` measures the order p of the discretisation error instead: each 1 µm image is
split k × k × k (k = 1…4, the same geometry) and solved; D(h) = D₀ + C·h^p is fitted to the
four levels per phase and seed, and the p that makes the two-level (k = 1, 2) formula give the
four-level D₀ is printed beside it.
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
#: The analysis's name of each key.
QUANTITY = ("tortuosity_factor_pore", "tortuosity_factor_solid", "sigma_eff_S_per_m")


def run_one(
    w_am: float, eps: float, h: float, seed: int, box, constants, extrapolate: bool = False
) -> dict[str, float]:
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
    a = analyse(m, pore_sizes=False, electrolyte_conductivity=1.119, extrapolate=extrapolate)
    out = {
        "tau_pore": a.tortuosity_factor_pore,
        "tau_solid": a.tortuosity_factor_solid,
        "sigma_eff": a.sigma_eff_S_per_m,
        "gen_s": m.metadata["wall_s"],
        "analyse_s": a.wall_s,
    }
    if extrapolate:
        x = a.extrapolation
        for k, q in zip(KEYS, QUANTITY, strict=True):
            out[f"{k}_extrapolated"] = x[q]["extrapolated"]
            out[f"{k}_error"] = x[q]["discretisation_error"]
    return out


def convergence(
    recipes, voxels, seeds: int, box, constants, extrapolate: bool = False
) -> list[dict]:
    """Seed means per (recipe, voxel size) and the spread over voxel sizes [-] (with
    ``extrapolate`` also of the extrapolated values, keys ``<key>_extrapolated``)."""
    out = []
    keys = [*KEYS, *(f"{k}_extrapolated" for k in KEYS)] if extrapolate else list(KEYS)
    for w_am, eps in recipes:
        row: dict = {"am_mass_fraction": w_am, "porosity": eps, "by_voxel_um": {}}
        for h in voxels:
            vals = [run_one(w_am, eps, h, s, box, constants, extrapolate) for s in range(seeds)]
            fin = [v for v in vals if np.isfinite(v["tau_pore"]) and v["tau_pore"] > 0]
            extra = (*(f"{k}_error" for k in KEYS),) if extrapolate else ()
            row["by_voxel_um"][f"{h:g}"] = {
                k: float(np.mean([v[k] for v in fin])) if fin else float("nan")
                for k in (*keys, *extra, "gen_s", "analyse_s")
            }
            row["by_voxel_um"][f"{h:g}"]["non_percolating"] = len(vals) - len(fin)
        for k in keys:
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
        "--extrapolate",
        action="store_true",
        help="also the Richardson-extrapolated (h -> 0) values (about 9x the solve time)",
    )
    ap.add_argument(
        "--order",
        action="store_true",
        help="measure the order p of the discretisation error (k x k x k splits, k = 1..4)",
    )
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
    if args.order:
        return order_main(args, box, constants, t0)
    rows = convergence(RECIPES[args.recipes], voxels, args.seeds, box, constants, args.extrapolate)
    keys = [*KEYS, *(f"{k}_extrapolated" for k in KEYS)] if args.extrapolate else list(KEYS)
    res = {
        "rows": rows,
        "voxels_um": voxels,
        "seeds": args.seeds,
        "box_um": box,
        "constants": constants,
        "wall_s": time.perf_counter() - t0,
        "load_average": os.getloadavg(),
        "max_spread": {k: max(r[f"spread_{k}"] for r in rows) for k in keys},
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(
        f"box {box} µm, {args.seeds} seeds, {res['wall_s']:.0f} s, load "
        f"{res['load_average'][0]:.1f}"
    )
    for suffix in ("", "_extrapolated") if args.extrapolate else ("",):
        ks = [k + suffix for k in KEYS]
        print("raw" if not suffix else "extrapolated to h -> 0")
        head = "  ".join(f"{k.replace(suffix, ''):>9s}@{h:g}" for k in ks for h in voxels)
        print(f"{'AM':>5s} {'eps':>5s}  {head}  spread: pore  solid  sigma")
        for r in rows:
            vals = "  ".join(f"{r['by_voxel_um'][f'{h:g}'][k]:11.4g}" for k in ks for h in voxels)
            print(
                f"{r['am_mass_fraction']:5.3f} {r['porosity']:5.2f}  {vals}  "
                + "  ".join(f"{100 * r[f'spread_{k}']:5.1f}%" for k in ks)
            )
    print(
        "max spread: "
        + ", ".join(f"{k} {100 * v:.1f} %" for k, v in res["max_spread"].items())
        + "  (bound 10 %)"
    )
    return 0


def _order_p(levels: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """(p, D₀) of D(h) = D₀ + C·h^p fitted by least squares to the levels, and the p for
    which the two-level formula D(h/2) + (D(h/2) − D(h))/(2^p − 1) equals that D₀."""
    from scipy.optimize import least_squares

    def resid(x):
        return (x[0] + x[1] * levels ** x[2] - values) / values[-1]

    fit = least_squares(resid, [values[-1], values[0] - values[-1], 1.0]).x
    d0 = fit[0]
    p_pair = float(np.log2(1.0 + (values[1] - values[0]) / (d0 - values[1])))
    return float(fit[2]), float(d0), p_pair


def order(recipes, seeds: int, box, constants, splits=(1, 2, 3, 4)) -> list[dict]:
    """Order p of the discretisation error per recipe, seed and phase (see the docstring)."""
    from twinline.structure.generate import generate_electrode
    from twinline.structure.transport import solve_conductivity

    out = []
    levels = 1.0 / np.asarray(splits, float)
    for w_am, eps in recipes:
        for seed in range(seeds):
            m = generate_electrode(
                porosity=eps,
                am_mass_fraction=w_am,
                thickness=box[2] * 1e-6,
                voxel_size=1e-6,
                box_xy=(box[0] * 1e-6, box[1] * 1e-6),
                seed=seed,
                **constants,
            )
            for phase, mask in (("pore", m.labels == 0), ("solid", m.labels != 0)):
                d = []
                for k in splits:
                    img = mask.view(np.uint8)
                    for ax in range(3):
                        img = np.repeat(img, k, axis=ax)
                    d.append(solve_conductivity(img, axis=0, tol=1e-6).d_eff_rel)
                row = {"am_mass_fraction": w_am, "porosity": eps, "seed": seed, "phase": phase}
                row["d_eff_rel"] = d
                if d[0] > 0:
                    p, d0, p_pair = _order_p(levels, np.asarray(d))
                    row.update(p=p, d0=d0, p_two_level=p_pair)
                out.append(row)
    return out


def order_main(args, box, constants, t0) -> int:
    """``--order``: print the measured p per phase (mean, standard deviation, range)."""
    recipes = RECIPES[args.recipes]
    rows = order(recipes, args.seeds, box, constants)
    summary = {}
    for phase in ("pore", "solid"):
        for key in ("p", "p_two_level"):
            v = np.array([r[key] for r in rows if r["phase"] == phase and key in r])
            summary[f"{phase}_{key}"] = {
                "mean": float(v.mean()),
                "sd": float(v.std(ddof=1)),
                "min": float(v.min()),
                "max": float(v.max()),
                "n": int(v.size),
            }
    res = {
        "rows": rows,
        "summary": summary,
        "box_um": box,
        "seeds": args.seeds,
        "wall_s": time.perf_counter() - t0,
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for k, s in summary.items():
        print(
            f"{k:18s} {s['mean']:.3f} ± {s['sd']:.3f}  "
            f"(range {s['min']:.3f}-{s['max']:.3f}, n {s['n']})"
        )
    print(f"{res['wall_s']:.0f} s, load {res['load_average'][0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
