"""Replay the ARTISTIC prototype line through the twin loop and print the issue's goals.

Usage::

    python benchmarks/replay_artistic.py --data ../shared/validation/artistic_nmc [--json]
        [--batches N]

Converts ``slurry_coating_batches.csv`` and ``electrode_discs.csv`` in ``--data`` (ARTISTIC,
LRCS, CC BY-NC-SA 4.0; not in this repository) with
:func:`twinline.twin.ingest.artistic.artistic_long_table`, puts the rows in the order a line
would produce them and replays them with :func:`twinline.twin.replay.replay` on the package's
``examples/nmc111_cathode.yaml`` (the static model: package defaults, never updated).

Order (the files have one date per batch and no times): batches by date; within a batch the
coated gaps in ascending order; per gap the viscosity at its shear rate (5000/gap µm), the
coated electrode (gap setting, dry thickness) and then its discs one minute apart. The coated
electrode's loading and porosity are the means of its discs: they are dropped where the discs
are in the file (no double counting) and kept where they are not. The slurry's solid content
is the files' exact ``StoL`` (the converter's setting is the rounded ``S-to-L(%)``). A batch's
group id is ``"{AM}/{S-to-L:.2f}"``.

Goals (issue 15), each also per batch under ``batches``:

* ``loading_median_abs_pct_static/twin`` — median |error| [%] of the discs' AM loading after
  the batch's first coated gap (goal: twin ≤ 2.0);
* ``viscosity_rmse_log10_static/twin`` — RMSE of log10 η after the batch's first shear-rate
  point (goal: twin ≤ 0.03);
* ``dry_porosity_mae_points_static/twin`` — mean |error| of the porosity after drying
  [points] after the batch's first gap (goal: twin ≤ 1.2);
* ``coverage_90`` — share of all measurements inside the twin's 90 % predictive interval
  (goal ≈ 0.90), and per goal ``coverage_90_by_goal`` with the mean width of those
  intervals (``interval_90_width``: loading in % of the prediction, viscosity in log10 η,
  porosity in points), so coverage is not bought with wide intervals;
* ``loading_median_abs_pct_first_disc_static/twin`` — the same loading error on the first
  disc of each coated strip only (after the batch's first gap): predicted before anything
  of its strip is measured, i.e. from the batch's earlier gaps alone (the gap response);
* ``learning_curve`` — the twin's loading error per batch in replay order.

Calibrated constants: :func:`twinline.twin.calibration.default_constants` (rheology level,
wet-film ratio with batch and strip offsets, the coater's gap offset per batch, the drying
porosity with batch and strip offsets, the calendering constants); ``--no-gap-offset`` and
``--no-strips`` leave those terms out (ablation), ``--gap-exponent`` adds the coater's gap
exponent (line-wide).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "nmc111_cathode.yaml"
LOADING = "cathode.coating.am_loading"
VISCOSITY = "cathode.mixing.viscosity"
POROSITY = "cathode.drying.porosity"


def is_disc(oid: str) -> bool:
    return oid.rsplit("-", 1)[-1].startswith("D")


def is_electrode(oid: str) -> bool:
    return oid.rsplit("-", 1)[-1].startswith("G")


def long_table(data: Path, max_batches: int | None = None):
    """The ordered long table and ``batch object id → group id``."""
    import pandas as pd

    from twinline.twin.ingest.artistic import _g, artistic_long_table

    b = pd.read_csv(data / "slurry_coating_batches.csv").rename(columns=lambda c: c.strip())
    table, counts = artistic_long_table(data / "slurry_coating_batches.csv",
                                        data / "electrode_discs.csv")
    ids: dict[str, str] = {}
    stol: dict[str, float] = {}
    for _, r in b.iterrows():
        oid = f"SB-{r['date']}-AM{_g(r['Composition'])}-SL{_g(r['S-to-L(%)'])}"
        ids[oid] = f"{float(r['Composition']):g}/{float(r['StoL']):.2f}"
        stol[oid] = float(r["StoL"])
    t = table.copy()
    is_sl = t["parameter"] == "cathode.mixing.solid_content"
    t.loc[is_sl, "value"] = [_g(stol[o]) for o in t.loc[is_sl, "object"]]
    batch_of = {}
    for _, r in t.iterrows():
        if r["kind"] == "coated_roll" and r["parent"]:
            batch_of[r["object"]] = r["parent"]
        if r["kind"] == "electrode_disc" and r["parent"]:
            batch_of[r["object"]] = r["parent"]  # the electrode; resolved below
    disc_parent = {o: p for o, p in batch_of.items() if is_disc(o)}
    ce_with_discs = set(disc_parent.values())
    sb_rows = t[t["kind"] == "slurry_batch"].groupby("object", sort=False)["time"].first()
    batches = sorted(sb_rows.index, key=lambda o: (sb_rows[o], o))
    if max_batches:
        batches = batches[:max_batches]
    by_object = {o: g for o, g in t.groupby("object", sort=False)}
    rows = []
    for sb in batches:
        t0 = pd.Timestamp(sb_rows[sb])
        mine = by_object[sb]
        rows += [(t0, r) for _, r in mine[mine["role"] == "setting"].iterrows()]
        ces = sorted({o for o, p in batch_of.items() if p == sb and is_electrode(o)},
                     key=lambda o: int(o.rsplit("-G", 1)[1]))
        for gi, ce in enumerate(ces):
            tg = t0 + pd.Timedelta(hours=gi + 1)
            gap = int(ce.rsplit("-G", 1)[1])
            rate = 5000.0 / gap
            vis = mine[(mine["role"] == "measurement") & (mine["conditions"].str.contains(
                f"shear_rate={_g(rate)} ", regex=False))]
            rows += [(tg, r) for _, r in vis.iterrows()]
            ce_rows = by_object[ce]
            keep = ce_rows[(ce_rows["role"] == "setting")
                           | (ce_rows["parameter"] == "cathode.drying.coating_thickness")
                           | ((ce not in ce_with_discs) & (ce_rows["role"] == "measurement"))]
            rows += [(tg + pd.Timedelta(minutes=1), r) for _, r in keep.iterrows()]
            discs = sorted({o for o, p in disc_parent.items() if p == ce},
                           key=lambda o: int(o.rsplit("-D", 1)[1]))
            for di, d in enumerate(discs):
                rows += [(tg + pd.Timedelta(minutes=2 + di), r)
                         for _, r in by_object[d].iterrows()]
    out = pd.DataFrame([r for _, r in rows])
    out["time"] = [ts.strftime("%Y-%m-%dT%H:%M:%SZ") for ts, _ in rows]
    return out, {k: v for k, v in ids.items() if k in batches}, counts


def goals(rows: list[dict], batch_of_object) -> dict:
    """The goal metrics from the replay rows (see the module docstring)."""
    def gap_index(obj: str) -> int | None:
        return batch_of_object.get(obj)

    def metric(sel, which, kind):
        if not sel:
            return None
        y = np.array([r["measured"] for r in sel])
        p = np.array([r[f"predicted_{which}"] for r in sel])
        if kind == "pct":
            return float(np.median(np.abs(p / y - 1) * 100))
        if kind == "log":
            return float(np.sqrt(np.mean((np.log10(p) - np.log10(y)) ** 2)))
        return float(np.mean(np.abs(p - y)) * 100)

    def width(sel, kind):
        if not sel:
            return None
        z = 1.6448536
        s = np.array([np.hypot(r["std_twin"], r["measured_std"]) for r in sel])
        p = np.array([r["predicted_twin"] for r in sel])
        if kind == "pct":
            return float(np.mean(2 * z * s / p) * 100)
        if kind == "log":
            return float(np.mean(2 * z * s / p / np.log(10)))
        return float(np.mean(2 * z * s) * 100)

    def share_inside(sel):
        if not sel:
            return None
        return float(np.mean([abs(r["measured"] - r["predicted_twin"])
                              <= 1.6448536 * np.hypot(r["std_twin"], r["measured_std"])
                              for r in sel]))

    def pick(rs):
        load = [r for r in rs if r["parameter"] == LOADING and is_disc(r["object"])
                and (gap_index(r["object"]) or 0) > 0]
        first = [r for r in load if r["object"].endswith("-D1")]
        vis = [r for r in rs if r["parameter"] == VISCOSITY and r["_vis_index"] > 0]
        por = [r for r in rs if r["parameter"] == POROSITY and (gap_index(r["object"]) or 0) > 0]
        out = {}
        for which in ("static", "twin"):
            out[f"loading_median_abs_pct_{which}"] = metric(load, which, "pct")
            out[f"viscosity_rmse_log10_{which}"] = metric(vis, which, "log")
            out[f"dry_porosity_mae_points_{which}"] = metric(por, which, "abs")
            out[f"loading_median_abs_pct_first_disc_{which}"] = metric(first, which, "pct")
        out["coverage_90_by_goal"] = {"loading": share_inside(load),
                                      "viscosity": share_inside(vis),
                                      "porosity": share_inside(por)}
        out["interval_90_width"] = {"loading_pct": width(load, "pct"),
                                    "viscosity_log10": width(vis, "log"),
                                    "porosity_points": width(por, "abs")}
        inside = [abs(r["measured"] - r["predicted_twin"])
                  <= 1.6448536 * np.hypot(r["std_twin"], r["measured_std"]) for r in rs]
        out["coverage_90"] = float(np.mean(inside)) if inside else None
        out["n"] = {"loading": len(load), "viscosity": len(vis), "porosity": len(por),
                    "loading_first_disc": len(first)}
        return out

    result = pick(rows)
    result["batches"] = {}
    for b in dict.fromkeys(r["batch"] for r in rows):
        result["batches"][b] = pick([r for r in rows if r["batch"] == b])
    result["learning_curve"] = [
        {"batches_seen": i, "batch": b,
         "loading_median_abs_pct_twin": v["loading_median_abs_pct_twin"],
         "loading_median_abs_pct_static": v["loading_median_abs_pct_static"]}
        for i, (b, v) in enumerate(result["batches"].items())]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batches", type=int, default=None, help="only the first N batches")
    ap.add_argument("--gap-exponent", action="store_true",
                    help="also calibrate the comma coater's gap exponent (line-wide)")
    ap.add_argument("--no-gap-offset", action="store_true",
                    help="leave out the coater's gap offset (per batch); ablation")
    ap.add_argument("--rows", type=Path, default=None,
                    help="also write the replay's rows (one per measurement) to this JSON file")
    ap.add_argument("--no-strips", action="store_true",
                    help="leave out the coated strips' (rolls') offsets; ablation")
    args = ap.parse_args(argv)
    if not (args.data / "slurry_coating_batches.csv").is_file() or not (
            args.data / "electrode_discs.csv").is_file():
        print(f"error: {args.data} lacks slurry_coating_batches.csv or electrode_discs.csv",
              file=sys.stderr)
        return 2
    import twinline.twin.loop as loop_module
    from twinline.spec.recipe import load_recipe
    from twinline.twin.calibration import default_constants
    from twinline.twin.replay import replay

    update_seconds: list[float] = []
    bayes_update = loop_module.update

    def timed_update(*a, **k):  # the loop's calibration update, timed (benchmark only)
        t = time.perf_counter()
        try:
            return bayes_update(*a, **k)
        finally:
            update_seconds.append(time.perf_counter() - t)

    loop_module.update = timed_update

    table, ids, counts = long_table(args.data, args.batches)
    # gap index of each disc / electrode within its batch, for "after the first gap"
    gap_idx: dict[str, int] = {}
    parent = dict(zip(table["object"], table["parent"], strict=True))
    parent.update({o: p for o, p in zip(table["object"], table["parent"], strict=True) if p})
    ces: dict[str, list[tuple[int, str]]] = {}
    for o, p in parent.items():
        if is_electrode(o) and p:
            ces.setdefault(p, []).append((int(o.rsplit("-G", 1)[1]), o))
    for lst in ces.values():
        for i, (_, ce) in enumerate(sorted(lst)):
            gap_idx[ce] = i
    for o, p in parent.items():
        if p in gap_idx and o not in gap_idx:
            gap_idx[o] = gap_idx[p]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "artistic_long.csv"
        table.to_csv(path, index=False)
        t0 = time.perf_counter()
        constants = default_constants("cathode", gap_exponent=args.gap_exponent,
                                      gap_offset=not args.no_gap_offset,
                                      strips=not args.no_strips)
        res = replay(path, load_recipe(RECIPE), batch_ids=ids, constants=constants)
        seconds = time.perf_counter() - t0
    seen: dict[str, int] = {}
    for r in res.rows:
        if r["parameter"] == VISCOSITY:
            r["_vis_index"] = seen.get(r["object"], 0)
            seen[r["object"]] = r["_vis_index"] + 1
        else:
            r["_vis_index"] = 0
    out = goals(res.rows, gap_idx)
    if args.rows is not None:
        args.rows.write_text(json.dumps(res.rows))
    out.update({"gap_exponent_calibrated": args.gap_exponent,
                "gap_offset_calibrated": not args.no_gap_offset,
                "strip_offsets": not args.no_strips,
                "constants": [c.name for c in constants], "counts": counts,
                "replayed_measurements": len(res.rows),
                "calibration_updates": res.updates, "alarms": res.alarms,
                "seconds": round(seconds, 1),
                "update_seconds": {"median": float(np.median(update_seconds)),
                                   "p95": float(np.percentile(update_seconds, 95)),
                                   "max": float(np.max(update_seconds))}
                if update_seconds else None, "summary": res.summary})
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"ARTISTIC replay: {len(res.rows)} measurements, {res.updates} updates, "
          f"{seconds:.0f} s")
    print(f"{'goal':34} {'static':>8} {'twin':>8} {'target':>8}")
    for key, target in (("loading_median_abs_pct", "<= 2.0"),
                        ("viscosity_rmse_log10", "<= 0.03"),
                        ("dry_porosity_mae_points", "<= 1.2")):
        s, t = out[f"{key}_static"], out[f"{key}_twin"]
        print(f"{key:34} {s if s is None else f'{s:.3f}':>8} "
              f"{t if t is None else f'{t:.3f}':>8} {target:>8}")
    s, t = (out["loading_median_abs_pct_first_disc_static"],
            out["loading_median_abs_pct_first_disc_twin"])
    if t is not None:
        print(f"{'  first disc of each strip':34} {s:8.3f} {t:8.3f}")
    print(f"{'coverage_90':34} {'':>8} {out['coverage_90']:8.3f} {'~0.90':>8}")
    cov, wid = out["coverage_90_by_goal"], out["interval_90_width"]
    print("  by goal (coverage, mean 90 % width): loading "
          f"{cov['loading']}, {wid['loading_pct']} %; viscosity {cov['viscosity']}, "
          f"{wid['viscosity_log10']} log10; porosity {cov['porosity']}, "
          f"{wid['porosity_points']} points")
    print("learning curve (twin loading median |err| %, per batch in replay order):")
    print("  " + " ".join("-" if c["loading_median_abs_pct_twin"] is None
                          else f"{c['loading_median_abs_pct_twin']:.1f}"
                          for c in out["learning_curve"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
