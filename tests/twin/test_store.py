"""The store on SQLite and PostgreSQL (the same tests, parametrised over ``store_url``):
idempotent writes, genealogy with converging and diverging flows, lineage by recursive SQL,
effective settings, integrity checks, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from twinline.twin.errors import StoreError
from twinline.twin.store import EdgeRow, ObjectRow, RecordRow, Store
from twinline.twin.store.store import head_revision

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def _line(store: Store) -> None:
    """A slurry batch feeding two coated rolls; roll 1 → calendered roll → two coils; a cell
    takes a cathode coil and an anode coil (converging)."""
    store.add_objects([
        ObjectRow("SB-1", "slurry_batch"), ObjectRow("SB-A", "slurry_batch"),
        ObjectRow("CR-1", "coated_roll"), ObjectRow("CR-2", "coated_roll"),
        ObjectRow("CR-A", "coated_roll"), ObjectRow("KR-1", "calendered_roll"),
        ObjectRow("SC-1", "slit_coil"), ObjectRow("SC-2", "slit_coil"),
        ObjectRow("SC-A", "slit_coil"), ObjectRow("CELL-1", "cell"),
    ])
    store.add_edges([
        EdgeRow("SB-1", "CR-1", 12.0, "kg"), EdgeRow("SB-1", "CR-2", 10.0, "kg"),
        EdgeRow("SB-A", "CR-A"), EdgeRow("CR-1", "KR-1"), EdgeRow("KR-1", "SC-1"),
        EdgeRow("KR-1", "SC-2"), EdgeRow("CR-A", "SC-A"),
        EdgeRow("SC-1", "CELL-1"), EdgeRow("SC-A", "CELL-1"),
    ])
    store.add_records([
        RecordRow("SB-1", "setting", "cathode.mixing.solid_content", T0, value=0.68),
        RecordRow("SB-1", "measurement", "cathode.mixing.viscosity", T0, value=4.1,
                  unit="Pa*s", conditions="shear_rate=10 1/s", method="rheometer"),
        RecordRow("SB-1", "measurement", "cathode.mixing.viscosity", T0, value=2.2,
                  unit="Pa*s", conditions="shear_rate=100 1/s", method="rheometer"),
        RecordRow("CR-1", "setting", "cathode.coating.gap", T0, value=2.0e-4, unit="um"),
        RecordRow("KR-1", "setting", "cathode.coating.gap", T0, value=2.1e-4, unit="um"),
        RecordRow("KR-1", "measurement", "cathode.calendering.porosity", T0, value=0.31,
                  uncertainty=0.01),
    ])


def test_a_new_database_is_created_at_the_newest_schema(store):
    with store.engine.connect() as conn:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert rev == head_revision()
    assert store.stats() == {"objects": 0, "edges": 0, "settings": 0, "measurements": 0}


def test_writes_are_idempotent_and_counted(store):
    _line(store)
    before = store.stats()
    assert before == {"objects": 10, "edges": 9, "settings": 3, "measurements": 3}
    _line(store)  # the same again: nothing added
    assert store.stats() == before
    # a different time or condition is a new sample
    added = store.add_records([RecordRow("SB-1", "measurement", "cathode.mixing.viscosity",
                                         T0 + timedelta(seconds=1), value=4.0,
                                         conditions="shear_rate=10 1/s")])
    assert added == 1 and store.stats()["measurements"] == 4


def test_trace_walks_up_converging_flows_with_depths_and_records(store):
    _line(store)
    trace = {e.object_id: e for e in store.trace("CELL-1")}
    assert set(trace) == {"CELL-1", "SC-1", "SC-A", "KR-1", "CR-1", "CR-A", "SB-1", "SB-A"}
    assert trace["CELL-1"].depth == 0 and trace["SB-1"].depth == 4 and trace["SB-A"].depth == 3
    assert sorted(trace["CELL-1"].parents) == ["SC-1", "SC-A"]
    visc = trace["SB-1"].measurements
    assert {m["conditions"] for m in visc} == {"shear_rate=10 1/s", "shear_rate=100 1/s"}
    assert "CR-2" not in trace  # a sibling roll is not an ancestor


def test_track_walks_down_diverging_flows(store):
    _line(store)
    track = {e.object_id: e.depth for e in store.track("SB-1")}
    assert track == {"SB-1": 0, "CR-1": 1, "CR-2": 1, "KR-1": 2, "SC-1": 3, "SC-2": 3,
                     "CELL-1": 4}


def test_effective_settings_own_over_ancestors_over_base(store):
    _line(store)
    eff = store.effective_settings("SC-1", base={"cathode.coating.gap": 1.5e-4,
                                                 "cathode.coating.speed": 0.01})
    assert eff["cathode.coating.gap"]["value"] == pytest.approx(2.1e-4)  # KR-1 is nearer
    assert eff["cathode.coating.gap"]["object"] == "KR-1"
    assert eff["cathode.mixing.solid_content"]["object"] == "SB-1"
    assert eff["cathode.coating.speed"] == {"value": 0.01, "text": None, "unit": "",
                                            "object": None, "depth": -1}


def test_a_genealogy_cycle_is_refused_and_nothing_is_written(store):
    _line(store)
    with pytest.raises(StoreError, match="cycle"):
        store.add_edges([EdgeRow("CELL-1", "SB-1")])
    with pytest.raises(StoreError, match="its own parent"):
        store.add_edges([EdgeRow("KR-1", "KR-1")])
    assert store.stats()["edges"] == 9
    assert store.check() == []


def test_an_object_keeps_its_kind(store):
    store.add_objects([ObjectRow("R", "coated_roll")])
    with pytest.raises(StoreError, match="is a coated_roll in the store"):
        store.add_objects([ObjectRow("R", "dried_roll")])
    with pytest.raises(StoreError, match="unknown; choose from"):
        store.add_objects([ObjectRow("X", "roll")])


def test_check_finds_orphans(store):
    _line(store)
    store.add_objects([ObjectRow("LONELY", "material_lot")])
    problems = store.check()
    assert len(problems) == 1 and "LONELY" in problems[0]


def test_an_older_schema_is_refused_with_the_upgrade_command(store_url):
    with Store.open(store_url) as s:
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(StoreError, match="twinline db upgrade"):
        Store.open(store_url)


def test_a_foreign_database_is_not_taken_for_a_twinline_one(store_url):
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE other (x INTEGER)"))
    engine.dispose()
    with pytest.raises(StoreError, match="not a twinline database"):
        Store.open(store_url)


def test_the_migrations_build_exactly_the_schema_of_the_code(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from twinline.twin.store.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_the_live_twin_position_is_kept_and_never_moves_back(store):
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert store.twin_cursor("a") is None
    store.set_twin_cursor("a", t0)
    store.set_twin_cursor("a", t0 - timedelta(seconds=5))      # never backwards
    store.set_twin_cursor("b", t0 + timedelta(seconds=1))
    assert store.twin_cursor("a") == t0
    assert store.twin_cursor("b") == t0 + timedelta(seconds=1)
    store.set_twin_cursor("a", t0 + timedelta(microseconds=500))
    assert store.twin_cursor("a") == t0 + timedelta(microseconds=500)
