"""The loop's incremental watch (charts, specification and capability alarms judged only at
the points not judged before) stores and returns exactly the alarms of the algorithm it
replaced — every series read whole and judged whole at every step, the new alarms found by
reading the alarm table before and after — step by step, on SQLite and PostgreSQL.

The old algorithm is kept in ``watch_reference.py``, copied from ``twin/loop.py`` and
``twin/capability.py`` as they were before the change. Two stores receive the same stream;
the old algorithm watches one, the loop the other; after every step their answers and
finally their alarm tables must be equal (values to the last bit, messages to the
character)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from twinline.spec.recipe import parse_recipe
from twinline.twin.charts import judge_chart
from twinline.twin.loop import PHASE_ONE, SPC_RULES, TwinLoop
from twinline.twin.spc import chart_alarms
from twinline.twin.store import ObjectRow, RecordRow, Store

from .watch_reference import old_watch, old_watch_specs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc111_cathode.yaml"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
POR = "cathode.calendering.porosity"
LOAD = "cathode.coating.am_loading"
EDGE = "position=edge"


# ----------------------------------------------------------------------------- the stream
def _recipe():
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["spec_limits"] = {
        POR: {"lower": 0.28, "upper": 0.32},
        LOAD: {"lower": "9.6 mg/cm^2", "upper": "10.4 mg/cm^2"},
    }
    return parse_recipe(data, "line.yaml")


def _stream(seed: int = 3) -> list[list[tuple]]:
    """Steps of ``(minute, object, parameter, conditions, value, z)``: porosity at the
    centre of every roll (sd 0.002 in 0.28..0.32, Cpk ~ 3; sd 0.009 from roll 60 to 110 and
    again from 170: Cpk falls below 1.33, recovers, falls again; values beyond the limits
    among them; a mean shift from roll 130), at the edge of every third roll (a second
    conditions, same object and time), the loading of every second roll (a jump at roll 5:
    rule 1 in phase one). Residual z-scores normal, an outlier at roll 2 and a shift
    late."""
    rng = np.random.default_rng(seed)
    steps = []
    for i in range(220):
        sd = 0.009 if 60 <= i < 110 or i >= 170 else 0.002
        por = 0.30 + sd * rng.standard_normal() + (0.004 if 130 <= i < 160 else 0.0)
        z = rng.standard_normal() + (8.0 if i == 2 else 0.0) + (1.5 if i >= 150 else 0.0)
        recs = [(i, f"R{i:04d}", POR, "", por, z)]
        if i % 3 == 0:
            recs.append(
                (
                    i,
                    f"R{i:04d}",
                    POR,
                    EDGE,
                    por + 0.001 * rng.standard_normal(),
                    rng.standard_normal(),
                )
            )
        if i % 2 == 0:
            load = 0.100 + 0.0005 * rng.standard_normal() + (0.004 if i == 10 else 0.0)
            recs.append((i, f"R{i:04d}", LOAD, "", load, rng.standard_normal()))
        steps.append(recs)
    return steps


def _deliver(store, loop, recs, *, last_pk):
    """Store the records (objects, measurements, a prediction and a residual each)."""
    for minute, obj, *_ in recs:
        store.add_objects([ObjectRow(obj, "calendered_roll", T0 + timedelta(minutes=minute))])
    store.add_records(
        [
            RecordRow(
                obj,
                "measurement",
                par,
                T0 + timedelta(minutes=minute),
                value=float(v),
                conditions=cond,
            )
            for minute, obj, par, cond, v, _ in recs
        ]
    )
    new = store.measurements(after_pk=last_pk)
    zs = {(obj, par, cond): z for _, obj, par, cond, _, z in recs}
    preds = store.add_predictions(
        [
            {
                "object": m["object"],
                "parameter": m["parameter"],
                "conditions": m["conditions"],
                "mean": m["value"],
                "std": 1.0,
                "calibration": loop.calibration.id,
                "models": {},
            }
            for m in new
        ]
    )
    store.add_residuals(
        [
            {
                "record": m["pk"],
                "residual": 0.001 * zs[(m["object"], m["parameter"], m["conditions"])],
                "prediction": preds[
                    (m["object"], m["parameter"], m["conditions"], loop.calibration.id)
                ],
                "z": zs[(m["object"], m["parameter"], m["conditions"])],
            }
            for m in new
        ]
    )
    return max((m["pk"] for m in new), default=last_pk)


@pytest.fixture
def two_urls(store_url, request, tmp_path):
    if store_url.startswith("sqlite"):
        yield store_url, f"sqlite:///{tmp_path}/twinline-old.db"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"t_{uuid.uuid4().hex}"
    cluster.execute(f"CREATE DATABASE {name}")
    try:
        yield store_url, cluster.url(name)
    finally:
        cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.slow
def test_incremental_watch_equals_the_whole_series_algorithm(two_urls):
    rec = _recipe()
    limits = rec.spec_limits
    steps = _stream()
    # late deliveries: roll 40's edge reading arrives after roll 44 (inside the kept tail),
    # roll 8's after roll 150 (before it: the series is judged whole again)
    late = {44: [r for r in steps[40] if r[3] == EDGE], 150: [r for r in steps[9] if r[3]]}
    steps[40] = [r for r in steps[40] if r[3] != EDGE]
    steps[9] = [r for r in steps[9] if not r[3]]
    with Store.open(two_urls[0]) as new, Store.open(two_urls[1]) as old:
        loop = TwinLoop(new, rec, learn=False)
        old_loop = TwinLoop(old, rec, learn=False)
        pk_new = pk_old = 0
        kinds = set()
        for i, recs in enumerate(steps):
            recs = recs + late.get(i, [])
            if i == 120:  # a restart: a new loop over the same store, nothing kept
                loop = TwinLoop(new, rec, learn=False)
            for _ in range(2 if i % 25 == 7 else 1):  # duplicate deliveries
                pk_new = _deliver(new, loop, recs, last_pk=pk_new)
                pk_old = _deliver(old, old_loop, recs, last_pk=pk_old)
                params = sorted({r[2] for r in recs})
                want = old_watch(old, params) + old_watch_specs(old, limits, params)
                got = loop.watch(params) + loop.watch_specs(params)
                assert got == want, f"step {i}"
                kinds |= {(a["series"], a["rule"]) for a in got}
        alarms = new.alarms()
        assert alarms == old.alarms()
    # the stream exercises what it is meant to: spec crossings on both sides, the Cpk alarm
    # raised more than once, rules in phase one and late, EWMA and CUSUM
    caps = [a for a in alarms if a["series"] == "capability"]
    assert len(caps) >= 2 and {("spec", "spec:above-upper"), ("spec", "spec:below-lower")} <= kinds
    assert any(
        a["series"] == "measurement"
        and a["rule"] == "nelson-1"
        and a["time"] < (T0 + timedelta(minutes=PHASE_ONE)).isoformat()
        for a in alarms
    )
    assert {"ewma", "cusum-up"} <= {a["rule"] for a in alarms if a["series"] == "residual"}
    assert any(
        a["series"] == "residual" and a["time"] > (T0 + timedelta(minutes=150)).isoformat()
        for a in alarms
    )


def _judge_all(x, keys, tail, **kw):
    got = judge_chart(x, keys, 0, len(x), tail, **kw)
    assert got is not None  # every point given: never asks for the whole series
    return got


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_chart_judged_in_pieces_equals_the_whole_series_chart(seed):
    """Pieces of random length, a value changed inside the kept tail (a residual learnt
    again) and a point inserted before it (judged whole again): the alarms over all calls
    are those of ``chart_alarms`` on the final series, at the points judged last."""
    rng = np.random.default_rng(seed)
    x = list(rng.standard_normal(400) + np.where(np.arange(400) > 250, 1.2, 0.0))
    keys = [(i, i, v) for i, v in enumerate(x)]
    kw = {"centre": 0.0, "sigma": 1.0, "rules": SPC_RULES}
    tail, n, seen = None, 0, {}
    while n < len(x):
        n = min(len(x), n + int(rng.integers(1, 40)))
        got = judge_chart(
            x[max(n - 100, 0) : n], keys[max(n - 100, 0) : n], max(n - 100, 0), n, tail, **kw
        ) or _judge_all(x[:n], keys[:n], None, **kw)
        alarms, tail = got
        seen.update({(a.index, a.rule): a for a in alarms})
    assert seen == {(a.index, a.rule): a for a in chart_alarms(x, **kw)}
    # a changed value 10 points back: only the points from it on are judged again
    x[-10] += 5.0
    keys[-10] = (len(x) - 10, len(x) - 10, x[-10])
    alarms, _ = judge_chart(x[-100:], keys[-100:], len(x) - 100, len(x), tail, **kw)
    assert min(a.index for a in alarms) >= len(x) - 10
    want = [a for a in chart_alarms(x, **kw) if a.index >= len(x) - 10]
    assert alarms == want and any(a.rule == "nelson-1" for a in alarms)
    # a point before the kept tail: the whole series must be judged
    keys.insert(5, (4.5, 10_000, 0.0))
    x.insert(5, 0.0)
    assert judge_chart(x[-100:], keys[-100:], len(x) - 100, len(x), tail, **kw) is None
