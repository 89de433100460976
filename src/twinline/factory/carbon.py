r"""CO₂ per kWh of cell: the production footprint.

.. math::
    F = \frac{E_{el}\,c_{grid} + E_{heat}\,c_{heat}
        + \sum_m (m_{in,m} - m_{rec,m})\,c_m}{E_{cell}}

with the electricity and heat per good cell of :mod:`twinline.factory.energy`, the grid and
heat carbon intensities of the plant (defaults: EU-27 2022 grid about 0.25 kg CO₂e/kWh,
EEA 2023; natural-gas heat 0.202 kg/kWh, IPCC 2006 Vol. 2 Table 2.2; a few named grids in
``defaults.yaml``) and the cradle-to-gate footprint :math:`c_m` of each material bought
(input less recovered solvent) where a figure is given. Materials without a figure are
listed in ``materials_without_figure`` and left out (the footprint is then a lower bound).
The stages follow the EU battery regulation (EU) 2023/1542, Annex II: raw material
acquisition and pre-processing (materials), main product production (the plant's energy);
distribution and end of life are outside what the twin computes (``None``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from twinline.factory.energy import EnergyResult, energy
from twinline.factory.flows import CellBill, MaterialFlow, material_flows
from twinline.factory.plant import Plant

__all__ = ["CarbonResult", "carbon"]


@dataclass(frozen=True)
class CarbonResult:
    """Footprint [kg CO₂e] per kWh of cell: ``total_per_kWh``, ``by_stage`` and
    ``by_source`` (electricity, heat, each material), the intensities used [kg/kWh] and the
    materials left out for want of a figure."""

    total_per_kWh: float
    by_stage: dict[str, float | None]
    by_source: dict[str, float]
    grid_intensity: float
    heat_intensity: float
    materials_without_figure: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def carbon(bill: CellBill, plant: Plant, *, energy_result: EnergyResult | None = None,
           flows: list[MaterialFlow] | None = None) -> CarbonResult:
    """The production footprint per kWh of cell (see the module docstring)."""
    en = energy_result or energy(bill, plant)
    fl = flows if flows is not None else material_flows(bill, plant)
    kwh_cell = bill.energy / 1e3
    grid = plant.carbon.grid_intensity * 3.6e6          # kg/kWh
    heat = plant.carbon.heat_intensity * 3.6e6
    by: dict[str, float] = {
        "electricity": en.by_utility_per_kWh["electricity"] * grid,
        "heat": en.by_utility_per_kWh["heat"] * heat}
    missing: list[str] = []
    materials = 0.0
    for f in fl:
        c = plant.material_footprint(f.material)
        if c is None:
            if f.material not in missing:
                missing.append(f.material)
            continue
        v = (f.input - f.recovered) * c / kwh_cell
        by[f.material] = by.get(f.material, 0.0) + v
        materials += v
    production = by["electricity"] + by["heat"]
    stages: dict[str, float | None] = {
        "raw_material_acquisition_and_pre_processing": materials,
        "main_product_production": production, "distribution": None,
        "end_of_life_and_recycling": None}
    return CarbonResult(materials + production, stages, by, grid, heat, missing)
