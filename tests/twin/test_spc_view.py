"""The dashboard's bounded reads against the whole-series algorithms they replace, on SQLite
and PostgreSQL (``store_url``).

:func:`twinline.twin.views.spc_chart` and :func:`~twinline.twin.views.residual_points` now
read the series' count, its first PHASE_ONE points, the newest ``limit`` points and the
alarms of their time span; the reference is the view as it was, which read everything and
sliced in Python (``benchmarks/bench_spc.py``: ``spc_chart_whole_series``,
``residual_points_whole_series``). The answers must be the same JSON, byte for byte, for
every series, conditions and limit on a store built to hit the edge cases: three measurement
conditions (one with fewer points than PHASE_ONE, one of a single point, one with a constant
value), points that share an object and a time under two conditions, equal times, a
measurement without residual, a record with two residuals (two calibration versions), a
setting and a text record of the same parameter, alarms inside and outside the shown window,
of other series and of another parameter.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twinline.twin.errors import TwinError
from twinline.twin.loop import PHASE_ONE
from twinline.twin.store import ObjectRow, RecordRow, Store
from twinline.twin.views import residual_points, spc_chart

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_spc.py"
PAR = "cathode.mixing.viscosity"
OTHER = "cathode.coating.am_loading"
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
LOW, HIGH, ONE, FLAT = "shear_rate=10 1/s", "shear_rate=100 1/s", "shear_rate=1 1/s", "x=1"


def _reference():
    spec = importlib.util.spec_from_file_location("bench_spc", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _calibration(version: str, parent: str | None) -> dict:
    return {"id": version, "parent_id": parent, "time": 0.0, "measurements": []}


def _fill(store: Store, seed: int = 7) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 45  # slurry batches
    ids = [f"SB-{i:03d}" for i in range(n)]
    store.add_objects([ObjectRow(o, "slurry_batch", T0) for o in ids])
    store.add_calibration(_calibration("v1", None), active=False)
    store.add_calibration(_calibration("v2", "v1"), active=True)
    rows = []
    for i, o in enumerate(ids):
        t = T0 + timedelta(minutes=10 * (i // 2))  # two batches share each time
        # LOW and HIGH of one batch at the same time: the same (object, time) twice
        rows.append(
            RecordRow(o, "measurement", PAR, t, value=float(4 + rng.normal()), conditions=LOW)
        )
        rows.append(
            RecordRow(o, "measurement", PAR, t, value=float(2 + rng.normal()), conditions=HIGH)
        )
        if i < 12:  # fewer than PHASE_ONE points
            rows.append(
                RecordRow(
                    o,
                    "measurement",
                    PAR,
                    t + timedelta(seconds=30),
                    value=float(9 + rng.normal()),
                    conditions="y=2",
                )
            )
        if i % 3 == 0:  # constant: moving range 0
            rows.append(
                RecordRow(
                    o, "measurement", PAR, t + timedelta(seconds=40), value=5.0, conditions=FLAT
                )
            )
        rows.append(RecordRow(o, "measurement", OTHER, t, value=float(0.02 + 1e-3 * i)))
    rows.append(RecordRow(ids[5], "measurement", PAR, T0, value=7.0, conditions=ONE))
    rows.append(RecordRow(ids[6], "setting", PAR, T0, value=3.0, conditions=LOW))
    rows.append(RecordRow(ids[7], "measurement", PAR, T0, text="gel", conditions=LOW))
    store.add_records(rows)

    ms = store.measurements(parameter=PAR) + store.measurements(parameter=OTHER)
    preds = []
    for m in ms:
        for v in ("v1", "v2"):
            preds.append(
                {
                    "object": m["object"],
                    "parameter": m["parameter"],
                    "conditions": m["conditions"],
                    "mean": m["value"] * 0.9,
                    "std": 0.3,
                    "calibration": v,
                    "models": {},
                }
            )
    pk = store.add_predictions(preds)
    res = []
    for j, m in enumerate(ms):
        if j % 11 == 4:  # measured, never compared with a prediction
            continue
        versions = ("v1", "v2") if j % 5 == 0 else ("v2",)  # two residuals: the latest counts
        for v in versions:
            r = m["value"] - m["value"] * 0.9 + (0.1 if v == "v2" else 0.0)
            res.append(
                {
                    "record": m["pk"],
                    "prediction": pk[(m["object"], m["parameter"], m["conditions"], v)],
                    "residual": r,
                    "z": r / 0.3 * (1 if j % 2 else -1),
                }
            )
    store.add_residuals(res)

    alarms = []
    for j, m in enumerate(ms):
        if j % 4:
            continue
        series = ("residual", "measurement", "event", "spec")[(j // 4) % 4]
        alarms.append(
            {
                "object": m["object"],
                "parameter": m["parameter"],
                "series": series,
                "rule": "nelson.2",
                "time": m["time"],
                "value": m["value"],
                "message": f"alarm {j}",
            }
        )
        if j % 8 == 0:  # a second rule on the same point
            alarms.append(alarms[-1] | {"rule": "ewma", "message": f"ewma {j}"})
    # an alarm at a shown time on another object, and one between two points
    last = ms[len(ms) // 2 - 1]
    alarms.append(
        {
            "object": ids[0],
            "parameter": PAR,
            "series": "residual",
            "rule": "x",
            "time": last["time"],
            "value": 0.0,
            "message": "other object",
        }
    )
    alarms.append(
        {
            "object": last["object"],
            "parameter": PAR,
            "series": "residual",
            "rule": "y",
            "time": last["time"] + timedelta(seconds=1),
            "value": 0.0,
            "message": "between points",
        }
    )
    store.add_alarms(alarms)


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        _fill(s)
        yield s


def _same(new: object, old: object) -> None:
    assert json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True)


def _answer(fn, *args, **kw) -> str:
    """The JSON of ``fn``'s answer, or its TwinError's message."""
    try:
        return json.dumps(fn(*args, **kw), sort_keys=True)
    except TwinError as err:
        return f"TwinError: {err}"


def test_the_bounded_chart_equals_the_whole_series_chart(store):
    ref = _reference()
    cases = 0
    for series in ("residual", "measurement"):
        for conditions in (None, LOW, HIGH, ONE, FLAT, "y=2"):
            for limit in (1, 2, 7, PHASE_ONE, 33, 500):
                kw = {"series": series, "conditions": conditions, "limit": limit}
                new = _answer(spc_chart, store, PAR, **kw)
                assert new == _answer(ref.spc_chart_whole_series, store, PAR, **kw)
                cases += not new.startswith("TwinError")
    # what the cases cover (so the comparison cannot pass on trivial charts)
    low = spc_chart(store, PAR, series="measurement", conditions=LOW, limit=7)
    assert low["total"] == 45 and low["phase_one"] == PHASE_ONE and len(low["values"]) == 7
    assert low["lcl"] < low["centre"] < low["ucl"] and low["alarms"]
    few = spc_chart(store, PAR, series="measurement", conditions="y=2", limit=500)
    assert few["total"] == few["phase_one"] == len(few["values"]) == 12  # < PHASE_ONE, < limit
    assert spc_chart(store, PAR, series="measurement", conditions=ONE)["sigma"] is None
    assert spc_chart(store, PAR, series="measurement", conditions=FLAT)["sigma"] is None
    first = spc_chart(store, PAR, series="measurement")  # the first conditions, sorted
    assert first["conditions"] == ONE and first["total"] == 1
    every = spc_chart(store, PAR, series="residual", limit=500)
    assert every["total"] == len(every["values"]) < 2 * 45 + 12 + 15 + 1  # some lack residuals
    assert {a["series"] for a in every["alarms"]} == {"residual", "event"}
    window = spc_chart(store, PAR, series="residual", limit=20)
    assert 0 < len(window["alarms"]) < len(every["alarms"])  # alarms outside the window dropped
    assert cases == 66  # one residual series is empty: the same error from both


def test_a_chart_without_data_is_refused_as_before(store):
    ref = _reference()
    for par, series, cond in (
        (PAR, "measurement", "shear_rate=3 1/s"),
        (PAR, "residual", ONE),
        ("cathode.coating.gap", "residual", None),
        ("cathode.coating.gap", "measurement", None),
    ):
        kw = {"series": series, "conditions": cond}
        new = _answer(spc_chart, store, par, **kw)
        assert new.startswith("TwinError: parameter = ")
        assert new == _answer(ref.spc_chart_whole_series, store, par, **kw)


def test_the_bounded_residual_list_equals_the_whole_series_list(store):
    ref = _reference()
    some = store.measurements(parameter=PAR)
    since, until = some[10]["time"], some[60]["time"]
    for parameter in (PAR, OTHER, None):
        for window in ((None, None), (since, None), (None, until), (since, until)):
            for limit in (0, 1, 9, 400):
                kw = {
                    "parameter": parameter,
                    "since": window[0],
                    "until": window[1],
                    "limit": limit,
                }
                _same(residual_points(store, **kw), ref.residual_points_whole_series(store, **kw))


def test_the_store_filters_alarms_by_series_and_time_in_sql(store):
    every = store.alarms(parameter=PAR)
    t1, t2 = every[5]["time"], every[-5]["time"]
    picked = store.alarms(
        parameter=PAR,
        series={"residual", "event"},
        since=datetime.fromisoformat(t1),
        until=datetime.fromisoformat(t2),
    )
    assert picked == [
        a for a in every if a["series"] in {"residual", "event"} and t1 <= a["time"] <= t2
    ]
    assert 0 < len(picked) < len(every)
