"""Stochastic stacking: analytic limit, trends, reproducibility."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.process.assembly import assemble, pair_scrap_probability, worst_overhang
from twinline.spec.errors import CellError


def _design(fmt="pouch", layers=10):
    return SimpleNamespace(format=fmt, layers=layers, n_p_ratio=1.1,
                           masses={"cathode_coating": 0.1, "separator": 0.01, "casing": 0.02,
                                   "electrolyte": 0.03})


def _section(overhang=1e-3, sigma=4e-4, min_overhang=0.0):
    return SimpleNamespace(overhang=overhang, stacking_tolerance=sigma,
                           min_overhang=min_overhang)


def test_single_pair_matches_the_analytic_probability():
    # wound cell: one pair, one axis -> P = erfc((o - o_min)/(2σ)), MC within 3 std errors
    res = assemble(_section(1e-3, 4e-4), _design("cylindrical"), seed=1, samples=40000)
    exact = pair_scrap_probability(1e-3, 0.0, 4e-4)
    assert exact == pytest.approx(math.erfc(1e-3 / (2 * 4e-4)))
    assert abs(res.scrap_probability - exact) < 3 * math.sqrt(exact * (1 - exact) / 40000)


def test_no_placement_error_means_no_scrap_and_exact_overhang():
    res = assemble(_section(sigma=0.0), _design(), seed=0)
    assert res.scrap_probability == 0.0
    assert res.worst_overhang_mean == pytest.approx(1e-3)


def test_more_layers_and_larger_errors_scrap_more():
    p = [assemble(_section(), _design(layers=n), seed=2).scrap_probability for n in (2, 10, 40)]
    assert p[0] < p[1] < p[2]
    q = [assemble(_section(sigma=s), _design(), seed=2).scrap_probability
         for s in (1e-4, 3e-4, 6e-4)]
    assert q[0] <= q[1] < q[2]


def test_same_seed_same_result_and_stack_weight_excludes_casing():
    a = assemble(_section(), _design(), seed=5)
    b = assemble(_section(), _design(), seed=5)
    assert a == b
    assert a.stack_weight == pytest.approx(0.11)


def test_too_few_samples_refused():
    with pytest.raises(CellError, match="samples"):
        assemble(_section(), _design(), samples=10)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["pouch", "coin", "cylindrical"]), st.integers(1, 30),
       st.floats(0.0, 2e-3), st.floats(1e-5, 1e-3))
def test_worst_overhang_never_exceeds_the_nominal(fmt, layers, overhang, sigma):
    w = worst_overhang(fmt, layers, overhang, sigma, samples=200,
                       rng=np.random.default_rng(0))
    assert np.all(w <= overhang + 1e-15)
