"""The simulated OPC UA pilot line and the OPC UA ingester (servers on 127.0.0.1, free ports,
every test bounded in time): the address space follows the tag map and rolls ids; the
ingester stores exactly what was published; a kill -9 and restart loses nothing and stores
nothing twice (HistoryRead backfill)."""

from __future__ import annotations

import asyncio
import csv
import math
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from twinline.twin.ingest.opcua import OpcUaIngester, load_tag_map
from twinline.twin.ingest.parameters import to_si
from twinline.twin.line.simulate import NAMESPACE, PilotLine, serve
from twinline.twin.store import Store
from twinline.twin.store.schema import objects, records

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "nmc111_cathode.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def line() -> PilotLine:
    from twinline.spec.recipe import load_recipe

    return PilotLine.from_recipe(load_recipe(RECIPE), rate=10, roll_every=1.0, stamp="T")


def read_record(path: Path) -> dict[tuple, tuple]:
    """rec.csv → {(object, parameter, time, conditions): (SI value, kind, parent, role)}."""
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["object"], row["parameter"], datetime.fromisoformat(row["time"]),
                   row["conditions"])
            assert key not in out, f"the record repeats {key}"
            si, _ = to_si(row["parameter"], row["value"], row["unit"])
            out[key] = (si, row["kind"], row["parent"], row["role"])
    return out


def read_store(url: str) -> tuple[dict[tuple, tuple], int, Store]:
    from twinline.twin.store.rows import utc

    store = Store.open(url)
    with store.engine.connect() as conn:
        rows = conn.execute(select(objects.c.object_id, records.c.parameter, records.c.time,
                                   records.c.conditions, records.c.value, objects.c.kind,
                                   records.c.role)
                            .join(objects, objects.c.pk == records.c.object_pk)).all()
    out = {(o, p, utc(t), c): (v, k, r) for o, p, t, c, v, k, r in rows}
    return out, len(rows), store


def assert_same(rec: dict, stored: dict, n_rows: int, store: Store) -> None:
    assert set(rec) - set(stored) == set(), sorted(set(rec) - set(stored))[:3]
    assert set(stored) - set(rec) == set(), sorted(set(stored) - set(rec))[:3]
    assert n_rows == len(stored) == len(rec)
    assert set(stored) == set(rec)
    for key, (si, kind, _parent, role) in rec.items():
        v, k, r = stored[key]
        assert math.isclose(v, si, rel_tol=1e-9, abs_tol=1e-15), key
        assert (k, r) == (kind, role)
    parents = {(key[0], rec[key][2]) for key in rec if rec[key][2]}
    for child, parent in parents:
        assert parent in {e.object_id for e in store.trace(child) if e.depth == 1}, child
    assert store.check() == []


def test_the_simulated_line_exposes_the_mapped_variables_and_rolls_ids(line, tmp_path):
    from asyncua import Client, ua

    port = free_port()
    line.write_map(tmp_path / "tags.yaml", f"opc.tcp://127.0.0.1:{port}")
    tag_map = load_tag_map(tmp_path / "tags.yaml")
    assert len(tag_map.tags) == len(line.tags) >= 20
    params = {t.parameter for t in tag_map.tags}
    assert {"cathode.coating.gap", "cathode.coating.speed", "cathode.drying.temperature",
            "cathode.drying.air_velocity", "cathode.calendering.gap",
            "cathode.calendering.line_load", "cathode.drying.weight",
            "cathode.calendering.thickness"} <= params

    async def main() -> tuple[list, list]:
        ready = asyncio.Event()
        task = asyncio.create_task(serve(line, port=port, duration=4,
                                         ready=lambda ep: ready.set()))
        await asyncio.wait_for(ready.wait(), 20)
        async with Client(f"opc.tcp://127.0.0.1:{port}/", timeout=5) as client:
            ns = await client.get_namespace_index(NAMESPACE)
            values = [await client.get_node(ua.NodeId(t.node, ns)).read_value()
                      for t in tag_map.tags]
            coater = client.get_node(ua.NodeId("Cathode.Coater.object_id", ns))
            ids = [await coater.read_value()]
            await asyncio.sleep(1.3)
            ids.append(await coater.read_value())
        await asyncio.wait_for(task, 20)
        return values, ids

    values, ids = asyncio.run(asyncio.wait_for(main(), 40))
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert ids[0].startswith("CCR-T-") and ids[1] != ids[0]


def test_the_ingester_stores_exactly_what_the_server_published(line, tmp_path, store_url):
    port = free_port()
    endpoint = f"opc.tcp://127.0.0.1:{port}"
    line.write_map(tmp_path / "tags.yaml", endpoint)
    tag_map = load_tag_map(tmp_path / "tags.yaml")

    async def main() -> None:
        ready = asyncio.Event()
        stop = asyncio.Event()
        sim = asyncio.create_task(serve(line, port=port, duration=4, record=tmp_path / "r.csv",
                                        ready=lambda ep: ready.set()))
        await asyncio.wait_for(ready.wait(), 20)
        with Store.open(store_url) as store:
            ing = asyncio.create_task(OpcUaIngester(endpoint, tag_map, store).run(stop=stop))
            await asyncio.wait_for(sim, 30)
            stop.set()
            stats = await asyncio.wait_for(ing, 30)
        assert stats.rejected == 0 and stats.unattributed == 0

    asyncio.run(asyncio.wait_for(main(), 60))
    rec = read_record(tmp_path / "r.csv")
    stored, n, store = read_store(store_url)
    with store:
        assert_same(rec, stored, n, store)


def _twinline(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYBAMM_OPTOUT_TELEMETRY="true")
    return subprocess.Popen([sys.executable, "-c", "from twinline.cli import main; main()",
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _kill_and_restart(tmp_path: Path, seconds: int, kill_after: float, down: float) -> None:
    """twinline line simulate --duration; twinline line ingest, kill -9 mid-way, restart;
    the store then holds exactly the rows of rec.csv, and trace reaches the slurry batch."""
    port = free_port()
    endpoint = f"opc.tcp://127.0.0.1:{port}"
    db = tmp_path / "line.db"
    sim = _twinline("line", "simulate", "--recipe", str(RECIPE), "--port", str(port),
                    "--duration", f"{seconds}s", "--record", str(tmp_path / "rec.csv"),
                    "--write-map", str(tmp_path / "tags.yaml"), "--roll-every", "2s",
                    "--seed", "3")
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "rec.csv").exists() or (tmp_path / "rec.csv").stat().st_size < 200:
            assert time.monotonic() < deadline and sim.poll() is None, sim.stderr.read()
            time.sleep(0.1)
        ing = _twinline("line", "ingest", "--from", endpoint, "--map",
                        str(tmp_path / "tags.yaml"), "--db", str(db))
        time.sleep(kill_after)
        ing.send_signal(signal.SIGKILL)
        ing.wait(10)
        time.sleep(down)
        ing = _twinline("line", "ingest", "--from", endpoint, "--map",
                        str(tmp_path / "tags.yaml"), "--db", str(db), "--json")
        # the server stays up 3 s after its last tick for the subscribers to drain
        _, sim_err = sim.communicate(timeout=seconds + 30)
        assert sim.returncode == 0, sim_err
        ing.send_signal(signal.SIGTERM)
        _, err = ing.communicate(timeout=30)
        assert ing.returncode == 0, err
        assert "Traceback" not in err
    finally:
        for p in (sim,):
            if p.poll() is None:
                p.kill()
    rec = read_record(tmp_path / "rec.csv")
    stored, n, store = read_store(str(db))
    with store:
        assert_same(rec, stored, n, store)
        rolls = sorted(k[0] for k in rec if rec[k][1] == "calendered_roll")
        lineage = store.trace(rolls[-1])
        assert "slurry_batch" in {e.kind for e in lineage}
        assert [e.kind for e in lineage] == ["calendered_roll", "dried_roll", "coated_roll",
                                             "slurry_batch"]


def test_a_kill_9_and_restart_loses_nothing_and_stores_nothing_twice(tmp_path):
    _kill_and_restart(tmp_path, seconds=10, kill_after=3.5, down=2.0)


@pytest.mark.slow
def test_end_to_end_20s_simulation_with_one_kill_9(tmp_path):
    """The issue's check: 20 s of line, one kill -9 in the middle."""
    _kill_and_restart(tmp_path, seconds=20, kill_after=8.0, down=4.0)


def test_bad_maps_and_endpoints_are_one_line_errors(tmp_path):
    bad = tmp_path / "tags.yaml"
    bad.write_text("namespace: x\nmachines: {M: {kind: coated_roll, object_id: M.id}}\n"
                   "tags:\n  - {node: M.gap, machine: M, parameter: cathode.coating.gap, "
                   "unit: kg}\n")
    p = _twinline("line", "ingest", "--from", "opc.tcp://127.0.0.1:1", "--map", str(bad),
                  "--db", str(tmp_path / "x.db"))
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "Traceback" not in err
    assert "tag 1 (M.gap)" in err and "unit 'kg'" in err and len(err.strip().splitlines()) == 1
    p = _twinline("line", "simulate", "--recipe", str(RECIPE), "--defect", "leak@3s")
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "gap-step" in err and "Traceback" not in err
