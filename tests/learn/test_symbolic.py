"""SISSO-style symbolic regression recovers known laws exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinline.learn.symbolic import feature_space, fit_equation, fit_equations
from twinline.spec.errors import RecipeError


def test_recovers_bruggeman_conductivity_exactly():
    rng = np.random.default_rng(0)
    eps = rng.uniform(0.2, 0.5, 50)
    tau = rng.uniform(1.5, 6.0, 50)  # a distractor input
    eq = fit_equation({"porosity": eps, "tau": tau}, 1.119 * eps**1.5, target="sigma")
    assert eq.feature_names == ["porosity^1.5"]
    assert eq.coefficients[0] == pytest.approx(1.119, abs=1e-6)
    assert eq.intercept == 0.0
    assert str(eq) == "sigma = 1.119·porosity^1.5"
    assert eq.r2 == pytest.approx(1.0, abs=1e-12)


def test_recovers_a_two_input_law_with_intercept():
    rng = np.random.default_rng(1)
    a, b, c = rng.uniform(1, 3, 60), rng.uniform(0.5, 2, 60), rng.uniform(0, 1, 60)
    eq = fit_equation(np.column_stack([a, b, c]), 2.5 * a * b**2 + 0.3, inputs=["a", "b", "c"])
    assert eq.feature_names == ["a·b^2"]
    assert eq.coefficients[0] == pytest.approx(2.5, rel=1e-9)
    assert eq.intercept == pytest.approx(0.3, abs=1e-9)


def test_recovers_macmullin_conductivity_from_a_table():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"porosity": rng.uniform(0.25, 0.45, 40),
                          "tau": rng.uniform(1.5, 8.0, 40)})
    frame["sigma"] = 1.119 * frame.porosity / frame.tau
    eqs = fit_equations(frame, ["porosity", "tau"], ["sigma"])
    assert eqs["sigma"].feature_names == ["porosity/tau"]
    pred = eqs["sigma"].predict(frame)
    np.testing.assert_allclose(pred, frame.sigma, rtol=1e-10)


@pytest.mark.slow
def test_two_terms_when_one_is_not_enough_and_noise_is_tolerated():
    rng = np.random.default_rng(3)
    x, z = rng.uniform(1, 2, 200), rng.uniform(1, 2, 200)
    y = 3.0 * x**2 - 2.0 / z + 0.001 * rng.standard_normal(200)
    eq = fit_equation({"x": x, "z": z}, y, max_terms=3)
    assert eq.r2 > 0.9999
    assert eq.terms <= 2  # x^2 and z^-1 (or an equivalent pair)


def test_feature_space_skips_undefined_operators_and_duplicates():
    X = np.column_stack([np.linspace(-1, 1, 20), np.linspace(1, 2, 20)])
    exprs, F = feature_space(X)
    assert F.shape[1] == len(exprs) and np.isfinite(F).all()
    assert ("log", ("var", 0)) not in exprs  # log of a negative input never built
    assert ("log", ("var", 1)) in exprs


def test_bad_input_is_refused():
    with pytest.raises(RecipeError, match="max_terms"):
        fit_equation(np.ones((5, 1)), np.arange(5.0), max_terms=9)
    with pytest.raises(RecipeError, match="finite"):
        fit_equation(np.array([[1.0], [np.nan], [2.0]]), np.arange(3.0))
