"""The twin endpoints (``/api/v1/twin/...``) on a store with a known line: 30 coated rolls of
one slurry batch, the wet film measured on each (100 µm ± 0.5 µm, +10 % from roll 24 on: a
coat-gap step), each against a stored prediction of 100 µm ± 2 µm, and the alarms the twin
loop's own SPC (:meth:`TwinLoop.watch`) stores for them.

The charts' centre and limits are checked against an independent computation (mean and
mean moving range / 1.128 of the first 20 points), the alarms' places against the step, the
units against the catalogue (µm for a film thickness).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.api.conftest import AUTH, EXAMPLES, TOKEN

PAR = "cathode.coating.wet_film_thickness"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
N, STEP_AT = 30, 24
MEAN, NOISE, PRED_SD = 100e-6, 0.5e-6, 2e-6


def _values() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = MEAN + NOISE * rng.standard_normal(N)
    x[STEP_AT:] *= 1.10
    return x


@pytest.fixture
def line(app):
    """The app's store filled with the known line (see the module docstring)."""
    from twinline.spec.recipe import load_recipe
    from twinline.twin.calibration import Calibration
    from twinline.twin.loop import TwinLoop
    from twinline.twin.store.rows import EdgeRow, ObjectRow, RecordRow

    store = app.state.store
    recipe = load_recipe(EXAMPLES / "nmc111_cathode.yaml")
    first = Calibration.initial(recipe)
    second = Calibration.initial(recipe, time=3600.0)
    store.add_calibration(first.to_dict(), active=False)
    store.add_calibration(second.to_dict(), active=True)
    rolls = [f"CR-{i:02d}" for i in range(N)]
    store.add_objects(
        [ObjectRow("SB-1", "slurry_batch", T0, "test")]
        + [
            ObjectRow(r, "coated_roll", T0 + timedelta(seconds=i), "test")
            for i, r in enumerate(rolls)
        ]
    )
    store.add_edges([EdgeRow("SB-1", r) for r in rolls])
    x = _values()
    store.add_records(
        [
            RecordRow(
                r,
                "measurement",
                PAR,
                T0 + timedelta(seconds=i),
                value=float(x[i]),
                unit="um",
                source="test",
            )
            for i, r in enumerate(rolls)
        ]
        + [
            RecordRow(
                r,
                "setting",
                "cathode.coating.gap",
                T0 + timedelta(seconds=i),
                value=300e-6,
                unit="um",
                source="test",
            )
            for i, r in enumerate(rolls)
        ]
    )
    preds = store.add_predictions(
        [
            {
                "object": r,
                "parameter": PAR,
                "conditions": "",
                "mean": MEAN,
                "std": PRED_SD,
                "calibration": second.id,
                "models": {"test": 1},
            }
            for r in rolls
        ]
    )
    meas = {m["object"]: m for m in store.measurements(parameter=PAR)}
    store.add_residuals(
        [
            {
                "record": meas[r]["pk"],
                "prediction": preds[(r, PAR, "", second.id)],
                "residual": meas[r]["value"] - MEAN,
                "z": (meas[r]["value"] - MEAN) / PRED_SD,
            }
            for r in rolls
        ]
    )
    TwinLoop(store, recipe).watch([PAR])
    return {"first": first.id, "second": second.id, "values": x, "rolls": rolls}


def test_parameters_list_counts_and_units(client, line):
    r = client.get("/api/v1/twin/parameters")
    assert r.status_code == 200, r.text
    (p,) = [p for p in r.json() if p["parameter"] == PAR]
    assert p["measurements"] == N and p["residuals"] == N and p["alarms"] > 0
    assert p["unit"] == "m" and p["display_unit"] == "um" and p["scale"] == pytest.approx(1e6)


def test_measurement_chart_matches_an_independent_phase_one_and_marks_the_step(client, line):
    r = client.get("/api/v1/twin/spc", params={"parameter": PAR, "series": "measurement"})
    assert r.status_code == 200, r.text
    c = r.json()
    x = line["values"]
    phase = x[:20]
    sigma = np.mean(np.abs(np.diff(phase))) / 1.128
    assert c["values"] == pytest.approx(list(x), rel=1e-12)
    assert c["centre"] == pytest.approx(phase.mean(), rel=1e-12)
    assert c["sigma"] == pytest.approx(sigma, rel=1e-12)
    assert c["ucl"] == pytest.approx(phase.mean() + 3 * sigma, rel=1e-12)
    assert c["phase_one"] == 20 and c["total"] == N
    # the +10 % step (about 20 sigma) is flagged by rule 1 at its first point, none before
    beyond = [a["index"] for a in c["alarms"] if a["rule"] == "nelson-1"]
    assert min(beyond) == STEP_AT
    for a in c["alarms"]:  # each mark sits at its object's point
        assert c["objects"][a["index"]] == a["object"] and c["times"][a["index"]] == a["time"]


def test_residual_chart_is_standardised_and_limited(client, line):
    c = client.get("/api/v1/twin/spc", params={"parameter": PAR, "limit": 10}).json()
    assert (c["centre"], c["sigma"], c["lcl"], c["ucl"]) == (0.0, 1.0, -3.0, 3.0)
    assert c["unit"] == "" and c["value_unit"] == "m"
    assert len(c["values"]) == 10 and c["total"] == N  # the newest 10
    z = (line["values"] - MEAN) / PRED_SD
    assert c["values"] == pytest.approx(list(z[-10:]), rel=1e-9)
    assert c["objects"][0] == line["rolls"][N - 10]


def test_the_policys_event_is_marked_on_the_residual_chart_only(app, client, line):
    """The live loop's alarm policy (series ``event``, CUSUM / jump on the residual z-scores
    against its own 20-point baseline) opens one event at the first roll of the +10 % step
    (z jumps by 5 while the baseline sd of z is 0.25); the residual chart marks it there with
    its message, the measurement chart (its own rules) does not."""
    from twinline.spec.recipe import load_recipe
    from twinline.twin.loop import TwinLoop
    from twinline.twin.spc import AlarmPolicy

    store = app.state.store
    rows = [{"parameter": PAR, "conditions": "", **s} for s in store.residual_series(PAR)]
    loop = TwinLoop(store, load_recipe(EXAMPLES / "nmc111_cathode.yaml"), policy=AlarmPolicy())
    stored = loop.watch_policy(rows, close=True)
    assert [(a["series"], a["object"]) for a in stored] == [("event", line["rolls"][STEP_AT])]
    c = client.get("/api/v1/twin/spc", params={"parameter": PAR}).json()
    (mark,) = [a for a in c["alarms"] if a["series"] == "event"]
    assert mark["index"] == STEP_AT and mark["object"] == line["rolls"][STEP_AT]
    assert mark["message"].startswith(f"event 1: {PAR} residual at {line['rolls'][STEP_AT]}")
    m = client.get("/api/v1/twin/spc", params={"parameter": PAR, "series": "measurement"})
    assert all(a["series"] == "measurement" for a in m.json()["alarms"])


def test_residuals_filtered_by_time(client, line):
    since = (T0 + timedelta(seconds=STEP_AT)).isoformat()
    r = client.get("/api/v1/twin/residuals", params={"parameter": PAR, "since": since})
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == N - STEP_AT
    assert [row["object"] for row in rows] == line["rolls"][STEP_AT:]
    for row in rows:
        assert row["residual"] == pytest.approx(row["measured"] - row["predicted"], abs=1e-15)
        assert row["z"] == pytest.approx(row["residual"] / PRED_SD, rel=1e-9)
        assert row["unit"] == "m" and row["calibration"] == line["second"]
    until = (T0 + timedelta(seconds=4)).isoformat()
    assert len(client.get("/api/v1/twin/residuals", params={"until": until}).json()) == 5


def test_alarms_filtered_by_parameter_and_time(client, line):
    every = client.get("/api/v1/twin/alarms").json()
    assert every and all(a["parameter"] == PAR for a in every)
    assert [a["time"] for a in every] == sorted(a["time"] for a in every)
    late = client.get(
        "/api/v1/twin/alarms",
        params={"parameter": PAR, "since": (T0 + timedelta(seconds=STEP_AT)).isoformat()},
    ).json()
    assert late == [a for a in every if a["time"] >= (T0 + timedelta(seconds=STEP_AT)).isoformat()]
    assert (
        client.get(
            "/api/v1/twin/alarms", params={"parameter": "cathode.calendering.porosity"}
        ).json()
        == []
    )


def test_predictions_of_an_object(client, line):
    r = client.get("/api/v1/twin/predictions", params={"object": "CR-03", "parameter": PAR})
    assert r.status_code == 200, r.text
    (p,) = r.json()
    assert p["mean"] == MEAN and p["std"] == PRED_SD and p["calibration"] == line["second"]
    assert p["display_unit"] == "um"
    none = client.get(
        "/api/v1/twin/predictions", params={"object": "CR-03", "calibration": line["first"]}
    )
    assert none.status_code == 200 and none.json() == []


def test_line_now_gives_the_newest_object_per_step(client, line):
    steps = client.get("/api/v1/twin/line").json()
    assert [s["kind"] for s in steps] == ["slurry_batch", "coated_roll"]
    roll = steps[1]
    assert roll["object"] == "CR-29" and roll["objects"] == N and roll["step"] == "coating"
    wet = next(v for v in roll["values"] if v["parameter"] == PAR)
    assert wet["value"] == pytest.approx(line["values"][-1]) and wet["display_unit"] == "um"


def test_calibrations_list_show_and_rollback(client, line):
    cals = client.get("/api/v1/twin/calibrations").json()
    assert [c["version"] for c in cals] == [line["first"], line["second"]]
    assert [c["active"] for c in cals] == [False, True]
    lean = client.get("/api/v1/twin/calibrations", params={"groups": "false"}).json()
    assert [c["groups"] for c in lean] == [[], []]
    assert [c["constants"] for c in lean] == [c["constants"] for c in cals]
    c = client.get(f"/api/v1/twin/calibrations/{line['first']}").json()
    ratio = next(k for k in c["constants"] if k["name"].endswith("wet_film_ratio"))
    # the prior: median at the library value, 90 % interval exp(±1.645 sd) around it (log)
    assert ratio["median"] == pytest.approx(ratio["prior"], rel=1e-12)
    assert ratio["high"] / ratio["median"] == pytest.approx(np.exp(1.6448536 * 0.05), rel=1e-6)
    viscosity = next(k for k in c["constants"] if k["name"].endswith("rheology_level"))
    assert viscosity["unit"] == "Pa*s"
    url = f"/api/v1/twin/calibrations/{line['first']}/rollback"
    assert client.post(url).status_code == 401
    wrong = client.post(url, headers={"Authorization": "Bearer wrong-token-xxxxxxxx"})
    assert wrong.status_code == 403 and "error" in wrong.json()
    ok = client.post(url, headers=AUTH)
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == line["first"] and ok.json()["active"] is True
    assert [c["active"] for c in client.get("/api/v1/twin/calibrations").json()] == [True, False]


@pytest.mark.parametrize(
    ("url", "params", "status", "names"),
    [
        (
            "/api/v1/twin/spc",
            {"parameter": "cathode.coating.wet_film_thicknes"},
            400,
            "wet_film_thicknes",
        ),
        ("/api/v1/twin/spc", {"parameter": PAR, "series": "raw"}, 422, "series"),
        (
            "/api/v1/twin/spc",
            {"parameter": "cathode.calendering.porosity"},
            400,
            "cathode.calendering.porosity",
        ),
        ("/api/v1/twin/spc", {}, 422, "parameter"),
        ("/api/v1/twin/residuals", {"limit": 0}, 422, "limit"),
        ("/api/v1/twin/residuals", {"since": "yesterday"}, 422, "since"),
        (
            "/api/v1/twin/alarms",
            {"since": "2026-12-02T00:00:00", "until": "2026-12-01T00:00:00"},
            400,
            "until",
        ),
        ("/api/v1/twin/alarms", {"parameter": "nonsense"}, 400, "nonsense"),
        ("/api/v1/twin/predictions", {}, 422, "object"),
        ("/api/v1/twin/predictions", {"object": "NOPE"}, 404, "NOPE"),
        ("/api/v1/twin/predictions", {"object": "CR-01", "calibration": "0000"}, 404, "0000"),
        ("/api/v1/twin/calibrations/0000", {}, 404, "0000"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_parameter(client, line, url, params, status, names):
    r = client.get(url, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert names in body["error"]
    assert "Traceback" not in r.text


def test_rollback_of_an_unknown_version_is_404(client, line):
    r = client.post("/api/v1/twin/calibrations/0000/rollback", headers=AUTH)
    assert r.status_code == 404 and "0000" in r.json()["error"]


def test_without_a_database_the_twin_is_404():
    from fastapi.testclient import TestClient

    from twinline.api.app import create_app

    with TestClient(create_app(token=TOKEN), raise_server_exceptions=False) as c:
        for url in ("/api/v1/twin/line", "/api/v1/twin/alarms", "/api/v1/twin/calibrations"):
            r = c.get(url)
            assert r.status_code == 404 and "--db" in r.json()["error"]


def test_recommend_reaches_a_porosity_and_matches_the_library(client, line):
    from twinline.spec.recipe import load_recipe
    from twinline.twin.calibration import Calibration
    from twinline.twin.recommend import recommend

    target = "cathode.calendering.porosity=0.30±0.01"
    r = client.post("/api/v1/twin/recommend", json={"targets": [target], "samples": 0})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["reachable"] is True and d["calibration_version"] == line["second"]
    (path,) = d["settings"]
    assert path.startswith("cathode.calendering.")
    assert abs(d["predicted"]["cathode.calendering.porosity"] - 0.30) <= 0.01
    assert d["recipe"] == "ARTISTIC NMC111 cathode"
    # a thin layer: the library with the same recipe and calibration gives the same answer
    from twinline.api.routes.twin import DEFAULT_RECIPE

    state = client.app.state.store.calibration_state()
    lib = recommend(
        load_recipe(DEFAULT_RECIPE), [target], samples=0, calibration=Calibration.from_dict(state)
    )
    assert d["settings"][path] == pytest.approx(lib.settings[path], rel=1e-9)


def test_recommend_refuses_an_unreachable_target_with_the_reason(client, line):
    r = client.post(
        "/api/v1/twin/recommend",
        json={"targets": ["cathode.calendering.porosity=0.10±0.01"], "samples": 0},
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["reachable"] is False
    assert any("not reachable" in m and "0.1" in m for m in d["messages"])


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"targets": ["cathode.calendering.porosty=0.3±0.01"]}, 400, "porosty"),
        ({"targets": ["porosity 0.3"]}, 400, "porosity 0.3"),
        ({"targets": []}, 422, "targets"),
        ({"targets": ["cathode.calendering.porosity=0.3±0.01"], "samples": 1000}, 422, "samples"),
        ({"targets": ["cathode.calendering.porosity=0.3±0.01"], "object": "NOPE"}, 404, "NOPE"),
        (
            {
                "targets": ["cathode.calendering.porosity=0.3±0.01"],
                "adjust": ["cathode.coating.gapp"],
            },
            400,
            "gapp",
        ),
    ],
)
def test_recommend_bad_input_names_it(client, line, body, status, names):
    r = client.post("/api/v1/twin/recommend", json={"samples": 0, **body})
    assert r.status_code == status, r.text
    assert names in r.json()["error"]
