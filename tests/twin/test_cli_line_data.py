"""The line's data verbs: db upgrade/stats/check, trace, track, ingest (exit codes, JSON,
one-line errors, nothing half-written, kill -9 in the middle of an ingest)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from twinline.cli import app
from twinline.twin.ingest.files import LONG_COLUMNS, synthetic_long_table
from twinline.twin.store import Store

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"
HEADER = ",".join(LONG_COLUMNS)
LINE = [
    "2026-11-30T08:00:00Z,SB-1,slurry_batch,,cathode.mixing.solid_content,68,%,setting,",
    "2026-11-30T08:00:00Z,SB-1,slurry_batch,,cathode.mixing.viscosity,4.1,Pa*s,measurement,"
    "shear_rate=10 1/s",
    "2026-11-30T09:00:00Z,CR-1,coated_roll,SB-1,cathode.coating.gap,200,um,setting,",
    "2026-11-30T09:00:00Z,CR-2,coated_roll,SB-1,cathode.coating.gap,210,um,setting,",
    "2026-11-30T10:00:00Z,KR-1,calendered_roll,CR-1,cathode.calendering.porosity,31,%,"
    "measurement,",
]


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error:"), err
    assert "\n" not in err, err
    assert "Traceback" not in result.output
    return err


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


@pytest.fixture
def db(store_url, tmp_path):
    r = invoke("ingest", write(tmp_path / "line.csv", LINE), "--db", store_url)
    assert r.exit_code == 0, r.output
    return store_url


def test_db_upgrade_creates_a_database_on_an_empty_path(tmp_path):
    path = tmp_path / "new.db"
    r = invoke("db", "upgrade", "--db", path)
    assert r.exit_code == 0 and "(new database) -> " in r.stdout and path.exists()
    r = invoke("db", "upgrade", "--db", path)
    assert r.exit_code == 0 and "already at schema revision" in r.stdout
    r = invoke("db", "stats", "--db", path, "--json")
    assert json.loads(r.stdout) == {"objects": 0, "edges": 0, "settings": 0, "measurements": 0}
    err = one_line_error(invoke("db", "upgrade", "--db", tmp_path / "no" / "such.db"))
    assert "does not exist" in err


def test_ingest_prints_new_and_already_stored_counts(db, tmp_path):
    r = invoke("ingest", tmp_path / "line.csv", "--db", db)
    assert r.exit_code == 0 and "line.csv: 0 new, 5 already stored" in r.stdout
    r = invoke("db", "stats", "--db", db, "--json")
    stats = json.loads(r.stdout)
    assert {"objects", "settings", "measurements", "edges"} <= set(stats)
    assert stats == {"objects": 4, "edges": 3, "settings": 3, "measurements": 2}
    r = invoke("ingest", tmp_path / "line.csv", "--db", db, "--source", "again", "--json")
    assert json.loads(r.stdout)["new"] == 5


def test_db_check_healthy_and_broken(db, tmp_path):
    r = invoke("db", "check", "--db", db)
    assert r.exit_code == 0 and "healthy" in r.stdout
    with Store.open(db) as store, store.engine.begin() as conn:
        conn.execute(text("INSERT INTO objects (object_id, kind, created, source) VALUES "
                          "('LOT-9', 'material_lot', '2026-11-30 08:00:00', 'hand')"))
    r = invoke("db", "check", "--db", db)
    assert r.exit_code == 1
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and "orphan objects" in lines[0] and "LOT-9" in lines[0]


def test_trace_and_track_json_on_a_small_genealogy(db):
    r = invoke("trace", "KR-1", "--db", db, "--json")
    assert r.exit_code == 0
    entries = json.loads(r.stdout)
    assert [(e["object"], e["kind"], e["depth"]) for e in entries] == [
        ("KR-1", "calendered_roll", 0), ("CR-1", "coated_roll", 1), ("SB-1", "slurry_batch", 2)]
    assert entries[2]["measurements"][0]["conditions"] == "shear_rate=10 1/s"
    r = invoke("track", "SB-1", "--db", db, "--json")
    assert [e["object"] for e in json.loads(r.stdout)] == ["SB-1", "CR-1", "CR-2", "KR-1"]
    r = invoke("trace", "KR-1", "--db", db)
    assert r.exit_code == 0
    assert "SB-1" in r.stdout and "68 %" in r.stdout and "[shear_rate=10 1/s]" in r.stdout
    err = one_line_error(invoke("trace", "NOPE", "--db", db))
    assert "'NOPE' is not in the store" in err


def test_verbs_on_a_missing_database_say_so(tmp_path):
    for verb in (["db", "stats"], ["db", "check"], ["trace", "X"], ["track", "X"]):
        err = one_line_error(invoke(*verb, "--db", tmp_path / "none.db"))
        assert "no such database" in err
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("row, reason", [
    ("2026-11-30T11:00:00Z,CR-3,coated_roll,SB-1,cathode.coating.gap,200,kg,setting,",
     "wrong unit"),
    ("2026-11-30T11:00:00Z,CR-3,coated_roll,SB-1,cathode.coating.gop,200,um,setting,",
     "did you mean 'cathode.coating.gap'"),
    ("2026-11-30T11:00:00Z,CR-3,coated_roll,SB-1,cathode.coating.gap,2o0,um,setting,",
     "not a finite number"),
    ("2099-11-30T11:00:00Z,CR-3,coated_roll,SB-1,cathode.coating.gap,200,um,setting,",
     "in the future"),
    ("2026-11-30T11:00:00Z,CR-3,rolled_coat,SB-1,cathode.coating.gap,200,um,setting,",
     "object kind 'rolled_coat' is unknown"),
    ("2026-11-30T11:00:00Z,SB-1,slurry_batch,KR-1,,,,,", "genealogy cycle"),
])
def test_bad_input_exits_2_with_file_and_line_and_stores_nothing(db, tmp_path, row, reason):
    before = invoke("db", "stats", "--db", db, "--json").stdout
    good = "2026-11-30T11:00:00Z,CR-4,coated_roll,SB-1,cathode.coating.gap,200,um,setting,"
    path = write(tmp_path / "bad.csv", [good, row])
    err = one_line_error(invoke("ingest", path, "--db", db))
    assert err.startswith("error: bad.csv:3: ") and reason in err, err
    assert invoke("db", "stats", "--db", db, "--json").stdout == before


def test_a_bad_file_does_not_create_a_database(tmp_path):
    path = write(tmp_path / "bad.csv", ["2026-11-30T11:00:00Z,X,coated_roll,,p.q,1,um,setting,"])
    one_line_error(invoke("ingest", path, "--db", tmp_path / "new.db"))
    assert not (tmp_path / "new.db").exists()
    err = one_line_error(invoke("ingest", tmp_path / "none.csv", "--db", tmp_path / "new.db"))
    assert "none.csv: no such file" in err


def test_every_verb_has_an_example_in_its_help():
    for verb in (["db", "upgrade"], ["db", "stats"], ["db", "check"], ["trace"], ["track"],
                 ["ingest"]):
        r = invoke(*verb, "--help")
        assert r.exit_code == 0 and "Example: twinline" in r.stdout, verb
    assert "exit 1" in invoke("db", "check", "--help").stdout.lower()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from twinline.cli import main; main()", *args]


@pytest.mark.slow
def test_kill_9_during_ingest_then_rerun_stores_exactly_the_file(tmp_path):
    """kill -9 ``twinline ingest`` of a 200k-row file at seeded random moments (10 rounds),
    then ingest to completion: exactly the file's natural keys are stored, check is clean."""
    df = synthetic_long_table(200_000, seed=14)
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    n_keys = len(df.drop_duplicates(["object", "parameter", "time", "conditions"]))
    db = tmp_path / "line.db"
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYBAMM_OPTOUT_TELEMETRY": "true"}
    rng = random.Random(14)
    deadline = time.monotonic() + 240
    killed = 0
    for _ in range(10):
        if time.monotonic() > deadline:
            break
        proc = subprocess.Popen(_cli("ingest", str(path), "--db", str(db)), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.5, 6.0))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed += 1
        if db.exists():  # after each kill the store holds the whole file or nothing of it
            with Store.open(db) as store:
                s = store.stats()
            assert s["settings"] + s["measurements"] in (0, n_keys)
    assert killed >= 3
    done = subprocess.run(_cli("ingest", str(path), "--db", str(db)), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Store.open(db) as store:
        s = store.stats()
        assert s["settings"] + s["measurements"] == n_keys
        assert store.check() == []
    chk = subprocess.run(_cli("db", "check", "--db", str(db)), env=env, capture_output=True,
                         text=True, timeout=60)
    assert chk.returncode == 0, chk.stdout
