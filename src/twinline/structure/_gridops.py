"""One-pass set-up and read-out operations of the transport solver's grids, in NumPy.

These run once per solve (or per multigrid level, or per flux check), so they need no numba
kernel: each would cost 0.2-0.4 s of CPU to compile on a first run (issue 17 part 4) and saves
only milliseconds per call. They work one plane of axis 0 at a time, so the float64
temporaries stay at one plane (a 512³ grid needs no extra gigabyte), and they add the terms of
each cell in the same order, in float64, as the numba kernels they replace did, so the
operator's float32 values are bit-identical to before.

Grid layout as in :mod:`._kernels`: cell values ``(n0, n1, n2)``, face conductances ``gx``
``(n0-1, n1, n2)``, ``gy`` ``(n0, n1-1, n2)``, ``gz`` ``(n0, n1, n2-1)``, Dirichlet
conductances ``bl``/``bh`` ``(n1, n2)`` on the low/high faces of axis 0.
"""

from __future__ import annotations

import numpy as np


def face_conductances(cond: np.ndarray, gx: np.ndarray, gy: np.ndarray, gz: np.ndarray) -> None:
    r"""Harmonic-mean face conductances, written into ``gx``, ``gy``, ``gz`` (float32):

    .. math:: g_{ij} = \frac{2 D_i D_j}{D_i + D_j} \quad (0 \text{ if } D_i = 0
              \text{ or } D_j = 0)

    for a float32 conductivity field ``cond`` (the sum ``D_i + D_j`` is rounded to float32,
    the rest is float64).
    """
    n0 = cond.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n0):
            a = cond[i]
            if i < n0 - 1:
                gx[i] = _harmonic(a, cond[i + 1])
            gy[i] = _harmonic(a[:-1], a[1:])
            gz[i] = _harmonic(a[:, :-1], a[:, 1:])


def _harmonic(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    h = 2.0 * a.astype(np.float64) * c / (a + c).astype(np.float64)
    return np.where((a > 0) & (c > 0), h, 0.0)


def diagonal(
    gx: np.ndarray, gy: np.ndarray, gz: np.ndarray, bl: np.ndarray, bh: np.ndarray, out: np.ndarray
) -> None:
    r"""Operator diagonal :math:`d_i = \sum_{j \sim i} g_{ij} + b_i` into ``out`` (float32),
    summed in float64 in the order x−, x+, y−, y+, z−, z+, low face, high face."""
    n0 = out.shape[0]
    s = np.empty(out.shape[1:])
    for i in range(n0):
        s[...] = 0.0
        if i > 0:
            s += gx[i - 1]
        if i < n0 - 1:
            s += gx[i]
        s[1:] += gy[i]
        s[:-1] += gy[i]
        s[:, 1:] += gz[i]
        s[:, :-1] += gz[i]
        if i == 0:
            s += bl
        if i == n0 - 1:
            s += bh
        out[i] = s


def coarsen_faces(
    gx: np.ndarray,
    gy: np.ndarray,
    gz: np.ndarray,
    gxc: np.ndarray,
    gyc: np.ndarray,
    gzc: np.ndarray,
) -> None:
    r"""Galerkin coarse conductances of :math:`P^T A P` for piecewise-constant 2×2×2
    aggregation (Notay 2010): the conductance between two neighbouring blocks is the sum of
    the fine face conductances between them (up to four; fewer at an odd edge), written into
    ``gxc``, ``gyc``, ``gzc`` (float32, shapes of the coarse grid ``((n+1)//2, ...)``)."""
    m0 = gyc.shape[0]
    n0 = gy.shape[0]
    for I in range(m0):
        if I < m0 - 1:
            # x faces between blocks I and I+1: the fine plane 2I+1, j outer, k inner
            p = _zero_padded(gx[2 * I + 1][None], (1, 2 * gxc.shape[1], 2 * gxc.shape[2]))[0]
            gxc[I] = ((p[0::2, 0::2] + p[0::2, 1::2]) + p[1::2, 0::2]) + p[1::2, 1::2]
        i1 = min(2 * I + 2, n0)
        # y faces: the fine rows 2J+1 of planes 2I, 2I+1, i outer, k inner
        y = _zero_padded(gy[2 * I : i1, 1::2, :], (2, gyc.shape[1], 2 * gyc.shape[2]))
        gyc[I] = ((y[0][:, 0::2] + y[0][:, 1::2]) + y[1][:, 0::2]) + y[1][:, 1::2]
        # z faces: the fine columns 2K+1 of planes 2I, 2I+1, i outer, j inner
        z = _zero_padded(gz[2 * I : i1, :, 1::2], (2, 2 * gzc.shape[1], gzc.shape[2]))
        gzc[I] = ((z[0][0::2] + z[0][1::2]) + z[1][0::2]) + z[1][1::2]


def _zero_padded(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 copy of ``a`` in the corner of a zero array of ``shape`` (adding the zeros
    leaves every sum as it was)."""
    out = np.zeros(shape)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def layer_fluxes(
    u: np.ndarray, gx: np.ndarray, bl: np.ndarray, bh: np.ndarray, out: np.ndarray
) -> None:
    r"""Total flux through each of the ``n0 + 1`` planes normal to axis 0 into ``out``:
    :math:`F_0 = \sum b_l (u_0 - 0)`, :math:`F_i = \sum g_x (u_i - u_{i-1})`,
    :math:`F_{n_0} = \sum b_h (1 - u_{n_0-1})` (potential 0 on the low face, 1 on the high)."""
    n0 = u.shape[0]
    out[0] = _dot(bl, u[0])
    for i in range(1, n0):
        out[i] = _dot(gx[i - 1], u[i] - u[i - 1])
    out[n0] = _dot(bh, 1.0 - u[n0 - 1])


def _dot(g: np.ndarray, v: np.ndarray) -> float:
    return float(np.dot(g.astype(np.float64).ravel(), v.ravel()))
