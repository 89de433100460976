r"""Electrolyte imbibition into a voxel image of an electrode (pore morphology, PoreSpy).

The pore space (label 0; AM 1 and CBD 2 are solid, the CBD's nanopores are neglected) is
invaded by the wetting electrolyte from the separator face (the last slice along axis 0;
the current collector is at index 0) while the gas escapes through the lateral faces.
PoreSpy's image-based sphere-insertion imbibition (Hilpert & Miller 2001; Gostick et al.
2019) lowers the gas-over-liquid pressure step by step; at each capillary pressure

.. math:: p_c = \frac{2\gamma\cos\theta}{r}

(Young–Laplace, :math:`r` the local distance to the solid) the liquid fills every pore it
can reach whose radius is below :math:`r`. Gas clusters cut off from the lateral faces are
*trapped*; their share of the pore volume is :attr:`ImbibitionResult.trapped_gas_fraction`
(all of it when no pore reaches a lateral face).

Validity: quasi-static capillary-dominated filling (capillary number ≪ 1); resolution
of the pores by a few voxels at least.

References
----------
.. [1] M. Hilpert, C. T. Miller, Adv. Water Resour. 24 (2001) 243-255.
       doi:10.1016/S0309-1708(00)00056-7
.. [2] J. T. Gostick, Z. A. Khan, T. G. Tranter et al., J. Open Source Softw. 4 (2019)
       1296. doi:10.21105/joss.01296 (PoreSpy)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from twinline.spec.errors import StructureError

CITATIONS: tuple[str, ...] = ("Hilpert2001", "Gostick2019")


@dataclass(frozen=True)
class ImbibitionResult:
    """Saturation curve and trapped gas of one imbibition (SI)."""

    capillary_pressure: tuple[float, ...]  # gas − liquid pressure steps [Pa], decreasing
    saturation: tuple[float, ...]          # liquid saturation of the pore space [-]
    final_saturation: float                # [-]
    trapped_gas_fraction: float            # [-]
    pore_voxels: int
    voxel_size: float                      # [m]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def imbibition(structure: Any, *, voxel_size: float | None = None, surface_tension: float = 0.035,
               contact_angle: float = 0.35, steps: int = 25, min_trapped: int = 4
               ) -> ImbibitionResult:
    """Imbibition of the electrolyte into a 0/1/2 label image (axis 0 through thickness).

    Parameters
    ----------
    structure : Mesostructure or ndarray
        Labels (0 pore, 1 AM, 2 CBD), CC at index 0 of axis 0.
    voxel_size : float, optional
        Voxel edge [m]; default: the Mesostructure's.
    surface_tension : float
        :math:`\\gamma` [N/m], > 0.
    contact_angle : float
        :math:`\\theta` [rad], in [0, π/2).
    steps : int
        Capillary-pressure steps (>= 3).
    min_trapped : int
        Trapped gas clusters smaller than this many voxels are counted as filled
        (jagged voxel edges).

    Raises
    ------
    StructureError
        If the image is not a 3D label image, has no pore space, or an argument is out of
        range.
    """
    from twinline.spec.errors import require

    labels = getattr(structure, "labels", structure)
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise StructureError(f"imbibition needs a 3D label image, got shape {labels.shape}")
    if voxel_size is None:
        voxel_size = getattr(structure, "voxel_size", None)
    if voxel_size is None or not voxel_size > 0:
        raise StructureError(f"voxel_size must be > 0 m, got {voxel_size!r}")
    if not surface_tension > 0:
        raise StructureError(f"surface_tension must be > 0 N/m, got {surface_tension:g}")
    if not 0 <= contact_angle < np.pi / 2:
        raise StructureError(f"contact_angle must be in [0, 90°) for a wetting liquid, got "
                             f"{np.degrees(contact_angle):.0f}°")
    if steps < 3:
        raise StructureError(f"steps must be >= 3, got {steps}")
    pore = labels == 0
    n_pore = int(pore.sum())
    if n_pore == 0:
        raise StructureError("the image has no pore space (label 0)")
    ps = require("porespy", "bench")
    import scipy.ndimage as ndi

    dt = ndi.distance_transform_edt(pore)
    with np.errstate(divide="ignore"):
        pc = np.where(pore, 2.0 * surface_tension * np.cos(contact_angle)
                      / (np.maximum(dt, 0.5) * voxel_size), 0.0)
    inlets = np.zeros_like(pore)
    inlets[-1] = True
    outlets = np.zeros_like(pore)
    outlets[:, 0, :] = outlets[:, -1, :] = True
    outlets[:, :, 0] = outlets[:, :, -1] = True
    outlets[-1] = False  # the separator face is the inlet
    if not np.any(outlets & pore):
        # no pore reaches a lateral face: the gas has no way out and stays (vacuum-free
        # filling); the liquid cannot displace it
        return ImbibitionResult(capillary_pressure=(float(pc.max()), float(pc[pore].min())),
                                saturation=(0.0, 0.0), final_saturation=0.0,
                                trapped_gas_fraction=1.0, pore_voxels=n_pore,
                                voxel_size=float(voxel_size))
    res = ps.simulations.imbibition(im=pore, pc=pc, dt=dt, inlets=inlets & pore,
                                    outlets=outlets & pore, steps=steps,
                                    min_size=min_trapped)
    p = np.asarray(res.pc, dtype=float)
    snwp = np.asarray(res.snwp, dtype=float)
    finite = np.isfinite(p) & np.isfinite(snwp)
    p, sat = p[finite], 1.0 - snwp[finite]
    order = np.argsort(-p)
    p, sat = p[order], np.maximum.accumulate(np.clip(sat[order], 0.0, 1.0))
    trapped = getattr(res, "im_trapped", None)
    trapped_frac = float(np.asarray(trapped).sum() / n_pore) if trapped is not None else 0.0
    final = float(sat[-1]) if sat.size else 0.0
    return ImbibitionResult(capillary_pressure=tuple(float(x) for x in p),
                            saturation=tuple(float(x) for x in sat), final_saturation=final,
                            trapped_gas_fraction=trapped_frac, pore_voxels=n_pore,
                            voxel_size=float(voxel_size))
