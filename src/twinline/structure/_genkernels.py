"""Numba kernels of the stochastic generator (sphere packing, rasterisation, CBD score).

Coordinates are in voxel units; axis 0 is the thickness (current collector at 0), axes 1 and
2 are periodic.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def pack_spheres(radii, n0, n1, n2, target, labels, overlap, cc_embed, max_tries,
                 seed, cen0, rad0, slack):  # pragma: no cover - compiled
    """Random sequential addition of spheres with a tolerated overlap, rasterised on the fly.

    A sphere of radius r at centre c is accepted when, for every placed sphere j,
    ``|c − c_j| >= (1 − overlap_i)(r + r_j)`` (periodic in axes 1, 2), and its centre lies in
    ``[r (1 − cc_embed), n0 − r (1 − cc_embed)]`` along axis 0. After ``max_tries`` rejections
    the sphere's overlap tolerance grows by 0.05 (up to 0.9). A sphere whose volume exceeds
    the remaining count by more than ``slack`` voxels is skipped (bounded overshoot).
    Placement stops once ``target`` voxels are AM (label 1). ``cen0``/``rad0`` are spheres
    placed before (already in ``labels``). Returns (centres, radii, n_placed,
    n_new_am_voxels), previous spheres included.
    """
    # numba keeps its own random state, separate from NumPy's global one
    np.random.seed(seed)  # noqa: NPY002
    m = rad0.shape[0]
    n = radii.shape[0] + m
    cen = np.zeros((n, 3))
    rad = np.zeros(n)
    rmax = radii.max()
    if m > 0:
        rmax = max(rmax, rad0.max())
    cs = max(2.0 * rmax, 1.0)
    c0 = max(int(n0 / cs), 1)
    c1 = max(int(n1 / cs), 1)
    c2 = max(int(n2 / cs), 1)
    cap = n + 1
    head = -np.ones(c0 * c1 * c2, np.int64)
    nxt = -np.ones(cap, np.int64)
    placed = 0
    for p in range(m):
        cen[p] = cen0[p]
        rad[p] = rad0[p]
        cell = (min(int(cen0[p, 0] / n0 * c0), c0 - 1) * c1
                + min(int(cen0[p, 1] / n1 * c1), c1 - 1)) * c2 \
            + min(int(cen0[p, 2] / n2 * c2), c2 - 1)
        nxt[p] = head[cell]
        head[cell] = p
        placed += 1
    count = 0
    for p in range(radii.shape[0]):
        if count >= target:
            break
        r = radii[p]
        if 4.18879 * r * r * r > (target - count) + slack:
            continue   # would overshoot the target: leave the room to smaller spheres
        tol = overlap
        lo = r * (1.0 - cc_embed)
        hi = n0 - r * (1.0 - cc_embed)
        if hi < lo:
            lo = hi = 0.5 * n0
        ok = False
        x = 0.0
        y = 0.0
        z = 0.0
        while not ok:
            for _ in range(max_tries):
                x = lo + (hi - lo) * np.random.random()  # noqa: NPY002
                y = n1 * np.random.random()  # noqa: NPY002
                z = n2 * np.random.random()  # noqa: NPY002
                ix = min(int(x / n0 * c0), c0 - 1)
                iy = min(int(y / n1 * c1), c1 - 1)
                iz = min(int(z / n2 * c2), c2 - 1)
                ok = True
                for dx in range(-1, 2):
                    jx = ix + dx
                    if jx < 0 or jx >= c0:
                        continue
                    for dy in range(-1, 2):
                        jy = (iy + dy) % c1
                        for dz in range(-1, 2):
                            jz = (iz + dz) % c2
                            q = head[(jx * c1 + jy) * c2 + jz]
                            while q >= 0:
                                ddx = x - cen[q, 0]
                                ddy = y - cen[q, 1]
                                if ddy > 0.5 * n1:
                                    ddy -= n1
                                elif ddy < -0.5 * n1:
                                    ddy += n1
                                ddz = z - cen[q, 2]
                                if ddz > 0.5 * n2:
                                    ddz -= n2
                                elif ddz < -0.5 * n2:
                                    ddz += n2
                                lim = (1.0 - tol) * (r + rad[q])
                                if ddx * ddx + ddy * ddy + ddz * ddz < lim * lim:
                                    ok = False
                                    break
                                q = nxt[q]
                            if not ok:
                                break
                        if not ok:
                            break
                    if not ok:
                        break
                if ok:
                    break
            if not ok:
                tol = min(tol + 0.05, 0.9)
        cen[placed, 0] = x
        cen[placed, 1] = y
        cen[placed, 2] = z
        rad[placed] = r
        cell = (min(int(x / n0 * c0), c0 - 1) * c1 + min(int(y / n1 * c1), c1 - 1)) * c2 \
            + min(int(z / n2 * c2), c2 - 1)
        nxt[placed] = head[cell]
        head[cell] = placed
        placed += 1
        count += _raster(labels, x, y, z, r, n0, n1, n2)
    return cen[:placed], rad[:placed], placed, count


@njit(cache=True)
def _raster(labels, x, y, z, r, n0, n1, n2):  # pragma: no cover - compiled
    """Set label 1 inside the sphere (voxel centres at i + 0.5); returns new voxels."""
    new = 0
    r2 = r * r
    i0 = max(int(np.floor(x - r)), 0)
    i1 = min(int(np.ceil(x + r)), n0 - 1)
    for i in range(i0, i1 + 1):
        dx = i + 0.5 - x
        for jj in range(int(np.floor(y - r)), int(np.ceil(y + r)) + 1):
            dy = jj + 0.5 - y
            if dx * dx + dy * dy > r2:
                continue
            j = jj % n1
            for kk in range(int(np.floor(z - r)), int(np.ceil(z + r)) + 1):
                dz = kk + 0.5 - z
                if dx * dx + dy * dy + dz * dz <= r2:
                    k = kk % n2
                    if labels[i, j, k] == 0:
                        labels[i, j, k] = 1
                        new += 1
    return new


@njit(parallel=True, cache=True)
def cbd_score(labels, cen, rad, reach, cc_weight, cc_reach):  # pragma: no cover - compiled
    r"""Where CBD sits: a sum of compact kernels around every particle and the CC.

    .. math:: s(\mathbf x) = \sum_i \big(1 - (|\mathbf x - \mathbf c_i| - r_i)/\ell\big)_+^2
              + w_{cc} \big(1 - x_0/\ell_{cc}\big)_+^2

    evaluated on non-AM voxels. A voxel at a neck between two particles scores about 2, one
    on a free surface about 1, so filling the highest scores first puts CBD in the contacts,
    then as a film on the surfaces and on the current collector. Parallel over the planes of
    axis 0 (each plane sums the particles in the same order: deterministic).
    """
    n0, n1, n2 = labels.shape
    s = np.zeros(labels.shape, np.float32)
    for i in prange(n0):
        for p in range(rad.shape[0]):
            x = cen[p, 0]
            R = rad[p] + reach
            dx = i + 0.5 - x
            if dx * dx >= R * R:
                continue
            y = cen[p, 1]
            z = cen[p, 2]
            r = rad[p]
            R2 = R * R
            hy = np.sqrt(R2 - dx * dx)          # chord of the sphere in this plane
            for jj in range(int(np.floor(y - 0.5 - hy)), int(np.ceil(y - 0.5 + hy)) + 1):
                dy = jj + 0.5 - y
                dxy = dx * dx + dy * dy
                if dxy > R2:
                    continue
                j = jj % n1
                hz = np.sqrt(R2 - dxy)
                for kk in range(int(np.floor(z - 0.5 - hz)), int(np.ceil(z - 0.5 + hz)) + 1):
                    dz = kk + 0.5 - z
                    d2 = dxy + dz * dz
                    if d2 > R2:
                        continue
                    k = kk % n2
                    if labels[i, j, k] != 0:
                        continue
                    t = 1.0 - (np.sqrt(d2) - r) / reach
                    if t > 1.0:
                        t = 1.0
                    s[i, j, k] += t * t
    if cc_weight > 0.0 and cc_reach > 0.0:
        for i in range(n0):
            t = 1.0 - (i + 0.5) / cc_reach
            if t <= 0.0:
                break
            w = cc_weight * t * t
            for j in range(n1):
                for k in range(n2):
                    if labels[i, j, k] == 0:
                        s[i, j, k] += w
    return s
