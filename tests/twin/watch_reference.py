"""The twin loop's watches as they were before they became incremental: every series read
whole and judged whole at every call, the new alarms found by reading the alarm table before
and after storing. Copied from ``twin/loop.py`` and ``twin/capability.py`` as they were; the
frozen reference of ``test_watch_incremental.py`` (equality) and of
``benchmarks/bench_twin_step.py`` ("before")."""

from __future__ import annotations

import numpy as np

from twinline.twin.capability import (
    CAPABILITY_WINDOW,
    CPK_REQUIRED,
    MIN_CAPABILITY_POINTS,
    _limits,
    _shown,
)
from twinline.twin.loop import PHASE_ONE, SPC_RULES
from twinline.twin.spc import D2, chart_alarms, moving_range_sigma


def old_running_cpk(x, lower, upper, window=None):
    x = np.asarray(x, dtype=float)
    idx = np.arange(x.size)
    w = x.size if window is None else int(window)
    start = np.maximum(idx - w + 1, 0)
    cs = np.concatenate([[0.0], np.cumsum(x)])
    n = idx + 1 - start
    mean = (cs[idx + 1] - cs[start]) / n
    mr = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(x)))])
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(n > 1, (mr[idx] - mr[start]) / np.maximum(n - 1, 1) / D2, np.nan)
        sides = []
        if upper is not None:
            sides.append((upper - mean) / (3 * sigma))
        if lower is not None:
            sides.append((mean - lower) / (3 * sigma))
        cpk = np.minimum.reduce(sides) if sides else np.full(x.size, np.nan)
    return np.where(sigma > 0, cpk, np.nan)


def old_spec_alarms(store, spec_limits, parameters=None):
    rows = []
    wanted = (
        sorted(spec_limits) if parameters is None else sorted(set(parameters) & set(spec_limits))
    )
    for par in wanted:
        lo, hi = _limits(spec_limits[par])
        series = {}
        for m in store.measurements(parameter=par):
            series.setdefault(m["conditions"] or "", []).append(m)
        for cond, ms in series.items():
            label = f"{par} [{cond}]" if cond else par
            for m in ms:
                v = float(m["value"])
                for rule, out, lim, word in (
                    ("spec:above-upper", hi is not None and v > hi, hi, "above the upper"),
                    ("spec:below-lower", lo is not None and v < lo, lo, "below the lower"),
                ):
                    if out:
                        rows.append(
                            {
                                "object": m["object"],
                                "parameter": par,
                                "series": "spec",
                                "rule": rule,
                                "time": m["time"],
                                "value": v,
                                "message": f"{label} = {_shown(par, v)} at {m['object']}: "
                                f"{word} specification limit "
                                f"{_shown(par, lim)}",
                            }
                        )
            if len(ms) < MIN_CAPABILITY_POINTS:
                continue
            x = np.array([m["value"] for m in ms], dtype=float)
            cpk = old_running_cpk(x, lo, hi, CAPABILITY_WINDOW)
            low = cpk < CPK_REQUIRED
            low[: MIN_CAPABILITY_POINTS - 1] = False
            for i in np.flatnonzero(low & ~np.concatenate([[False], low[:-1]])):
                m = ms[int(i)]
                rows.append(
                    {
                        "object": m["object"],
                        "parameter": par,
                        "series": "capability",
                        "rule": f"capability:cpk<{CPK_REQUIRED:g}",
                        "time": m["time"],
                        "value": float(cpk[i]),
                        "message": f"{label}: Cpk = {cpk[i]:.3g} < {CPK_REQUIRED:g} over "
                        f"the last {min(i + 1, CAPABILITY_WINDOW)} "
                        f"measurements (limits {_shown(par, lo)} .. "
                        f"{_shown(par, hi)}) at {m['object']}",
                    }
                )
    return rows


def _store_new(store, rows):
    key = ("object", "parameter", "series", "rule", "time")
    before = {tuple(a[k] for k in key) for a in store.alarms()}
    store.add_alarms(rows)
    return [a for a in store.alarms() if tuple(a[k] for k in key) not in before]


def old_watch_specs(store, spec_limits, parameters=None):
    rows = old_spec_alarms(store, spec_limits, parameters)
    return _store_new(store, rows) if rows else []


def old_watch(store, parameters):
    rows = []
    for par in parameters:
        series = store.residual_series(par)
        if series:
            z = [max(min(s["z"], 1e6), -1e6) for s in series]
            for al in chart_alarms(z, centre=0.0, sigma=1.0, rules=SPC_RULES):
                s = series[al.index]
                rows.append(
                    {
                        "object": s["object"],
                        "parameter": par,
                        "series": "residual",
                        "rule": al.rule,
                        "time": s["time"],
                        "value": s["residual"],
                        "message": f"{par} residual z = {s['z']:.3g} at "
                        f"{s['object']}: {al.message}",
                    }
                )
        raw = {}
        for m in store.measurements(parameter=par):
            raw.setdefault(m["conditions"], []).append(m)
        for cond, ms in raw.items():
            if len(ms) < PHASE_ONE:
                continue
            x = [m["value"] for m in ms]
            phase = x[:PHASE_ONE]
            sigma = moving_range_sigma(phase)
            if not sigma > 0:
                continue
            centre = sum(phase) / len(phase)
            for al in chart_alarms(x, centre=centre, sigma=sigma, rules=SPC_RULES):
                m = ms[al.index]
                label = f"{par} [{cond}]" if cond else par
                rows.append(
                    {
                        "object": m["object"],
                        "parameter": par,
                        "series": "measurement",
                        "rule": al.rule,
                        "time": m["time"],
                        "value": m["value"],
                        "message": f"{label} = {m['value']:.4g} (SI) at "
                        f"{m['object']}: {al.message}",
                    }
                )
    return _store_new(store, rows) if rows else []
