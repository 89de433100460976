"""Surrogates: accuracy on a known smooth law, uncertainty, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinline.learn.surrogate import SurrogateError, fit_surrogate, load_surrogate, mape, r2_score
from twinline.spec.errors import RecipeError


def bruggeman_table(n: int, seed: int = 0, noise: float = 0.0) -> pd.DataFrame:
    """sigma = 1.119 eps^1.5 and a thickness from conserved solid volume (exact laws)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(20e6, 170e6, n)
    eps0 = rng.uniform(0.4, 0.5, n)
    eps = 0.2 + (eps0 - 0.2) * np.exp(-p / 80e6)
    return pd.DataFrame({"pressure": p, "eps0": eps0,
                         "porosity": eps * (1 + noise * rng.standard_normal(n)),
                         "sigma": 1.119 * eps**1.5,
                         "thickness": 100e-6 * (1 - eps0) / (1 - eps)})


@pytest.mark.parametrize("kind,r2_min", [("gp", 0.999), ("gbr", 0.95), ("mlp", 0.99)])
def test_surrogates_reach_high_r2_on_held_out_data(kind, r2_min):
    train = bruggeman_table(120, seed=0)
    sur = fit_surrogate(train, ["pressure", "eps0"], ["porosity", "sigma", "thickness"],
                        kind=kind, cv=0)
    valid = bruggeman_table(200, seed=1)
    scores = sur.score(valid)
    for out in sur.outputs:
        assert scores[out]["r2"] > r2_min, (out, scores[out])
        assert sur.metrics[out]["r2"] > r2_min - 0.02


def test_cross_validation_is_reported():
    sur = fit_surrogate(bruggeman_table(60), ["pressure", "eps0"], ["sigma"], kind="mlp", cv=3)
    assert sur.metrics["sigma"]["cv_r2"] > 0.98
    assert sur.metrics["sigma"]["n_train"] == 60 and sur.metrics["sigma"]["n_test"] == 12


def test_gp_std_grows_away_from_the_data_and_matches_the_noise():
    tab = bruggeman_table(80, seed=2, noise=0.01)
    sur = fit_surrogate(tab, ["pressure", "eps0"], ["porosity"], kind="gp", test_size=0, cv=0)
    inside, sd_in = sur.predict({"pressure": [90e6], "eps0": [0.45]}, return_std=True)
    _far, sd_far = sur.predict({"pressure": [600e6], "eps0": [0.9]}, return_std=True)
    assert sd_far[0, 0] > 3 * sd_in[0, 0]
    # the white-noise term learns the 1 % scatter (porosity ~0.3 → sd ~0.003)
    assert 0.001 < sd_in[0, 0] < 0.01
    assert inside[0, 0] == pytest.approx(0.2 + 0.25 * np.exp(-90 / 80), abs=0.01)


def test_save_and_load_give_the_same_predictions(tmp_path):
    tab = bruggeman_table(40)
    sur = fit_surrogate(tab, ["pressure", "eps0"], ["sigma"], kind="gbr", cv=0,
                        units={"pressure": "Pa", "sigma": "S/m"})
    path = sur.save(tmp_path / "s")
    back = load_surrogate(path)
    assert back.inputs == sur.inputs and back.units["sigma"] == "S/m"
    np.testing.assert_array_equal(back.predict(tab), sur.predict(tab))
    assert back.metrics == sur.metrics


def test_bad_requests_are_refused_with_names():
    tab = bruggeman_table(20)
    with pytest.raises(SurrogateError, match="nope"):
        fit_surrogate(tab, ["pressure", "nope"], ["sigma"])
    with pytest.raises(RecipeError, match="choose from"):
        fit_surrogate(tab, ["pressure"], ["sigma"], kind="forest")
    with pytest.raises(SurrogateError, match="at least 4"):
        fit_surrogate(tab.head(3), ["pressure"], ["sigma"])
    sur = fit_surrogate(tab, ["pressure", "eps0"], ["sigma"], kind="gbr", cv=0)
    with pytest.raises(SurrogateError, match="eps0"):
        sur.predict({"pressure": [1e8]})


def test_metrics_helpers():
    y = np.array([1.0, 2.0, 3.0])
    assert r2_score(y, y) == 1.0 and r2_score(y, np.full(3, 2.0)) == 0.0
    assert mape(y, 1.1 * y) == pytest.approx(10.0)


def test_a_surrogate_replaces_the_calendering_model_by_name():
    from twinline.chain import run_chain
    from twinline.learn.recipe_points import recipe_data
    from twinline.learn.surrogate import register_surrogate
    from twinline.process.registry import unregister_model
    from twinline.spec.recipe import parse_recipe

    rng = np.random.default_rng(0)
    p, e0 = rng.uniform(20e6, 170e6, 40), rng.uniform(0.40, 0.55, 40)
    law = lambda p, e0: 0.2 + 0.5 * (e0 - 0.2) * np.exp(-p / 1e8)  # noqa: E731
    tab = pd.DataFrame({"pressure": p, "porosity_before": e0, "porosity": law(p, e0)})
    sur = fit_surrogate(tab, ["pressure", "porosity_before"], ["porosity"], kind="gp", cv=0)
    register_surrogate(sur, "calendering", "test-gp", base="heckel", replace=True,
                       inputs_from={"porosity_before": "product.porosity"})
    try:
        data = recipe_data(Path(__file__).parents[2] / "examples" / "nmc111_cathode.yaml")
        data["cathode"]["calendering"]["model"] = "test-gp"
        run = run_chain(parse_recipe(data))
    finally:
        unregister_model("calendering", "test-gp")
    cal, dry = run.products["cathode"]["calendered"], run.products["cathode"]["dry"]
    assert cal.porosity == pytest.approx(law(cal.pressure, dry.porosity), abs=1e-3)
    # solid volume conserved through the surrogate step
    assert cal.thickness * (1 - cal.porosity) == pytest.approx(
        dry.thickness * (1 - dry.porosity), rel=1e-12)
    assert run.outputs["cathode.calendering.porosity"]["value"] == pytest.approx(cal.porosity)
    with pytest.raises(RecipeError, match="already taken"):
        register_surrogate(sur, "calendering", "heckel", base="heckel")


def test_log_outputs_learn_a_heavy_tail_and_stay_positive(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 60)
    tab = pd.DataFrame({"x": x, "tau": 2.0 * np.exp(4.0 * x**2)})  # 2 … 109, heavy tail
    sur = fit_surrogate(tab, ["x"], ["tau"], kind="gp", cv=0, log_outputs=["tau"])
    grid = np.linspace(0, 1, 50)
    pred = sur.predict({"x": grid})[:, 0]
    assert (pred > 0).all()
    np.testing.assert_allclose(pred, 2.0 * np.exp(4.0 * grid**2), rtol=0.02)
    back = load_surrogate(sur.save(tmp_path / "t"))
    assert back.log_outputs == ["tau"]
    np.testing.assert_array_equal(back.predict({"x": grid}), sur.predict({"x": grid}))


def test_fast_gp_mean_equals_scikit_learn():
    tab = bruggeman_table(50, seed=5)
    sur = fit_surrogate(tab, ["pressure", "eps0"], ["porosity", "sigma"], kind="gp", cv=0)
    X = bruggeman_table(300, seed=6)[["pressure", "eps0"]].to_numpy()
    fast = sur.predict(X)
    ref = np.column_stack([m.predict(X) for m in sur.models])
    np.testing.assert_allclose(fast, ref, rtol=1e-7, atol=1e-10)  # round-off of large alpha_
    mean, std = sur.predict(X, return_std=True)
    np.testing.assert_allclose(mean, ref, rtol=1e-7, atol=1e-10)  # round-off of large alpha_
    assert (std > 0).all()
