"""The line dashboard's control chart: ``GET /api/v1/twin/spc?limit=500`` on a long history.

The dashboard polls the chart of the selected parameter every 3 s. Before this benchmark's
change, :func:`twinline.twin.views.spc_chart` read the parameter's whole residual or
measurement series and all its alarms and kept the newest ``limit`` points in Python: O(whole
history) per poll. It now asks the store for the series' count, the measurement series'
first :data:`~twinline.twin.loop.PHASE_ONE` points, the newest ``limit`` points and the
alarms on them only (bounded SQL queries on indexes).

The store is built fast with bulk inserts (not through the twin loop): one parameter
(``cathode.coating.am_loading``) of ``--points`` measurements, one coated roll each, 10 s
apart, each with a prediction and a residual; one alarm every 100 points (series
``residual``, ``measurement`` and ``event`` in turn). Each case is timed through the ASGI app
(FastAPI's ``TestClient``, in process: routing, the view, JSON), the median of ``--repeat``
calls after one warm-up call. "before" is the whole-series algorithm
(:func:`spc_chart_whole_series`, the view as it was) swapped into the same app, on the same
database.

    python benchmarks/bench_spc.py [--points 200000] [--repeat 15] [--postgres] [--json]

The other reads the dashboard polls beside the chart are timed too: ``/twin/residuals``
and ``/twin/parameters`` before and after, ``/twin/alarms`` and ``/twin/line`` after (their
code did not change; migration 0005 gave them indexes).

``--postgres`` also runs on a throw-away PostgreSQL cluster (the tests' fixture,
``tests/twin/conftest.py``; Debian's ``postgresql`` package). Bounded: about 40 s on SQLite
(20 000 and 200 000 points) on a 2-core machine; ``--postgres`` adds about 2 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARAMETER = "cathode.coating.am_loading"
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=10)
ALARM_EVERY = 100


# ------------------------------------------------------------------------------ before
def spc_chart_whole_series(
    store: Any,
    parameter: str,
    *,
    series: str = "residual",
    conditions: str | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """:func:`twinline.twin.views.spc_chart` as it was before the bounded queries (commit
    abfbc2f): the whole residual or measurement series and all the parameter's alarms read,
    the newest ``limit`` points kept in Python. The reference the bounded view must equal
    (``tests/twin/test_spc_view.py``) and the "before" of this benchmark."""
    from twinline.twin.errors import TwinError
    from twinline.twin.loop import PHASE_ONE
    from twinline.twin.spc import moving_range_sigma
    from twinline.twin.store.rows import utc
    from twinline.twin.views import SERIES, parameter_units, twin_parameters

    if series not in SERIES:
        raise TwinError(f"series = {series!r}: allowed: {', '.join(SERIES)}")
    units = parameter_units(parameter)
    if series == "residual":
        pts = store.residual_series(parameter)
        if conditions is not None:
            pts = [p for p in pts if p["conditions"] == conditions]
        values = [max(min(float(p["z"]), 1e6), -1e6) for p in pts]
        centre, sigma, n1 = 0.0, 1.0, len(values)
        units = {
            "unit": "",
            "display_unit": "",
            "scale": 1.0,
            "offset": 0.0,
            "value_unit": units["unit"],
            "value_display_unit": units["display_unit"],
        }
    else:
        ms = store.measurements(parameter=parameter)
        if conditions is None:
            conds = sorted({m["conditions"] for m in ms})
            conditions = conds[0] if conds else ""
        pts = [m for m in ms if m["conditions"] == conditions]
        values = [float(m["value"]) for m in pts]
        n1 = min(len(values), PHASE_ONE)
        phase = values[:n1]
        centre = sum(phase) / n1 if n1 else None
        sigma = moving_range_sigma(phase) if n1 >= 2 else None
        if sigma is not None and not sigma > 0:
            sigma = None
    if not pts:
        known = [p["parameter"] for p in twin_parameters(store)]
        raise TwinError(
            f"parameter = {parameter!r} has no {series} data"
            + (f" under conditions {conditions!r}" if conditions else "")
            + f"; parameters with data: {known[:12] or 'none'}"
        )
    total = len(pts)
    start = max(0, total - limit)
    keyed = {
        (p["object"], utc(p["time"]).isoformat()): i - start
        for i, p in enumerate(pts)
        if i >= start
    }
    marks = []
    shown = {series, "event"} if series == "residual" else {series}
    for a in store.alarms(parameter=parameter):
        if a["series"] not in shown:
            continue
        i = keyed.get((a["object"], a["time"]))
        if i is not None:
            marks.append(
                {
                    "index": i,
                    "series": a["series"],
                    "rule": a["rule"],
                    "time": a["time"],
                    "object": a["object"],
                    "message": a["message"],
                }
            )
    lcl = ucl = None
    if centre is not None and sigma is not None:
        lcl, ucl = centre - 3 * sigma, centre + 3 * sigma
    return {
        "parameter": parameter,
        "series": series,
        "conditions": conditions or "",
        "times": [utc(p["time"]).isoformat() for p in pts[start:]],
        "objects": [p["object"] for p in pts[start:]],
        "values": values[start:],
        "centre": centre,
        "sigma": sigma,
        "lcl": lcl,
        "ucl": ucl,
        "phase_one": n1,
        "alarms": marks,
        "total": total,
        **units,
    }


def residual_points_whole_series(
    store: Any,
    *,
    parameter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """:func:`twinline.twin.views.residual_points` as it was (commit abfbc2f): one query
    over the residuals of the parameter (or all), newest first, read until ``limit``
    measurements are found (PostgreSQL's driver fetches the whole result first)."""
    from sqlalchemy import select

    from twinline.twin.store.rows import utc
    from twinline.twin.store.schema import calibrations, objects, predictions, records, residuals
    from twinline.twin.views import _check_window, _finite, _time_filter

    _check_window(since, until)
    q = (
        select(
            records.c.pk,
            records.c.parameter,
            objects.c.object_id,
            records.c.time,
            records.c.conditions,
            records.c.value,
            predictions.c.mean,
            predictions.c.std,
            residuals.c.residual,
            residuals.c.z,
            calibrations.c.version,
        )
        .join(records, records.c.pk == residuals.c.record_pk)
        .join(objects, objects.c.pk == records.c.object_pk)
        .join(predictions, predictions.c.pk == residuals.c.prediction_pk)
        .join(calibrations, calibrations.c.pk == predictions.c.calibration_pk)
        .order_by(records.c.time.desc(), records.c.pk.desc(), residuals.c.pk.desc())
    )
    if parameter is not None:
        q = q.where(records.c.parameter == parameter)
    q = _time_filter(q, records.c.time, since, until)
    latest: dict[int, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for x in conn.execute(q):
            if x.pk in latest:
                continue
            if len(latest) >= limit:
                break
            latest[x.pk] = {
                "parameter": x.parameter,
                "record": x.pk,
                "object": x.object_id,
                "time": utc(x.time).isoformat(),
                "conditions": x.conditions,
                "measured": _finite(x.value),
                "predicted": _finite(x.mean),
                "std": _finite(x.std),
                "residual": _finite(x.residual),
                "z": _finite(x.z),
                "calibration": x.version,
            }
    return list(reversed(latest.values()))


def twin_parameters_whole_history(store: Any) -> list[dict[str, Any]]:
    """:func:`twinline.twin.views.twin_parameters` as it was (commit abfbc2f): the counts
    grouped over every record and residual of the store."""
    from sqlalchemy import func, select

    from twinline.twin.store.schema import alarms, records, residuals
    from twinline.twin.views import parameter_units

    with store.engine.connect() as conn:
        meas = conn.execute(
            select(records.c.parameter, records.c.conditions, func.count())
            .where(records.c.role == "measurement", records.c.value.is_not(None))
            .group_by(records.c.parameter, records.c.conditions)
        ).all()
        res = dict(
            conn.execute(
                select(records.c.parameter, func.count(func.distinct(residuals.c.record_pk)))
                .join(residuals, residuals.c.record_pk == records.c.pk)
                .group_by(records.c.parameter)
            ).all()
        )
        al = dict(
            conn.execute(
                select(alarms.c.parameter, func.count()).group_by(alarms.c.parameter)
            ).all()
        )
    out: dict[str, dict[str, Any]] = {}
    for par, cond, n in meas:
        e = out.setdefault(
            par,
            {
                "parameter": par,
                "measurements": 0,
                "residuals": int(res.get(par, 0)),
                "alarms": int(al.get(par, 0)),
                "conditions": [],
                **parameter_units(par),
            },
        )
        e["measurements"] += int(n)
        e["conditions"].append(cond)
    for e in out.values():
        e["conditions"].sort()
    return [out[k] for k in sorted(out)]


# ------------------------------------------------------------------------------ the store
def build(url: str, points: int, *, seed: int = 0) -> float:
    """Fill the empty database ``url`` (created at the newest schema) with ``points``
    measurements of :data:`PARAMETER`, their predictions and residuals and one alarm per
    :data:`ALARM_EVERY` points; returns the seconds it took. Deterministic in ``seed``.
    Multi-row INSERTs (``RETURNING`` makes SQLAlchemy batch 1 000 rows per statement; the
    records go through the store's bulk path, ``COPY`` on PostgreSQL), so the series-count
    triggers run once per statement on PostgreSQL."""
    import numpy as np
    from sqlalchemy import insert

    from twinline.twin.store import Store
    from twinline.twin.store.schema import alarms, objects, predictions, residuals

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    value = 0.021 + 0.0004 * rng.standard_normal(points)  # kg/m², 2.1 mg/cm²
    mean = np.full(points, 0.021)
    std = np.full(points, 0.0004)
    z = (value - mean) / np.sqrt(2 * std**2)
    times = [START + i * STEP for i in range(points)]
    with Store.open(url) as store:
        store.add_calibration(
            {"id": "bench", "parent_id": None, "time": 0.0, "measurements": []}, active=True
        )
        with store.engine.begin() as conn:
            conn.execute(
                insert(objects).returning(objects.c.pk),
                [
                    {
                        "object_id": f"CR-{i:07d}",
                        "kind": "coated_roll",
                        "created": t,
                        "source": "bench",
                    }
                    for i, t in enumerate(times)
                ],
            )
            obj = conn.exec_driver_sql("SELECT pk FROM objects ORDER BY object_id").scalars().all()
            store.insert_record_columns(
                {
                    "object_pk": obj,
                    "role": ["measurement"] * points,
                    "parameter": [PARAMETER] * points,
                    "value": value.tolist(),
                    "text": [None] * points,
                    "unit": ["mg/cm^2"] * points,
                    "uncertainty": [0.0004] * points,
                    "method": [""] * points,
                    "source": ["bench"] * points,
                    "time": times,
                    "conditions": [""] * points,
                },
                conn=conn,
            )
            cal = conn.exec_driver_sql("SELECT pk FROM calibrations").scalar_one()
            conn.execute(
                insert(predictions).returning(predictions.c.pk),
                [
                    {
                        "object_pk": o,
                        "parameter": PARAMETER,
                        "conditions": "",
                        "mean": float(m),
                        "std": float(s),
                        "calibration_pk": cal,
                        "models": "{}",
                        "created": t - STEP / 2,
                    }
                    for o, m, s, t in zip(obj, mean, std, times, strict=True)
                ],
            )
            rec = conn.exec_driver_sql("SELECT pk FROM records ORDER BY time").scalars().all()
            pred = (
                conn.exec_driver_sql("SELECT pk FROM predictions ORDER BY object_pk")
                .scalars()
                .all()
            )
            conn.execute(
                insert(residuals).returning(residuals.c.pk),
                [
                    {
                        "record_pk": rec[i],
                        "prediction_pk": pred[i],
                        "residual": float(value[i] - mean[i]),
                        "z": float(z[i]),
                    }
                    for i in range(points)
                ],
            )
            kinds = ("residual", "measurement", "event")
            conn.execute(
                insert(alarms).returning(alarms.c.pk),
                [
                    {
                        "object_pk": obj[i],
                        "parameter": PARAMETER,
                        "series": kinds[(i // ALARM_EVERY) % 3],
                        "rule": "bench",
                        "time": times[i],
                        "value": float(value[i]),
                        "message": f"bench alarm at point {i}",
                    }
                    for i in range(ALARM_EVERY // 2, points, ALARM_EVERY)
                ],
            )
        if store.engine.dialect.name == "postgresql":  # statistics and visibility map
            auto = store.engine.execution_options(isolation_level="AUTOCOMMIT")
            with auto.connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------ timing
CASES = (
    ("spc", f"/api/v1/twin/spc?parameter={PARAMETER}&series=residual&limit=500"),
    ("spc", f"/api/v1/twin/spc?parameter={PARAMETER}&series=measurement&limit=500"),
    ("residuals", f"/api/v1/twin/residuals?parameter={PARAMETER}&limit=400"),
    ("alarms", "/api/v1/twin/alarms?limit=200"),
    ("parameters", "/api/v1/twin/parameters"),
    ("line", "/api/v1/twin/line"),
)
#: The whole-series views swapped in for "before" (None: the view did not change).
BEFORE = {
    "spc": "spc_chart_whole_series",
    "residuals": "residual_points_whole_series",
    "parameters": "twin_parameters_whole_history",
}
VIEW = {"spc": "spc_chart", "residuals": "residual_points", "parameters": "twin_parameters"}


def _median_ms(client: Any, url: str, repeat: int) -> tuple[float, bytes]:
    body = client.get(url).content  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}: {r.text[:300]}")
    return 1e3 * statistics.median(times), body


def time_cases(url: str, *, repeat: int, repeat_before: int) -> list[dict[str, Any]]:
    """Median latency of each :data:`CASES` request on the database ``url``, after and (for
    the views that changed) before; checks that both answer the same bytes."""
    from fastapi.testclient import TestClient

    import twinline.twin.views as views
    from twinline.api.app import create_app

    out = []
    with TestClient(create_app(db=url)) as client:
        for kind, path in CASES:
            after, body = _median_ms(client, path, repeat)
            row = {"request": path.removeprefix("/api/v1"), "after_ms": after, "before_ms": None}
            if kind in BEFORE:
                new = getattr(views, VIEW[kind])
                setattr(views, VIEW[kind], globals()[BEFORE[kind]])
                try:
                    row["before_ms"], old = _median_ms(client, path, repeat_before)
                finally:
                    setattr(views, VIEW[kind], new)
                if old != body:
                    raise SystemExit(f"{path}: the bounded view answers differently")
            out.append(row)
    return out


def _postgres() -> tuple[Any, str]:
    """A throw-away PostgreSQL cluster (the tests' fixture) and a database URL in it."""
    spec = importlib.util.spec_from_file_location(
        "twin_conftest", ROOT / "tests" / "twin" / "conftest.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    bindir = mod.find_pg_bindir()
    if bindir is None:
        raise SystemExit("--postgres: no PostgreSQL server binaries (initdb) found")
    cluster, _ = mod._start_cluster(bindir)
    cluster.execute("CREATE DATABASE bench_spc")
    return cluster, cluster.url("bench_spc")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--points",
        default="20000,200000",
        help="history lengths, comma-separated (default 20000,200000)",
    )
    ap.add_argument("--repeat", type=int, default=15, help="timed calls per case (after)")
    ap.add_argument(
        "--repeat-before",
        type=int,
        default=3,
        help="timed calls per case of the whole-series views (slow)",
    )
    ap.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    try:
        sizes = [int(float(x)) for x in args.points.split(",")]
    except ValueError:
        print(f"--points = {args.points!r}: allowed: comma-separated counts >= 1", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 1 or args.repeat < 1 or args.repeat_before < 1:
        print("--points, --repeat, --repeat-before: allowed: >= 1", file=sys.stderr)
        return 2
    os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
    # a terminated run still stops its PostgreSQL cluster (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for backend in backends:
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="bench_spc_") as tmp:
                cluster = None
                if backend == "sqlite":
                    url = f"sqlite:///{tmp}/line.db"
                else:
                    cluster, url = _postgres()
                try:
                    load0 = os.getloadavg()[0]
                    build_s = build(url, n)
                    for row in time_cases(
                        url, repeat=args.repeat, repeat_before=args.repeat_before
                    ):
                        results.append(
                            {
                                "backend": backend,
                                "points": n,
                                "build_s": build_s,
                                "load": [load0, os.getloadavg()[0]],
                                **row,
                            }
                        )
                finally:
                    if cluster is not None:
                        cluster.stop()
                        shutil.rmtree(cluster.root, ignore_errors=True)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=1))
        return 0
    print(f"# {meta['date']}, {meta['machine']}")
    print("| backend | points | request | before (median) | after (median) | load avg |")
    print("|---|---|---|---|---|---|")
    for r in results:
        before = "" if r["before_ms"] is None else f"{r['before_ms']:.1f} ms"
        print(
            f"| {r['backend']} | {r['points']} | `{r['request']}` | {before} | "
            f"{r['after_ms']:.1f} ms | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
