"""Hand-made electrodes and recipes for the cell tests (no chain, no files outside tests)."""

from __future__ import annotations

from twinline.process.products import CalenderedElectrode, Composition
from twinline.spec.recipe import parse_recipe

MAH_CM2 = 36_000.0  # C/m² per mAh/cm²


def composition(polarity: str = "positive") -> Composition:
    if polarity == "positive":
        return Composition("positive", "NMC811", "C65", "PVDF", "NMP", 0.94, 0.03, 0.03,
                           4750.0, 1900.0, 1780.0)
    return Composition("negative", "graphite", "C65", "CMC-SBR", "water", 0.95, 0.01, 0.04,
                       2240.0, 1900.0, 1150.0)


def electrode(polarity: str = "positive", *, thickness: float = 75.6e-6,
              porosity: float = 0.335, am_fraction: float = 0.665, radius: float = 5.22e-6,
              capacity_mah_cm2: float = 4.0) -> CalenderedElectrode:
    """A calendered coating; defaults are Chen2020's positive electrode."""
    comp = composition(polarity)
    loading = thickness * (1 - porosity) * 3500.0
    return CalenderedElectrode(
        composition=comp, thickness=thickness, porosity=porosity,
        thickness_before=thickness * 1.3, porosity_before=0.5, line_load=1e5, pressure=3e7,
        areal_loading=loading, am_loading=loading * 0.94,
        areal_capacity=capacity_mah_cm2 * MAH_CM2, am_volume_fraction=am_fraction,
        cbd_volume_fraction=1 - porosity - am_fraction, particle_radius=radius)


def chen_products(**cathode_changes) -> dict:
    """Cathode and anode with Chen2020's geometry (N/P = 1.1)."""
    cat = electrode("positive", **cathode_changes)
    ano = electrode("negative", thickness=85.2e-6, porosity=0.25, am_fraction=0.75,
                    radius=5.86e-6, capacity_mah_cm2=4.4)
    return {"cathode": {"calendered": cat}, "anode": {"calendered": ano}}


def _electrode_recipe(am: str, binder: str, solvent: str, foil: str) -> dict:
    return {
        "formulation": {
            "active_material": {"material": am, "mass_fraction": 0.94},
            "conductive_additive": {"material": "C65", "mass_fraction": 0.03},
            "binder": {"material": binder, "mass_fraction": 0.03},
            "solvent": solvent},
        "current_collector": foil,
        "coating": {"method": "comma", "gap": "150 um"},
        "drying": {"zones": [{"temperature": "80 degC", "length": "1 m"}]},
        "calendering": {"pressure": "20 MPa"},
    }


def cell_recipe(cell: dict | None = None, filling: dict | None = None,
                formation: dict | None = None):
    """A recipe with an NMC811 cathode, a graphite anode and a small pouch cell."""
    data = {
        "name": "cell test",
        "cathode": _electrode_recipe("NMC811", "PVDF", "NMP", "Al"),
        "anode": _electrode_recipe("graphite", "CMC-SBR", "water", "Cu"),
        "cell": {"format": "pouch", "layers": 5, "separator": "PE", "electrolyte": "LP57",
                 "cathode_length": "60 mm", "cathode_width": "40 mm", **(cell or {})},
    }
    if filling:
        data["filling"] = filling
    if formation:
        data["formation"] = formation
    return parse_recipe(data)
