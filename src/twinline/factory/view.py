"""The factory view of one chain run and one plant: flows, energy, cost, CO₂ as plain data.

:func:`factory_view` is what ``twinline factory RECIPE --plant PLANT.yaml`` writes to
``factory.json`` (and what the HTML report draws): every number per good cell and per kWh
of cell energy, SI inside and units in the key names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from twinline.factory.carbon import CarbonResult, carbon
from twinline.factory.cost import CostResult, TornadoBar, cost, tornado
from twinline.factory.energy import EnergyResult, energy
from twinline.factory.flows import (
    CascadeStep,
    CellBill,
    MaterialFlow,
    cell_bill,
    flows_summary,
    material_flows,
    yield_cascade,
)
from twinline.factory.plant import Plant, line_view, plant_from_dict

__all__ = ["FactoryView", "factory_view", "reference_plant"]


@dataclass(frozen=True)
class FactoryView:
    """Everything the factory layer computes for one run and one plant."""

    plant: Plant
    bill: CellBill
    cascade: list[CascadeStep]
    flows: list[MaterialFlow]
    energy: EnergyResult
    cost: CostResult
    tornado: list[TornadoBar]
    carbon: CarbonResult
    throughput: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (``factory.json``)."""
        b = self.bill
        en = self.energy
        return {
            "recipe": b.recipe_name,
            "plant": self.plant.model_dump(mode="json", exclude={"source_path"}),
            "cell": {"format": b.format, "capacity_Ah": b.capacity, "energy_Wh": b.energy,
                     "mass_kg": b.cell_mass},
            "output": {"cells_per_year": en.sizing.cells_per_year,
                       "GWh_per_year": en.sizing.cells_per_year * b.energy / 1e9,
                       "bottleneck": en.sizing.bottleneck, "machines": en.sizing.machines},
            "yield_cascade": [asdict(c) for c in self.cascade],
            "materials": flows_summary(self.flows, b),
            "energy_kWh_per_kWh": {"total": en.total_per_kWh, "by_utility":
                                   en.by_utility_per_kWh, "by_step": en.per_kWh},
            "energy_GWh_per_year": en.annual_GWh,
            "dry_room_W": en.dry_room,
            "cost_per_kWh": {"currency": self.cost.currency,
                             "total": self.cost.total_per_kWh, "parts": self.cost.per_kWh,
                             "materials": self.cost.materials_by_name},
            "tornado": [asdict(t) for t in self.tornado],
            "co2_kg_per_kWh": self.carbon.to_dict(),
            "line": line_view(self.plant, en.sizing.units_per_cell, en.sizing.machines),
            "throughput": self.throughput,
        }


def reference_plant() -> Plant:
    """The plant assumed when none is given (``reference_plant`` of ``defaults.yaml``)."""
    from twinline.factory.plant import defaults

    return plant_from_dict(dict(defaults()["reference_plant"]), origin="reference plant")


def factory_view(run: Any, plant: Plant, *, tornado_spread: float = 0.2) -> FactoryView:
    """Flows, yield, energy, cost (with its tornado) and CO₂ of a run made with the cell.

    Raises
    ------
    FactoryError
        The run has no cell, or the plant cannot be sized.
    """
    bill = cell_bill(run)
    flows = material_flows(bill, plant)
    en = energy(bill, plant)
    return FactoryView(plant=plant, bill=bill, cascade=yield_cascade(plant), flows=flows,
                       energy=en, cost=cost(bill, plant, energy_result=en, flows=flows),
                       tornado=tornado(bill, plant, spread=tornado_spread),
                       carbon=carbon(bill, plant, energy_result=en, flows=flows))
