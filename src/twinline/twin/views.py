r"""Read-only views of the twin's store for people: the line now, control-chart data,
residuals, alarms and calibration versions, each as plain JSON-able dicts.

The server's ``/api/v1/twin`` endpoints and the line dashboard are thin layers over these
functions; nothing here writes to the store.

**Units.** Values are stored in SI (:mod:`twinline.twin.ingest`); every view gives the SI
unit of a parameter and its *display* unit, the catalogue's, with the linear map
:math:`y = a\,x_{SI} + b` to it (:func:`parameter_units`; ``µm`` for a thickness,
``mg/cm²`` for a loading, ``°C`` for a temperature).

**Control charts** (:func:`spc_chart`) are the charts the twin loop watches
(:meth:`twinline.twin.loop.TwinLoop.watch`): the residual series is the z-score of each
measurement against its prediction (centre 0, :math:`\sigma = 1`, limits :math:`\pm 3`); the
measurement series of one (parameter, conditions) has the phase-I centre and moving-range
sigma :math:`\overline{MR}/d_2` of its first :data:`~twinline.twin.loop.PHASE_ONE` points
(Montgomery 2019, §6.4); fewer points give provisional limits from all of them. The alarms
marked on a chart are the *stored* ones (the loop's decisions), placed at the point of the
same object and time; the residual chart also marks the alarm policy's events (series
``event``: CUSUM on these z-scores, :class:`~twinline.twin.spc.AlarmPolicy`) at the point
that opened them.

**Calibration intervals** (:func:`calibration_view`): a constant's posterior is Gaussian in
its transformed space (log, logit or identity, :class:`~twinline.twin.calibration.
ConstantSpec`); the 90 % interval is :math:`T^{-1}(\mu \pm 1.645\,\sigma)`, its centre the
median :math:`T^{-1}(\mu)`.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from typing import Any

from twinline.twin.errors import TwinError
from twinline.twin.store.rows import utc

#: Two-sided 90 % quantile of the standard normal.
Z90 = 1.6448536269514722
#: Most points a chart or a list gives (the newest ones).
MAX_POINTS = 5000
#: Series of a control chart.
SERIES = ("residual", "measurement")


def catalogue_id(parameter: str) -> str:
    """``cathode.coating.am_loading`` → ``coating.am_loading`` (the catalogue's id)."""
    return parameter.split(".", 1)[1] if parameter.count(".") >= 2 else parameter


@cache
def parameter_units(parameter: str) -> dict[str, Any]:
    """``{"unit": SI unit, "display_unit": catalogue unit, "scale": a, "offset": b}`` of a
    stored parameter (display value :math:`a x + b`); an id the catalogue does not know keeps
    its SI value (unit ``""``, a = 1, b = 0)."""
    from twinline.spec.catalogue import catalogue

    p = catalogue().get(catalogue_id(parameter))
    if p is None:
        return {"unit": "", "display_unit": "", "scale": 1.0, "offset": 0.0}
    si = p.si_unit
    try:
        from twinline.chain.outputs import display_unit

        unit, a, b = display_unit(p.id, si)
    except Exception:  # a unit pint cannot convert: show SI
        unit, a, b = si, 1.0, 0.0
    return {"unit": si, "display_unit": unit, "scale": float(a), "offset": float(b)}


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _time_filter(q: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        q = q.where(column >= utc(since))
    if until is not None:
        q = q.where(column <= utc(until))
    return q


def _check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and utc(until) < utc(since):
        raise TwinError(
            f"until = {utc(until).isoformat()} is before since = "
            f"{utc(since).isoformat()}; allowed: since <= until"
        )


# ------------------------------------------------------------------------------ parameters
def twin_parameters(store: Any) -> list[dict[str, Any]]:
    """Every measured numeric parameter with its counts and units: ``parameter``,
    ``measurements``, ``residuals``, ``alarms``, ``conditions`` (the distinct conditions of
    its measurements) and :func:`parameter_units`; sorted by name. The counts are read from
    ``series_counts`` (kept as the store writes), not counted over the history."""
    from sqlalchemy import func, select

    from twinline.twin.store.schema import alarms, series_counts

    sc = series_counts
    with store.engine.connect() as conn:
        meas = conn.execute(
            select(sc.c.parameter, sc.c.conditions, sc.c.n).where(
                sc.c.series == "measurement", sc.c.n > 0
            )
        ).all()
        res = dict(
            conn.execute(
                select(sc.c.parameter, func.sum(sc.c.n))
                .where(sc.c.series == "residual")
                .group_by(sc.c.parameter)
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


# ------------------------------------------------------------------------------ residuals
def residual_points(
    store: Any,
    *,
    parameter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_POINTS,
) -> list[dict[str, Any]]:
    """Residuals (measured − predicted, SI) and z-scores in time order, the latest residual
    of each measurement: ``parameter``, ``record``, ``object``, ``time`` (ISO), ``conditions``,
    ``measured``, ``predicted``, ``std`` (the prediction's), ``residual``, ``z``,
    ``calibration`` (the version that made the prediction); the newest ``limit`` ones
    (bounded reads: :meth:`~twinline.twin.store.Store.residual_window`)."""
    _check_window(since, until)
    _, rows = store.residual_window(parameter, since=since, until=until, tail=max(int(limit), 0))
    return [
        {
            "parameter": x["parameter"],
            "record": x["record"],
            "object": x["object"],
            "time": x["time"].isoformat(),
            "conditions": x["conditions"],
            "measured": _finite(x["measured"]),
            "predicted": _finite(x["predicted"]),
            "std": _finite(x["std"]),
            "residual": _finite(x["residual"]),
            "z": _finite(x["z"]),
            "calibration": x["calibration"],
        }
        for x in rows
    ]


# ------------------------------------------------------------------------------ alarms
def alarm_list(
    store: Any,
    *,
    parameter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_POINTS,
) -> list[dict[str, Any]]:
    """Stored alarms in time order (the newest ``limit``): ``object``, ``parameter``,
    ``series``, ``rule``, ``time`` (ISO), ``value`` (SI), ``message``, with the parameter's
    units."""
    from sqlalchemy import select

    from twinline.twin.store.schema import alarms as a
    from twinline.twin.store.schema import objects

    _check_window(since, until)
    q = (
        select(
            objects.c.object_id,
            a.c.parameter,
            a.c.series,
            a.c.rule,
            a.c.time,
            a.c.value,
            a.c.message,
        )
        .join(objects, objects.c.pk == a.c.object_pk)
        .order_by(a.c.time.desc(), a.c.pk.desc())
        .limit(limit)
    )
    if parameter is not None:
        q = q.where(a.c.parameter == parameter)
    q = _time_filter(q, a.c.time, since, until)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "object": r.object_id,
            "parameter": r.parameter,
            "series": r.series,
            "rule": r.rule,
            "time": utc(r.time).isoformat(),
            "value": _finite(r.value),
            "message": r.message,
            **parameter_units(r.parameter),
        }
        for r in reversed(rows)
    ]


# ------------------------------------------------------------------------------ charts
def spc_chart(
    store: Any,
    parameter: str,
    *,
    series: str = "residual",
    conditions: str | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """Data of one control chart (module docstring): ``parameter``, ``series``,
    ``conditions``, ``times``, ``objects``, ``values`` (z-scores of the residual series; SI
    measurements otherwise), ``centre``, ``sigma``, ``lcl``, ``ucl`` (None with fewer than two
    points), ``phase_one`` (points that fixed the limits), ``alarms`` (``index`` into the
    values, ``series``, ``rule``, ``time``, ``object``, ``message``), the units (``unit`` is
    ``""`` for z-scores) and ``total`` (points of the whole series; the newest ``limit`` are
    given).

    Bounded reads, whatever the length of the history: the series' count, the measurement
    series' first :data:`~twinline.twin.loop.PHASE_ONE` points, the newest ``limit`` points
    and the stored alarms of the shown points' time span
    (:meth:`~twinline.twin.store.Store.residual_window`,
    :meth:`~twinline.twin.store.Store.measurement_window`,
    :meth:`~twinline.twin.store.Store.alarms`); the count is one row per conditions of
    ``series_counts`` (:meth:`~twinline.twin.store.Store.series_count`).

    Raises :class:`TwinError` for an unknown ``series`` or a parameter without data.
    """
    from twinline.twin.loop import PHASE_ONE
    from twinline.twin.spc import moving_range_sigma

    if series not in SERIES:
        raise TwinError(f"series = {series!r}: allowed: {', '.join(SERIES)}")
    units = parameter_units(parameter)
    limit = max(int(limit), 0)
    if series == "residual":
        total, pts = store.residual_window(parameter, conditions=conditions, tail=limit, count=True)
        values = [max(min(float(p["z"]), 1e6), -1e6) for p in pts]
        centre, sigma, n1 = 0.0, 1.0, total
        units = {
            "unit": "",
            "display_unit": "",
            "scale": 1.0,
            "offset": 0.0,
            "value_unit": units["unit"],
            "value_display_unit": units["display_unit"],
        }
    else:
        if conditions is None:
            conds = store.measurement_conditions(parameter)
            conditions = conds[0] if conds else ""
        total, head, pts = store.measurement_window(
            parameter, conditions, head=PHASE_ONE, tail=limit
        )
        values = [float(m["value"]) for m in pts]
        phase = [float(m["value"]) for m in head]
        n1 = len(phase)
        centre = sum(phase) / n1 if n1 else None
        sigma = moving_range_sigma(phase) if n1 >= 2 else None
        if sigma is not None and not sigma > 0:
            sigma = None
    if not total:
        known = [p["parameter"] for p in twin_parameters(store)]
        raise TwinError(
            f"parameter = {parameter!r} has no {series} data"
            + (f" under conditions {conditions!r}" if conditions else "")
            + f"; parameters with data: {known[:12] or 'none'}"
        )
    times = [utc(p["time"]).isoformat() for p in pts]
    keyed = {(p["object"], t): i for i, (p, t) in enumerate(zip(pts, times, strict=True))}
    marks = []
    # the alarm policy's events (series ``event``) are judged on the residual z-scores
    shown = {series, "event"} if series == "residual" else {series}
    on_points = (
        store.alarms(parameter=parameter, series=shown, since=pts[0]["time"], until=pts[-1]["time"])
        if pts
        else []
    )
    for a in on_points:
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
        "times": times,
        "objects": [p["object"] for p in pts],
        "values": values,
        "centre": centre,
        "sigma": sigma,
        "lcl": lcl,
        "ucl": ucl,
        "phase_one": n1,
        "alarms": marks,
        "total": total,
        **units,
    }


# ------------------------------------------------------------------------------ the line
def line_now(store: Any) -> list[dict[str, Any]]:
    """The newest object of each kind, in process order (:data:`~twinline.twin.kinds.KINDS`):
    ``kind``, ``step``, ``object``, ``created`` (ISO), ``objects`` (of that kind) and its
    ``measurements`` — the latest numeric value of each parameter (SI, with its units, time
    and conditions)."""
    from sqlalchemy import func, select

    from twinline.twin.kinds import KINDS
    from twinline.twin.store.schema import objects, records

    out = []
    with store.engine.connect() as conn:
        counts = dict(
            conn.execute(select(objects.c.kind, func.count()).group_by(objects.c.kind)).all()
        )
        for kind, step in KINDS.items():
            if not counts.get(kind):
                continue
            row = conn.execute(
                select(objects.c.pk, objects.c.object_id, objects.c.created)
                .where(objects.c.kind == kind)
                .order_by(objects.c.created.desc(), objects.c.pk.desc())
                .limit(1)
            ).first()
            recs = conn.execute(
                select(
                    records.c.parameter,
                    records.c.value,
                    records.c.time,
                    records.c.conditions,
                    records.c.role,
                )
                .where(records.c.object_pk == row.pk, records.c.value.is_not(None))
                .order_by(records.c.time, records.c.pk)
            ).all()
            latest: dict[tuple[str, str], dict[str, Any]] = {}
            for r in recs:
                latest[(r.parameter, r.conditions)] = {
                    "parameter": r.parameter,
                    "role": r.role,
                    "value": _finite(r.value),
                    "time": utc(r.time).isoformat(),
                    "conditions": r.conditions,
                    **parameter_units(r.parameter),
                }
            values = sorted(
                latest.values(),
                key=lambda m: (m["role"] != "measurement", m["parameter"], m["conditions"]),
            )
            out.append(
                {
                    "kind": kind,
                    "step": step,
                    "object": row.object_id,
                    "created": utc(row.created).isoformat(),
                    "objects": int(counts[kind]),
                    "values": values,
                }
            )
    return out


# ------------------------------------------------------------------------------ calibration
def calibration_view(state: dict[str, Any], *, active: bool | None = None) -> dict[str, Any]:
    """A stored calibration version (``Calibration.to_dict()``) for people: ``version``,
    ``parent``, ``time`` (ISO), ``measurements`` (count of the update that made it) and per
    constant its ``name``, ``unit`` (SI), ``transform``, ``median`` and 90 % interval
    ``low``/``high`` (SI, module docstring), ``prior`` (SI) and ``sd_transformed``; then the
    ``groups`` offsets (label, mean and sd in transformed space)."""
    from datetime import UTC

    from twinline.twin.calibration import Calibration, constant_unit

    cal = Calibration.from_dict(state)
    constants = []
    for i, spec in enumerate(cal.constants):
        mu, sd = float(cal.mean[i]), math.sqrt(max(float(cal.cov[i, i]), 0.0))
        constants.append(
            {
                "name": spec.name,
                "step": spec.step,
                "target": spec.target,
                "unit": constant_unit(spec.target),
                "transform": spec.transform,
                "median": _finite(spec.from_z(mu)),
                "low": _finite(spec.from_z(mu - Z90 * sd)),
                "high": _finite(spec.from_z(mu + Z90 * sd)),
                "prior": _finite(spec.prior_mean),
                "sd_transformed": sd,
                "group": spec.group,
                "source": spec.source,
            }
        )
    n = len(cal.constants)
    groups = [
        {"label": lab, "mean": float(cal.mean[j]), "sd": math.sqrt(max(float(cal.cov[j, j]), 0.0))}
        for j, lab in enumerate(cal.labels)
        if j >= n
    ]
    return {
        "version": cal.id,
        "parent": cal.parent_id,
        "time": datetime.fromtimestamp(cal.time, UTC).isoformat(),
        "measurements": len(cal.measurements),
        "active": active,
        "constants": constants,
        "groups": groups,
    }


#: Views of calibration versions already read, by (database URL, version): a version's
#: content never changes (its id is a hash of it), so a dashboard polling the history
#: parses each version once. Bounded by :data:`CACHE_VERSIONS`.
_VIEWS: dict[tuple[str, str], dict[str, Any]] = {}
CACHE_VERSIONS = 2000


def calibration_history(
    store: Any, *, limit: int = 200, groups: bool = True
) -> list[dict[str, Any]]:
    """:func:`calibration_view` of the newest ``limit`` stored versions, oldest first, with
    ``active`` and ``created``; without the group offsets unless ``groups``."""
    out = []
    for c in store.calibrations()[-limit:]:
        key = (str(store.url), c["version"])
        view = _VIEWS.get(key)
        if view is None:
            view = calibration_view(store.calibration_state(c["version"]))
            if len(_VIEWS) >= CACHE_VERSIONS:
                _VIEWS.clear()
            _VIEWS[key] = view
        out.append(
            view
            | {"active": c["active"], "created": c["created"]}
            | ({} if groups else {"groups": []})
        )
    return out
