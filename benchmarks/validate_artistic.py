"""Validate the default electrode step models against the ARTISTIC prototype-line data.

Usage::

    python benchmarks/validate_artistic.py --data ../shared/validation/artistic_nmc [--json]
        [--cv | --holdout | --fit]

Reads whichever of ``slurry_coating_batches.csv``, ``electrode_discs.csv`` and
``calendering_porosity.csv`` are in ``--data`` (formats of the ARTISTIC repository, LRCS,
CC BY-NC-SA 4.0: the files stay outside this repository), predicts every row with the
package's **default** models and built-in materials (nothing is refitted on ``--data``), and
prints

* ``viscosity_rmse_log10``: RMSE of log10(η [Pa s]) (batches file: every shear rate; else
  one point per disc condition at the coater shear rate 5000/gap[µm] s⁻¹);
* ``loading_median_abs_pct``: median |error| of the AM loading [%] (discs, else batches);
* ``dry_porosity_mae_pct_points``: mean |error| of the porosity after drying [points];
* ``calendered_porosity_mae``: mean |error| of the calendered porosity [-];
* ``n_rows``: rows used per dataset.

The built-in constants were fitted on *all* rows of the shared files (``--fit`` refits
them and prints them; it does not change the predictions), so the all-rows figures are fit
errors. The honest figures for unseen batches are

* ``--cv``: leave-one-batch-out cross-validation — every slurry batch, identified by
  (AM wt %, S-to-L % rounded to 0.001), is predicted by constants refitted on all the other
  batches; every calendering row by constants refitted on the other rows (plus the
  in-silico set);
* ``--holdout``: one fixed split, refitted on the training part and evaluated on the rest.
  Held out: within each AM level with at least three batches, the batch of median S-to-L
  (the lower median for an even count) — interior batches, not the extremes of the design;
  calendering rows with id % 4 == 3.

Line conditions assumed (Duquesnoy et al. 2020): comma coater at an effective 5 mm s⁻¹ (the
data's shear rate 5000/gap), NMC/C65/PVDF with C65:PVDF = 1:1 in NMP, lab calender gap →
pressure by :func:`twinline.process.calendering.pressure_from_gap`.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np


def _batch_key(am: float, stol: float) -> str:
    return f"{am:.1f}/{stol:.3f}"


def held_out_batches(frames) -> set[str]:
    """The fixed hold-out split: per AM level with >= 3 batches, the median-S-to-L batch."""
    batches = sorted({(round(a, 1), round(s, 3)) for df in frames
                      for a, s in zip(df.am, df.stol, strict=True)})
    out = set()
    for am in sorted({a for a, _ in batches}):
        level = [s for a, s in batches if a == am]
        if len(level) >= 3:
            out.add(_batch_key(am, level[(len(level) - 1) // 2]))
    return out


def _composition(am_pct):
    from twinline.process.products import Composition

    w = np.asarray(am_pct, dtype=float) / 100.0
    cb = (1.0 - w) / 2.0
    lib = _lib()
    return Composition("positive", "NMC111", "C65", "PVDF", "NMP", w, cb, cb,
                       lib["NMC111"].get("density"), lib["C65"].get("density"),
                       lib["PVDF"].get("density"))


def _lib():
    from twinline.materials import builtin_library

    return builtin_library()


def _read(path: Path):
    import pandas as pd

    return pd.read_csv(path)


def load(data_dir: Path) -> dict:
    """The datasets present in ``data_dir`` as tidy frames with a ``held_out`` column."""
    out = {}
    p = data_dir / "slurry_coating_batches.csv"
    if p.exists():
        d = _read(p)
        stol = d["StoL"] if "StoL" in d else d["S-to-L(%)"]
        b = {"am": d["Composition"].astype(float), "stol": stol.astype(float),
             "eta": d["Viscosity"].astype(float), "shear_rate": d["Shear rate"].astype(float),
             "am_loading": d["Areal AM mass/mg cm-2"].astype(float),
             "porosity": d["Porosity (complete)"].astype(float)}
        import pandas as pd

        b = pd.DataFrame(b).dropna(subset=["am", "stol", "eta", "shear_rate"])
        b["gap"] = 5000.0 / b["shear_rate"]
        out["slurry_coating_batches"] = b
    p = data_dir / "electrode_discs.csv"
    if p.exists():
        d = _read(p)
        cols = list(d.columns)
        d = d.rename(columns={cols[0]: "am", cols[1]: "stol", cols[2]: "gap", cols[3]: "eta",
                              cols[4]: "am_loading", cols[5]: "porosity"})
        d = d[["am", "stol", "gap", "eta", "am_loading", "porosity"]].dropna().astype(float)
        out["electrode_discs"] = d
    slurry = [out[k] for k in ("slurry_coating_batches", "electrode_discs") if k in out]
    held = held_out_batches(slurry)
    for df in slurry:
        df["held_out"] = [_batch_key(a, s) in held for a, s in zip(df.am, df.stol, strict=True)]
    p = data_dir / "calendering_porosity.csv"
    if p.exists():
        d = _read(p)
        cols = list(d.columns)
        d = d.rename(columns={cols[0]: "id", "X.NMC": "am_fraction", "S.to.L": "stol",
                              "calender.gap.um": "gap", "porosite_before": "porosity_0",
                              "thickness_before": "thickness_0", "porosity": "porosity"})
        d = d[["id", "am_fraction", "stol", "gap", "porosity_0", "thickness_0",
               "porosity"]].dropna()
        d["held_out"] = d["id"].astype(int) % 4 == 3
        out["calendering_porosity"] = d
    p = data_dir / "insilico_structures_train.csv"
    if p.exists():
        d = _read(p)
        out["insilico"] = d.groupby(["Gap", "AM", "porous"]).agg(
            porocal=("porocal", "mean"), pressure=("pressure", "mean")).reset_index()
    return out


# ----------------------------------------------------------------------------- predictions
def predict_viscosity_rows(df, lib=None):
    from twinline.process.mixing import mix
    from twinline.spec.recipe import MixingSection

    lib = lib or _lib()
    base = MixingSection().model_dump()
    sec = MixingSection.model_construct(**{**base, "solid_content": df.stol.to_numpy() / 100})
    return mix(sec, _composition(df.am.to_numpy()), lib,
               shear_rate=df.shear_rate.to_numpy()).viscosity_at_coating


def predict_coating_rows(df, lib=None, coater=None):
    """AM loading [mg cm⁻²] and porosity after drying [%] with mix → coat → dry."""
    from twinline.process.coating import CommaCoater, coat
    from twinline.process.drying import dry
    from twinline.process.mixing import mix
    from twinline.spec.recipe import (
        CoatingSection,
        DryingSection,
        DryingZone,
        MixingSection,
    )

    lib = lib or _lib()
    comp = _composition(df.am.to_numpy())
    gap = df.gap.to_numpy() * 1e-6
    mixing = MixingSection.model_construct(**{**MixingSection().model_dump(),
                                              "solid_content": df.stol.to_numpy() / 100})
    coating = CoatingSection.model_construct(**{**CoatingSection(gap="200 um").model_dump(),
                                                "gap": gap, "speed": 0.005})
    drying = DryingSection(zones=[DryingZone(temperature="80 degC", length="1 m"),
                                  DryingZone(temperature="95 degC", length="1 m")])
    slurry = mix(mixing, comp, lib, shear_rate=0.005 / gap)
    film = coat(coating, slurry, lib, coater=coater or CommaCoater())
    dried = dry(drying, film, lib)
    return np.asarray(film.am_loading) * 100.0, np.asarray(dried.porosity) * 100.0


def predict_calendering_rows(df, lib=None, reference_thickness=None):
    from twinline.process.calendering import REFERENCE_THICKNESS_UM, calender, pressure_from_gap
    from twinline.process.products import DryElectrode
    from twinline.spec.recipe import CalenderingSection

    comp = _composition(df.am_fraction.to_numpy() * 100.0)
    eps0 = df.porosity_0.to_numpy()
    t0 = df.thickness_0.to_numpy()
    el = DryElectrode(composition=comp, thickness=t0 * 1e-6, porosity=eps0,
                      areal_loading=0.0, am_loading=0.0, areal_capacity=0.0, drying_time=0.0,
                      dry_at_exit=True, residual_solvent=0.0, binder_migration=0.0,
                      energy_per_area=0.0, solvent_evaporated=0.0)
    sec = CalenderingSection.model_construct(**{
        **CalenderingSection(pressure="60 MPa").model_dump(),
        "pressure": pressure_from_gap(df.gap.to_numpy(), t0 - (reference_thickness or
                                                               REFERENCE_THICKNESS_UM)
                                      + REFERENCE_THICKNESS_UM),
        "roll_temperature": 333.15})
    return np.asarray(calender(sec, el, lib or _lib()).porosity)


def evaluate(data: dict, *, holdout: bool = False, lib=None, coater=None,
             reference_thickness: float | None = None) -> dict:
    """The four metrics and ``n_rows`` (only held-out rows when ``holdout``)."""
    res: dict = {"viscosity_rmse_log10": None, "loading_median_abs_pct": None,
                 "dry_porosity_mae_pct_points": None, "calendered_porosity_mae": None,
                 "n_rows": {}}

    def pick(df):
        return df[df.held_out] if holdout else df

    batches = data.get("slurry_coating_batches")
    discs = data.get("electrode_discs")
    if batches is not None:
        b = pick(batches)
        res["n_rows"]["slurry_coating_batches"] = len(b)
        if len(b):
            eta = predict_viscosity_rows(b, lib)
            res["viscosity_rmse_log10"] = float(np.sqrt(np.mean(
                (np.log10(eta) - np.log10(b.eta.to_numpy())) ** 2)))
    elif discs is not None:
        d = pick(discs).drop_duplicates(subset=["am", "stol", "gap"]).copy()
        d["shear_rate"] = 5000.0 / d.gap
        if len(d):
            eta = predict_viscosity_rows(d, lib)
            res["viscosity_rmse_log10"] = float(np.sqrt(np.mean(
                (np.log10(eta) - np.log10(d.eta.to_numpy())) ** 2)))
    src = discs if discs is not None else batches
    if src is not None:
        s = pick(src)
        if discs is not None:
            res["n_rows"]["electrode_discs"] = len(s)
        if len(s):
            load, por = predict_coating_rows(s, lib, coater)
            res["loading_median_abs_pct"] = float(np.median(
                np.abs(load / s.am_loading.to_numpy() - 1.0)) * 100.0)
            res["dry_porosity_mae_pct_points"] = float(np.mean(
                np.abs(por - s.porosity.to_numpy())))
    cal = data.get("calendering_porosity")
    if cal is not None:
        c = pick(cal)
        res["n_rows"]["calendering_porosity"] = len(c)
        if len(c):
            res["calendered_porosity_mae"] = float(np.mean(np.abs(
                predict_calendering_rows(c, lib, reference_thickness)
                - c.porosity.to_numpy())))
    return res


# ----------------------------------------------------------------------------- fitting
def _all_rows(df):
    return np.ones(len(df), dtype=bool)


def _not_held_out(df):
    return ~df.held_out.to_numpy()


def fit(data: dict, train=_all_rows, insilico: dict | None = None) -> dict:
    """Refit the default constants on the training rows (``train(df)`` → boolean mask).

    Default: every row (what the built-in constants hold). ``insilico`` reuses an earlier
    in-silico fit. Returns the constants by step (printed by ``--fit``, applied by ``--cv``
    and ``--holdout``).

    Rheology: least squares in log10 η with a soft-L1 loss (scale 0.05 in log10 η) so that
    one anomalous batch (96/68.786, 0.19 below every neighbour) does not tilt the fit; the
    Cross time is bounded to 0.01–100 s (the data, 12.5–100 s⁻¹, sit on the power-law
    branch and do not fix it).
    """
    from scipy.optimize import least_squares

    from twinline.process.calendering import predict_porosity
    from twinline.process.coating import CommaCoater, comma_wet_thickness
    from twinline.process.drying import dry_porosity
    from twinline.process.mixing import predict_viscosity, slurry_fractions

    lib = _lib()
    out: dict = {}
    b = data.get("slurry_coating_batches")
    if b is not None:
        b = b[train(b)]
        comp = _composition(b.am.to_numpy())
        ws, g, y = b.stol.to_numpy() / 100, b.shear_rate.to_numpy(), np.log10(b.eta.to_numpy())
        names = ["max_packing_fraction", "intrinsic_viscosity", "relaxation_time",
                 "rate_index", "overlap_concentration", "concentration_exponent"]
        # the carbon black's effective volume is not identified by these data (the LOBO
        # RMSE moves by < 0.001 between 1 and 14.5): held at the library value, which
        # keeps the jamming limit of carbon-rich pastes in the model
        k_ca = lib["C65"].get("effective_volume_factor")

        def k(x):
            return {**dict(zip(names, [x[0], x[1], 10 ** x[2], x[3], 10 ** x[4], x[5]],
                               strict=True)), "effective_volume_factor": k_ca}

        def r(x):
            eta = predict_viscosity(comp, ws, g, lib, constants=k(x))
            return np.log10(np.where(np.isfinite(eta), eta, 1e6)) - y

        sol = least_squares(r, [0.85, 1.1, 0.0, 0.47, -3.0, 3.0],
                            bounds=([0.3, 1.0, -2, 0.05, -5, 1], [0.9, 5, 2, 0.95, -0.5, 8]),
                            loss="soft_l1", f_scale=0.05)
        out["rheology"] = {**k(sol.x), "train_rmse_log10": float(np.sqrt(np.mean(sol.fun ** 2)))}
    d = data.get("electrode_discs")
    if d is not None:
        d = d[train(d)]
        comp = _composition(d.am.to_numpy())
        fr = slurry_fractions(comp, d.stol.to_numpy() / 100, lib["NMP"].get("density"))
        phi, rho = fr["solid_volume_fraction"], fr["density"]
        w_am, ws = d.am.to_numpy() / 100, d.stol.to_numpy() / 100
        gap, meas = d.gap.to_numpy() * 1e-6, d.am_loading.to_numpy() / 100
        cbd = 1.0 - w_am

        def coat_r(x):
            c = CommaCoater(ratio=x[0], gap_exponent=x[1], cbd_coefficient=x[2])
            return np.log(comma_wet_thickness(gap, cbd, c) * rho * ws * w_am / meas)

        sol = least_squares(coat_r, [0.9, 0.9, 0.0])
        out["comma_coater"] = {"ratio": sol.x[0], "gap_exponent": sol.x[1],
                               "cbd_coefficient": sol.x[2],
                               "train_median_abs_pct": float(np.median(np.abs(sol.fun)) * 100)}
        h_s = meas / w_am / comp.solid_density
        d50 = lib["NMC111"].get("particle_d50")

        def por_r(x):
            return dry_porosity(phi, h_s, d50, consolidation_porosity=x[0], slope=x[1],
                                wall_coefficient=x[2]) - d.porosity.to_numpy() / 100

        sol = least_squares(por_r, [0.47, 0.2, 0.35], loss="soft_l1", f_scale=0.01)
        out["drying"] = {"consolidation_porosity": sol.x[0],
                         "consolidation_porosity_slope": sol.x[1],
                         "wall_porosity_coefficient": sol.x[2],
                         "train_mae_points": float(np.mean(np.abs(por_r(sol.x))) * 100)}
    ins = data.get("insilico")
    m, slope = lib["NMC111"].get("compaction_porosity_exponent"), \
        lib["NMC111"].get("porosity_min_am_slope")
    if insilico is not None:
        out["insilico_calendering"] = insilico
        m = insilico["compaction_porosity_exponent"]
        slope = insilico["porosity_min_am_slope"]
    elif ins is not None:
        comp = _composition(ins.AM.to_numpy())

        def ins_r(x):
            return predict_porosity(comp, ins.porous.to_numpy() / 100,
                                    ins.pressure.to_numpy() * 1e6, lib,
                                    constants={"porosity_min": x[0], "porosity_min_am_slope": x[1],
                                               "compaction_pressure": x[2] * 1e6,
                                               "compaction_porosity_exponent": x[3]}) \
                - ins.porocal.to_numpy()

        sol = least_squares(ins_r, [0.3, 1.0, 40.0, 5.0], bounds=([0, 0, 1, 0], [0.5, 5, 500, 30]))
        m, slope = sol.x[3], sol.x[1]
        out["insilico_calendering"] = {"porosity_min_am_slope": slope,
                                       "compaction_porosity_exponent": m,
                                       "mae": float(np.mean(np.abs(sol.fun)))}
    c = data.get("calendering_porosity")
    if c is not None:
        c = c[train(c)]
        comp = _composition(c.am_fraction.to_numpy() * 100)
        eps0, t0 = c.porosity_0.to_numpy(), c.thickness_0.to_numpy()

        def cal_r(x):
            p = np.exp(5.254 - 0.0307 * (c.gap.to_numpy() - (t0 - x[2]))) * 1e6
            return predict_porosity(comp, eps0, p, lib, roll_temperature=333.15,
                                    constants={"porosity_min": x[0], "porosity_min_am_slope": slope,
                                               "compaction_pressure": x[1] * 1e6,
                                               "compaction_porosity_exponent": m}) \
                - c.porosity.to_numpy()

        sol = least_squares(cal_r, [0.2, 40.0, 150.0], bounds=([0, 1, 0], [0.5, 1000, 400]))
        out["calendering"] = {"porosity_min": sol.x[0], "compaction_pressure_MPa": sol.x[1],
                              "reference_thickness_um": sol.x[2],
                              "train_mae": float(np.mean(np.abs(sol.fun)))}
    return out


def fitted_library(fitted: dict):
    """(materials library, CommaCoater, reference thickness [µm]) holding ``fitted``."""
    from twinline.materials import Material, MaterialLibrary
    from twinline.process.coating import CommaCoater

    lib = _lib()
    over: dict[str, dict] = {"NMC111": {}, "C65": {}, "PVDF": {}}
    r = fitted.get("rheology", {})
    for k in ("max_packing_fraction", "intrinsic_viscosity", "relaxation_time", "rate_index"):
        if k in r:
            over["NMC111"][k] = r[k]
    for k in ("overlap_concentration", "concentration_exponent"):
        if k in r:
            over["PVDF"][k] = r[k]
    for k, v in fitted.get("drying", {}).items():
        if not k.startswith("train"):
            over["NMC111"][k] = v
    ins = fitted.get("insilico_calendering", {})
    for k in ("porosity_min_am_slope", "compaction_porosity_exponent"):
        if k in ins:
            over["NMC111"][k] = ins[k]
    cal = fitted.get("calendering", {})
    if "porosity_min" in cal:
        over["NMC111"]["porosity_min"] = cal["porosity_min"]
        over["NMC111"]["compaction_pressure"] = cal["compaction_pressure_MPa"] * 1e6
    mats = {n: Material(n, lib[n].kind, {**lib[n].properties, **o}, lib[n].sources,
                        lib[n].description) for n, o in over.items()}
    cc = fitted.get("comma_coater")
    coater = CommaCoater() if cc is None else CommaCoater(
        ratio=cc["ratio"], gap_exponent=cc["gap_exponent"], cbd_coefficient=cc["cbd_coefficient"])
    return lib.merged(MaterialLibrary(mats)), coater, cal.get("reference_thickness_um")


def holdout(data: dict) -> dict:
    """Fixed split: constants refitted on the rows not held out, metrics on the held-out ones."""
    lib, coater, tref = fitted_library(fit(data, _not_held_out))
    return evaluate(data, holdout=True, lib=lib, coater=coater, reference_thickness=tref)


def cross_validate(data: dict) -> dict:
    """Leave-one-batch-out (slurry data) and leave-one-row-out (calendering) metrics.

    Every batch (AM wt %, S-to-L) is predicted by constants fitted on all the other batches;
    every calendering row by constants fitted on the other rows (plus the in-silico set).
    """
    ins = fit({"insilico": data["insilico"]})["insilico_calendering"] \
        if "insilico" in data else None
    keys = set()
    for name in ("slurry_coating_batches", "electrode_discs"):
        if name in data:
            keys |= {f"{a:.1f}/{s:.3f}" for a, s in zip(data[name].am, data[name].stol,
                                                         strict=True)}
    preds: dict[str, list] = {"eta": [], "load": [], "por": [], "cal": []}
    slurry_sets = {k: v for k, v in data.items()
                   if k in ("slurry_coating_batches", "electrode_discs")}
    for key in sorted(keys):
        def train(df, key=key):
            return np.array([f"{a:.1f}/{s:.3f}" != key for a, s in zip(df.am, df.stol,
                                                                        strict=True)])
        lib, coater, _ = fitted_library(fit(slurry_sets, train))
        test = {}
        for name, df in slurry_sets.items():
            t = df[~train(df)].copy()
            t["held_out"] = True
            test[name] = t
        b = test.get("slurry_coating_batches")
        if b is not None and len(b):
            preds["eta"].append(np.log10(predict_viscosity_rows(b, lib)) - np.log10(b.eta))
        src = test.get("electrode_discs", test.get("slurry_coating_batches"))
        if src is not None and len(src):
            load, por = predict_coating_rows(src, lib, coater)
            preds["load"].append(np.abs(load / src.am_loading.to_numpy() - 1) * 100)
            preds["por"].append(np.abs(por - src.porosity.to_numpy()))
    cal = data.get("calendering_porosity")
    if cal is not None:
        for i in range(len(cal)):
            mask = np.arange(len(cal)) != i
            sub = {"calendering_porosity": cal}
            fitted = fit(sub, lambda df, mask=mask: mask, insilico=ins)
            lib, _, tref = fitted_library(fitted)
            row = cal.iloc[[i]]
            preds["cal"].append(np.abs(predict_calendering_rows(row, lib, tref)
                                       - row.porosity.to_numpy()))

    def cat(k):
        return np.concatenate([np.asarray(x, float) for x in preds[k]]) if preds[k] else None

    eta, load, por, cal_e = cat("eta"), cat("load"), cat("por"), cat("cal")
    return {"viscosity_rmse_log10": None if eta is None else float(np.sqrt(np.mean(eta ** 2))),
            "loading_median_abs_pct": None if load is None else float(np.median(load)),
            "dry_porosity_mae_pct_points": None if por is None else float(np.mean(por)),
            "calendered_porosity_mae": None if cal_e is None else float(np.mean(cal_e)),
            "n_rows": {k: len(v) for k, v in data.items() if k != "insilico"}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with the ARTISTIC CSVs")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ap.add_argument("--holdout", action="store_true",
                    help="fixed split: refit on the training rows, evaluate the held-out ones")
    ap.add_argument("--fit", action="store_true",
                    help="refit the constants on the training rows and print them")
    ap.add_argument("--cv", action="store_true",
                    help="leave-one-batch-out cross-validation (refits per fold)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    data = load(args.data)
    if not any(k in data for k in ("slurry_coating_batches", "electrode_discs",
                                   "calendering_porosity")):
        print(f"error: {args.data} holds none of slurry_coating_batches.csv, "
              "electrode_discs.csv, calendering_porosity.csv", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.fit:
            print(json.dumps(fit(data), indent=2, default=float))
            return 0
        res = (cross_validate(data) if args.cv else holdout(data) if args.holdout
               else evaluate(data))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    targets = {"viscosity_rmse_log10": ("RMSE of log10(viscosity [Pa s])", "", 0.05),
               "loading_median_abs_pct": ("AM loading, median |error|", "%", 3.0),
               "dry_porosity_mae_pct_points": ("porosity after drying, MAE", "points", 1.5),
               "calendered_porosity_mae": ("calendered porosity, MAE", "(-)", 0.02)}
    mode = ("leave-one-batch-out cross-validation" if args.cv
            else "fixed split, refitted without the held-out rows" if args.holdout
            else "all rows, default constants")
    print(f"ARTISTIC validation ({mode}), "
          f"rows: {res['n_rows']}")
    print(f"{'metric':<36} {'value':>10} {'target':>8}")
    for key, (label, unit, target) in targets.items():
        v = res[key]
        shown = "n/a" if v is None else f"{v:.4g}"
        print(f"{label:<36} {shown:>10} {'≤ ' + format(target, 'g'):>8} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
