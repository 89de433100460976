"""The output table: catalogue outputs of a run's products, in the catalogue's units.

Each step reports its catalogue parameters through the ``OUTPUTS`` of its module
(:func:`twinline.process.registry.step_outputs`: id → SI unit and a getter over the products
and sections). The structure parameters of the calendered coating come from a 3D analysis
when one was run (``"source"`` names the 3D analysis), else from the closed forms fitted to
the 3D model (:mod:`twinline.structure.closed_forms`), marked ``"estimate": true`` with a
``"source"`` that states the fit error (and "extrapolated" outside the fitted range).
Values are converted once, here, from SI to the catalogue's display unit
(:func:`display_unit`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from twinline.spec.steps import Scope, steps

#: Structure parameters of the calendered coating: (id, SI unit, closed-form key,
#: :class:`~twinline.structure.analyse.StructureAnalysis` field).
STRUCTURE_OUTPUTS: tuple[tuple[str, str, str, str], ...] = (
    ("calendering.cross_plane_tortuosity_factors", "", "tortuosity_factor_pore",
     "tortuosity_factor_pore"),
    ("calendering.solid_tortuosity_factor", "", "tortuosity_factor_solid",
     "tortuosity_factor_solid"),
    ("calendering.effective_ionic_conductivity", "S/m", "effective_ionic_conductivity",
     "sigma_eff_S_per_m"),
    ("calendering.active_surface", "1/m", "active_surface", "am_pore_area_per_m"),
    ("calendering.cc_coverage_am", "", "cc_coverage_am", "cc_coverage_am"),
    ("calendering.cc_coverage_cbd", "", "cc_coverage_cbd", "cc_coverage_cbd"),
)
STRUCTURE_IDS = frozenset(row[0] for row in STRUCTURE_OUTPUTS)


@cache
def display_unit(pid: str, si_unit: str) -> tuple[str, float, float]:
    """Display unit of catalogue id ``pid`` and the linear map ``y = a·x_SI + b`` to it.

    The catalogue's unit is used when it converts from ``si_unit``; otherwise the SI unit.
    An id missing from the catalogue is a :class:`~twinline.spec.errors.SpecError`.
    """
    from twinline.spec.catalogue import catalogue
    from twinline.spec.units import to_unit, ureg

    unit = si_unit
    cat_unit = catalogue()[pid].unit
    if cat_unit and ureg().Quantity(1.0, si_unit or "").is_compatible_with(cat_unit):
        unit = cat_unit
    if unit == si_unit:
        return unit, 1.0, 0.0
    b = to_unit(0.0, si_unit, unit)
    a = to_unit(1.0, si_unit, unit) - b
    return unit, a, b


def to_display(pid: str, value: Any, si_unit: str) -> tuple[Any, str]:
    """Convert an SI value (or array) to the catalogue's display unit of ``pid``."""
    unit, a, b = display_unit(pid, si_unit)
    return np.asarray(value, dtype=float) * a + b, unit


def scalar(x: Any) -> float:
    """A float of a scalar, the mean of a Monte Carlo array."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.size == 1 else float(np.mean(a))


def step_values(scope: Scope, products: dict[str, Any], sections: dict[str, Any]
                ) -> dict[str, tuple[Any, Any, str]]:
    """SI outputs the steps of ``scope`` report: ``id → (value, std or None, si_unit)``.

    Steps whose product is missing (not run) are skipped; a getter returning ``None``
    means "not applicable" for this recipe.
    """
    from twinline.process.registry import step_outputs

    out: dict[str, tuple[Any, Any, str]] = {}
    for step in steps(scope):
        if step.product not in products:
            continue
        for pid, spec in step_outputs(step.name).items():
            value = spec.value(products, sections)
            if value is None:
                continue
            std = spec.std(products, sections) if spec.std is not None else None
            out[pid] = (value, std, spec.si_unit)
    return out


def electrode_output_units() -> dict[str, str]:
    """SI unit of every output of an electrode (step outputs and structure parameters)."""
    from twinline.process.registry import step_outputs

    units = {pid: spec.si_unit for step in steps("electrode")
             for pid, spec in step_outputs(step.name).items()}
    units.update({row[0]: row[1] for row in STRUCTURE_OUTPUTS})
    return units


def structure_values(calendered: Any, structure: Any, electrolyte_conductivity: float
                     ) -> dict[str, tuple[Any, str, str | None]]:
    """Structure parameters of a calendered coating: ``id → (SI value, unit, source)``.

    From the 3D analysis ``structure`` where it has a finite value (``source`` None), else the
    closed form fitted to the 3D model (:func:`~twinline.structure.closed_forms.fitted_estimates`;
    ``source`` its description with the fit error, starting "extrapolated" outside the
    fitted range).
    """
    from twinline.structure.closed_forms import fitted_estimates, fitted_source

    est = fitted_estimates(calendered.porosity, calendered.am_volume_fraction,
                           calendered.cbd_volume_fraction, calendered.particle_radius,
                           electrolyte_conductivity, thickness=calendered.thickness)
    source = fitted_source(est["extrapolated"])
    out: dict[str, tuple[Any, str, str | None]] = {}
    for pid, unit, name, field_name in STRUCTURE_OUTPUTS:
        measured = getattr(structure, field_name, None) if structure is not None else None
        if measured is not None and np.all(np.isfinite(np.asarray(measured, float))):
            out[pid] = (np.asarray(measured, float), unit, None)
        else:
            out[pid] = (est[name], unit, source)
    return out


def collect_outputs(products: dict[str, Any], sections: dict[str, Any], *,
                    structure: Any = None, electrolyte_conductivity: float
                    ) -> dict[str, tuple[Any, str, str | None]]:
    """SI outputs of one electrode: ``id → (value, si_unit, source)`` (arrays allowed);
    ``source`` is None for a step's own output or a 3D analysis, else the closed form's."""
    out: dict[str, tuple[Any, str, str | None]] = {
        pid: (value, unit, None)
        for pid, (value, _, unit) in step_values("electrode", products, sections).items()}
    out.update(structure_values(products["calendered"], structure, electrolyte_conductivity))
    return out


def output_entry(pid: str, value: Any, si_unit: str, std: Any = None) -> dict[str, Any]:
    """``{"value", "unit", "std"}`` of one output in its display unit."""
    disp, unit = to_display(pid, value, si_unit)
    _, a, _ = display_unit(pid, si_unit)
    return {"value": scalar(disp), "unit": unit,
            "std": 0.0 if std is None else float(std) * a}
