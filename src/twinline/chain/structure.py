"""The 3D mesostructure of a calendered electrode, built in one place with one sizing rule.

:func:`structure_grid` sizes the voxel grid: voxel edge max(d50/8, thickness/160), lateral box
max(8·d50, 30 µm) — about 0.3 M voxels for a typical cathode, a few seconds on 2 cores.
:func:`build_structure` generates the image (:func:`twinline.structure.generate.from_calendered`)
and analyses it (:func:`twinline.structure.analyse.analyse`); :func:`imbibition_of` runs the
electrolyte imbibition on the same image for the filling step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def structure_grid(calendered: Any) -> tuple[float, float]:
    """Voxel edge [m] and lateral box edge [m] of the 3D image of a calendered coating."""
    d50 = 2.0 * float(np.mean(calendered.particle_radius))
    thickness = float(np.mean(calendered.thickness))
    return max(d50 / 8.0, thickness / 160.0), max(8.0 * d50, 30e-6)


def build_structure(calendered: Any, *, seed: int, electrolyte_conductivity: float,
                    materials: Any) -> tuple[Any, Any, list[warnings.WarningMessage]]:
    """Generate and analyse the 3D image: (Mesostructure, StructureAnalysis, warnings)."""
    from twinline.structure.analyse import analyse
    from twinline.structure.generate import from_calendered

    voxel, box = structure_grid(calendered)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meso = from_calendered(calendered, voxel_size=voxel, box_xy=box, seed=seed,
                               materials=materials)
        result = analyse(meso, voxel_size=meso.voxel_size,
                         electrolyte_conductivity=electrolyte_conductivity)
    return meso, result, list(caught)


def imbibition_of(mesostructure: Any, electrolyte: Any) -> Any:
    """Capillary imbibition of ``electrolyte`` (a material) into the image."""
    from twinline.structure.imbibition import imbibition

    return imbibition(mesostructure, surface_tension=float(electrolyte["surface_tension"]),
                      contact_angle=float(electrolyte["contact_angle"]))
