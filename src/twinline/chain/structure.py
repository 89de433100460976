"""The 3D mesostructure of a calendered electrode, built in one place with one sizing rule.

:func:`structure_grid` sizes the voxel grid by :func:`twinline.structure.grid.grid_for`: voxel
edge max(d50/8, thickness/160), lateral box max(12·d50, 48 µm) — about 0.8 M voxels for a
typical cathode, 10-30 s on 2 shared cores.
:func:`build_structure` generates the image (:func:`twinline.structure.generate.from_calendered`)
and analyses it (:func:`twinline.structure.analyse.analyse`); :func:`imbibition_of` runs the
electrolyte imbibition on the same image for the filling step.
"""

from __future__ import annotations

import math
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
                    materials: Any, extrapolate: bool = False
                    ) -> tuple[Any, Any, list[warnings.WarningMessage]]:
    """Generate and analyse the 3D image: (Mesostructure, StructureAnalysis, warnings).

    ``extrapolate``: the analysis also extrapolates its transport numbers to zero voxel size
    (:mod:`twinline.structure.extrapolation`); the raw values stay the outputs and the cell's
    inputs, the extrapolated ones are reported beside them (:func:`zero_voxel_entry`).
    """
    from twinline.structure.analyse import analyse
    from twinline.structure.generate import from_calendered

    voxel, box = structure_grid(calendered)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meso = from_calendered(calendered, voxel_size=voxel, box_xy=box, seed=seed,
                               materials=materials)
        result = analyse(meso, voxel_size=meso.voxel_size,
                         electrolyte_conductivity=electrolyte_conductivity,
                         extrapolate=extrapolate)
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


#: The structure outputs with a zero-voxel-size extrapolation: output id → the analysis's key.
EXTRAPOLATED_OUTPUTS: dict[str, str] = {
    "calendering.cross_plane_tortuosity_factors": "tortuosity_factor_pore",
    "calendering.solid_tortuosity_factor": "tortuosity_factor_solid",
    "calendering.effective_ionic_conductivity": "sigma_eff_S_per_m",
}
#: The outputs the cell model (PyBaMM) takes from the structure.
CELL_INPUTS = ("calendering.cross_plane_tortuosity_factors",
               "calendering.solid_tortuosity_factor")


def zero_voxel_entry(pid: str, value: Any, analysis: Any) -> dict[str, Any]:
    """``{"zero_voxel_size": {...}, "cell_input": ...}`` of a structure output whose analysis
    was extrapolated to zero voxel size; ``{}`` otherwise.

    ``value`` is the output in its display unit (the raw 3D value); the extrapolated value in
    the same unit is value/(1 + e), e = raw/extrapolated − 1 the raw value's discretisation
    error. ``cell_input`` says which value the cell model got: always the raw one.
    """
    x = getattr(analysis, "extrapolation", None) or {}
    key = EXTRAPOLATED_OUTPUTS.get(pid)
    if not x or key is None or key not in x:
        return {}
    e = float(x[key]["discretisation_error"])
    raw = float(x[key]["raw"])
    v = float(value)
    out: dict[str, Any] = {"zero_voxel_size": {
        "value": v / (1.0 + e) if math.isfinite(e) else float("nan"),
        "refined": v * float(x[key]["refined"]) / raw if raw else float("nan"),
        "discretisation_error": e,
        "voxel_size_m": float(analysis.voxel_size_m),
        "definition": "the value extrapolated to zero voxel size (Richardson from the image "
                      "and its 2×2×2 split, on the conductances; "
                      "twinline.structure.extrapolation), in the output's unit; "
                      "discretisation_error = raw/extrapolated − 1 of the output's value; "
                      "refined = the value on the split image"}}
    if pid in CELL_INPUTS:
        out["cell_input"] = ("raw: the cell model (PyBaMM) takes `value`, the 3D analysis at "
                             "the image's voxel size (TauFactor's scheme, on which the "
                             "generator is calibrated), not the extrapolated one")
    return out


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
