"""Transport solver: exact cases, percolation, TauFactor agreement, refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.spec.errors import StructureError
from twinline.structure.transport import (
    percolating_mask,
    solve_conductivity,
    tortuosity_factor,
)


def test_straight_channel_has_tau_one():
    img = np.zeros((20, 8, 8), bool)
    img[:, 2:6, 2:6] = True
    r = tortuosity_factor(img)
    assert r.tau == pytest.approx(1.0, rel=1e-6)
    assert r.d_eff_rel == pytest.approx(img.mean(), rel=1e-6)
    assert r.percolates and r.converged


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_layers_in_series_follow_the_harmonic_mean(axis):
    # D = 1 for 6 layers, D = 0.1 for 4 layers along the transport axis: D_eff = L / sum(l/D)
    d = np.ones(10)
    d[3:7] = 0.1
    shape = [6, 6, 6]
    shape[axis] = 10
    cond = np.moveaxis(np.broadcast_to(d[:, None, None], (10, 6, 6)), 0, axis).copy()
    r = solve_conductivity(cond, axis=axis, tol=1e-10)
    exact = 10 / (6 / 1.0 + 4 / 0.1)
    assert r.d_eff_rel == pytest.approx(exact, rel=1e-5)   # float32 conductances
    assert r.tau == pytest.approx(cond.mean() / exact, rel=1e-5)


def test_layers_in_parallel_follow_the_arithmetic_mean():
    cond = np.ones((12, 8, 8))
    cond[:, :3] = 0.25
    r = solve_conductivity(cond, tol=1e-10)
    assert r.d_eff_rel == pytest.approx(cond.mean(), rel=1e-6)
    assert r.tau == pytest.approx(1.0, rel=1e-6)


def test_blocked_slab_does_not_percolate():
    img = np.ones((10, 6, 6), bool)
    img[5] = False
    r = tortuosity_factor(img)
    assert not r.percolates
    assert r.tau == np.inf and r.d_eff_rel == 0.0
    assert r.volume_fraction == pytest.approx(0.9)


def test_isolated_clusters_carry_no_flux_but_count_in_the_volume():
    img = np.zeros((16, 10, 10), bool)
    img[:, 1:3, 1:3] = True          # percolating channel, 4 voxels per plane
    img[4:8, 6:9, 6:9] = True        # floating blob
    img[0:3, 6:8, 0:2] = True        # dead end touching only one face
    r = tortuosity_factor(img)
    assert r.d_eff_rel == pytest.approx(4 / 100, rel=1e-6)
    assert r.tau == pytest.approx(img.mean() / (4 / 100), rel=1e-6)
    assert r.percolating_fraction == pytest.approx(64 / img.sum())


def test_percolating_mask_keeps_only_spanning_clusters():
    m = np.zeros((5, 4, 4), bool)
    m[:, 0, 0] = True
    m[1:4, 2, 2] = True
    assert percolating_mask(m).sum() == 5


def test_flux_is_conserved_plane_by_plane_on_a_random_medium():
    rng = np.random.default_rng(3)
    img = rng.random((24, 16, 16)) < 0.6
    r = tortuosity_factor(img, tol=1e-9, return_field=True)
    assert r.flux_spread < 1e-6
    assert r.field.shape == img.shape and r.flux.shape == img.shape
    # the mean axial flux density equals D_eff (unit potential drop over the box)
    assert np.nanmean(np.where(np.isnan(r.field), 0.0, r.flux)) == pytest.approx(
        r.d_eff_rel, rel=1e-3)
    u = r.field[~np.isnan(r.field)]
    assert u.min() >= 0.0 and u.max() <= 1.0


def test_reversing_the_axis_gives_the_same_answer():
    rng = np.random.default_rng(5)
    img = rng.random((20, 12, 12)) < 0.55
    a = tortuosity_factor(img, tol=1e-9).tau
    b = tortuosity_factor(img[::-1], tol=1e-9).tau
    assert a == pytest.approx(b, rel=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.floats(0.45, 0.9))
def test_tortuosity_factor_is_at_least_one(seed, p):
    # Wiener bound: D_eff <= eps for one phase, so tau^2 >= 1
    img = np.random.default_rng(seed).random((10, 8, 8)) < p
    r = tortuosity_factor(img, tol=1e-9)
    assert r.tau >= 1.0 - 1e-9


def test_refuses_bad_input():
    with pytest.raises(StructureError, match="3D"):
        tortuosity_factor(np.ones((4, 4), bool))
    with pytest.raises(StructureError, match="empty"):
        tortuosity_factor(np.zeros((4, 4, 4), bool))
    with pytest.raises(StructureError, match="binary"):
        tortuosity_factor(np.full((4, 4, 4), 2))
    with pytest.raises(StructureError, match=">= 0"):
        solve_conductivity(-np.ones((4, 4, 4)))


def _spheres(shape, porosity, seed):
    """Overlapping random spheres as solid, to a target pore fraction."""
    rng = np.random.default_rng(seed)
    img = np.ones(shape, bool)
    grid = np.indices(shape).reshape(3, -1).T
    while img.mean() > porosity:
        c = rng.random(3) * np.array(shape)
        r = rng.uniform(2.0, 4.0)
        d2 = ((grid + 0.5 - c) ** 2).sum(axis=1)
        img.ravel()[d2 < r * r] = False
    return img


@pytest.mark.slow
@pytest.mark.parametrize("porosity", [0.25, 0.3, 0.45, 0.6])
def test_agrees_with_taufactor_on_packed_spheres(porosity):
    tau = pytest.importorskip("taufactor")
    img = _spheres((32, 24, 24), porosity, seed=11)
    ours = tortuosity_factor(img, tol=1e-8)
    s = tau.Solver(img.astype(np.uint8), device="cpu")
    ref = float(np.asarray(s.solve(verbose=False, conv_crit=1e-3)).ravel()[0])
    assert ours.tau == pytest.approx(ref, rel=0.01)
