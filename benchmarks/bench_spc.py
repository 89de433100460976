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

``--postgres`` also runs on a throw-away PostgreSQL cluster (the tests' fixture,
``tests/twin/conftest.py``; Debian's ``postgresql`` package). Bounded: about a minute on
SQLite at 200 000 points on a 2-core machine.
"""

from __future__ import annotations

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


# ------------------------------------------------------------------------------ the store
def build(url: str, points: int, *, seed: int = 0) -> float:
    """Fill the empty database ``url`` (created at the newest schema) with ``points``
    measurements of :data:`PARAMETER`, their predictions and residuals and one alarm per
    :data:`ALARM_EVERY` points; returns the seconds it took. Deterministic in ``seed``."""
    import numpy as np
    from sqlalchemy import insert

    from twinline.twin.store import Store
    from twinline.twin.store.schema import alarms, objects, predictions, residuals

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    value = 0.021 + 0.0004 * rng.standard_normal(points)  # kg/m², about 21 mg/cm²
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
                insert(objects),
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
                insert(predictions),
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
                insert(residuals),
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
                insert(alarms),
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
        if store.engine.dialect.name == "postgresql":
            with store.engine.connect() as conn:
                conn.exec_driver_sql("COMMIT")
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - t0
