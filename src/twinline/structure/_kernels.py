"""Numba kernels of the voxel transport solver (7-point finite-volume operator).

A level of the multigrid hierarchy is a structured grid ``(n0, n1, n2)`` with face
conductances ``gx`` (n0-1, n1, n2), ``gy`` (n0, n1-1, n2), ``gz`` (n0, n1, n2-1), and
Dirichlet conductances ``bl``/``bh`` (n1, n2) on the low/high faces of axis 0. The operator is

.. math:: (A u)_i = d_i u_i - \\sum_{j \\sim i} g_{ij} u_j,
          \\quad d_i = \\sum_{j \\sim i} g_{ij} + b_i

Cells with ``d_i = 0`` (outside the conducting cluster) are inert: ``inv_diag = 0``.
All kernels are compiled once and cached on disk (``cache=True``) in the user's cache folder
(:func:`twinline.structure.numba_cache_dir`; set before this module imports numba).

First-run cost: numba compiles each kernel once, for the one signature (dtypes, C layout) the
solver uses: the five kernels of the CG/V-cycle inner loop below, about 0.1-0.5 s of CPU each,
none ``parallel=True`` (a parfor kernel cost ~1-2 s of CPU to compile). The one-pass set-up
and read-out steps (face conductances, diagonal, coarsening, plane fluxes) are NumPy
(:mod:`._gridops`), the initial residual is :func:`apply`, and the CG vector updates are BLAS
calls in :mod:`.transport`: none of them has a kernel to compile.

Every kernel is serial and ``nogil`` and works on a slab ``lo <= i < hi`` of axis 0;
:mod:`.transport` runs the slabs of a large grid on a small thread pool (the GIL is released
inside a kernel, so the threads run in parallel) and a coarse grid as one slab (``0, n0``) on
the calling thread. Reductions (``apply``, ``dot``) write one partial sum per plane ``i`` into
``acc``; the caller adds them in one fixed order, so the result does not depend on how the
planes are split between threads (bit for bit).

The 7-point stencil is spelled out in each kernel's loop body: the same terms in an
``@njit(inline="always")`` helper made the serial loops 4-7x slower per call (0.086 against
0.013 s per ``apply`` at 160³ on one thread; why numba's inlining does that was not traced),
which is what had made the ``parallel=True`` kernels look necessary for speed.
"""

from __future__ import annotations

from numba import njit

#: The compile options of every kernel: serial, GIL released, cached in the user's cache folder.
_JIT = {"nogil": True, "cache": True}


@njit(**_JIT)
def apply(u, gx, gy, gz, diag, out, acc, lo, hi):  # pragma: no cover - compiled
    """out = A u on planes lo <= i < hi; acc[i] = Σ_jk u·out (CG's energy is acc.sum())."""
    n0, n1, n2 = u.shape
    for i in range(lo, hi):
        a = 0.0
        for j in range(n1):
            for k in range(n2):
                d = diag[i, j, k]
                if d == 0.0:
                    out[i, j, k] = 0.0
                    continue
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
                v = d * u[i, j, k] - s
                out[i, j, k] = v
                a += v * u[i, j, k]
        acc[i] = a


@njit(**_JIT)
def rbgs(u, b, gx, gy, gz, inv_diag, color, lo, hi):  # pragma: no cover - compiled
    """One red (color 0) or black (color 1) Gauss-Seidel half sweep on planes lo <= i < hi,
    in place.

    Slabs of one half sweep may run at the same time in any order and give the same bits: a
    cell of colour c (``(i + j + k) % 2 == c``) reads only its six neighbours, which are all of
    the other colour and are not written during this half sweep, so no slab reads what another
    slab writes (including across the slab boundary plane)."""
    n0, n1, n2 = u.shape
    for i in range(lo, hi):
        for j in range(n1):
            k0 = (i + j + color) % 2
            for k in range(k0, n2, 2):
                w = inv_diag[i, j, k]
                if w == 0.0:
                    continue
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
                u[i, j, k] = (b[i, j, k] + s) * w


@njit(**_JIT)
def residual_restrict(u, b, gx, gy, gz, diag, rc, lo, hi):  # pragma: no cover - compiled
    """rc = Pᵀ (b − A u) on coarse planes lo <= I < hi, without storing the fine residual."""
    n0, n1, n2 = u.shape
    _, m1, m2 = rc.shape
    for I in range(lo, hi):
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
                    v = b[i, j, k] - d * u[i, j, k] + s
                    rc[I, J, k // 2] += v


@njit(**_JIT)
def scaled_prolong_add(u, ec, inv_diag, scale, lo, hi):  # pragma: no cover - compiled
    """u += scale · P ec (piecewise constant) on planes lo <= i < hi, conducting cells only."""
    _, n1, n2 = u.shape
    for i in range(lo, hi):
        ci = i >> 1
        for j in range(n1):
            cj = j >> 1
            for k in range(n2):
                # a select instead of a branch, and shifts for the (non-negative) halvings:
                # 1.8x faster per call than the branch with //
                e = scale * ec[ci, cj, k >> 1]
                u[i, j, k] += e if inv_diag[i, j, k] != 0.0 else 0.0


@njit(**_JIT)
def dot(a, b, acc, lo, hi):  # pragma: no cover - compiled
    """acc[i] = Σ_jk a·b on planes lo <= i < hi (a·b is acc.sum())."""
    for i in range(lo, hi):
        s = 0.0
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                s += a[i, j, k] * b[i, j, k]
        acc[i] = s
