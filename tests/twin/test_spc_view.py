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


def test_the_parameter_list_from_the_counts_equals_the_grouped_count(store):
    from twinline.twin.views import twin_parameters

    new = twin_parameters(store)
    assert json.dumps(new) == json.dumps(_reference().twin_parameters_whole_history(store))
    assert {p["parameter"] for p in new} == {PAR, OTHER}


# ------------------------------------------------------------------------------ the counts
def _counted(store: Store) -> dict[tuple[str, str, str], int]:
    """``series_counts`` as the triggers keep it (rows of n = 0 left out)."""
    from sqlalchemy import select

    from twinline.twin.store.schema import series_counts as sc

    with store.engine.connect() as conn:
        rows = conn.execute(select(sc.c.parameter, sc.c.conditions, sc.c.series, sc.c.n))
        return {(p, c, s): n for p, c, s, n in rows if n}


def _truth(store: Store) -> dict[tuple[str, str, str], int]:
    """The same counted over the history (the definition)."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        meas = conn.execute(
            text(
                "SELECT parameter, conditions, count(*) FROM records WHERE role = 'measurement' "
                "AND value IS NOT NULL GROUP BY parameter, conditions"
            )
        ).all()
        res = conn.execute(
            text(
                "SELECT r.parameter, r.conditions, count(*) FROM records r WHERE EXISTS "
                "(SELECT 1 FROM residuals s WHERE s.record_pk = r.pk) "
                "GROUP BY r.parameter, r.conditions"
            )
        ).all()
    return {(p, c, "measurement"): n for p, c, n in meas} | {
        (p, c, "residual"): n for p, c, n in res
    }


def test_the_series_counts_follow_every_write(store):
    from sqlalchemy import text

    truth = _truth(store)
    assert _counted(store) == truth
    assert truth[(PAR, LOW, "measurement")] == 45 and truth[(PAR, ONE, "measurement")] == 1
    assert store.series_count(PAR, "residual") == sum(
        n for (p, _, s), n in truth.items() if p == PAR and s == "residual"
    )
    assert store.measurement_conditions(PAR) == sorted([LOW, HIGH, ONE, FLAT, "y=2"])

    # writing the same rows again stores nothing and counts nothing
    ms = store.measurements(parameter=PAR)
    assert (
        store.add_records(
            [
                RecordRow(
                    m["object"],
                    "measurement",
                    PAR,
                    m["time"],
                    value=m["value"],
                    conditions=m["conditions"],
                )
                for m in ms[:30]
            ]
        )
        == 0
    )
    assert _counted(store) == truth
    with store.engine.begin() as conn:
        twice = conn.execute(
            text("SELECT record_pk FROM residuals GROUP BY record_pk HAVING count(*) = 2")
        ).scalars()
        twice = list(twice)
        once = list(
            conn.execute(
                text("SELECT record_pk FROM residuals GROUP BY record_pk HAVING count(*) = 1")
            ).scalars()
        )
        # one of two residuals removed: the record keeps its point
        conn.execute(
            text(
                "DELETE FROM residuals WHERE pk = (SELECT min(pk) FROM residuals "
                "WHERE record_pk = :r)"
            ),
            {"r": twice[0]},
        )
        # a record's only residual removed, then the record itself
        conn.execute(text("DELETE FROM residuals WHERE record_pk = :r"), {"r": once[0]})
        conn.execute(text("DELETE FROM alarms"))
        conn.execute(text("DELETE FROM records WHERE pk = :r"), {"r": once[0]})
        # a record with residuals moved to other conditions; a value cleared
        conn.execute(text("UPDATE records SET conditions = 'z=3' WHERE pk = :r"), {"r": once[1]})
        conn.execute(text("UPDATE records SET value = NULL WHERE pk = :r"), {"r": twice[1]})
    after = _truth(store)
    assert after != truth
    assert _counted(store) == after
    assert store.measurement_conditions(PAR) == sorted(
        {c for (p, c, s) in after if p == PAR and s == "measurement"}
    )


def test_the_migration_counts_the_series_already_stored(store):
    """The filled store taken back to revision 0004 (``downgrade``: no counts, no
    triggers), then upgraded: ``series_counts`` is filled from the rows already there and
    kept from then on."""
    from alembic import command
    from sqlalchemy import inspect

    from twinline.twin.store.store import _alembic_config

    truth = _truth(store)
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with store.engine.connect() as conn:
        assert "series_counts" not in inspect(conn).get_table_names()
    assert store.upgrade() == ("0004", "0005")
    assert _counted(store) == truth == _truth(store)
    store.add_records(
        [RecordRow("SB-000", "measurement", PAR, T0 + timedelta(days=9), value=1.0, conditions=LOW)]
    )
    assert (
        _counted(store)[(PAR, LOW, "measurement")] == 46 == _truth(store)[(PAR, LOW, "measurement")]
    )


def test_a_record_written_past_the_store_is_found_by_check_and_recounted(store):
    """SQLite counts the records the store adds (no row trigger: it tripled the time of a
    file ingestion); a row written with plain SQL is reported by ``check`` and counted by
    ``recount_series``. PostgreSQL's statement triggers count it at once."""
    from sqlalchemy import text

    assert store.check() == []
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO records (object_pk, role, parameter, value, unit, method, source, "
                "time, conditions) SELECT pk, 'measurement', :p, 1.0, '', '', 'sql', :t, :c "
                "FROM objects WHERE object_id = 'SB-001'"
            ),
            {"p": PAR, "t": T0 + timedelta(days=30), "c": LOW},
        )
    problems = store.check()
    if store.engine.dialect.name == "sqlite":
        assert len(problems) == 1 and "series counts differ" in problems[0]
        assert f"{PAR} [{LOW}] measurement: 45 kept, 46 stored" in problems[0]
        assert store.recount_series() == len(_truth(store))
    assert store.check() == []
    assert _counted(store) == _truth(store)
    assert spc_chart(store, PAR, series="measurement", conditions=LOW)["total"] == 46


def test_many_conditions_are_read_in_one_sorted_query_with_the_same_answer(store, monkeypatch):
    """Past MERGE_CONDITIONS conditions the residual series of all conditions is one query
    sorting the parameter's records instead of one index range per conditions."""
    import twinline.twin.store.store as store_module

    ref = _reference()
    monkeypatch.setattr(store_module, "MERGE_CONDITIONS", 2)
    for limit in (3, 40, 500):
        kw = {"series": "residual", "limit": limit}
        assert _answer(spc_chart, store, PAR, **kw) == _answer(
            ref.spc_chart_whole_series, store, PAR, **kw
        )
        _same(
            residual_points(store, parameter=PAR, limit=limit),
            ref.residual_points_whole_series(store, parameter=PAR, limit=limit),
        )
