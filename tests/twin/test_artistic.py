"""The ARTISTIC converter on a few synthetic rows in the published files' format (the real
files are not needed: tests make their own data)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from twinline.twin.errors import IngestError
from twinline.twin.ingest.artistic import artistic_long_table
from twinline.twin.ingest.files import ingest_file
from twinline.twin.store import Store


def _batches() -> pd.DataFrame:
    rows = []
    # two batches share AM 94 % / S-to-L 63 % (different dates): the viscosity tells them apart
    for date, am, sl, stol, visc in (("2019-05-03", 94, 63, 63.0021, {25: 5.0, 12.5: 7.4}),
                                     ("2019-05-28", 94, 63, 63.0021, {25: 4.67, 50: 3.12})):
        for rate, v in visc.items():
            rows.append({"Comma gap/um": "moyenne", "Composition": am, "S-to-L(%)": sl,
                         "StoL": stol, "Viscosity": v, "Shear rate": rate, "date": date,
                         "Areal AM mass/mg cm-2": 1000 / rate,
                         "Thickness/um (a*)": 22 + 4000 / rate,
                         "Porosity (complete)": 48.5, "s poros": "#DIV/0!"})
    return pd.DataFrame(rows)


def _discs() -> pd.DataFrame:
    rows = [(94, 63.0021, 200, 5.0, 40.1, 49.0), (94, 63.0021, 200, 5.0, 39.9, 50.0),
            (94, 63.0021, 200, 4.67, 41.0, 48.0), (94, 63.0021, 100, 3.12, 20.0, 47.0),
            (96, 73.29, 50, 3.1, 7.5, 56.6)]  # the last matches no batch
    return pd.DataFrame(rows, columns=["Composition (A.M.%)", "S-to-L Ratio (%)",
                                       "Comma gap (µm)", "Viscosity (Pas)",
                                       "Mass Loading (mg cm-2) ", "Porosity (%)"])


def test_batches_gaps_and_discs_become_a_genealogy(store_url, tmp_path):
    table, counts = artistic_long_table(_batches(), _discs())
    assert counts == {"batches": 2, "electrodes": 4, "discs": 4, "unmatched": 1}
    path = tmp_path / "artistic_long.csv"
    table.to_csv(path, index=False)
    with Store.open(store_url) as store:
        res = ingest_file(store, path)
        assert res.new == len(table) and store.check() == []
        trace = store.trace("SB-2019-05-28-AM94-SL63-G200-D1")
        assert [(e.object_id, e.kind, e.depth) for e in trace] == [
            ("SB-2019-05-28-AM94-SL63-G200-D1", "electrode_disc", 0),
            ("SB-2019-05-28-AM94-SL63-G200", "coated_roll", 1),
            ("SB-2019-05-28-AM94-SL63", "slurry_batch", 2)]
        disc, roll, batch = trace
        assert {m["parameter"] for m in disc.measurements} == {
            "cathode.coating.am_loading", "cathode.drying.porosity"}
        gap = roll.settings[0]
        assert gap["parameter"] == "cathode.coating.gap" and math.isclose(gap["value"], 200e-6)
        thick = next(m for m in roll.measurements
                     if m["parameter"] == "cathode.drying.coating_thickness")
        assert math.isclose(thick["value"], 160e-6)  # 22 + 160 µm measured, minus the foil
        visc = {m["conditions"]: m["value"] for m in batch.measurements}
        assert visc == pytest.approx({"shear_rate=25 1/s": 4.67, "shear_rate=50 1/s": 3.12})
        settings = {s["parameter"]: s["value"] for s in batch.settings}
        assert settings == pytest.approx({
            "cathode.formulation.active_material.mass_fraction": 0.94,
            "cathode.mixing.solid_content": 0.63})
        assert batch.created.isoformat() == "2019-05-28T00:00:00+00:00"
        # the two discs at 5.0 Pa·s belong to the other batch of the same formulation
        kids = [e.object_id for e in store.track("SB-2019-05-03-AM94-SL63-G200")]
        assert kids[1:] == ["SB-2019-05-03-AM94-SL63-G200-D1", "SB-2019-05-03-AM94-SL63-G200-D2"]


def test_a_table_without_the_columns_is_refused():
    with pytest.raises(IngestError, match=r"electrode_discs\.csv: columns"):
        artistic_long_table(_batches(), pd.DataFrame({"x": [1]}))
