r"""Discretisation error of the transport solve, and Richardson extrapolation to zero voxel size.

The finite-volume solve (:mod:`.transport`) of a voxel image carries an error that falls with
the voxel edge :math:`h` like :math:`h^p`: flux cannot cut the corners of a voxelised channel,
so a phase whose channels are one or two voxels wide conducts too little at the voxel size it
was imaged or generated at. Splitting every voxel into :math:`2\times2\times2` (nearest
upsampling: exactly the same geometry, the same phase fractions and connectivity) and solving
again gives :math:`D(h/2)`; with the two levels, the relative conductance
:math:`D = D_{eff}/D_0` of each phase at :math:`h \to 0` is (Richardson 1911; Roache 1998)

.. math::

    D_0 = D(h/2) + \frac{D(h/2) - D(h)}{2^p - 1},

and every transport number follows from :math:`D_0` as from a solve: :math:`\tau_f =
\varepsilon / D_0`, :math:`\sigma_{eff} = \sigma_{bulk} D_0`, the Bruggeman exponent
:math:`\ln D_0 / \ln\varepsilon`. The extrapolation is done on the conductances, not on
:math:`\tau_f`: :math:`D` is the quantity the solve's error expansion holds for (the flux), and
it stays finite near the percolation threshold where :math:`\tau_f` has a heavy tail. The raw
value's discretisation error is estimated as raw/extrapolated − 1.

**The order p** (:data:`ORDER`) was measured on generated images, the paper's corners and
centre (Duquesnoy et al. 2020: ε 0.29–0.42, 93–96 wt % AM), 20 × 20 × 24 µm at 1 µm, seeds 0
and 1, each solved on its k × k × k split for k = 1, 2, 3, 4 (``python
benchmarks/bench_convergence.py --order --box 20,20,24 --seeds 2``; 18 phase series, two
ε 0.29 seeds have no percolating pore). A power law :math:`D(h) = D_0 + C h^p` through the four
levels fits to 5e-4 of :math:`D` and gives p = 1.06 ± 0.02 (pore, 8 series, range 1.04–1.09)
and 1.11 ± 0.01 (solid AM ∪ CBD, 10 series, range 1.09–1.14), standard deviations over the
series. So p is close to 1 but measurably above it, and it is used as measured. The local
order still grows under refinement (from levels 1–3: pore 1.04, solid 1.09; from levels 2–4:
1.17 and 1.19): the error is not a single power yet. Against the four-level D₀, first-order
Richardson (p = 1) overshoots by 0.6–1.5 % (pore) and 0.6–1.1 % (solid); the measured p leaves
−0.5…+0.5 % and −0.2…+0.1 %. A change of p by its spread (0.02) moves D₀ by about
0.025 (D(h/2) − D(h)), i.e. 0.3–0.5 % of D₀ for the pore phase at 1 µm. A CBD conducting field
(``cbd_nanoporosity``) uses the pore order; it was not measured apart.

Raw values stay the primary numbers: they are what TauFactor computes on the same image (the
same finite-volume scheme, Cooper et al. 2016), and what the generator is calibrated on.

References
----------
.. [1] L. F. Richardson, Phil. Trans. R. Soc. A 210 (1911) 307-357. doi:10.1098/rsta.1911.0009
.. [2] P. J. Roache, Verification and Validation in Computational Science and Engineering,
       Hermosa, 1998 (grid convergence index, order from three grids).
.. [3] S. J. Cooper et al., SoftwareX 5 (2016) 203-210. doi:10.1016/j.softx.2016.09.002
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from twinline.spec.errors import StructureError

CITATIONS: tuple[str, ...] = ("Richardson1911", "Cooper2016")

#: Order p of the discretisation error D(h) − D₀ ∝ h^p of each phase's conductance, measured
#: (module docstring): pore 1.06 ± 0.02, solid AM ∪ CBD 1.11 ± 0.01.
ORDER: dict[str, float] = {"pore": 1.06, "solid": 1.11}
#: Its spread (one standard deviation over the measured series).
ORDER_SPREAD: dict[str, float] = {"pore": 0.02, "solid": 0.01}

#: Refinement ratio of the second level: every voxel split into 2 × 2 × 2.
REFINEMENT = 2

#: Largest refined image (voxels after the 2 × 2 × 2 split) the extrapolation solves: the solve
#: needs about 60 bytes per voxel, so 64 million voxels take about 4 GB (an image of 8 million
#: voxels, e.g. 200 × 200 × 200).
MAX_REFINED_VOXELS = 64_000_000

#: The transport numbers extrapolated, along each analysed axis.
QUANTITIES: tuple[str, ...] = (
    "tortuosity_factor_pore",
    "tortuosity_factor_solid",
    "tortuosity_pore",
    "tortuosity_solid",
    "sigma_eff_S_per_m",
    "bruggeman_exponent",
)

#: What each number of the ``extrapolation`` block means (merged into the analysis's
#: ``definitions`` under ``extrapolation.<key>``).
DEFINITIONS: dict[str, str] = {
    "extrapolation": "the transport values at zero voxel size by Richardson extrapolation "
    "from the image (voxel h) and its 2×2×2 split (h/2, the same geometry): per quantity "
    "raw, refined, extrapolated and discretisation_error, along `axis` at the top and along "
    "each analysed axis in `directions`",
    "extrapolation.raw": "the value on the image as given (voxel h): the analysis's primary, "
    "TauFactor-compatible number",
    "extrapolation.refined": "the same quantity solved on the image split 2×2×2 (voxel h/2; "
    "nearest upsampling, so the same geometry and phase fractions)",
    "extrapolation.extrapolated": "the h → 0 value: the conductance D = D_eff/D₀ of the phase "
    "extrapolated, D₀ = D(h/2) + (D(h/2) − D(h))/(2^p − 1), and the quantity computed from "
    "D₀ (τ_f = ε/D₀, σ_eff = σ_bulk·D₀, Bruggeman ln D₀/ln ε)",
    "extrapolation.discretisation_error": "estimated relative discretisation error of the raw "
    "value, raw/extrapolated − 1 [-] (positive for τ_f: the raw solve conducts too little)",
    "extrapolation.order_p": "order p of the error D(h) − D₀ ∝ h^p per phase, measured on "
    "generated electrodes (twinline.structure.extrapolation.ORDER) [-]",
    "extrapolation.order_p_spread": "one standard deviation of the measured p [-]",
    "extrapolation.refined_voxel_size_m": "voxel edge of the refined solve, h/2 [m]",
    "extrapolation.refined_volume_fraction": "conductivity-weighted volume fraction of each "
    "phase seen by the refined solve [-]; equal to the raw image's (same geometry)",
    "extrapolation.solver": "the criteria and figures of the refined solves per axis and phase "
    "(as `solver`)",
}


def check_size(shape: tuple[int, ...], max_refined_voxels: int | None = None) -> int:
    """Number of voxels of the 2 × 2 × 2 split of an image of ``shape``.

    Raises
    ------
    StructureError
        If it exceeds ``max_refined_voxels`` (default :data:`MAX_REFINED_VOXELS`), naming the
        parameter, the image, the split size and the limit.
    """
    limit = MAX_REFINED_VOXELS if max_refined_voxels is None else int(max_refined_voxels)
    n = int(np.prod(shape)) * REFINEMENT**3
    if n > limit:
        dims = "×".join(str(int(s)) for s in shape)
        raise StructureError(
            f"extrapolate: the 2×2×2 split of the {dims} image has {n:,} voxels, over the limit "
            f"of {limit:,} (about {60 * limit / 1e9:.0f} GB for the solve); analyse a smaller "
            "box or a coarser voxel, or leave out extrapolate (--extrapolate)"
        )
    return n


def split(image: np.ndarray) -> np.ndarray:
    """The image with every voxel split into 2 × 2 × 2 (nearest upsampling, same geometry)."""
    out = image
    for ax in range(3):
        out = np.repeat(out, REFINEMENT, axis=ax)
    return out


def richardson(d_coarse: float, d_fine: float, order: float) -> float:
    r"""Conductance at zero voxel size from two levels h and h/2.

    .. math:: D_0 = D(h/2) + \frac{D(h/2) - D(h)}{2^p - 1}

    Parameters
    ----------
    d_coarse, d_fine : float
        Relative conductance D_eff/D₀ [-] at voxel h and at h/2 (0 if the phase does not
        percolate).
    order : float
        Order p > 0 of the error.

    Returns
    -------
    float
        D₀ [-]; 0 when neither level conducts, NaN if the extrapolation is not positive
        (the two levels do not show a monotone error, so no estimate).
    """
    if not order > 0:
        raise StructureError(f"order = {order!r} must be > 0")
    if d_coarse <= 0 and d_fine <= 0:
        return 0.0
    d0 = d_fine + (d_fine - d_coarse) / (REFINEMENT**order - 1.0)
    return float(d0) if d0 > 0 else float("nan")


def _values(d_pore: float, d_solid: float, eps: float, phi_solid: float, sigma_bulk: float):
    """The transport quantities of :data:`QUANTITIES` from the two conductances."""
    tau_p = eps / d_pore if d_pore > 0 else (float("inf") if d_pore == 0 else float("nan"))
    tau_s = phi_solid / d_solid if d_solid > 0 else (float("inf") if d_solid == 0 else math.nan)
    brug = math.log(d_pore) / math.log(eps) if d_pore > 0 and 0 < eps < 1 else float("nan")
    return {
        "tortuosity_factor_pore": tau_p,
        "tortuosity_factor_solid": tau_s,
        "tortuosity_pore": math.sqrt(tau_p) if tau_p == tau_p else float("nan"),
        "tortuosity_solid": math.sqrt(tau_s) if tau_s == tau_s else float("nan"),
        "sigma_eff_S_per_m": sigma_bulk * d_pore if d_pore == d_pore else float("nan"),
        "bruggeman_exponent": brug,
    }


def _error(raw: float, extrapolated: float) -> float:
    """raw/extrapolated − 1; 0 when both are infinite (no transport at any h), else NaN if
    undefined."""
    if math.isinf(raw) and math.isinf(extrapolated):
        return 0.0
    if not (math.isfinite(raw) and math.isfinite(extrapolated)) or extrapolated == 0:
        return float("nan")
    return raw / extrapolated - 1.0


def extrapolate_transport(
    pore_field: np.ndarray,
    solid_mask: np.ndarray,
    raw: dict[str, tuple[Any, Any]],
    *,
    eps: float,
    sigma_bulk: float,
    voxel_size: float,
    tol: float,
    solver_record,
) -> dict[str, Any]:
    """Solve the 2 × 2 × 2 split and extrapolate every transport number of each axis.

    Parameters
    ----------
    pore_field : ndarray
        The pore phase's conductivity field of the raw image (a 0/1 mask, or D/D₀ with a
        conducting CBD) [-].
    solid_mask : ndarray
        The solid (AM ∪ CBD) mask of the raw image.
    raw : dict
        Axis ("0", "1", "2") → (pore TransportResult, solid TransportResult) of the raw solves.
    eps : float
        Porosity used for the pore τ_f (pore voxel fraction, plus ε_n·φ_CBD) [-].
    sigma_bulk : float
        Bulk electrolyte conductivity [S m⁻¹].
    voxel_size : float
        Raw voxel edge h [m].
    tol : float
        Relative residual of the refined solves (as the raw ones).
    solver_record : callable
        TransportResult → dict (the analysis's solver record).

    Returns
    -------
    dict
        The ``extrapolation`` block of the analysis (see :data:`DEFINITIONS`).
    """
    from twinline.structure.transport import solve_conductivity

    t0 = time.perf_counter()
    phi_solid = float(np.count_nonzero(solid_mask)) / solid_mask.size
    directions: dict[str, dict[str, Any]] = {}
    solver: dict[str, dict[str, Any]] = {}
    fractions: dict[str, float] = {}
    for phase, image in (("pore", pore_field), ("solid", solid_mask)):
        fine = split(image)
        for ax in raw:
            res = solve_conductivity(fine, axis=int(ax), tol=tol)
            solver.setdefault(ax, {})[phase] = solver_record(res)
            solver[ax][phase]["d_eff_rel"] = res.d_eff_rel
            fractions[phase] = float(res.volume_fraction)
        del fine
    for ax, (pore_res, solid_res) in raw.items():
        d = {
            "raw": (pore_res.d_eff_rel, solid_res.d_eff_rel),
            "refined": (solver[ax]["pore"]["d_eff_rel"], solver[ax]["solid"]["d_eff_rel"]),
        }
        d["extrapolated"] = (
            richardson(d["raw"][0], d["refined"][0], ORDER["pore"]),
            richardson(d["raw"][1], d["refined"][1], ORDER["solid"]),
        )
        vals = {k: _values(*v, eps, phi_solid, sigma_bulk) for k, v in d.items()}
        directions[ax] = {
            q: {
                "raw": vals["raw"][q],
                "refined": vals["refined"][q],
                "extrapolated": vals["extrapolated"][q],
                "discretisation_error": _error(vals["raw"][q], vals["extrapolated"][q]),
            }
            for q in QUANTITIES
        }
    main = next(iter(raw))
    return {
        "method": "Richardson extrapolation from two levels, the image (h) and its 2×2×2 "
        "split (h/2), on each phase's conductance D = D_eff/D₀: "
        "D₀ = D(h/2) + (D(h/2) − D(h))/(2^p − 1)",
        "order_p": dict(ORDER),
        "order_p_spread": dict(ORDER_SPREAD),
        "refined_voxel_size_m": voxel_size / REFINEMENT,
        "refined_volume_fraction": fractions,
        **directions[main],
        "directions": directions,
        "solver": solver,
        "wall_s": time.perf_counter() - t0,
    }
