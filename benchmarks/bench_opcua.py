"""OPC UA line → SQLite: ~200 tags at 10 Hz (2 000 samples/s) from ``twinline line simulate``
into ``twinline line ingest``; prints published vs stored, duplicates, lost, and the
ingester's CPU (its own rusage, via os.wait4).

    PYTHONPATH=src python benchmarks/bench_opcua.py [--seconds 60] [--lanes 36] [--rate 10]

The issue's figure is 10 minutes (--seconds 600). Figures: benchmarks/README.md, "OPC UA line".
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from linekit import free_port, instant

ROOT = Path(__file__).resolve().parents[1]



def _twinline(*args: str, log: Path) -> subprocess.Popen:
    """Start a verb with its output in ``log`` (a pipe nobody reads would fill and block)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYBAMM_OPTOUT_TELEMETRY="true")
    out = open(log, "w")
    return subprocess.Popen([sys.executable, "-c", "from twinline.cli import main; main()",
                             *args], env=env, stdout=out, stderr=subprocess.STDOUT, text=True)



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--lanes", type=int, default=36, help="36 lanes: 204 tags")
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--catch-up", type=float, default=30.0,
                    help="seconds the line keeps serving its history after its last sample")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_opcua_"))
    port = free_port()
    sim = _twinline("line", "simulate", "--recipe", str(ROOT / "examples/nmc111_cathode.yaml"),
                    "--port", str(port), "--duration", f"{a.seconds}s", "--rate",
                    f"{a.rate}Hz", "--lanes", str(a.lanes), "--record", str(tmp / "rec.csv"),
                    "--write-map", str(tmp / "tags.yaml"), "--linger", f"{a.catch_up:g}s",
                    log=tmp / "simulate.log")
    while not (tmp / "rec.csv").exists():
        if sim.poll() is not None:
            sys.exit((tmp / "simulate.log").read_text())
        time.sleep(0.1)
    # the line publishes for --seconds, then keeps serving its history for --catch-up s; the
    # ingester runs until then and its last HistoryRead catch-up sees every published sample
    ing = _twinline("line", "ingest", "--from", f"opc.tcp://127.0.0.1:{port}", "--map",
                    str(tmp / "tags.yaml"), "--db", str(tmp / "line.db"), "--json",
                    "--duration", f"{a.seconds + a.catch_up - 5:g}s", log=tmp / "ingest.log")
    t0 = time.monotonic()
    _, status, usage = os.wait4(ing.pid, 0)
    sim.wait(timeout=a.seconds + 120)
    wall = time.monotonic() - t0
    ing.returncode = os.waitstatus_to_exitcode(status)
    with open(tmp / "rec.csv", newline="") as fh:
        published = {(r["object"], r["parameter"], instant(r["time"]), r["conditions"])
                     for r in csv.DictReader(fh)}
    db = sqlite3.connect(tmp / "line.db")
    rows = db.execute("SELECT o.object_id, r.parameter, r.time, r.conditions FROM records r "
                      "JOIN objects o ON o.pk = r.object_pk").fetchall()
    stored = {(o, p, instant(t), c) for o, p, t, c in rows}
    n_tags = sum(1 for line in (tmp / "tags.yaml").read_text().splitlines()
                 if line.lstrip().startswith("- node:"))
    cpu = usage.ru_utime + usage.ru_stime
    print("ingester:", (tmp / "ingest.log").read_text().strip()[-600:])
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, python {platform.python_version()}")
    print("| tags | rate | seconds | published | stored | duplicates | lost | extra | "
          "ingester CPU s | CPU % of one core | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {n_tags} | {a.rate:g} Hz | {a.seconds:g} | {len(published)} | {len(rows)} | "
          f"{len(rows) - len(stored)} | {len(published - stored)} | {len(stored - published)} "
          f"| {cpu:.1f} | {100 * cpu / wall:.0f} | {usage.ru_maxrss / 1024:.0f} |")


if __name__ == "__main__":
    main()
