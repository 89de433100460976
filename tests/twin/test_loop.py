"""twin.loop over the store (SQLite and PostgreSQL): predictions stored before measurement
with their calibration version, residuals and z, one calibration version per update, rollback,
SPC alarms on an injected step and none on in-control data, the settings → recipe mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from twinline.twin.calibration import Calibration, chain_outputs
from twinline.twin.errors import StoreError
from twinline.twin.loop import TwinLoop, apply_settings, at_shear_rate, setting_paths
from twinline.twin.store import EdgeRow, ObjectRow, RecordRow, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = "cathode.coating.am_loading"


@pytest.fixture(scope="module")
def recipe():
    from twinline.spec.recipe import load_recipe

    return load_recipe(EXAMPLES / "nmc111_cathode.yaml")


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def _roll(store, name, batch, gap_um, t):
    store.add_objects([ObjectRow(name, "coated_roll", t)])
    store.add_edges([EdgeRow(batch, name)])
    store.add_records([RecordRow(name, "setting", "cathode.coating.gap", t,
                                 value=gap_um * 1e-6)])


def _batch(store, name, t, solid=0.65):
    store.add_objects([ObjectRow(name, "slurry_batch", t)])
    store.add_records([RecordRow(name, "setting", "cathode.mixing.solid_content", t,
                                 value=solid)])


def _measure(store, name, value, t, sd=None, parameter=KEY):
    store.add_records([RecordRow(name, "measurement", parameter, t, value=value,
                                 uncertainty=sd)])
    return [m for m in store.measurements() if m["object"] == name
            and m["parameter"] == parameter and m["time"] == t]


def test_settings_map_onto_recipe_paths(recipe):
    assert setting_paths("cathode.drying.line_speed") == ("cathode.drying.web_speed",)
    assert setting_paths("cathode.coating.gap") == ("cathode.coating.gap",)
    assert setting_paths("cathode.drying.zones.1.temperature") == (
        "cathode.drying.zones.1.temperature",)
    assert setting_paths("cathode.coating.am_loading") == ()       # an output, not a setting
    new, applied, skipped = apply_settings(recipe, {
        "cathode.formulation.active_material.mass_fraction": {"value": 0.94},
        "cathode.drying.line_speed": {"value": 0.006},
        "cathode.drying.zones.1.temperature": {"value": 370.0},
        "cathode.formulation.binder.material": {"value": None, "text": "PVDF"},
        "cathode.coating.am_loading": {"value": 0.3}})
    assert skipped == ["cathode.coating.am_loading"]
    assert len(applied) == 4
    f = new.cathode.formulation
    assert f.active_material.mass_fraction == 0.94
    assert f.binder.mass_fraction == pytest.approx(0.03)           # the rest, shared as before
    assert f.conductive_additive.mass_fraction == pytest.approx(0.03)
    assert new.cathode.drying.web_speed == 0.006
    assert [z.temperature for z in new.cathode.drying.zones] == [
        recipe.cathode.drying.zones[0].temperature, 370.0]
    assert recipe.cathode.formulation.active_material.mass_fraction == 0.96  # a copy
    vis = at_shear_rate(recipe, "cathode.mixing.viscosity", "shear_rate=25 1/s")
    assert vis.cathode.coating.gap == pytest.approx(recipe.cathode.coating.speed / 25.0)


def test_predictions_are_stored_before_measurement_with_their_version(store, recipe):
    _batch(store, "SB1", T0)
    _roll(store, "CR1", "SB1", 250, T0)
    loop = TwinLoop(store, recipe)
    ctx = loop.context("CR1")
    assert ctx.groups == {"batch": "SB1", "roll": "CR1"}
    assert ctx.recipe.cathode.coating.gap == pytest.approx(250e-6)
    pred = loop.predict_object("CR1")
    stored = {p["parameter"]: p for p in store.predictions("CR1")}
    assert set(stored) == set(pred)
    assert stored[KEY]["calibration"] == loop.calibration.id
    assert stored[KEY]["mean"] == pred[KEY][0] and stored[KEY]["std"] == pred[KEY][1]
    assert stored[KEY]["models"]["calibration"] == "twinline-calibration/1"
    # predicting again with the same version stores nothing new
    n = len(store.predictions("CR1"))
    loop.predict_object("CR1")
    assert len(store.predictions("CR1")) == n
    # the chain at the prior's constants and the effective recipe gives the same mean
    det = chain_outputs(ctx.recipe, loop.calibration.values(), loop.calibration.constants)
    assert pred[KEY][0] == pytest.approx(det[KEY][0], rel=1e-12)


def test_observe_stores_residual_z_a_version_and_rollback_restores(store, recipe):
    _batch(store, "SB1", T0)
    _roll(store, "CR1", "SB1", 250, T0)
    _roll(store, "CR2", "SB1", 200, T0)
    loop = TwinLoop(store, recipe)
    prior = loop.calibration.id
    mean, std = loop.predict_object("CR1")[KEY]
    before_cr2 = loop.predict_object("CR2")[KEY]
    measured = mean * 1.06                                  # the line coats 6 % heavier
    recs = _measure(store, "CR1", measured, T0 + timedelta(minutes=5), sd=0.002)
    res = loop.observe(recs)
    assert len(res.residuals) == 1
    r = res.residuals[0]
    assert r["predicted"] == mean and r["calibration"] == prior
    assert r["residual"] == pytest.approx(measured - mean)
    assert r["z"] == pytest.approx((measured - mean) / np.hypot(0.002, std))
    series = store.residual_series(KEY)
    assert [s["record"] for s in series] == [recs[0]["pk"]]
    assert series[0]["z"] == pytest.approx(r["z"])
    versions = store.calibrations()
    assert versions[-1]["version"] == res.calibration == loop.calibration.id
    assert versions[-1]["active"] and sum(v["active"] for v in versions) == 1
    assert versions[-1]["measurements"] == 1
    # the batch is learnt: CR2 (same batch) is now predicted heavier
    after_cr2 = loop.predict_object("CR2")[KEY]
    assert after_cr2[0] > before_cr2[0] * 1.03
    assert {p["calibration"] for p in store.predictions("CR2")} == {prior, res.calibration}
    # nothing new to observe: no new version
    assert loop.observe().calibration is None
    # rollback to the version before the update: the prediction is the old one again
    parent = versions[-1]["parent"]
    loop.rollback(parent)
    assert [v["version"] for v in store.calibrations() if v["active"]] == [parent]
    again = loop.predict_object("CR2")[KEY]
    assert again == pytest.approx(before_cr2, rel=1e-12)
    with pytest.raises(StoreError, match="calibration version 'nope' is not in the store"):
        loop.rollback("nope")
    # a new loop on the same store picks up the active version
    assert TwinLoop(store, recipe).calibration.id == parent


def test_an_injected_step_raises_an_alarm_and_in_control_data_none(store, recipe):
    rng = np.random.default_rng(2)
    _batch(store, "SB1", T0)
    loop = TwinLoop(store, recipe, learn=False)      # a fixed model: residuals are white
    ctx = None
    t = T0
    for i in range(40):
        name = f"CR{i:02d}"
        _roll(store, name, "SB1", 250, t)
        if ctx is None:
            ctx = loop.context(name)
            mean = loop.predict_object(name)[KEY][0]
        value = mean * (1 + rng.normal(0.0, 0.01)) * (1.10 if i >= 30 else 1.0)
        t = t + timedelta(minutes=1)
        res = loop.observe(_measure(store, name, value, t, sd=0.01 * mean))
        if i < 30:
            assert res.alarms == [], f"false alarm at {name}: {res.alarms}"
    alarms = store.alarms(parameter=KEY)
    assert alarms, "a 10 % step raised no alarm"
    first = min(int(a["object"][2:]) for a in alarms)
    assert 30 <= first <= 35
    assert {a["series"] for a in alarms} >= {"residual", "measurement"}
    n = len(store.alarms())
    assert loop.watch([KEY]) == []                    # old alarms are not stored twice
    assert len(store.alarms()) == n


def test_calibration_states_round_trip_through_the_store(store, recipe):
    cal = Calibration.initial(recipe)
    assert store.add_calibration(cal.to_dict()) is True
    assert store.add_calibration(cal.to_dict()) is False
    back = Calibration.from_dict(store.calibration_state(cal.id))
    assert back.to_dict() == cal.to_dict()
    assert store.calibration_state() == cal.to_dict()


def test_replicates_carry_the_information_of_their_mean():
    from twinline.twin.calibration import _noise_sd
    from twinline.twin.loop import replicate_std, shared_sd

    par, pred, value, meas = KEY, 0.3, 0.31, 0.002
    s = shared_sd(par, pred)
    assert s == pytest.approx(0.023 * pred)
    r2 = _noise_sd(par, pred, None) ** 2 + meas ** 2
    for n in (1, 2, 8):
        info = 0.0
        for k in range(1, n + 1):
            sd = replicate_std(par, value, meas, pred, k)
            info += 1.0 / (sd ** 2 + _noise_sd(par, pred, None) ** 2)
        assert info == pytest.approx(1.0 / (s ** 2 + r2 / n), rel=1e-9)
    # an output without shared error: the measurement's own sd
    assert replicate_std("cathode.calendering.thickness", 1e-4, 1e-6, 1e-4, 5) == 1e-6


def test_the_coater_gap_exponent_is_a_calibration_constant(recipe):
    from twinline.twin.calibration import default_constants

    cal = Calibration.initial(recipe, default_constants("cathode", gap_exponent=True))
    name = "cathode.coating.gap_exponent"
    assert cal.values()[name] == 0.875
    base = chain_outputs(recipe, cal.values(), cal.constants)[KEY][0]
    steeper = dict(cal.values(), **{name: 0.975})
    y = chain_outputs(recipe, steeper, cal.constants)[KEY][0]
    gap, ref = recipe.cathode.coating.gap, 200e-6
    assert y / base == pytest.approx((gap / ref) ** 0.1, rel=1e-9)


def test_a_strip_offset_replaces_the_shared_noise_of_its_outputs():
    from twinline.twin.calibration import ConstantSpec, default_constants
    from twinline.twin.loop import SHARED_NOISE, shared_table

    with_strips = default_constants("cathode")
    # an object in a coated roll: the wet-film ratio's and the drying porosity's roll
    # offsets carry the loading's and the porosity's shared error; viscosity keeps its own
    table = shared_table(with_strips, {"batch": "B1", "roll": "CR1"})
    assert "coating.am_loading" not in table and "drying.porosity" not in table
    assert table["mixing.viscosity"] == SHARED_NOISE["mixing.viscosity"]
    # no roll, or constants without strip offsets: the whole table
    assert shared_table(with_strips, {"batch": "B1"}) == SHARED_NOISE
    assert shared_table(default_constants("cathode", strips=False),
                        {"batch": "B1", "roll": "CR1"}) == SHARED_NOISE
    zero = ConstantSpec("k", "coating", "cathode", "coater.ratio", "log", 0.1,
                        ("cathode.coating.am_loading",), group="roll", group_sd=0.0)
    assert shared_table([zero], {"roll": "CR1"}) == SHARED_NOISE


def test_keep_recent_groups_marginalises_old_offsets_exactly(recipe):
    """Dropping old group offsets deletes their rows and columns: the line-wide constants
    and the kept offsets keep their posterior mean and covariance."""
    from twinline.twin.calibration import Calibration, _make
    from twinline.twin.loop import keep_recent_groups

    prior = Calibration.initial(recipe)
    grouped = next(s for s in prior.constants if s.group == "batch")
    labels = (*prior.labels, *(f"{grouped.name}@batch=B{i}" for i in range(5)))
    n = len(labels)
    rng = np.random.default_rng(2)
    a = rng.normal(size=(n, n))
    cov = a @ a.T + n * np.eye(n)
    mean = rng.normal(size=n)
    cal = _make(None, 0.0, prior.constants, labels, mean, cov, ())
    kept = keep_recent_groups(cal, 2)
    assert kept.labels == (*prior.labels, f"{grouped.name}@batch=B3",
                           f"{grouped.name}@batch=B4")
    idx = [labels.index(x) for x in kept.labels]
    np.testing.assert_array_equal(kept.mean, mean[idx])
    np.testing.assert_array_equal(kept.cov, cov[np.ix_(idx, idx)])
    assert keep_recent_groups(kept, 2) is kept            # nothing to drop: the same version
