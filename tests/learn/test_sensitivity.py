"""Sobol indices against the Ishigami function's analytic values; correlation map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinline.learn.sensitivity import correlation_map, sobol_indices, vectorise
from twinline.spec.errors import RecipeError

pytest.importorskip("SALib")


def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def test_ishigami_indices_match_the_analytic_values():
    # Analytic (Ishigami & Homma 1990): S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437
    pi = np.pi
    res = sobol_indices(ishigami, {"x1": (-pi, pi), "x2": (-pi, pi), "x3": (-pi, pi)},
                        outputs=["y"], n=2048, seed=1)
    np.testing.assert_allclose(res.S1["y"], [0.3139, 0.4424, 0.0], atol=0.04)
    np.testing.assert_allclose(res.ST["y"], [0.5576, 0.4424, 0.2437], atol=0.04)
    assert res.evaluations == 2048 * 5
    assert set(res.table().columns) == {"output", "input", "S1", "S1_conf", "ST", "ST_conf"}


def test_vectorise_wraps_a_point_evaluation():
    def evaluate(p, seed):
        return {"y": 2 * p["a"] + 0 * p["b"]}

    res = sobol_indices(vectorise(evaluate, ["a", "b"], ["y"]), {"a": (0, 1), "b": (0, 1)},
                        outputs=["y"], n=64)
    assert res.ST["y"][0] == pytest.approx(1.0, abs=0.05) and abs(res.ST["y"][1]) < 1e-9


def test_correlation_map_signs_and_push_directions():
    rng = np.random.default_rng(0)
    p, am = (g.ravel() for g in np.meshgrid(np.linspace(20, 170, 10), np.linspace(93, 96, 10)))
    frame = pd.DataFrame({"pressure": p, "am": am, "porosity": 0.5 - 0.001 * p,
                          "surface": 50 + am + 0.01 * rng.standard_normal(100)})
    cm = correlation_map(frame, ["pressure", "am"], ["porosity", "surface"],
                         goals={"porosity": "max", "surface": "max"})
    assert cm.rho[0, 0] == pytest.approx(-1.0)
    assert cm.rho[1, 1] > 0.99
    push = cm.push()
    assert push["porosity"]["pressure"] == "decrease" and push["surface"]["am"] == "increase"
    assert cm.rho[1, 0] == pytest.approx(0.0, abs=1e-12)  # orthogonal design
    assert push["porosity"]["am"] == "none"  # uncorrelated: nothing to push
    with pytest.raises(RecipeError, match="max' or 'min"):
        correlation_map(frame, ["pressure"], ["porosity"], goals={"porosity": "up"})
