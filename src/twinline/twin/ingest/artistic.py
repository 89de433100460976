"""The ARTISTIC prototype line's files as the line's data: a converter to the long format.

The ARTISTIC project (LRCS Amiens; files under CC BY-NC-SA 4.0, not shipped with twinline)
published two tables of its NMC cathode prototype line (comma coater, two-zone oven):

``slurry_coating_batches.csv``
    One row per slurry batch × comma gap, each the mean of 8 uncalendered discs: ``Composition``
    (AM wt %), ``S-to-L(%)`` (slurry solid mass fraction, %), ``Viscosity`` (Pa·s) at ``Shear
    rate`` (1/s; the coater shear rate, 5000 / gap µm), ``Areal AM mass/mg cm-2``,
    ``Thickness/um (a*)`` (includes the ≈ 22 µm Al foil), ``Porosity (complete)`` (%),
    ``date`` (the batch's identity), ``StoL`` (the exact S-to-L).
``electrode_discs.csv``
    528 single discs: ``Composition (A.M.%)``, ``S-to-L Ratio (%)`` (= ``StoL``), ``Comma gap
    (µm)``, ``Viscosity (Pas)``, ``Mass Loading (mg cm-2)``, ``Porosity (%)``.

How they map into the store (:func:`artistic_long_table`)
----------------------------------------------------------
* **slurry batch** ``SB-<date>-AM<AM %>-SL<S-to-L %>`` (kind ``slurry_batch``), time = the
  date (00:00 UTC): settings ``cathode.formulation.active_material.mass_fraction`` (AM wt %)
  and ``cathode.mixing.solid_content`` (S-to-L, %); one measurement
  ``cathode.mixing.viscosity`` (Pa·s) per shear rate, with the condition
  ``shear_rate=<rate> 1/s``.
* **coated electrode** ``<batch>-G<gap>`` (kind ``coated_roll``; the strip coated at one comma
  gap), parent the batch: setting ``cathode.coating.gap`` (µm, = 5000 / shear rate: the
  sheet's gap column is broken); measurements, the means of its 8 discs,
  ``cathode.coating.am_loading`` (mg/cm²), ``cathode.drying.coating_thickness`` (µm, the
  measured thickness minus the 22 µm foil, :data:`FOIL_UM`) and ``cathode.drying.porosity``
  (%).
* **disc** ``<batch>-G<gap>-D<n>`` (kind ``electrode_disc``, n = 1 … 8 in file order), parent
  its coated electrode: measurements ``cathode.coating.am_loading`` (mg/cm²) and
  ``cathode.drying.porosity`` (%). The disc file has no date: a disc belongs to the batch row
  with the same AM %, S-to-L (to 0.01 %) and gap, and — where two batches share those, e.g.
  94 % / 63 % on 2019-05-03 and 2019-05-28 — the viscosity the disc file repeats
  (within 0.005 Pa·s). A disc matching no batch row is left out and counted
  (``unmatched``; the published files hold part of the data back).

Use::

    python -m twinline.twin.ingest.artistic slurry_coating_batches.csv electrode_discs.csv \\
        artistic_long.csv
    twinline ingest artistic_long.csv --db artistic.db
    twinline trace SB-2019-06-13-AM92.7-SL58-G200-D1 --db artistic.db

See ``docs/line_data.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from twinline.twin.errors import IngestError
from twinline.twin.ingest.files import LONG_COLUMNS

#: Al foil thickness included in the batches file's thickness (µm; README of the data).
FOIL_UM = 22.0
#: The coater's shear rate is this over the comma gap in µm (1/s · µm).
SHEAR_TIMES_GAP = 5000.0

BATCH_COLUMNS = ("Composition", "S-to-L(%)", "StoL", "Viscosity", "Shear rate", "date",
                 "Areal AM mass/mg cm-2", "Thickness/um (a*)", "Porosity (complete)")
DISC_COLUMNS = ("Composition (A.M.%)", "S-to-L Ratio (%)", "Comma gap (µm)", "Viscosity (Pas)",
                "Mass Loading (mg cm-2)", "Porosity (%)")


def _read(table: Any, columns: tuple[str, ...], what: str):
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else pd.read_csv(table)
    df = df.rename(columns=lambda c: str(c).strip())
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise IngestError(f"{what}: columns {missing} are missing (an ARTISTIC {what} has "
                          f"{list(columns)})")
    return df


def _g(x: float) -> str:
    return f"{float(x):.4g}"


def artistic_long_table(batches: Any, discs: Any) -> tuple[Any, dict[str, int]]:
    """The two ARTISTIC tables (paths or DataFrames) as one long-format table (columns
    :data:`~twinline.twin.ingest.files.LONG_COLUMNS` plus ``method``) and counts
    (``batches``, ``electrodes``, ``discs``, ``unmatched`` discs).
    """
    import pandas as pd

    b = _read(batches, BATCH_COLUMNS, "slurry_coating_batches.csv")
    d = _read(discs, DISC_COLUMNS, "electrode_discs.csv")
    rows: list[tuple[str, ...]] = []

    def add(time, obj, kind, parent, parameter, value, unit, role, cond="", method=""):
        rows.append((time, obj, kind, parent, parameter, _g(value) if value != "" else "",
                     unit, role, cond, method))

    b = b.assign(
        batch=[f"SB-{dt}-AM{_g(am)}-SL{_g(sl)}" for dt, am, sl in
               zip(b["date"], b["Composition"], b["S-to-L(%)"], strict=True)],
        gap=(SHEAR_TIMES_GAP / b["Shear rate"].astype(float)).round().astype(int),
        time=pd.to_datetime(b["date"]).dt.strftime("%Y-%m-%dT00:00:00Z"))
    for batch, grp in b.groupby("batch", sort=False):
        first = grp.iloc[0]
        t = first["time"]
        add(t, batch, "slurry_batch", "", "cathode.formulation.active_material.mass_fraction",
            first["Composition"], "%", "setting")
        add(t, batch, "slurry_batch", "", "cathode.mixing.solid_content", first["S-to-L(%)"],
            "%", "setting")
        for _, r in grp.iterrows():
            add(t, batch, "slurry_batch", "", "cathode.mixing.viscosity", r["Viscosity"],
                "Pa*s", "measurement", f"shear_rate={_g(r['Shear rate'])} 1/s", "rheometer")
            ce = f"{batch}-G{r['gap']}"
            add(t, ce, "coated_roll", batch, "cathode.coating.gap", r["gap"], "um", "setting")
            add(t, ce, "coated_roll", "", "cathode.coating.am_loading",
                r["Areal AM mass/mg cm-2"], "mg/cm^2", "measurement", "", "weighing")
            add(t, ce, "coated_roll", "", "cathode.drying.coating_thickness",
                float(r["Thickness/um (a*)"]) - FOIL_UM, "um", "measurement", "", "micrometer")
            add(t, ce, "coated_roll", "", "cathode.drying.porosity", r["Porosity (complete)"],
                "%", "measurement")
    # discs → the batch row of the same AM %, S-to-L, gap (and viscosity when ambiguous)
    keyed = b.assign(am=b["Composition"].astype(float).round(2),
                     sl=b["StoL"].astype(float).round(2))
    counter: dict[str, int] = {}
    unmatched = 0
    n_discs = 0
    for _, r in d.iterrows():
        am = round(float(r["Composition (A.M.%)"]), 2)
        sl = round(float(r["S-to-L Ratio (%)"]), 2)
        gap = round(float(r["Comma gap (µm)"]))
        cand = keyed[(keyed["am"] == am) & (keyed["sl"] == sl) & (keyed["gap"] == gap)]
        if len(cand) > 1:
            cand = cand[(cand["Viscosity"].astype(float) - float(r["Viscosity (Pas)"])).abs()
                        < 0.005]
        if len(cand) != 1:
            unmatched += 1
            continue
        row = cand.iloc[0]
        ce = f"{row['batch']}-G{gap}"
        counter[ce] = counter.get(ce, 0) + 1
        disc = f"{ce}-D{counter[ce]}"
        n_discs += 1
        add(row["time"], disc, "electrode_disc", ce, "cathode.coating.am_loading",
            r["Mass Loading (mg cm-2)"], "mg/cm^2", "measurement", "", "weighing")
        add(row["time"], disc, "electrode_disc", "", "cathode.drying.porosity",
            r["Porosity (%)"], "%", "measurement")
    table = pd.DataFrame(rows, columns=[*LONG_COLUMNS, "method"])
    counts = {"batches": int(b["batch"].nunique()), "electrodes": len(b), "discs": n_discs,
              "unmatched": unmatched}
    return table, counts


def main(argv: list[str] | None = None) -> int:
    """``python -m twinline.twin.ingest.artistic BATCHES.csv DISCS.csv OUT.csv``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m twinline.twin.ingest.artistic slurry_coating_batches.csv "
              "electrode_discs.csv OUT.csv", file=sys.stderr)
        return 2
    from twinline.atomic import write_atomic

    try:
        table, counts = artistic_long_table(args[0], args[1])
    except (IngestError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_atomic(Path(args[2]), table.to_csv(index=False))
    print(f"{args[2]}: {len(table)} rows; {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
