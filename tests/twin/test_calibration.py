"""twin.calibration: the Bayesian update against closed forms, hierarchy, drift, versions,
the chain learning a changed constant back, and the time of one update."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from twinline.twin.calibration import (
    Calibration,
    CalibrationLog,
    ConstantSpec,
    Observation,
    OutputNoise,
    chain_outputs,
    predict,
    update,
    z_score,
)
from twinline.twin.errors import TwinError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Linear:
    """y = Σ h_i value_i + c, the recipe being (h, c); exact Jacobian."""

    def __call__(self, recipe, values, constants):
        h, c = recipe
        return {"y": sum(hi * values[s.name] for hi, s in zip(h, constants, strict=True)) + c}

    def jacobian(self, recipe, values, constants):
        h, _ = recipe
        return {"y": {s.name: hi for hi, s in zip(h, constants, strict=True)}}


def spec(name, sd, *, group=None, group_sd=0.0, drift_sd=0.0, mean=0.0):
    return ConstantSpec(name, "test", "cathode", "coater.ratio", "identity", sd, ("y",),
                        group=group, group_sd=group_sd, drift_sd=drift_sd, prior_mean=mean)


NO_NOISE = {"y": OutputNoise()}


def test_scalar_conjugate_update_is_exact():
    m0, s0, sigma = 2.0, 0.5, 0.3
    ys = [2.4, 2.9, 2.1]
    cal = Calibration.initial(constants=[spec("k", s0, mean=m0)])
    obs = [Observation("y", y, sigma, recipe=((1.0,), 0.0)) for y in ys]
    post = update(cal, obs, model=Linear(), noise=NO_NOISE)
    var = 1.0 / (1.0 / s0**2 + len(ys) / sigma**2)
    mean = var * (m0 / s0**2 + sum(ys) / sigma**2)
    assert post.mean[0] == pytest.approx(mean, abs=1e-12)
    assert post.cov[0, 0] == pytest.approx(var, abs=1e-12)
    # sequentially, one at a time: the same posterior
    seq = cal
    for o in obs:
        seq = update(seq, [o], model=Linear(), noise=NO_NOISE)
    assert seq.mean[0] == pytest.approx(mean, abs=1e-12)
    assert seq.cov[0, 0] == pytest.approx(var, abs=1e-12)


def test_two_dimensional_conjugate_update_is_exact():
    m0 = np.array([1.0, -0.5])
    s0 = np.array([0.8, 0.4])
    cal = Calibration.initial(constants=[spec("a", s0[0], mean=m0[0]),
                                         spec("b", s0[1], mean=m0[1])])
    rows = [((1.0, 0.0), 0.1), ((0.0, 1.0), -0.2), ((1.0, 2.0), 0.0), ((0.5, -1.5), 1.0)]
    ys = [1.3, -0.9, 0.2, 2.5]
    sds = [0.2, 0.1, 0.3, 0.25]
    obs = [Observation("y", y, sd, recipe=row) for y, sd, row in zip(ys, sds, rows,
                                                                    strict=True)]
    post = update(cal, obs, model=Linear(), noise=NO_NOISE)
    h = np.array([r[0] for r in rows])
    c = np.array([r[1] for r in rows])
    r_inv = np.diag(1.0 / np.square(sds))
    p0_inv = np.diag(1.0 / s0**2)
    p = np.linalg.inv(p0_inv + h.T @ r_inv @ h)
    m = p @ (p0_inv @ m0 + h.T @ r_inv @ (np.array(ys) - c))
    np.testing.assert_allclose(post.mean, m, rtol=0, atol=1e-12)
    np.testing.assert_allclose(post.cov, p, rtol=0, atol=1e-12)


def test_model_noise_adds_to_measurement_variance():
    cal = Calibration.initial(constants=[spec("k", 1.0)])
    o = Observation("y", 1.0, 0.3, recipe=((1.0,), 0.0))
    a = update(cal, [o], model=Linear(), noise={"y": OutputNoise(absolute=0.4)})
    b = update(cal, [Observation("y", 1.0, 0.5, recipe=((1.0,), 0.0))], model=Linear(),
               noise=NO_NOISE)
    assert a.cov[0, 0] == pytest.approx(b.cov[0, 0], abs=1e-14)


def test_hierarchical_batch_offsets_are_recovered():
    rng = np.random.default_rng(15)
    theta, offsets, sigma = 0.5, {"A": 0.8, "B": -0.6, "C": 0.2}, 0.1
    cal = Calibration.initial(constants=[spec("k", 1.0, group="batch", group_sd=0.8)])
    for batch, b in offsets.items():
        obs = [Observation("y", theta + b + rng.normal(0.0, sigma), sigma,
                           recipe=((1.0,), 0.0), groups={"batch": batch})
               for _ in range(4)]
        cal = update(cal, obs, model=Linear(), noise=NO_NOISE)
    assert len(cal.labels) == 4
    for batch, b in offsets.items():
        lab = f"k@batch={batch}"
        est = cal.mean[cal.labels.index(lab)]
        assert abs(est - b) <= 2.0 * cal.sd(lab)
        z, cov = cal.effective({"batch": batch})
        assert abs(z[0] - (theta + b)) <= 2.0 * math.sqrt(cov[0, 0])
        assert math.sqrt(cov[0, 0]) < 0.06        # the batch itself is well known
    assert abs(cal.mean[0] - theta) <= 2.0 * cal.sd("k")

    # a new batch D: its first two measurements move D's prediction far more than the
    # prediction of a seen batch (A) or of a batch not seen yet (E)
    before = {g: cal.values({"batch": g})["k"] for g in ("A", "D", "E")}
    obs = [Observation("y", theta + 1.5, sigma, recipe=((1.0,), 0.0), groups={"batch": "D"})
           for _ in range(2)]
    after_cal = update(cal, obs, model=Linear(), noise=NO_NOISE)
    shift = {g: abs(after_cal.values({"batch": g})["k"] - before[g]) for g in before}
    assert shift["D"] > 0.9
    assert shift["D"] > 3 * shift["E"] > 0.0      # E moves with the line-wide value only
    assert shift["D"] > 5 * shift["A"]


def test_nested_batch_and_strip_offsets_are_the_exact_conjugate_posterior():
    # y = k + b_batch + c_strip (+ noise): state [k, b_A, c_A1, c_A2], prior diag
    s0, tau, sc, sigma = 0.5, 0.3, 0.2, 0.1
    cal = Calibration.initial(constants=[ConstantSpec(
        "k", "test", "cathode", "coater.ratio", "identity", s0, ("y",), group="batch",
        group_sd=tau, prior_mean=1.0, subgroup="roll", subgroup_sd=sc)])
    data = [("A1", 1.4), ("A1", 1.5), ("A2", 1.1)]
    obs = [Observation("y", y, sigma, recipe=((1.0,), 0.0),
                       groups={"batch": "A", "roll": roll}) for roll, y in data]
    post = update(cal, obs, model=Linear(), noise=NO_NOISE)
    assert post.labels == ("k", "k@batch=A", "k@roll=A1", "k@roll=A2")
    h = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 0, 1]], dtype=float)
    p0_inv = np.diag(1.0 / np.array([s0, tau, sc, sc]) ** 2)
    p = np.linalg.inv(p0_inv + h.T @ h / sigma**2)
    m = p @ (p0_inv @ np.array([1.0, 0.0, 0.0, 0.0]) + h.T @ np.array([y for _, y in data])
             / sigma**2)
    np.testing.assert_allclose(post.mean, m, rtol=0, atol=1e-12)
    np.testing.assert_allclose(post.cov, p, rtol=0, atol=1e-12)
    # the predictive variance of a new strip of batch A, and of a new batch, by hand
    _, cov_a3 = post.effective({"batch": "A", "roll": "A3"})
    a3 = np.array([1.0, 1.0, 0.0, 0.0])
    assert cov_a3[0, 0] == pytest.approx(a3 @ p @ a3 + sc**2, abs=1e-12)
    _, cov_b = post.effective({"batch": "B", "roll": "B1"})
    assert cov_b[0, 0] == pytest.approx(p[0, 0] + tau**2 + sc**2, abs=1e-12)
    # stored and read back: the subgroup survives, and a calibration stored before subgroups
    # existed (no subgroup keys) still reads
    again = Calibration.from_dict(json.loads(json.dumps(post.to_dict())))
    assert again.constants[0].subgroup == "roll" and again.to_dict() == post.to_dict()
    old = cal.to_dict()
    for c in old["constants"]:
        c.pop("subgroup"), c.pop("subgroup_sd")
    assert Calibration.from_dict(old).constants[0].group_terms() == (("batch", tau),)


def test_a_batch_level_and_gap_response_are_recovered():
    """Hierarchical level and gap response: y = (k + b_k) + x (g + b_g) + noise, x the
    gap's regressor (e.g. p/G for a gap offset). The first gap of a new batch fixes its
    level and the line-wide response predicts its other gaps; after its second gap the
    batch's own response is learnt."""
    rng = np.random.default_rng(21)
    sigma = 0.01
    specs = [spec("k", 0.1, group="batch", group_sd=0.05),
             spec("g", 0.1, group="batch", group_sd=0.05)]
    cal = Calibration.initial(constants=specs)
    xs = (1.0, 0.5, 0.25, 0.125)                         # p/G at 4 gaps, smallest first
    truth_g = 0.03
    batches = {f"B{i}": (rng.normal(0, 0.05), rng.normal(0, 0.05)) for i in range(12)}
    for name, (bk, bg) in batches.items():
        for x in xs:
            y = bk + x * (truth_g + bg) + rng.normal(0.0, sigma)
            cal = update(cal, [Observation("y", y, sigma, recipe=((1.0, x), 0.0),
                                           groups={"batch": name})],
                         model=Linear(), noise=NO_NOISE)
    for name, (bk, bg) in batches.items():
        for const, truth in (("k", bk), ("g", bg)):
            lab = f"{const}@batch={name}"
            assert abs(cal.mean[cal.labels.index(lab)] - truth) <= 3.0 * cal.sd(lab) + 0.01
    # a new batch: after its first (smallest) gap ...
    bk, bg = 0.04, -0.06
    def y_at(x):
        return bk + x * (truth_g + bg)
    def pred(c, x):
        z, _ = c.effective({"batch": "new"})
        return z[0] + x * z[1]
    first = update(cal, [Observation("y", y_at(xs[0]), sigma, recipe=((1.0, xs[0]), 0.0),
                                     groups={"batch": "new"})], model=Linear(), noise=NO_NOISE)
    second = update(first, [Observation("y", y_at(xs[1]), sigma, recipe=((1.0, xs[1]), 0.0),
                                        groups={"batch": "new"})], model=Linear(),
                    noise=NO_NOISE)
    err_prior = abs(pred(cal, xs[3]) - y_at(xs[3]))
    err_first = abs(pred(first, xs[3]) - y_at(xs[3]))
    err_second = abs(pred(second, xs[3]) - y_at(xs[3]))
    assert err_second < 0.02 < err_prior                  # the batch's response is learnt
    assert err_second < err_first
    z2, cov2 = second.effective({"batch": "new"})
    assert abs(z2[1] - (truth_g + bg)) <= 3.0 * math.sqrt(cov2[1, 1])


def test_drift_is_followed_with_process_noise_and_not_without():
    rng = np.random.default_rng(3)
    day = 86400.0
    errors = {}
    for drift in (0.0, 0.05 / math.sqrt(day)):
        cal = Calibration.initial(constants=[spec("k", 0.5, drift_sd=drift)])
        for t in range(60):
            true = 0.02 * t                          # a slowly wearing roll: +0.02 per day
            o = Observation("y", true + rng.normal(0.0, 0.05), 0.05, recipe=((1.0,), 0.0),
                            time=t * day)
            cal = update(cal, [o], model=Linear(), noise=NO_NOISE)
        errors[drift] = abs(cal.mean[0] - 0.02 * 59)
        if drift:
            assert errors[drift] <= 2.5 * cal.sd("k")
    static, drifting = errors.values()
    assert drifting < 0.1 < static                    # lag of the static mean: about 0.6


def test_versions_rollback_and_storage_are_exact():
    cal0 = Calibration.initial(constants=[spec("k", 1.0, group="batch", group_sd=0.5)])
    log = CalibrationLog([cal0])
    cal1 = log.add(update(cal0, [Observation("y", 0.7, 0.1, recipe=((1.0,), 0.0),
                                             groups={"batch": "A"}, object_id="d1",
                                             time=10.0)], model=Linear(), noise=NO_NOISE))
    cal2 = log.add(update(cal1, [Observation("y", 0.2, 0.1, recipe=((1.0,), 0.0),
                                             groups={"batch": "B"}, object_id="d2",
                                             time=20.0)], model=Linear(), noise=NO_NOISE))
    assert cal2.parent_id == cal1.id and cal1.parent_id == cal0.id
    assert len({cal0.id, cal1.id, cal2.id}) == 3
    back = log.rollback(cal2.id)
    assert back is cal1
    assert back.to_dict() == cal1.to_dict()
    assert np.array_equal(back.mean, cal1.mean) and np.array_equal(back.cov, cal1.cov)
    assert cal2.measurements == ({"object": "d2", "output": "y", "value": 0.2, "std": 0.1,
                                  "time": 20.0, "groups": {"batch": "B"}},)
    again = Calibration.from_dict(json.loads(json.dumps(cal2.to_dict())))
    assert again.to_dict() == cal2.to_dict()
    assert np.array_equal(again.cov, cal2.cov)
    with pytest.raises(ValueError):
        cal2.mean[0] = 1.0                          # versions are immutable
    with pytest.raises(TwinError, match="is the prior"):
        log.rollback(cal0.id)
    with pytest.raises(TwinError, match="unknown calibration version 'nope'"):
        log.get("nope")
    # the same update from the same parent gives the same version id (content hash)
    again1 = update(cal0, [Observation("y", 0.7, 0.1, recipe=((1.0,), 0.0),
                                       groups={"batch": "A"}, object_id="d1", time=10.0)],
                    model=Linear(), noise=NO_NOISE)
    assert again1.id == cal1.id


def test_errors_are_one_line_and_name_the_problem():
    cal = Calibration.initial(constants=[spec("k", 1.0)])
    with pytest.raises(TwinError, match="at least one measurement"):
        update(cal, [], model=Linear())
    with pytest.raises(TwinError, match="predicts no 'z'"):
        update(cal, [Observation("z", 1.0, 0.1, recipe=((1.0,), 0.0))], model=Linear())
    with pytest.raises(TwinError, match="format"):
        Calibration.from_dict({"format": "other"})
    bad = ConstantSpec("p", "drying", "cathode", "active_material.x", "logit", 0.1, ())
    with pytest.raises(TwinError, match=r"p = 1.5 must be in \(0, 1\)"):
        bad.to_z(1.5)


def test_z_score():
    assert z_score(10.0, 3.0, 5.0, 4.0) == pytest.approx(1.0)
    assert z_score(1.0, 0.0, 1.0, 0.0) == 0.0
    assert z_score(2.0, 0.0, 1.0, 0.0) == math.inf


# ----------------------------------------------------------------------------- the chain
@pytest.fixture(scope="module")
def recipe():
    from twinline.spec.recipe import load_recipe

    return load_recipe(EXAMPLES / "nmc111_cathode.yaml")


def _with_gap(recipe, gap):
    el = recipe.cathode
    return recipe.model_copy(update={"cathode": el.model_copy(
        update={"coating": el.coating.model_copy(update={"gap": gap})})})


def test_chain_learns_a_changed_wet_film_ratio_back(recipe):
    rng = np.random.default_rng(7)
    cal = Calibration.initial(recipe)
    name = "cathode.coating.wet_film_ratio"
    assert name in {s.name for s in cal.constants}
    truth = dict(cal.values())
    truth[name] *= 1.05                              # the line's coater: +5 %
    key = "cathode.coating.am_loading"
    static = Calibration.initial(recipe)
    test_recipe = _with_gap(recipe, 250e-6)
    y_true = chain_outputs(test_recipe, truth, cal.constants)[key][0]
    static_err = abs(predict(test_recipe, static, outputs=[key])[key][0] - y_true) / y_true
    assert static_err > 0.04
    errs = []
    for gap in (200e-6, 300e-6, 350e-6, 150e-6):
        r = _with_gap(recipe, gap)
        y = chain_outputs(r, truth, cal.constants)[key][0]
        cal = update(cal, [Observation(key, y * (1 + rng.normal(0.0, 0.01)), 0.01 * y,
                                       recipe=r)])
        errs.append(abs(predict(test_recipe, cal, outputs=[key])[key][0] - y_true) / y_true)
    assert errs[-1] < static_err / 3
    assert errs[1] < static_err
    learnt = cal.values()[name] / static.values()[name]
    assert learnt == pytest.approx(1.05, abs=0.02)


def test_the_coater_gap_offset_is_the_correlation_at_the_effective_gap(recipe):
    from twinline.process.coating import CommaCoater, comma_wet_thickness

    cal = Calibration.initial(recipe)
    name = "cathode.coating.gap_offset"
    assert cal.values()[name] == 0.0
    key = "cathode.coating.wet_film_thickness"
    for gap in (50e-6, 300e-6):
        r = _with_gap(recipe, gap)
        base = chain_outputs(r, cal.values(), cal.constants)[key][0]
        shifted = chain_outputs(r, dict(cal.values(), **{name: -8e-6}), cal.constants)[key][0]
        c = CommaCoater()
        expected = float(comma_wet_thickness(gap - 8e-6, 0.04, c)
                         / comma_wet_thickness(gap, 0.04, c))
        assert shifted / base == pytest.approx(expected, rel=1e-9)
        assert expected == pytest.approx(((gap - 8e-6) / gap) ** c.gap_exponent, rel=1e-12)


def test_chain_learns_a_batch_gap_offset_from_two_gaps(recipe):
    """A batch whose coater sees the gap 10 µm narrower: -17 % film at 50 µm, -3 % at
    300 µm. After its 50 and 100 µm strips, the twin predicts its 300 µm strip within 1.5 %;
    the static model is 3 % off there and a per-batch wet-film factor alone (no gap offset),
    learnt at the small gaps, moves the 300 µm strip the wrong way (> 5 % off)."""
    from twinline.twin.calibration import default_constants

    cal = Calibration.initial(recipe)
    key = "cathode.coating.am_loading"
    truth = dict(cal.values(), **{"cathode.coating.gap_offset": -10e-6})
    def y_at(gap):
        return chain_outputs(_with_gap(recipe, gap), truth, cal.constants)[key][0]
    factor_only = Calibration.initial(recipe, default_constants("cathode", gap_offset=False))
    for roll, gap in (("s50", 50e-6), ("s100", 100e-6)):
        rng = np.random.default_rng(5)
        r = _with_gap(recipe, gap)
        obs = [Observation(key, y_at(gap) * (1 + rng.normal(0.0, 0.01)), 0.0, recipe=r,
                           groups={"batch": "A", "roll": roll}) for _ in range(8)]
        cal = update(cal, obs)
        factor_only = update(factor_only, obs)
    r300 = _with_gap(recipe, 300e-6)
    groups = {"batch": "A", "roll": "s300"}
    got = predict(r300, cal, outputs=[key], group_ids=groups)[key]
    assert abs(got[0] / y_at(300e-6) - 1) < 0.015
    static = predict(r300, Calibration.initial(recipe), outputs=[key])[key][0]
    assert abs(static / y_at(300e-6) - 1) > 0.025
    factor = predict(r300, factor_only, outputs=[key], group_ids=groups)[key][0]
    assert factor / y_at(300e-6) - 1 < -0.05
    z, cov = cal.effective({"batch": "A"})
    i = [s.name for s in cal.constants].index("cathode.coating.gap_offset")
    assert abs(z[i] - (-10e-6)) <= 3.0 * math.sqrt(cov[i, i])


def test_predict_combines_the_uncertainties(recipe):
    cal = Calibration.initial(recipe)
    key = "cathode.coating.am_loading"
    det = predict(recipe, cal, outputs=[key], model_noise=False)[key]
    mc = predict(recipe, cal, outputs=[key], model_noise=False, samples=200, seed=1)[key]
    noisy = predict(recipe, cal, outputs=[key], samples=200, seed=1)[key]
    assert det[0] == mc[0] == noisy[0]
    assert det[1] < mc[1] < noisy[1]
    # the prior sd of the loading (relative): line-wide wet-film ratio (0.05 in log) and gap
    # offset (5 µm: d ln h / d delta = p / G at the recipe's gap G) ...
    p_over_g = 0.875 / float(recipe.cathode.coating.gap)
    assert det[1] / det[0] == pytest.approx(math.hypot(0.05, 5e-6 * p_over_g), rel=0.02)
    # ... and a batch not seen yet adds its group variances (0.04 in log, 9 µm)
    new_batch = predict(recipe, cal, outputs=[key], model_noise=False,
                        group_ids={"batch": "b9"})[key]
    expected = math.hypot(0.05, 0.04, 5e-6 * p_over_g, 9e-6 * p_over_g)
    assert new_batch[1] / new_batch[0] == pytest.approx(expected, rel=0.02)
    # ... and a coated roll (strip) not seen yet its strip offset (0.023 in log)
    strip = predict(recipe, cal, outputs=[key], model_noise=False,
                    group_ids={"batch": "b9", "roll": "r1"})[key]
    assert strip[1] / strip[0] == pytest.approx(math.hypot(expected, 0.023), rel=0.02)
    # same seed, same numbers
    assert predict(recipe, cal, outputs=[key], samples=200, seed=1)[key] == noisy


def test_one_update_of_a_measurement_batch_takes_under_a_second(recipe):
    cal = Calibration.initial(recipe)
    obs = []
    for gap in (200e-6, 300e-6):
        r = _with_gap(recipe, gap)
        out = chain_outputs(r, cal.values(), cal.constants)
        for disc in range(8):
            for key in ("cathode.coating.am_loading", "cathode.drying.porosity"):
                obs.append(Observation(key, out[key][0] * (1.0 + 0.01 * (disc - 3.5) / 4),
                                       0.01 * out[key][0], recipe=r,
                                       groups={"batch": "96/70.84"}, object_id=f"d{disc}"))
        obs.append(Observation("cathode.mixing.viscosity", out["cathode.mixing.viscosity"][0],
                               0.05 * out["cathode.mixing.viscosity"][0], recipe=r,
                               groups={"batch": "96/70.84"}))
    update(cal, obs[:2])                                # warm the imports
    t0 = time.perf_counter()
    new = update(cal, obs)
    seconds = time.perf_counter() - t0
    assert len(new.measurements) == 34
    assert seconds < 1.0, f"one update of 34 measurements took {seconds:.2f} s"


def test_chain_model_cache_never_answers_for_another_recipe(recipe):
    """The forward model's cache is keyed by the recipe's id: an entry left by a freed recipe
    whose id a new recipe reuses must not be returned (it was, depending on the allocator:
    a resumed live run then differed from an uninterrupted one)."""
    from twinline.twin.calibration import ChainModel

    model = ChainModel()
    specs = Calibration.initial(recipe).constants
    values = {s.name: float(s.prior_mean) for s in specs}
    other = _with_gap(recipe, 150e-6)
    key = (id(other), tuple(sorted((k, float(v)) for k, v in values.items())))
    stale = {"cathode.coating.am_loading": -1.0}
    model._cache[key] = (object(), stale)  # what a freed recipe with this id left behind
    out = model(other, values, specs)
    assert out is not stale and out["cathode.coating.am_loading"] > 0
    assert model(other, values, specs) is out  # its own entry is reused
