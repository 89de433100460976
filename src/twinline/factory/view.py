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


def factory_view(run: Any, plant: Plant, *, tornado_spread: float = 0.2,
                 replications: int = 0, lot_cells: int = 0, seed: int = 0,
                 horizon_s: float = 365 * 86400.0) -> FactoryView:
    """Flows, yield, energy, cost (with its tornado) and CO₂ of a run made with the cell;
    with ``replications`` > 0 also the line's throughput by discrete-event simulation
    (:func:`line_throughput`).

    Raises
    ------
    FactoryError
        The run has no cell, or the plant cannot be sized.
    """
    bill = cell_bill(run)
    flows = material_flows(bill, plant)
    en = energy(bill, plant)
    throughput = None
    if replications > 0:
        line = line_view(plant, en.sizing.units_per_cell, en.sizing.machines)
        if lot_cells <= 0:  # about LOTS_PER_YEAR lots a year: seconds of simulation
            lot_cells = max(1, round(en.sizing.cells_per_year / LOTS_PER_YEAR))
        throughput = line_throughput(line, lot_cells=lot_cells, seed=seed,
                                     replications=replications, horizon_s=horizon_s)
    return FactoryView(plant=plant, bill=bill, cascade=yield_cascade(plant), flows=flows,
                       energy=en, cost=cost(bill, plant, energy_result=en, flows=flows),
                       tornado=tornado(bill, plant, spread=tornado_spread),
                       carbon=carbon(bill, plant, energy_result=en, flows=flows),
                       throughput=throughput)


#: Lots per simulated year when the lot size is chosen automatically (~10⁶ events).
LOTS_PER_YEAR = 20_000


def line_throughput(line: dict[str, Any], *, lot_cells: int = 1000, seed: int = 0,
                    replications: int = 1, horizon_s: float = 365 * 86400.0
                    ) -> dict[str, Any]:
    """Throughput of the plant's line (:func:`~twinline.factory.plant.line_view`) by the
    discrete-event model (:mod:`twinline.factory.throughput`), in lots of ``lot_cells``.

    A step of ``count`` parallel machines becomes one station with the same capacity and the
    same availability: time per lot ``cycle_time_s × units_per_cell × lot_cells / count``;
    MTBF, repair and changeover times divided by ``count`` (``count`` independent machines
    each stop for ``t`` as often as one station stops for ``t/count``); a changeover every
    ``changeover_every`` units becomes one every ``changeover_every / (units_per_cell ×
    lot_cells)`` station lots (at least 1);
    a plant buffer after a step sits after each of its stations (the cathode and anode
    stations of an electrode step in series, as the model's line is). Returns the model's
    result as a dict, plus ``oee`` (station → mean OEE) and ``good_cells_per_year``.
    """
    from twinline.factory.errors import FactoryError
    from twinline.factory.throughput import line_from_plant, simulate_line

    machines = []
    for m in line["machines"]:
        per_cell = m.get("units_per_cell")
        if per_cell is None:
            raise FactoryError(f"line: {m['name']} has no units_per_cell; the throughput "
                               "model needs the line sized for a cell")
        per_lot = float(per_cell) * lot_cells
        count = int(m.get("count") or 1)
        every = m.get("changeover_every") or 0
        machines.append({
            "name": m["name"], "cycle_time_s": float(m["cycle_time_s"]) * per_lot / count,
            "unit": f"lot of {lot_cells} cells", "mtbf_h": m["mtbf_h"] / count,
            "mttr_h": m["mttr_h"] / count,
            "changeover_s": (m.get("changeover_s") or 0.0) / count,
            "changeover_every": max(1, round(every / per_lot)) if every else 0,
            "scrap": m.get("scrap") or 0.0})
    names = [m["name"] for m in machines]
    buffers = [{"after": n, "capacity": b["capacity"]} for b in line.get("buffers") or []
               for n in names[:-1] if n == b["after"] or n.endswith("." + b["after"])]
    result = simulate_line(line_from_plant({"machines": machines, "buffers": buffers}),
                           seed=seed, replications=replications, horizon_s=horizon_s).to_dict()
    result["oee"] = {m["name"]: m["oee"]["mean"] for m in result["machines"]}
    result["good_cells_per_year"] = result["good_per_year"]["mean"] * lot_cells
    result["lot_cells"] = lot_cells
    return result
