"""The line's data: file ingestion rate and trace time.

    python benchmarks/bench_ingest.py [--rows 200000] [--measurements 1e6] [--pg URL]
                                      [--skip-trace] [--json]

1. Ingestion: a seeded synthetic long-format file (slurry batches → coated rolls, one
   areal-loading reading per second and roll) of ``--rows`` rows, as CSV and as Parquet, is
   ingested by ``twinline.twin.ingest.files.ingest_file`` into a fresh SQLite file (and into
   PostgreSQL with ``--pg``, under a fresh source name): rows/s end to end (read, check,
   convert, store, commit), then again (all rows already stored: the idempotent path). One
   tiny file is ingested first so that imports and the catalogue load are not counted.
2. Trace: a database of ``--measurements`` readings on coated rolls, among which one formed
   cell six levels deep (formed cell ← filled cell ← cell ← cathode and anode slit coils ←
   calendered rolls ← coated rolls ← slurry batches); ``Store.trace`` of the formed cell,
   median of 20 warm calls, and the ``twinline trace --json`` command's wall time (includes
   starting Python).

Target (issue 14): ≥ 50 000 measurements/s into SQLite; trace ≤ 50 ms at 1e7 measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from twinline.twin.ingest.files import ingest_file, synthetic_long_table
from twinline.twin.store import EdgeRow, ObjectRow, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def bench_ingest(rows: int, folder: Path, pg: str | None) -> list[dict]:
    df = synthetic_long_table(rows, seed=1)
    csv, pq = folder / "line.csv", folder / "line.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq)
    # warm up: imports, the catalogue, pint (paid once per process, not per row)
    synthetic_long_table(10, seed=0).to_csv(folder / "warm.csv", index=False)
    with Store.open(folder / "warm.db") as store:
        ingest_file(store, folder / "warm.csv")
    out = []
    targets = [("sqlite", str(folder / "ingest.db"))] + ([("postgresql", pg)] if pg else [])
    for name, url in targets:
        for path in (csv, pq):
            source = f"bench-{uuid.uuid4().hex[:8]}" if name == "postgresql" else None
            with Store.open(url) as store:
                first = ingest_file(store, path, source=source)
                again = ingest_file(store, path, source=source)
            out.append({"case": f"{name}, {path.suffix[1:]}, {first.rows:,} rows, new",
                        "seconds": first.seconds, "rate": first.rows / first.seconds})
            out.append({"case": f"{name}, {path.suffix[1:]}, again (all already stored)",
                        "seconds": again.seconds, "rate": again.rows / again.seconds})
            if name == "sqlite":  # a fresh file for the Parquet run
                Store.open(url).close()
                for p in folder.glob("ingest.db*"):
                    p.unlink()
    return out


def build_trace_db(url: str, measurements: int, per_roll: int = 1000) -> tuple[str, float]:
    """A database of ``measurements`` roll readings plus one formed cell six levels deep;
    returns the cell's id and the build time."""
    t = time.perf_counter()
    n_rolls = max(2, measurements // per_roll)
    with Store.open(url) as store:
        objs = [ObjectRow(f"SB-{b}", "slurry_batch", T0)
                for b in range(min(n_rolls, 2000) // 20 + 1)]
        objs += [ObjectRow(f"CR-{r}", "coated_roll", T0) for r in range(n_rolls)]
        objs += [ObjectRow(i, k, T0) for i, k in (
            ("KR-C", "calendered_roll"), ("KR-A", "calendered_roll"), ("SC-C", "slit_coil"),
            ("SC-A", "slit_coil"), ("CELL", "cell"), ("FILLED", "filled_cell"),
            ("FORMED", "formed_cell"))]
        store.add_objects(objs)
        edges = [EdgeRow(f"SB-{r // 20}", f"CR-{r}") for r in range(min(n_rolls, 2000))]
        edges += [EdgeRow("CR-0", "KR-C"), EdgeRow("CR-1", "KR-A"), EdgeRow("KR-C", "SC-C"),
                  EdgeRow("KR-A", "SC-A"), EdgeRow("SC-C", "CELL"), EdgeRow("SC-A", "CELL"),
                  EdgeRow("CELL", "FILLED"), EdgeRow("FILLED", "FORMED")]
        store.add_edges(edges)
        with store.engine.begin() as conn:
            pks = store._pks(conn, [f"CR-{r}" for r in range(n_rolls)])
        rng = np.random.default_rng(2)
        chunk = 200 * per_roll
        for start in range(0, n_rolls * per_roll, chunk):
            idx = np.arange(start, min(start + chunk, n_rolls * per_roll))
            roll = idx // per_roll
            n = len(idx)
            cols = {"object_pk": [pks[f"CR-{r}"] for r in roll], "role": ["measurement"] * n,
                    "parameter": ["cathode.coating.am_loading"] * n,
                    "value": (0.2 + rng.normal(0, 0.004, n)).tolist(), "text": [None] * n,
                    "unit": ["mg/cm^2"] * n, "uncertainty": [None] * n, "method": [""] * n,
                    "source": ["bench"] * n,
                    "time": np.datetime64("2026-01-01") + (idx % per_roll).astype(
                        "timedelta64[s]") + roll.astype("timedelta64[h]"),
                    "conditions": [""] * n}
            with store.engine.begin() as conn:
                store.insert_record_columns(cols, conn=conn)
    return "FORMED", time.perf_counter() - t


def bench_trace(folder: Path, measurements: int) -> list[dict]:
    url = str(folder / "trace.db")
    cell, build = build_trace_db(url, measurements)
    out = [{"case": f"build a DB of {measurements:.0e} measurements", "seconds": build,
            "rate": measurements / build}]
    with Store.open(url) as store:
        entries = store.trace(cell)
        assert max(e.depth for e in entries) == 6, [e.depth for e in entries]
        store.trace(cell)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            store.trace(cell)
            times.append(time.perf_counter() - t)
    n_rec = sum(len(e.measurements) + len(e.settings) for e in entries)
    out.append({"case": f"Store.trace(formed cell): {len(entries)} objects, depth 6, "
                        f"{n_rec} records (median of 20)", "seconds": statistics.median(times),
                "rate": None, "min": min(times)})
    env = {**os.environ, "PYBAMM_OPTOUT_TELEMETRY": "true"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from twinline.cli import main; main()", "trace",
                    cell, "--db", url, "--json"], check=True, capture_output=True, env=env)
    out.append({"case": "twinline trace --json (command, incl. Python start)",
                "seconds": time.perf_counter() - t, "rate": None})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--measurements", type=float, default=1e6)
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (postgresql+psycopg://...)")
    ap.add_argument("--skip-trace", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_ingest:
            rows += bench_ingest(args.rows, folder, args.pg)
        if not args.skip_trace:
            rows += bench_trace(folder, int(args.measurements))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"| case ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, load {load}) "
          "| seconds | rows/s |")
    print("|---|---|---|")
    for r in rows:
        rate = f"{r['rate']:,.0f}" if r.get("rate") else ""
        sec = f"{r['seconds'] * 1e3:.1f} ms" if r["seconds"] < 1 else f"{r['seconds']:.2f} s"
        print(f"| {r['case']} | {sec} | {rate} |")


if __name__ == "__main__":
    main()
