"""The transport solver's NumPy grid operations against independent references: the operator
assembled as a sparse matrix (SciPy) and its Galerkin coarse operator PᵀAP."""

import numpy as np
import pytest
import scipy.sparse as sp

from twinline.structure import _gridops as G


def _fine_grid(shape, seed):
    rng = np.random.default_rng(seed)
    cond = (rng.random(shape) * (rng.random(shape) < 0.7)).astype(np.float32)
    n0, n1, n2 = shape
    gx = np.zeros((n0 - 1, n1, n2), np.float32)
    gy = np.zeros((n0, n1 - 1, n2), np.float32)
    gz = np.zeros((n0, n1, n2 - 1), np.float32)
    G.face_conductances(cond, gx, gy, gz)
    return cond, gx, gy, gz, (2 * cond[0]).astype(np.float32), (2 * cond[-1]).astype(np.float32)


def _operator(gx, gy, gz, bl, bh):
    """A = D − G as a sparse float64 matrix, assembled face by face."""
    shape = (gy.shape[0], gx.shape[1], gx.shape[2])
    idx = np.arange(np.prod(shape)).reshape(shape)
    n = idx.size
    A = sp.lil_matrix((n, n))
    for g, lo, hi in (
        (gx, idx[:-1], idx[1:]),
        (gy, idx[:, :-1], idx[:, 1:]),
        (gz, idx[:, :, :-1], idx[:, :, 1:]),
    ):
        for a, b, v in zip(lo.ravel(), hi.ravel(), g.ravel().astype(float), strict=True):
            A[a, b] -= v
            A[b, a] -= v
            A[a, a] += v
            A[b, b] += v
    for a, v in zip(idx[0].ravel(), bl.ravel().astype(float), strict=True):
        A[a, a] += v
    for a, v in zip(idx[-1].ravel(), bh.ravel().astype(float), strict=True):
        A[a, a] += v
    return A.tocsr(), idx


@pytest.mark.parametrize("shape", [(7, 5, 6), (4, 4, 4), (5, 1, 3), (9, 6, 7)])
def test_face_conductances_diagonal_and_fluxes(shape):
    cond, gx, gy, gz, bl, bh = _fine_grid(shape, 1)
    a, c = cond[:-1].astype(float), cond[1:].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where((a > 0) & (c > 0), 2 * a * c / (a + c), 0.0)
    np.testing.assert_allclose(gx, ref, rtol=1e-6)
    d = np.empty(shape, np.float32)
    G.diagonal(gx, gy, gz, bl, bh, d)
    A, _ = _operator(gx, gy, gz, bl, bh)
    np.testing.assert_allclose(d.ravel(), A.diagonal(), rtol=1e-6)
    # plane fluxes of a field u: F_i = sum g (u_i - u_{i-1}), with u = 0 / 1 outside
    u = np.random.default_rng(2).random(shape)
    fl = np.empty(shape[0] + 1)
    G.layer_fluxes(u, gx, bl, bh, fl)
    ref = (
        [np.sum(bl * u[0])]
        + [np.sum(gx[i - 1] * (u[i] - u[i - 1])) for i in range(1, shape[0])]
        + [np.sum(bh * (1 - u[-1]))]
    )
    np.testing.assert_allclose(fl, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 5, 6), (4, 4, 4), (5, 1, 3), (9, 6, 7)])
def test_coarse_conductances_are_the_galerkin_operator(shape):
    """PᵀAP of 2×2×2 piecewise-constant aggregation (odd edges: smaller blocks) is again a
    7-point operator whose face conductances are what coarsen_faces gives and whose diagonal is
    theirs plus the summed Dirichlet conductances (Notay 2010)."""
    _, gx, gy, gz, bl, bh = _fine_grid(shape, 3)
    A, idx = _operator(gx, gy, gz, bl, bh)
    m = tuple((n + 1) // 2 for n in shape)
    coarse = np.arange(np.prod(m)).reshape(m)
    i, j, k = np.indices(shape)
    P = sp.csr_matrix(
        (np.ones(idx.size), (idx.ravel(), coarse[i // 2, j // 2, k // 2].ravel())),
        shape=(idx.size, coarse.size),
    )
    Ac = (P.T @ A @ P).toarray()
    gxc = np.zeros((m[0] - 1, m[1], m[2]), np.float32)
    gyc = np.zeros((m[0], m[1] - 1, m[2]), np.float32)
    gzc = np.zeros((m[0], m[1], m[2] - 1), np.float32)
    G.coarsen_faces(gx, gy, gz, gxc, gyc, gzc)
    np.testing.assert_allclose(
        gxc.ravel(), -Ac[coarse[:-1].ravel(), coarse[1:].ravel()], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        gyc.ravel(), -Ac[coarse[:, :-1].ravel(), coarse[:, 1:].ravel()], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        gzc.ravel(), -Ac[coarse[:, :, :-1].ravel(), coarse[:, :, 1:].ravel()], rtol=1e-6, atol=1e-7
    )

    def block_sum(b):
        p = np.zeros((2 * m[1], 2 * m[2]))
        p[: shape[1], : shape[2]] = b
        return p.reshape(m[1], 2, m[2], 2).sum(axis=(1, 3)).astype(np.float32)

    dc = np.empty(m, np.float32)
    G.diagonal(gxc, gyc, gzc, block_sum(bl), block_sum(bh), dc)
    np.testing.assert_allclose(dc.ravel(), np.diag(Ac), rtol=1e-6)
