"""Numba kernels of the voxel transport solver (7-point finite-volume operator).

A level of the multigrid hierarchy is a structured grid ``(n0, n1, n2)`` with face
conductances ``gx`` (n0-1, n1, n2), ``gy`` (n0, n1-1, n2), ``gz`` (n0, n1, n2-1), and
Dirichlet conductances ``bl``/``bh`` (n1, n2) on the low/high faces of axis 0. The operator is

.. math:: (A u)_i = d_i u_i - \\sum_{j \\sim i} g_{ij} u_j,
          \\quad d_i = \\sum_{j \\sim i} g_{ij} + b_i

Cells with ``d_i = 0`` (outside the conducting cluster) are inert: ``inv_diag = 0``.
All kernels are compiled once and cached on disk (``cache=True``) in the user's cache folder
(:func:`twinline.structure.numba_cache_dir`; set before this module imports numba).

First-run cost: numba compiles each kernel for the one signature the solver uses, and a
``parallel=True`` kernel costs about four times a serial one to compile. Only the kernels of
the CG/V-cycle inner loop are parallel (:func:`_dual`, with serial twins for coarse grids);
the one-pass set-up and read-out kernels (:func:`_serial`) run once per solve and are serial;
the CG vector updates are BLAS calls in :mod:`.transport` (no kernel to compile).
"""

from __future__ import annotations

import types

import numpy as np
from numba import njit, prange

#: Serial twins of the multigrid kernels, for coarse levels: a parallel region costs a thread
#: barrier, which on a busy machine (more runnable threads than cores) can take a scheduler
#: time slice; small grids are faster, and far less sensitive to load, on one thread.
SERIAL: dict = {}


def _serial(fn):
    """Compile ``fn`` serial only (a one-pass kernel), the same for every grid size."""
    disp = njit(cache=True)(fn)
    SERIAL[fn.__name__] = disp
    return disp


def _dual(fn):
    """Compile ``fn`` parallel (returned) and serial (in :data:`SERIAL`), both cached."""
    ser = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                             fn.__defaults__, fn.__closure__)
    ser.__qualname__ = fn.__qualname__ + "_serial"
    SERIAL[fn.__name__] = njit(cache=True)(ser)
    return njit(parallel=True, cache=True)(fn)


@_serial
def diagonal(gx, gy, gz, bl, bh, out):  # pragma: no cover - compiled
    n0, n1, n2 = out.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                s = 0.0
                if i > 0:
                    s += gx[i - 1, j, k]
                if i < n0 - 1:
                    s += gx[i, j, k]
                if j > 0:
                    s += gy[i, j - 1, k]
                if j < n1 - 1:
                    s += gy[i, j, k]
                if k > 0:
                    s += gz[i, j, k - 1]
                if k < n2 - 1:
                    s += gz[i, j, k]
                if i == 0:
                    s += bl[j, k]
                if i == n0 - 1:
                    s += bh[j, k]
                out[i, j, k] = s


@njit(inline="always")
def _nsum(u, gx, gy, gz, i, j, k, n0, n1, n2):  # pragma: no cover - compiled
    s = 0.0
    if i > 0:
        s += gx[i - 1, j, k] * u[i - 1, j, k]
    if i < n0 - 1:
        s += gx[i, j, k] * u[i + 1, j, k]
    if j > 0:
        s += gy[i, j - 1, k] * u[i, j - 1, k]
    if j < n1 - 1:
        s += gy[i, j, k] * u[i, j + 1, k]
    if k > 0:
        s += gz[i, j, k - 1] * u[i, j, k - 1]
    if k < n2 - 1:
        s += gz[i, j, k] * u[i, j, k + 1]
    return s


@_dual
def apply(u, gx, gy, gz, diag, out):  # pragma: no cover - compiled
    """out = A u; returns u·out (the energy, used by CG)."""
    n0, n1, n2 = u.shape
    acc = np.zeros(n0)
    for i in prange(n0):
        a = 0.0
        for j in range(n1):
            for k in range(n2):
                d = diag[i, j, k]
                if d == 0.0:
                    out[i, j, k] = 0.0
                    continue
                v = d * u[i, j, k] - _nsum(u, gx, gy, gz, i, j, k, n0, n1, n2)
                out[i, j, k] = v
                a += v * u[i, j, k]
        acc[i] = a
    return acc.sum()


@_serial
def residual(u, b, gx, gy, gz, diag, out):  # pragma: no cover - compiled
    """out = b - A u."""
    n0, n1, n2 = u.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                d = diag[i, j, k]
                if d == 0.0:
                    out[i, j, k] = 0.0
                    continue
                out[i, j, k] = (b[i, j, k] - d * u[i, j, k]
                                + _nsum(u, gx, gy, gz, i, j, k, n0, n1, n2))


@_dual
def rbgs(u, b, gx, gy, gz, inv_diag, color):  # pragma: no cover - compiled
    """One red (color 0) or black (color 1) Gauss-Seidel half sweep, in place."""
    n0, n1, n2 = u.shape
    for i in prange(n0):
        for j in range(n1):
            k0 = (i + j + color) % 2
            for k in range(k0, n2, 2):
                w = inv_diag[i, j, k]
                if w == 0.0:
                    continue
                u[i, j, k] = (b[i, j, k] + _nsum(u, gx, gy, gz, i, j, k, n0, n1, n2)) * w


@_dual
def residual_restrict(u, b, gx, gy, gz, diag, rc):  # pragma: no cover - compiled
    """rc = Pᵀ (b − A u) without storing the fine residual."""
    n0, n1, n2 = u.shape
    m0, m1, m2 = rc.shape
    for I in prange(m0):
        for J in range(m1):
            for K in range(m2):
                rc[I, J, K] = 0.0
        for i in range(2 * I, min(2 * I + 2, n0)):
            for j in range(n1):
                J = j // 2
                for k in range(n2):
                    d = diag[i, j, k]
                    if d == 0.0:
                        continue
                    v = (b[i, j, k] - d * u[i, j, k]
                         + _nsum(u, gx, gy, gz, i, j, k, n0, n1, n2))
                    rc[I, J, k // 2] += v


@_dual
def scaled_prolong_add(u, ec, inv_diag, scale):  # pragma: no cover - compiled
    """u += scale · P ec (piecewise constant), on conducting cells only."""
    n0, n1, n2 = u.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                if inv_diag[i, j, k] != 0.0:
                    u[i, j, k] += scale * ec[i // 2, j // 2, k // 2]


@_dual
def dot(a, b):  # pragma: no cover - compiled
    n0 = a.shape[0]
    acc = np.zeros(n0)
    for i in prange(n0):
        s = 0.0
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                s += a[i, j, k] * b[i, j, k]
        acc[i] = s
    return acc.sum()


@_serial
def coarsen_faces(gx, gy, gz, gxc, gyc, gzc):  # pragma: no cover - compiled
    """Galerkin coarse conductances PᵀAP for piecewise-constant 2×2×2 aggregation."""
    n0, n1, n2 = gy.shape[0], gx.shape[1], gx.shape[2]
    m0 = gyc.shape[0]
    m1 = gxc.shape[1]
    m2 = gxc.shape[2]
    for I in prange(m0):
        for J in range(m1):
            for K in range(m2):
                # x faces between block I and I+1: fine face index 2I+1
                if I < m0 - 1:
                    s = 0.0
                    i = 2 * I + 1
                    for j in range(2 * J, min(2 * J + 2, n1)):
                        for k in range(2 * K, min(2 * K + 2, n2)):
                            s += gx[i, j, k]
                    gxc[I, J, K] = s
                if J < m1 - 1:
                    s = 0.0
                    j = 2 * J + 1
                    for i in range(2 * I, min(2 * I + 2, n0)):
                        for k in range(2 * K, min(2 * K + 2, n2)):
                            s += gy[i, j, k]
                    gyc[I, J, K] = s
                if K < m2 - 1:
                    s = 0.0
                    k = 2 * K + 1
                    for i in range(2 * I, min(2 * I + 2, n0)):
                        for j in range(2 * J, min(2 * J + 2, n1)):
                            s += gz[i, j, k]
                    gzc[I, J, K] = s


@_serial
def face_conductances(cond, gx, gy, gz):  # pragma: no cover - compiled
    """Harmonic-mean face conductances 2 D_i D_j / (D_i + D_j) (0 if either is 0)."""
    n0, n1, n2 = cond.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                a = cond[i, j, k]
                if i < n0 - 1:
                    c = cond[i + 1, j, k]
                    gx[i, j, k] = 2.0 * a * c / (a + c) if a > 0.0 and c > 0.0 else 0.0
                if j < n1 - 1:
                    c = cond[i, j + 1, k]
                    gy[i, j, k] = 2.0 * a * c / (a + c) if a > 0.0 and c > 0.0 else 0.0
                if k < n2 - 1:
                    c = cond[i, j, k + 1]
                    gz[i, j, k] = 2.0 * a * c / (a + c) if a > 0.0 and c > 0.0 else 0.0


@_serial
def layer_fluxes(u, gx, bl, bh, out):  # pragma: no cover - compiled
    """Total flux through each of the n0+1 planes normal to axis 0 (low face = 0)."""
    n0, n1, n2 = u.shape
    for i in prange(n0 + 1):
        s = 0.0
        for j in range(n1):
            for k in range(n2):
                if i == 0:
                    s += bl[j, k] * (u[0, j, k] - 0.0)
                elif i == n0:
                    s += bh[j, k] * (1.0 - u[n0 - 1, j, k])
                else:
                    s += gx[i - 1, j, k] * (u[i, j, k] - u[i - 1, j, k])
        out[i] = s
