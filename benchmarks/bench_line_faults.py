"""kill -9 of the ingester at random moments during file and OPC UA ingestion (issue 14):
after restart the store holds exactly the published samples and passes ``twinline db check``.

    PYTHONPATH=src python benchmarks/bench_line_faults.py [--kills 20] [--seed S]
        [--rows 300000] [--lanes 10] [--rate 10] [--part file|opcua|both] [--keep]

1. File: a seeded synthetic long-format file (``synthetic_long_table``, ``--rows``) is
   ingested by ``twinline ingest`` into one SQLite file; each attempt is a fresh process
   killed with SIGKILL at a seeded random moment within 90 % of one complete run's time
   (timed first, into a scratch database) until ``--kills`` processes were killed (an
   attempt that ends first is counted apart; once one has, the later ones re-ingest the
   stored file); after each kill the store must hold the whole file or nothing of it (one
   transaction per file). A last attempt runs to the end. Published = the file's distinct
   natural keys (object, parameter, time as an instant, conditions).
2. OPC UA: one ``twinline line simulate`` (``--lanes 10``: 74 tags, ``--rate`` Hz,
   ``--record rec.csv``) runs for the whole schedule; ``twinline line ingest`` is started,
   killed with SIGKILL after a seeded random time (from half its start-up time, measured
   first, to 8 s past it: during its imports, its HistoryRead backfill, live changes or a
   flush), left down 0.2-2 s, started again (its start backfills from history),
   ``--kills`` times; the last run gets ``--duration`` so that it ends about 1 s after the
   line's last tick, while the server still lingers its 3 s.
   Published = the rows of ``rec.csv``.

Stored = records in the store (rows); lost = published keys not stored; duplicates =
stored rows minus distinct stored keys; extra = stored keys never published. Then
``twinline db check`` (exit 0 = healthy). Figures: benchmarks/README.md, "Line data —
faults".
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from linekit import free_port, instant

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYBAMM_OPTOUT_TELEMETRY="true")
LINGER = 3.0  # s the simulated server stays up after its last tick (serve's default)


@dataclass
class Outcome:
    """One part's result: the table's row."""

    part: str
    kills: int = 0
    finished_early: int = 0
    published: int = 0
    stored: int = 0
    lost: int = 0
    duplicates: int = 0
    extra: int = 0
    db_check: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from twinline.cli import main; main()", *args]


def _start(*args: str, log: Path) -> subprocess.Popen:
    """A verb as a subprocess, its output in ``log`` (a pipe nobody reads would block)."""
    with open(log, "a") as out:
        return subprocess.Popen(_cmd(*args), env=ENV, stdout=out, stderr=subprocess.STDOUT)


def _kill9(proc: subprocess.Popen) -> bool:
    """SIGKILL ``proc``; False when it had already ended."""
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True




def _stored(db: Path) -> list[tuple[str, str, datetime, str]]:
    """Every record of the store as (object, parameter, instant, conditions)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT o.object_id, r.parameter, r.time, r.conditions FROM records r "
                           "JOIN objects o ON o.pk = r.object_pk").fetchall()
    finally:
        con.close()
    return [(o, p, instant(t), c) for o, p, t, c in rows]


def _count(db: Path) -> tuple[int, int]:
    """(records, objects) in the store; (0, 0) before it has its tables."""
    if not db.exists():
        return 0, 0
    con = sqlite3.connect(db)
    try:
        return (con.execute("SELECT count(*) FROM records").fetchone()[0],
                con.execute("SELECT count(*) FROM objects").fetchone()[0])
    except sqlite3.OperationalError:  # no tables yet
        return 0, 0
    finally:
        con.close()


def _compare(out: Outcome, published: set, db: Path, log: Path) -> None:
    rows = _stored(db)
    keys = set(rows)
    out.published, out.stored = len(published), len(rows)
    out.lost = len(published - keys)
    out.duplicates = len(rows) - len(keys)
    out.extra = len(keys - published)
    if out.lost:
        out.notes.append(f"first lost: {sorted(published - keys)[:3]}")
    if out.extra:
        out.notes.append(f"first extra: {sorted(keys - published)[:3]}")
    chk = subprocess.run(_cmd("db", "check", "--db", str(db)), env=ENV, capture_output=True,
                         text=True, timeout=300)
    out.db_check = f"exit {chk.returncode}"
    if chk.returncode != 0:
        out.notes.append(f"db check: {(chk.stdout + chk.stderr).strip()[:400]}")
    with open(log, "a") as fh:
        fh.write(f"db check: {chk.stdout}{chk.stderr}\n")


# ---------------------------------------------------------------------------------- files
def file_part(tmp: Path, rows: int, kills: int, seed: int) -> Outcome:
    from twinline.twin.ingest.files import synthetic_long_table
    from twinline.twin.store.rows import canonical_conditions

    out = Outcome("file (twinline ingest)")
    t_start = time.monotonic()
    df = synthetic_long_table(rows, seed=seed)
    path = tmp / "line.csv"
    df.to_csv(path, index=False)
    published = {(o, p, instant(t), canonical_conditions(c if isinstance(c, str) else ""))
                 for o, p, t, c in zip(df["object"], df["parameter"], df["time"],
                                       df["conditions"], strict=True)}
    n_objects = len(set(df["object"]))
    log = tmp / "ingest_file.log"
    # one complete run into a scratch database: the window the kills are drawn from
    t = time.monotonic()
    subprocess.run(_cmd("ingest", str(path), "--db", str(tmp / "scratch.db")), env=ENV,
                   check=True, capture_output=True, timeout=600)
    full = time.monotonic() - t
    window = 0.9 * full  # the machine's load makes a run's time vary
    out.notes.append(f"one complete run {full:.1f} s; kills drawn from U(0.2, {window:.1f}) s")
    rng = random.Random(seed)
    db = tmp / "file.db"
    before_stored = 0
    for _ in range(3 * kills):  # until --kills processes were killed (ended-first attempts
        if out.kills == kills:  # do not count)
            break
        stored_before = _count(db)[0] > 0
        proc = _start("ingest", str(path), "--db", str(db), log=log)
        time.sleep(rng.uniform(0.2, window))
        if _kill9(proc):
            out.kills += 1
            before_stored += not stored_before
        else:
            out.finished_early += 1
        n_rec, n_obj = _count(db)
        if (n_rec, n_obj) not in ((0, 0), (len(published), n_objects)):
            out.notes.append(f"half-stored after a kill: {n_rec} records, {n_obj} objects")
    out.notes.append(f"{before_stored} of the {out.kills} kills hit a first ingestion (the "
                     "store still empty), the others a re-ingestion of the stored file")
    done = subprocess.run(_cmd("ingest", str(path), "--db", str(db)), env=ENV,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        out.notes.append(f"final run exit {done.returncode}: {done.stderr.strip()[-300:]}")
    _compare(out, published, db, log)
    out.seconds = time.monotonic() - t_start
    return out


# ---------------------------------------------------------------------------------- OPC UA
def _startup_seconds(tmp: Path) -> float:
    """How long ``twinline line ingest`` takes from exec to its connect attempt: the time
    to a 'cannot connect' error on a closed port (imports, map, store)."""
    from twinline.spec.recipe import load_recipe
    from twinline.twin.line.simulate import PilotLine

    tags = tmp / "probe.yaml"
    PilotLine.from_recipe(load_recipe(ROOT / "examples/nmc111_cathode.yaml")).write_map(tags)
    t = time.monotonic()
    subprocess.run(_cmd("line", "ingest", "--from", f"opc.tcp://127.0.0.1:{free_port()}",
                        "--map", str(tags), "--db", str(tmp / "probe.db")), env=ENV,
                   capture_output=True, timeout=300)
    return time.monotonic() - t


def opcua_part(tmp: Path, kills: int, seed: int, lanes: int, rate: float) -> Outcome:
    out = Outcome("OPC UA (twinline line ingest)")
    t_start = time.monotonic()
    rng = random.Random(seed)
    # kill moments from half the start-up time (during imports) to 8 s past it (connected:
    # HistoryRead backfill, live changes, flushes); the start-up is measured now, as the
    # machine's load makes it vary from 2 to 20 s
    startup = _startup_seconds(tmp)
    schedule = [(rng.uniform(0.5 * startup, startup + 8.0), rng.uniform(0.2, 2.0))
                for _ in range(kills)]
    final_live = startup + 15.0  # s of line left for the last, uninterrupted run
    startup_guess = 3.0  # s from starting the simulator to its first tick
    seconds = round(sum(a + b for a, b in schedule) + final_live + startup_guess)
    port = free_port()
    rec, tags, db = tmp / "rec.csv", tmp / "tags.yaml", tmp / "opcua.db"
    sim = _start("line", "simulate", "--recipe", str(ROOT / "examples/nmc111_cathode.yaml"),
                 "--port", str(port), "--duration", f"{seconds}s", "--rate", f"{rate:g}Hz",
                 "--lanes", str(lanes), "--seed", str(seed), "--record", str(rec),
                 "--write-map", str(tags), log=tmp / "simulate.log")
    try:
        deadline = time.monotonic() + 60
        while not rec.exists() or rec.stat().st_size < 200:
            if sim.poll() is not None or time.monotonic() > deadline:
                sys.exit("simulator did not start: " + (tmp / "simulate.log").read_text())
            time.sleep(0.1)
        with open(rec, newline="") as fh:
            first_tick = instant(next(csv.DictReader(fh))["time"])
        last_tick = first_tick + timedelta(seconds=seconds)
        endpoint = f"opc.tcp://127.0.0.1:{port}"
        log = tmp / "ingest_opcua.log"
        for run_for, down in schedule:
            ing = _start("line", "ingest", "--from", endpoint, "--map", str(tags), "--db",
                         str(db), log=log)
            time.sleep(run_for)
            if _kill9(ing):
                out.kills += 1
            else:
                out.finished_early += 1
                out.notes.append(f"an ingester ended by itself (exit {ing.returncode})")
            time.sleep(down)
        # the last run ends ~1 s after the line's last tick, inside the server's linger
        left = (last_tick - datetime.now(UTC)).total_seconds() + 1.0 - startup
        n_tags = tags.read_text().count("- node:")
        out.notes.append(f"ingester start-up {startup:.1f} s; last run --duration "
                         f"{left:.1f} s; line {seconds} s of {n_tags} tags at {rate:g} Hz")
        if left < 2:
            out.notes.append("the kill schedule overran the line; the last run is short")
        ing = _start("line", "ingest", "--from", endpoint, "--map", str(tags), "--db", str(db),
                     "--json", "--duration", f"{max(left, 2.0):.2f}s", log=log)
        ing.wait(timeout=max(left, 2.0) + 120)
        if ing.returncode != 0:
            out.notes.append(f"last ingester exit {ing.returncode}")
        sim.wait(timeout=seconds + 120)
        if sim.returncode != 0:
            out.notes.append(f"simulator exit {sim.returncode}")
    finally:
        for p in (sim,):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    with open(rec, newline="") as fh:
        published = {(r["object"], r["parameter"], instant(r["time"]), r["conditions"])
                     for r in csv.DictReader(fh)}
    _compare(out, published, db, tmp / "ingest_opcua.log")
    out.seconds = time.monotonic() - t_start
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--rows", type=int, default=300_000, help="rows of the file part")
    ap.add_argument("--lanes", type=int, default=10, help="10 lanes: 74 tags")
    ap.add_argument("--rate", type=float, default=10.0, help="Hz per tag")
    ap.add_argument("--part", choices=("file", "opcua", "both"), default="both")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_line_faults_"))
    results = []
    try:
        if a.part in ("file", "both"):
            results.append(file_part(tmp, a.rows, a.kills, a.seed))
        if a.part in ("opcua", "both"):
            results.append(opcua_part(tmp, a.kills, a.seed, a.lanes, a.rate))
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{load}; seed {a.seed}")
    print("| part | kills | published | stored | lost | duplicates | extra | db check | "
          "wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        kills = f"{r.kills}" + (f" (+{r.finished_early} ended first)" if r.finished_early else "")
        print(f"| {r.part} | {kills} | {r.published:,} | {r.stored:,} | {r.lost} | "
              f"{r.duplicates} | {r.extra} | {r.db_check} | {r.seconds:.0f} s |")
    for r in results:
        for n in r.notes:
            print(f"{r.part}: {n}")
    bad = any(r.lost or r.duplicates or r.extra or r.db_check != "exit 0" for r in results)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
