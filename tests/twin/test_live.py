"""The live twin (``twinline twin run``): the simulated line processed live over OPC UA gives
the same predictions, residuals and calibration as ``twinline twin replay`` of its record;
following a store that another process fills resumes after its position without
processing anything twice; the watermark; one-line errors. Servers on 127.0.0.1, free ports,
every run bounded by --duration."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from twinline.twin.live import watermark
from twinline.twin.store import Store
from twinline.twin.store.schema import residuals

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "nmc111_cathode.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT / "src"),
        PYBAMM_OPTOUT_TELEMETRY="true",
        OMP_NUM_THREADS="1",
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from twinline.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def twin_state(db: Path) -> dict:
    """Per measurement (object, parameter, time, conditions): the prediction it was judged
    against (mean, std), its residual and z; the calibration versions' means, in order."""
    with Store.open(db) as store:
        out = {}
        params = {m["parameter"] for m in store.measurements()}
        for par in params:
            for s in store.residual_series(par):
                out[(s["object"], par, s["time"], s["conditions"])] = (s["residual"], s["z"])
        cals = [store.calibration_state(v["version"]) for v in store.calibrations()]
    return {"residuals": out, "calibrations": [(c["id"], c["mean"]) for c in cals]}


def test_watermark_waits_for_the_slowest_live_series():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    newest = {
        "a": t0 + timedelta(seconds=5),
        "b": t0 + timedelta(seconds=3),
        "quiet": t0 - timedelta(seconds=60),
    }  # a tag that stopped changing
    assert watermark(newest, stale=10.0) == t0 + timedelta(seconds=3)
    assert watermark(newest, stale=100.0) == t0 - timedelta(seconds=60)
    assert watermark({}) is None
    # a tag of the map that has stored nothing yet holds everything back, until it is stale
    assert watermark(newest, 100.0, expected=["a", "late"], earliest=t0) < t0
    assert watermark(
        {"a": t0 + timedelta(seconds=20)}, 10.0, expected=["late"], earliest=t0
    ) == t0 + timedelta(seconds=20)


@pytest.mark.slow
def test_live_over_opcua_equals_replay_of_the_record(tmp_path):
    """The acceptance test of issue 15 items 5/6: the same steps in the same order with the
    same settings give identical numbers — the calibration versions' content-hash ids are
    equal (measured: 0 difference in 170 residuals and 70 versions; tolerance 1e-12 on the
    values). The replay keeps as many group offsets as twin run does (--groups-kept 8)."""
    port = free_port()
    rec, tags = tmp_path / "rec.csv", tmp_path / "tags.yaml"
    live_db, replay_db = tmp_path / "live.db", tmp_path / "replay.db"
    sim = _cli(
        "line",
        "simulate",
        "--recipe",
        str(RECIPE),
        "--port",
        str(port),
        "--rate",
        "2Hz",
        "--roll-every",
        "2s",
        "--duration",
        "8s",
        "--seed",
        "7",
        "--record",
        str(rec),
        "--write-map",
        str(tags),
        "--linger",
        "8s",
        "--defect",
        "gap-step@5s",
    )
    deadline = time.monotonic() + 60
    while not rec.exists() or rec.stat().st_size < 200:  # serving
        assert time.monotonic() < deadline and sim.poll() is None, sim.stderr.read()
        time.sleep(0.1)
    run = _cli(
        "twin",
        "run",
        "--from",
        f"opc.tcp://127.0.0.1:{port}",
        "--map",
        str(tags),
        "--db",
        str(live_db),
        "--recipe",
        str(RECIPE),
        "--duration",
        "10s",
        "--json",
    )
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    stats = json.loads(out)
    sim.wait(timeout=60)
    assert stats["ingest"]["stored"] > 0 and stats["measurements"] > 0
    rep = _cli(
        "twin",
        "replay",
        str(rec),
        "--recipe",
        str(RECIPE),
        "--db",
        str(replay_db),
        "--quiet",
        "--groups-kept",
        "8",
    )  # as twin run keeps them
    _, err = rep.communicate(timeout=300)
    assert rep.returncode == 0, err
    live, replayed = twin_state(live_db), twin_state(replay_db)
    assert live["residuals"].keys() == replayed["residuals"].keys()
    assert len(live["residuals"]) == stats["measurements"]
    for key, (r, z) in live["residuals"].items():
        r2, z2 = replayed["residuals"][key]
        assert r == pytest.approx(r2, rel=1e-12, abs=1e-300), key
        assert z == pytest.approx(z2, rel=1e-12, abs=1e-300), key
    assert [v for v, _ in live["calibrations"]] == [v for v, _ in replayed["calibrations"]]
    for (_, m1), (_, m2) in zip(live["calibrations"], replayed["calibrations"], strict=True):
        assert m1 == pytest.approx(m2, rel=1e-12, abs=1e-300)


def _split_record(rec: Path, first: Path, second: Path, cut: int) -> None:
    """The record's first ``cut`` ticks and the rest (same header)."""
    lines = rec.read_text().splitlines()
    times = sorted({ln.split(",", 1)[0] for ln in lines[1:]})
    early = set(times[:cut])
    first.write_text(
        "\n".join([lines[0]] + [x for x in lines[1:] if x.split(",", 1)[0] in early]) + "\n"
    )
    second.write_text(
        "\n".join([lines[0]] + [x for x in lines[1:] if x.split(",", 1)[0] not in early]) + "\n"
    )


@pytest.mark.slow
def test_following_a_store_resumes_after_its_position_without_double_processing(tmp_path):
    """A store filled in two parts (ingest, twin run --db, ingest, twin run --db again)
    ends exactly where one uninterrupted run on the whole record does; every measurement
    has one residual."""
    from typer.testing import CliRunner

    from twinline.cli import app
    from twinline.spec.recipe import load_recipe
    from twinline.twin.ingest.files import ingest_file
    from twinline.twin.line.simulate import PilotLine, generate_record
    from twinline.twin.live import LiveTwin

    base = load_recipe(RECIPE)
    line = PilotLine.from_recipe(base, rate=1.0, roll_every=2.0, seed=5, stamp="F")
    rec = tmp_path / "rec.csv"
    generate_record(line, rec, duration=5.0)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    _split_record(rec, first, second, 3)
    db = tmp_path / "line.db"
    runner = CliRunner()
    with Store.open(db) as store:
        ingest_file(store, first)
    args = ["twin", "run", "--db", str(db), "--recipe", str(RECIPE), "--duration", "1s", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    done = json.loads(r.output)
    # the last time of the part is the watermark itself: processed; nothing after it yet
    assert done["times"] == 3 and done["measurements"] > 0
    r = runner.invoke(app, args)  # nothing new: nothing done
    assert r.exit_code == 0 and json.loads(r.output)["steps"] == 0
    with Store.open(db) as store:
        ingest_file(store, second)
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    again = json.loads(r.output)
    assert again["times"] == 3  # the three new ticks, none of the old
    with Store.open(db) as store:
        live = LiveTwin(store, base)
        live.process()  # everything stored: nothing left
        assert live.stats.times == 0
        with store.engine.connect() as conn:
            counts = (
                conn.execute(
                    select(func.count()).select_from(residuals).group_by(residuals.c.record_pk)
                )
                .scalars()
                .all()
            )
        assert counts and set(counts) == {1}
        assert len(counts) == len(store.measurements())
    whole = tmp_path / "whole.db"
    with Store.open(whole) as store:
        ingest_file(store, rec)
        LiveTwin(store, base).process()
    a, b = twin_state(db), twin_state(whole)
    assert a["residuals"].keys() == b["residuals"].keys()
    for key, value in a["residuals"].items():
        assert value == pytest.approx(b["residuals"][key], rel=1e-12), key
    for (_, m1), (_, m2) in zip(a["calibrations"], b["calibrations"], strict=True):
        assert m1 == pytest.approx(m2, rel=1e-12, abs=1e-300)


def test_twin_run_errors_are_one_line_exit_2(tmp_path):
    from typer.testing import CliRunner

    from twinline.cli import app

    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "twin",
            "run",
            "--from",
            "opc.tcp://127.0.0.1:1",
            "--recipe",
            str(RECIPE),
            "--db",
            str(tmp_path / "x.db"),
        ],
    )
    assert r.exit_code == 2 and "--from needs --map" in r.output
    r = runner.invoke(
        app,
        [
            "twin",
            "run",
            "--recipe",
            str(RECIPE),
            "--db",
            str(tmp_path / "missing.db"),
            "--duration",
            "1s",
        ],
    )
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    r = runner.invoke(app, ["twin", "run", "--recipe", str(RECIPE), "--duration", "-3 s"])
    assert r.exit_code == 2 and "Traceback" not in r.output


@pytest.mark.slow
def test_alarm_benchmark_small_slurry_change_is_found_at_once(tmp_path):
    """benchmarks/bench_twin_alarms.py, small: the simulated line through the live loop, a
    slurry change after the policy's phase I (20 objects) raises one alarm within 3
    objects and none before it (the full benchmark: 1000 defect-free objects, see
    benchmarks/README.md)."""
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT / "src"),
        PYBAMM_OPTOUT_TELEMETRY="true",
        OMP_NUM_THREADS="1",
    )
    p = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_twin_alarms.py"),
            "--objects",
            "0",
            "--defects",
            "slurry-change",
            "--defect-at",
            "22",
            "--after",
            "3",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    run = doc["runs"][0]
    assert run["defect"] == "slurry-change" and run["false_alarms"] == 0
    assert 1 <= run["detection_delay_objects"] <= 3, run
