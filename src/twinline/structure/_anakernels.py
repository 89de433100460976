"""Numba kernels of the structure analysis (local thickness ball painting)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def paint_balls(lt, mask, centres, radii):  # pragma: no cover - compiled
    """lt = max(lt, 2r) inside each ball (centre index, radius r in voxels) within ``mask``."""
    n0, n1, n2 = lt.shape
    for q in range(centres.shape[0]):
        c = centres[q]
        i0 = c // (n1 * n2)
        j0 = (c // n2) % n1
        k0 = c % n2
        r = radii[q]
        d = np.float32(2.0 * r)
        ri = int(np.floor(r))
        r2 = r * r
        for i in range(max(i0 - ri, 0), min(i0 + ri, n0 - 1) + 1):
            di = (i - i0) * (i - i0)
            for j in range(max(j0 - ri, 0), min(j0 + ri, n1 - 1) + 1):
                dj = di + (j - j0) * (j - j0)
                if dj >= r2:
                    continue
                for k in range(max(k0 - ri, 0), min(k0 + ri, n2 - 1) + 1):
                    if dj + (k - k0) * (k - k0) < r2 and mask[i, j, k] and lt[i, j, k] < d:
                        lt[i, j, k] = d
