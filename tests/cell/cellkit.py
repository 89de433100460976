"""Hand-made electrodes and recipes for the cell tests (no chain, no files outside tests)."""

from __future__ import annotations

from twinline.process.products import (
    CalenderedElectrode,
    Composition,
    ElectrodePair,
    FinishedElectrode,
)
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


def chen_anode(**changes) -> CalenderedElectrode:
    """Chen2020's negative electrode (with the cathode default, N/P = 1.1)."""
    kw = dict(thickness=85.2e-6, porosity=0.25, am_fraction=0.75, radius=5.86e-6,
              capacity_mah_cm2=4.4)
    return electrode("negative", **{**kw, **changes})


def finished(cal: CalenderedElectrode, width: float = 0.1) -> FinishedElectrode:
    """The calendered coating slit and post-dried (dry, no edge defects)."""
    return FinishedElectrode(electrode=cal, width=width, residual_moisture=1e-4,
                             moisture_ok=True, edge_defect_risk=0.0)


def chen_products(**cathode_changes) -> dict:
    """Cathode and anode with Chen2020's geometry (N/P = 1.1), calendered and finished."""
    cat = electrode("positive", **cathode_changes)
    ano = chen_anode()
    return {"cathode": {"calendered": cat, "finished": finished(cat)},
            "anode": {"calendered": ano, "finished": finished(ano)}}


def electrode_pair(cathode: CalenderedElectrode | None = None,
                   anode: CalenderedElectrode | None = None) -> ElectrodePair:
    """The :class:`ElectrodePair` of two calendered coatings (Chen2020's by default)."""
    cathode = electrode("positive") if cathode is None else cathode
    anode = chen_anode() if anode is None else anode
    return ElectrodePair(cathode=finished(cathode), anode=finished(anode))


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


def filled_cell(materials=None):
    """A small pouch cell of the Chen2020-like pair, assembled and filled (no PyBaMM)."""
    from twinline.materials import builtin_library
    from twinline.process.assembly import assemble
    from twinline.process.filling import fill
    from twinline.spec.cell_recipe import CellSection, FillingSection

    lib = materials or builtin_library()
    section = CellSection().model_copy(update={"layers": 5, "cathode_length": 0.06,
                                               "cathode_width": 0.04, "electrolyte": "LP57"})
    cell = assemble(section, electrode_pair(), lib)
    return fill(FillingSection(), cell, lib,
                tortuosity_factor={"cathode": 2.0, "anode": 2.5, "separator": 3.2})
