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

from twinline.twin.live import watermark
from twinline.twin.store import Store

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "nmc111_cathode.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYBAMM_OPTOUT_TELEMETRY="true",
               OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", "from twinline.cli import main; main()",
                             *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


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
    newest = {"a": t0 + timedelta(seconds=5), "b": t0 + timedelta(seconds=3),
              "quiet": t0 - timedelta(seconds=60)}          # a tag that stopped changing
    assert watermark(newest, stale=10.0) == t0 + timedelta(seconds=3)
    assert watermark(newest, stale=100.0) == t0 - timedelta(seconds=60)
    assert watermark({}) is None
    # a tag of the map that has stored nothing yet holds everything back, until it is stale
    assert watermark(newest, 100.0, expected=["a", "late"], earliest=t0) < t0
    assert watermark({"a": t0 + timedelta(seconds=20)}, 10.0, expected=["late"],
                     earliest=t0) == t0 + timedelta(seconds=20)


@pytest.mark.slow
def test_live_over_opcua_equals_replay_of_the_record(tmp_path):
    """The acceptance test of issue 15 items 5/6: identical numbers (tolerance 1e-12
    relative: the same floating-point operations in the same order)."""
    port = free_port()
    rec, tags = tmp_path / "rec.csv", tmp_path / "tags.yaml"
    live_db, replay_db = tmp_path / "live.db", tmp_path / "replay.db"
    sim = _cli("line", "simulate", "--recipe", str(RECIPE), "--port", str(port),
               "--rate", "2Hz", "--roll-every", "2s", "--duration", "8s", "--seed", "7",
               "--record", str(rec), "--write-map", str(tags), "--linger", "8s",
               "--defect", "gap-step@5s")
    deadline = time.monotonic() + 60
    while not rec.exists() or rec.stat().st_size < 200:   # serving
        assert time.monotonic() < deadline and sim.poll() is None, sim.stderr.read()
        time.sleep(0.1)
    run = _cli("twin", "run", "--from", f"opc.tcp://127.0.0.1:{port}", "--map", str(tags),
               "--db", str(live_db), "--recipe", str(RECIPE), "--duration", "10s", "--json")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    stats = json.loads(out)
    sim.wait(timeout=60)
    assert stats["ingest"]["stored"] > 0 and stats["measurements"] > 0
    rep = _cli("twin", "replay", str(rec), "--recipe", str(RECIPE), "--db", str(replay_db),
               "--quiet")
    _, err = rep.communicate(timeout=300)
    assert rep.returncode == 0, err
    live, replayed = twin_state(live_db), twin_state(replay_db)
    assert live["residuals"].keys() == replayed["residuals"].keys()
    assert len(live["residuals"]) == stats["measurements"]
    for key, (r, z) in live["residuals"].items():
        r2, z2 = replayed["residuals"][key]
        assert r == pytest.approx(r2, rel=1e-12, abs=1e-300), key
        assert z == pytest.approx(z2, rel=1e-12, abs=1e-300), key
    assert len(live["calibrations"]) == len(replayed["calibrations"])
    for (_, m1), (_, m2) in zip(live["calibrations"], replayed["calibrations"], strict=True):
        assert m1 == pytest.approx(m2, rel=1e-12, abs=1e-300)
