"""The 3D mesostructure of a calendered electrode, built in one place with one sizing rule.

:func:`structure_grid` sizes the voxel grid by :func:`twinline.structure.grid.grid_for`: voxel
edge max(d50/8, thickness/160), lateral box max(12·d50, 48 µm) — about 0.8 M voxels for a
typical cathode, 10-30 s on 2 shared cores.
:func:`build_structure` generates the image (:func:`twinline.structure.generate.from_calendered`)
and analyses it (:func:`twinline.structure.analyse.analyse`); :func:`imbibition_of` runs the
electrolyte imbibition on the same image for the filling step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


def structure_grid(calendered: Any) -> tuple[float, float]:
    """Voxel edge [m] and lateral box edge [m] of the 3D image of a calendered coating."""
    from twinline.structure.grid import grid_for

    return grid_for(2.0 * float(np.mean(calendered.particle_radius)),
                    float(np.mean(calendered.thickness)))


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


@dataclass(frozen=True)
class StructureEstimate:
    """The cathode's tortuosity factors from the fitted closed forms, handed to the cell when no
    3D structure was analysed, so that PyBaMM gets the numbers the run reports.

    ``tortuosity_factor_pore``/``_solid`` ε·D₀/D_eff [-], defined, like a 3D analysis's, on the
    resolved pore fraction ``porosity`` [-] (the image's pore voxels: the CBD's own pores are not
    in it); ``source`` the closed form's ``source`` text. No pore size: the filling step keeps
    its Kozeny estimate.
    """

    tortuosity_factor_pore: float
    tortuosity_factor_solid: float
    source: str
    porosity: float = float("nan")
    pore_diameter_d50_m: float = float("nan")
    #: what the cell reports as the origin of its cathode tortuosity factors
    tortuosity_source: str = "closed form fitted to the 3D model"


def estimate_for_cell(calendered: Any, electrolyte_conductivity: float) -> StructureEstimate:
    """:class:`StructureEstimate` of a calendered coating (means of Monte Carlo arrays)."""
    from twinline.structure.closed_forms import fitted_estimates, fitted_source

    est = fitted_estimates(calendered.porosity, calendered.am_volume_fraction,
                           calendered.cbd_volume_fraction, calendered.particle_radius,
                           electrolyte_conductivity, thickness=calendered.thickness)
    return StructureEstimate(float(np.mean(est["tortuosity_factor_pore"])),
                             float(np.mean(est["tortuosity_factor_solid"])),
                             fitted_source(est["extrapolated"]),
                             porosity=float(np.mean(est["resolved_pore_fraction"])))


#: What each structure output means, written beside its number in ``run.json`` and the report.
DEFINITIONS: dict[str, str] = {
    "calendering.cross_plane_tortuosity_factors": (
        "tortuosity factor of the pore phase through the thickness, ε·D₀/D_eff [-] (ε the "
        "resolved pore fraction, CBD dense for ions; TauFactor's `tau`, PoreSpy's "
        "`tortuosity`; not squared, not a square root)"),
    "calendering.solid_tortuosity_factor": (
        "tortuosity factor of the solid network AM ∪ CBD through the thickness, "
        "ε_s·D₀/D_eff [-] (TauFactor's `tau` of the solid)"),
    "calendering.effective_ionic_conductivity": (
        "σ_eff = σ_bulk·D_eff/D₀ of the electrolyte in the pores through the thickness [S/m]"),
    "calendering.active_surface": "AM–pore interface area per coating volume [1/m]",
    "calendering.cc_coverage_am": "share of the current-collector plane touching AM [-]",
    "calendering.cc_coverage_cbd": "share of the current-collector plane touching CBD [-]",
}


def structure_entry(pid: str, source: str | None, analysis: Any, seed: int
                    ) -> dict[str, Any]:
    """The ``definition`` and ``source`` of one structure output of ``run.json``.

    ``source`` None: the value is the 3D analysis ``analysis`` of the chain's image; else the
    closed form's ``source`` text, with ``"estimate": true`` (and ``"extrapolated": true``
    outside the fitted range).
    """
    entry: dict[str, Any] = {"definition": DEFINITIONS.get(pid, "")}
    if source is None:
        h = float(getattr(analysis, "voxel_size_m", float("nan")))
        entry["source"] = (f"3D analysis of the generated image (seed {seed}, voxel "
                           f"{h * 1e6:.3g} µm)")
    else:
        entry["source"] = source
        entry["estimate"] = True
        if source.startswith("extrapolated"):
            entry["extrapolated"] = True
    return entry


def porosity_note(products: dict[str, Any]) -> dict[str, Any]:
    """Total porosity of the calendered coating against the pore fraction a 3D image resolves.

    The resolved fraction is the image's pore voxel fraction when a 3D structure was analysed,
    else :func:`twinline.structure.closed_forms.resolved_pore_fraction`. The difference is
    pore volume inside the CBD label (nanopores and sub-voxel gaps at particle contacts).
    """
    from twinline.structure.closed_forms import resolved_pore_fraction

    cal = products["calendered"]
    eps = float(np.mean(cal.porosity))
    analysis = products.get("structure")
    if analysis is not None and np.isfinite(getattr(analysis, "porosity", float("nan"))):
        phi, source = float(analysis.porosity), "3D image (pore voxel fraction)"
    else:
        phi = float(np.mean(resolved_pore_fraction(cal.porosity, cal.am_volume_fraction,
                                                   cal.cbd_volume_fraction)))
        source = "generator's volume balance (twinline.structure.generate.volume_fractions)"
    sentence = (f"Total porosity {eps:.3f} counts every pore; a 3D image resolves a pore "
                f"fraction of {phi:.3f}, because the other {eps - phi:.3f} of the volume is "
                "pores inside the carbon-binder domain (nanopores and gaps at particle "
                "contacts smaller than a voxel), labelled CBD and treated as dense for ions.")
    return {"porosity_total": eps, "resolved_pore_fraction": phi,
            "unresolved_pore_fraction": eps - phi, "source": source, "sentence": sentence}


def imbibition_of(mesostructure: Any, electrolyte: Any) -> Any:
    """Capillary imbibition of ``electrolyte`` (a material) into the image."""
    from twinline.structure.imbibition import imbibition

    return imbibition(mesostructure, surface_tension=float(electrolyte["surface_tension"]),
                      contact_angle=float(electrolyte["contact_angle"]))
