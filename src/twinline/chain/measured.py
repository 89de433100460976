"""A measured electrode (``measured:`` in the recipe) as the chain's electrode products.

A teardown gives the coating thickness, porosity and loading per side; the formulation gives
the active-material mass (loading × AM mass fraction). The electrode steps are bypassed: the
products are a :class:`~twinline.process.products.CalenderedElectrode` (``calendered``) and a
:class:`~twinline.process.products.FinishedElectrode` (``finished``, dry, no edge defects).
The AM volume fraction is the AM mass over its density and the thickness; when the loading,
thickness and porosity imply a solid density more than 5 % away from the formulation's, a
validity warning says so (published data are not always consistent).
"""

from __future__ import annotations

from typing import Any

from twinline.spec.errors import warn_validity


def measured_products(electrode: Any, composition: Any, materials: Any) -> dict[str, Any]:
    """``{"calendered": ..., "finished": ...}`` of a ``measured`` electrode recipe (SI)."""
    from twinline.process.products import CalenderedElectrode, FinishedElectrode

    m = electrode.measured
    am = materials[composition.active_material]
    am_loading = float(m.loading) * composition.am_mass_fraction
    am_vf = am_loading / (composition.am_density * float(m.thickness))
    solid = float(m.thickness) * (1.0 - float(m.porosity))
    implied = float(m.loading) / solid
    warn_validity(
        "measured", "solid_density_ratio", implied / composition.solid_density, "", 0.95, 1.05
    )
    q = am.get("specific_capacity")
    cal = CalenderedElectrode(
        composition=composition,
        thickness=float(m.thickness),
        porosity=float(m.porosity),
        thickness_before=float(m.thickness),
        porosity_before=float(m.porosity),
        line_load=0.0,
        pressure=0.0,
        areal_loading=float(m.loading),
        am_loading=am_loading,
        areal_capacity=am_loading * float(q),
        am_volume_fraction=am_vf,
        cbd_volume_fraction=max(1.0 - float(m.porosity) - am_vf, 0.0),
        particle_radius=0.5 * float(am.get("particle_d50")),
        width=float(m.width),
    )
    fin = FinishedElectrode(
        electrode=cal,
        width=float(m.width),
        residual_moisture=0.0,
        moisture_ok=True,
        edge_defect_risk=0.0,
    )
    return {"calendered": cal, "finished": fin}
