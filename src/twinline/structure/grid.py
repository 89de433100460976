"""The sizing rule of the chain's 3D images: voxel edge and lateral box from the particles and the
coating thickness.

Voxel edge :math:`h = \\max(d_{50}/8,\\ L/160)` (at least 8 voxels across a median particle, at
most 160 through the coating), lateral box :math:`\\max(12\\,d_{50},\\ 48\\ \\mu m)`, close to the
50 µm of Duquesnoy et al. 2020. The box was :math:`\\max(8\\,d_{50}, 30\\ \\mu m)` before issue 17:
the pore tortuosity factor of one image then scattered by ±20-50 % between seeds at porosity
0.25-0.31; 12·d50 cuts that by about 1.5× (the square root of the area ratio).

Used by :func:`twinline.chain.structure.structure_grid` (``twinline run --structure``), by the
fitted closed forms (:mod:`twinline.structure.closed_forms`, whose laws carry the voxel size the
3D model was run at) and by ``benchmarks/fit_closed_form.py``.
"""

from __future__ import annotations

#: Voxels across a median particle diameter (at least) [-].
VOXELS_PER_D50 = 8.0
#: Voxels through the coating thickness (at most) [-].
VOXELS_THROUGH = 160.0
#: Lateral box edge in median particle diameters [-] and its floor [m].
BOX_D50 = 12.0
BOX_MIN = 48e-6


def grid_for(d50: float, thickness: float) -> tuple[float, float]:
    """Voxel edge [m] and lateral box edge [m] for a median particle diameter ``d50`` [m] and
    a coating ``thickness`` [m].

    Examples
    --------
    >>> [round(x * 1e6, 3) for x in grid_for(4e-6, 100e-6)]
    [0.625, 48.0]
    """
    return (max(d50 / VOXELS_PER_D50, thickness / VOXELS_THROUGH), max(BOX_D50 * d50, BOX_MIN))
