"""File ingestion (twinline.twin.ingest.files): long and wide files, SI conversion per
(parameter, unit), idempotency, the all-or-nothing policy and its error lines."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from twinline.twin.errors import IngestError
from twinline.twin.ingest.files import (
    LONG_COLUMNS,
    ingest_file,
    load_map,
    prepare,
    synthetic_long_table,
)
from twinline.twin.store import RecordRow, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "line_data"
HEADER = ",".join(LONG_COLUMNS) + ",quantity,quantity_unit,uncertainty,method"
GOOD = [
    "2026-11-30T08:00:00Z,SB-1,slurry_batch,,cathode.mixing.solid_content,68,%,setting,,,,,",
    "2026-11-30T08:00:00Z,SB-1,slurry_batch,,cathode.mixing.viscosity,4.1,Pa*s,measurement,"
    "shear_rate=10 1/s,,,0.1,rheometer",
    "2026-11-30T08:00:00Z,SB-1,slurry_batch,,cathode.mixing.viscosity,2.2,Pa*s,measurement,"
    "shear_rate=100 1/s,,,,rheometer",
    "2026-11-30T09:00:00Z,CR-1,coated_roll,SB-1,cathode.coating.gap,200,um,setting,,12,kg,,",
    "2026-11-30T09:10:00Z,CR-1,coated_roll,,cathode.coating.am_loading,20,mg/cm^2,measurement,"
    ",,,0.5,",
    "2026-11-30T09:10:00Z,CR-1,coated_roll,,cathode.drying.temperature,90,degC,setting,,,,,",
    "2026-11-30T09:20:00Z,KR-1,calendered_roll,CR-1,,,,,,,,,",
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def test_a_long_file_is_stored_in_si_with_its_genealogy(store, tmp_path):
    res = ingest_file(store, write(tmp_path / "line.csv", GOOD))
    assert (res.rows, res.new, res.already, res.objects, res.edges) == (6, 6, 0, 3, 2)
    assert store.stats() == {"objects": 3, "edges": 2, "settings": 3, "measurements": 3}
    trace = {e.object_id: e for e in store.trace("KR-1")}
    assert [trace[k].depth for k in ("KR-1", "CR-1", "SB-1")] == [0, 1, 2]
    cr = {s["parameter"]: s for s in trace["CR-1"].settings}
    assert math.isclose(cr["cathode.coating.gap"]["value"], 200e-6)
    assert cr["cathode.coating.gap"]["unit"] == "um"
    assert math.isclose(cr["cathode.drying.temperature"]["value"], 363.15)
    loading = trace["CR-1"].measurements[0]
    assert math.isclose(loading["value"], 0.2) and math.isclose(loading["uncertainty"], 0.005)
    visc = {m["conditions"]: m for m in trace["SB-1"].measurements}
    assert set(visc) == {"shear_rate=10 1/s", "shear_rate=100 1/s"}
    assert visc["shear_rate=10 1/s"]["method"] == "rheometer"
    assert trace["SB-1"].source == "line.csv"


def test_ingesting_the_same_file_twice_adds_nothing(store, tmp_path):
    path = write(tmp_path / "line.csv", GOOD)
    ingest_file(store, path)
    before = store.stats()
    again = ingest_file(store, path)
    assert (again.new, again.already, again.objects, again.edges) == (0, 6, 0, 0)
    assert store.stats() == before
    # the same rows under another source are other samples
    other = ingest_file(store, path, source="rerun")
    assert other.new == 6


def test_the_bulk_path_writes_the_same_natural_key_as_add_records(store, tmp_path):
    ingest_file(store, write(tmp_path / "line.csv", GOOD))
    t = datetime(2026, 11, 30, 9, 10, tzinfo=UTC)
    row = RecordRow("CR-1", "measurement", "cathode.coating.am_loading", t, value=0.2,
                    source="line.csv")
    assert store.add_records([row]) == 0
    assert store.add_records([RecordRow(**{**row.__dict__, "time": t + timedelta(0, 1)})]) == 1


def test_parquet_reads_like_csv(store, tmp_path):
    df = pd.read_csv(write(tmp_path / "line.csv", GOOD), dtype=str, keep_default_na=False)
    df.to_parquet(tmp_path / "line.parquet")
    res = ingest_file(store, tmp_path / "line.parquet")
    assert (res.rows, res.new) == (6, 6)


def test_a_wide_file_is_read_with_its_map(store, tmp_path):
    ingest_file(store, write(tmp_path / "line.csv", GOOD[:3]))
    wide = tmp_path / "coating.csv"
    wide.write_text("roll,batch,when,gap_um,loading_mg_cm2\n"
                    "CR-7,SB-1,2026-11-30T10:00:00Z,210,21.5\n"
                    "CR-8,SB-1,2026-11-30T11:00:00Z,190,\n")
    res = ingest_file(store, wide, wide_map=EXAMPLES / "coating_wide.map.yaml")
    assert (res.rows, res.new, res.objects, res.edges) == (3, 3, 2, 2)
    eff = store.effective_settings("CR-8")
    assert math.isclose(eff["cathode.coating.gap"]["value"], 190e-6)
    assert eff["cathode.mixing.solid_content"]["object"] == "SB-1"
    assert ingest_file(store, wide, wide_map=EXAMPLES / "coating_wide.map.yaml").new == 0


def test_the_example_map_is_valid():
    m = load_map(EXAMPLES / "coating_wide.map.yaml")
    assert m.object == "roll" and m.kind == "coated_roll" and m.parent == "batch"


@pytest.mark.parametrize("line, reason", [
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,SB-1,cathode.coating.gap,200,kg,setting,,,,,",
     "wrong unit"),
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,SB-1,cathode.coating.gapp,200,um,setting,,,,,",
     "neither a catalogue id"),
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,SB-1,cathode.coating.gap,abc,um,setting,,,,,",
     "not a finite number"),
    ("2099-01-01T00:00:00Z,CR-2,coated_roll,SB-1,cathode.coating.gap,200,um,setting,,,,,",
     "in the future"),
    ("2026-11-30T09:00:00Z,CR-2,coated_rol,SB-1,cathode.coating.gap,200,um,setting,,,,,",
     "did you mean 'coated_roll'"),
    ("2026-11-30T09:00:00Z,SB-1,slurry_batch,CR-1,,,,,,,,,", "genealogy cycle"),
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,CR-2,,,,,,,,,", "genealogy cycle"),
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,SB-9,,,,,,,,,", "neither an object of the file"),
    ("2026-11-30T09:00:00Z,CR-2,coated_roll,,cathode.coating.gap,-5,um,setting,,,,,",
     "outside the valid range"),
    ("yesterday,CR-2,coated_roll,,cathode.coating.gap,5,um,setting,,,,,", "not an ISO 8601"),
    ("2026-11-30T09:00:00Z,CR-1,slurry_batch,,,,,,,,,,", "is a coated_roll on line"),
])
def test_a_bad_row_stores_nothing_and_names_file_and_line(store, tmp_path, line, reason):
    path = write(tmp_path / "bad.csv", [*GOOD, line])
    with pytest.raises(IngestError) as err:
        ingest_file(store, path)
    msg = str(err.value)
    assert msg.startswith(f"bad.csv:{len(GOOD) + 2}: "), msg
    assert reason in msg and "nothing of bad.csv was stored" in msg and "\n" not in msg
    assert store.stats() == {"objects": 0, "edges": 0, "settings": 0, "measurements": 0}


def test_a_bad_file_against_the_store_leaves_the_store_as_it_was(store, tmp_path):
    ingest_file(store, write(tmp_path / "line.csv", GOOD))
    before = store.stats()
    # KR-1 is in the store a child of CR-1; a new file makes CR-1 a child of KR-1
    later = write(tmp_path / "later.csv", [
        "2026-11-30T12:00:00Z,CR-1,coated_roll,KR-1,cathode.coating.gap,201,um,setting,,,,,",
        "2026-11-30T12:00:00Z,CR-9,coated_roll,SB-1,cathode.coating.gap,202,um,setting,,,,,"])
    with pytest.raises(IngestError, match=r"^later\.csv:2: .*genealogy cycle"):
        ingest_file(store, later)
    assert store.stats() == before
    assert "CR-9" not in {e.object_id for e in store.track("SB-1")}
    # an object known as another kind
    clash = write(tmp_path / "clash.csv", [
        "2026-11-30T12:00:00Z,SB-1,coated_roll,,cathode.coating.gap,201,um,setting,,,,,"])
    with pytest.raises(IngestError, match=r"^clash\.csv:2: object 'SB-1' is a slurry_batch"):
        ingest_file(store, clash)
    assert store.stats() == before


def test_many_bad_rows_are_listed_up_to_a_limit(tmp_path):
    bad = ["2026-11-30T09:00:00Z,CR-2,coated_roll,,cathode.coating.gap,x,um,setting,,,,,"] * 30
    with pytest.raises(IngestError) as err:
        prepare(write(tmp_path / "bad.csv", bad))
    msg = str(err.value)
    assert msg.count("bad.csv:") == 20 and "and 10 more bad rows" in msg
    assert "(30 bad rows)" in msg


def test_a_file_that_is_neither_long_nor_mapped_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("roll,gap\nCR-1,200\n")
    with pytest.raises(IngestError, match=r"missing time, object, kind.*--map"):
        prepare(path)
    with pytest.raises(IngestError, match="not a CSV or Parquet"):
        prepare(tmp_path / "x.xlsx")


def test_the_synthetic_table_ingests_whole(store, tmp_path):
    df = synthetic_long_table(3000, seed=3, per_roll=500)
    df.to_csv(tmp_path / "syn.csv", index=False)
    res = ingest_file(store, tmp_path / "syn.csv")
    assert res.new == len(df) - 0 and res.edges == 6
    stats = store.stats()
    assert stats["measurements"] + stats["settings"] == len(df)
    assert store.check() == []


def test_add_edges_without_the_cycle_check_still_refuses_unknown_and_self(store):
    from twinline.twin.errors import StoreError
    from twinline.twin.store import EdgeRow, ObjectRow

    store.add_objects([ObjectRow("SB-1", "slurry_batch"), ObjectRow("CR-1", "coated_roll"),
                       ObjectRow("CR-2", "coated_roll")])
    edges = [EdgeRow("SB-1", "CR-1", 1.0, "kg"), EdgeRow("SB-1", "CR-2")]
    assert store.add_edges(edges, check_cycles=False) == 2
    assert store.add_edges(edges, check_cycles=False) == 0
    with pytest.raises(StoreError, match="'CR-9' is not in the store"):
        store.add_edges([EdgeRow("SB-1", "CR-9")], check_cycles=False)
    with pytest.raises(StoreError, match="its own parent"):
        store.add_edges([EdgeRow("CR-1", "CR-1")], check_cycles=False)
    assert store.stats()["edges"] == 2


def test_typed_parquet_and_a_kind_column_map(store, tmp_path):
    df = pd.DataFrame({
        "id": ["SB-5", "CR-5"], "what": ["slurry_batch", "coated_roll"], "up": ["", "SB-5"],
        "at": pd.to_datetime(["2026-11-30T08:00:00Z", "2026-11-30T09:00:00Z"], utc=True),
        "gap": [None, 205.0], "visc": [4.2, None]})
    df.to_parquet(tmp_path / "wide.parquet")
    (tmp_path / "m.yaml").write_text(
        "object: id\nkind_column: what\nparent: up\ntime: at\ncolumns:\n"
        "  gap: {parameter: cathode.coating.gap, unit: um, role: setting}\n"
        "  visc: {parameter: cathode.mixing.viscosity, unit: mPa*s, conditions: "
        "'shear_rate=10 1/s'}\n")
    res = ingest_file(store, tmp_path / "wide.parquet", wide_map=tmp_path / "m.yaml")
    assert (res.rows, res.new, res.objects, res.edges) == (2, 2, 2, 1)
    trace = {e.object_id: e for e in store.trace("CR-5")}
    assert math.isclose(trace["SB-5"].measurements[0]["value"], 4.2e-3)
    assert trace["SB-5"].measurements[0]["conditions"] == "shear_rate=10 1/s"
    assert trace["CR-5"].created == datetime(2026, 11, 30, 9, tzinfo=UTC)
