"""Regressions found by ``benchmarks/bench_line_faults.py`` (kill -9 of the ingesters):
a kill while the store creates a new SQLite database must leave one that opens; an OPC UA
ingester restarted after a kill must store its HistoryRead backlog fast enough to keep its
session (values are converted with pint once per unit, not once per value)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twinline.twin.store import Store
from twinline.twin.store.store import _current_revision, head_revision

SRC = Path(__file__).resolve().parents[2] / "src"

# Store.open on a new file, the process dying (os._exit: no cleanup, like SIGKILL) just
# before its N-th CREATE/INSERT statement reaches SQLite.
_DIE_AT = textwrap.dedent("""
    import os, sys
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    n, seen = int(sys.argv[2]), [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _die(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("CREATE", "INSERT")):
            seen[0] += 1
            if seen[0] == n:
                os._exit(9)

    from twinline.twin.store import Store
    Store.open(sys.argv[1]).close()
""")


@pytest.mark.parametrize("die_at", [2, 5])
def test_a_kill_during_the_first_migration_leaves_a_database_that_opens(tmp_path, die_at):
    """Before the fix each CREATE TABLE committed on its own: killed after a few tables, the
    file held tables without a schema version, and every later open said "not a twinline
    database". Now the half-made migration is rolled back and the next open creates it."""
    db = tmp_path / "line.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-c", _DIE_AT, str(db), str(die_at)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 9, r.stderr  # it died mid-migration
    with Store.open(db) as store:
        with store.engine.connect() as conn:
            assert _current_revision(conn) == head_revision()
        assert store.stats() == {"objects": 0, "edges": 0, "settings": 0, "measurements": 0}
        assert store.check() == []


def test_values_are_converted_with_pint_once_per_unit_not_per_value(monkeypatch):
    """A restarted OPC UA ingester converts its whole backlog in one flush; at ~1 ms of pint
    per value a 20 000-sample backlog blocked its event loop for 20 s, the server dropped the
    session and the rest of the line's samples were lost. Same SI values, same errors."""
    import twinline.spec.units as units
    from twinline.twin.errors import IngestError
    from twinline.twin.ingest import parameters
    from twinline.twin.ingest.parameters import to_si

    parameters.resolve("cathode.coating.am_loading")  # the catalogue loads with pint too
    parameters._linear.cache_clear()
    calls = []
    real = units.parse_quantity
    monkeypatch.setattr(units, "parse_quantity", lambda *a, **k: calls.append(a) or real(*a, **k))
    values = [to_si("cathode.coating.am_loading", 20.0 + i * 1e-3, "mg/cm^2")[0]
              for i in range(1000)]
    assert len(calls) <= 3
    assert values[0] == real("20.0 mg/cm^2", "kg/m^2") == 0.2
    assert all(abs(v - real(f"{20.0 + i * 1e-3!r} mg/cm^2", "kg/m^2")) <= 1e-15
               for i, v in enumerate(values))
    assert to_si("cathode.drying.temperature", 80, "degC")[0] == pytest.approx(353.15)
    for value, unit, message in ((200, "kg", "wrong unit"), (200, "", "has no unit"),
                                 ("x", "um", "not a number"), (1e9, "um", "outside the valid")):
        with pytest.raises(IngestError, match=message):
            to_si("cathode.coating.gap", value, unit)


def _ingester(db: Path):
    from twinline.twin.ingest.opcua import MachineMap, OpcUaIngester, TagMap, TagSpec

    machines = {"Mixer": MachineMap("Mixer", "slurry_batch", "Mixer.id"),
                "Coater": MachineMap("Coater", "coated_roll", "Coater.id", "Mixer"),
                "Dryer": MachineMap("Dryer", "dried_roll", "Dryer.id", "Coater")}
    tags = [TagSpec("Coater.gap", "Coater", "cathode.coating.gap", "um", "setting"),
            TagSpec("Dryer.temperature", "Dryer", "cathode.drying.temperature", "degC",
                    "setting")]
    store = Store.open(db)
    return OpcUaIngester("opc.tcp://127.0.0.1:1", TagMap("urn:t", machines, tags), store), store


def test_a_tag_is_stored_gap_free_up_to_its_history_read(tmp_path):
    """Live changes newer than the tag's last HistoryRead wait: storing them first made the
    tag's resume point (its newest stored time) jump over history never read — after a
    dropped session or a kill, 34 of 74 tags lost everything before their last live change."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    at = [t0 + timedelta(seconds=0.1 * k) for k in range(10)]
    ing, store = _ingester(tmp_path / "line.db")
    with store:
        for node, oid in (("Mixer.id", "SB-1"), ("Coater.id", "CR-1"), ("Dryer.id", "DR-1")):
            ing._receive(node, oid, t0, history=True)
        for k in range(5, 10):  # the subscription delivers the newest changes first
            ing._receive("Coater.gap", 200.0 + k, at[k])
        assert ing.flush(everything=True) == 0  # no history read yet: nothing stored
        assert store.last_record_times(ing.source) == {}
        for k in range(10):  # the backfill then reads the whole history of the tag
            ing._receive("Coater.gap", 200.0 + k, at[k], history=True)
        ing._complete[0] = at[9]
        assert ing.flush(everything=True) == 10
    # a second ingester (a restart) resumes from the newest stored time, and nothing is lost
    with Store.open(tmp_path / "line.db") as store2:
        last = store2.last_record_times(ing.source)
        assert last == {("coated_roll", "cathode.coating.gap", ""): at[9]}
        assert store2.stats()["settings"] == 10


def test_a_parent_stored_before_its_own_tags_keeps_its_upstream_edge(tmp_path):
    """The dryer's tag stored before the coater's: the coated roll is stored as the dried
    roll's parent, and now with its own edge from the slurry batch (it was left without)."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    ing, store = _ingester(tmp_path / "line.db")
    with store:
        for node, oid in (("Mixer.id", "SB-1"), ("Coater.id", "CR-1"), ("Dryer.id", "DR-1")):
            ing._receive(node, oid, t0, history=True)
        ing._receive("Dryer.temperature", 80.0, t0 + timedelta(seconds=1), history=True)
        ing._complete[1] = t0 + timedelta(seconds=1)
        assert ing.flush(everything=True) == 1
        assert [(e.object_id, e.depth) for e in store.trace("DR-1")] == [
            ("DR-1", 0), ("CR-1", 1), ("SB-1", 2)]
        assert store.check() == []
