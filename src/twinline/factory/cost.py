r"""Cost per kWh of cell in the structure of Argonne's BatPaC, and its tornado.

BatPaC (Nelson, Ahmed, Gallagher, Dees, Argonne National Laboratory; cited by the seeds'
review, seed 004) builds the cell cost from materials, direct labour, variable overhead,
general/sales/administration, R&D, depreciation and profit. twinline keeps its parts that a
process model can compute, per good cell, then per kWh:

* **materials**: the mass of every material in the good cell and the solvent lost to the
  exhaust, times its price (recovered NMP is reused; foils and separators are priced per m²);
* **scrap**: the materials scrapped along the yield cascade (:mod:`twinline.factory.flows`);
* **direct labour**: machines × workers per machine and shift × shifts × yearly cost;
* **energy**: electricity and heat of :mod:`twinline.factory.energy` times their prices;
* **depreciation**: equipment (machines × capex) and building (floor area × cost per m²),
  straight-line over their years;
* **overheads**: a rate on labour + depreciation (BatPaC-style; the rate is an assumption).

Every figure and its source is in ``factory/data/defaults.yaml``; a plant file overrides it.
The seeds' review gives materials as 70–75 % of manufacturing cost (seed 003) and BatPaC cell
costs of 124–285 USD/kWh (seed 004, Table 3) to compare with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from twinline.factory.energy import EnergyResult, Sizing, energy, size_line
from twinline.factory.flows import CellBill, MaterialFlow, material_flows
from twinline.factory.plant import Plant, StepSettings, defaults

__all__ = ["CostResult", "TornadoBar", "cost", "tornado"]

PARTS = ("materials", "scrap", "direct_labour", "energy", "depreciation_equipment",
         "depreciation_building", "overheads")


def _price_per_kg(flow: MaterialFlow, bill: CellBill, plant: Plant) -> float:
    """Price of a material per kg; foil and separator prices per m² are converted with the
    cell's areas and masses."""
    price = plant.material_price(flow.material)
    entry = defaults()["prices"]["materials_per_kg"].get(flow.material, {})
    if entry.get("unit") == "per_m2" and flow.material not in plant.prices.materials_per_kg:
        if flow.role.endswith("current collector"):
            e = bill.electrodes()[flow.path]
            return price * e.foil_area / e.foil_mass
        if flow.role == "separator":
            return price * bill.separator_area / bill.separator_mass
    return price


@dataclass(frozen=True)
class CostResult:
    """Cost per good cell and per kWh by part (:data:`PARTS`) [currency]; ``total_*`` their
    sums; ``materials_by_name`` per kWh; ``floor_area`` [m²]; ``workers``."""

    currency: str
    per_cell: dict[str, float]
    per_kWh: dict[str, float]
    total_per_cell: float
    total_per_kWh: float
    materials_by_name: dict[str, float]
    floor_area: float
    workers: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cost(bill: CellBill, plant: Plant, *, energy_result: EnergyResult | None = None,
         flows: list[MaterialFlow] | None = None) -> CostResult:
    """Cost per good cell and per kWh of cell energy, in BatPaC's structure (see above)."""
    en = energy_result or energy(bill, plant)
    sz: Sizing = en.sizing
    fl = flows if flows is not None else material_flows(bill, plant)
    cells = sz.cells_per_year
    mats = scrap = 0.0
    by_name: dict[str, float] = {}
    for f in fl:
        p = _price_per_kg(f, bill, plant)
        mats += (f.product + f.lost) * p
        scrap += f.scrap * p
        by_name[f.material] = by_name.get(f.material, 0.0) + (f.product + f.lost + f.scrap) * p
    c = plant.cost
    steps = {s.name: s for s in plant.line()}
    machines = {k: n for k, n in sz.machines.items() if not k.endswith("drying")}
    workers = sum(machines.values()) * c.workers_per_machine_shift * plant.operation.shifts_per_day
    labour = workers * c.labour_per_worker_year / cells
    kwh = {u: sum(d[u] for d in en.by_step.values()) / 3.6e6 for u in ("electricity", "heat")}
    en_cost = (kwh["electricity"] * plant.prices.electricity_per_kWh
               + kwh["heat"] * plant.prices.heat_per_kWh)
    capex = sum(n * steps[k.rsplit(".", 1)[-1]].capex for k, n in machines.items())
    area = (c.floor_area if c.floor_area is not None
            else (plant.dry_room.volume + plant.clean_room.volume) * c.floor_area_per_m3_room)
    dep_eq = capex / c.equipment_depreciation_years / cells
    dep_b = area * c.building_cost_per_m2 / c.building_depreciation_years / cells
    over = c.overhead_rate * (labour + dep_eq + dep_b)
    per_cell = dict(zip(PARTS, (mats, scrap, labour, en_cost, dep_eq, dep_b, over),
                        strict=True))
    k = bill.energy / 1e3
    return CostResult(plant.currency, per_cell, {p: v / k for p, v in per_cell.items()},
                      float(sum(per_cell.values())), float(sum(per_cell.values())) / k,
                      {m: v / k for m, v in by_name.items()}, float(area), float(workers))


@dataclass(frozen=True)
class TornadoBar:
    """One lever of the tornado: ``low``/``high`` settings (in ``unit``) and the cost per kWh
    at each; ``base`` setting and cost."""

    lever: str
    unit: str
    low: float
    high: float
    base: float
    cost_low: float
    cost_high: float
    cost_base: float

    @property
    def swing(self) -> float:
        return abs(self.cost_high - self.cost_low)


def _with_step(plant: Plant, name: str, **changes: Any) -> Plant:
    s = plant.steps.get(name, StepSettings()).model_copy(update=changes)
    return plant.model_copy(update={"steps": {**plant.steps, name: s}})


def tornado(bill: CellBill, plant: Plant, *, spread: float = 0.2) -> list[TornadoBar]:
    """Cost per kWh at ``1 ∓ spread`` times each lever: coating line speed, every step's
    scrap, electrode (coating) thickness, dry-room volume and electricity price; sorted by
    swing, largest first. Thickness scales both coatings at fixed layer count
    (:meth:`CellBill.scaled_coatings`, first order; the seeds' review reports −25 % cost for
    doubled electrode thickness, seed 004)."""
    base = cost(bill, plant).total_per_kWh
    lo, hi = 1.0 - spread, 1.0 + spread
    v0 = plant.step("coating").speed
    room = plant.dry_room
    price = plant.prices.electricity_per_kWh

    def scrap(f: float) -> Plant:
        out = plant
        for s in plant.line():
            out = _with_step(out, s.name, scrap=min(s.scrap * f, 0.99))
        return out

    levers = [
        ("coating line speed", "m/min", v0 * 60,
         lambda f: (bill, _with_step(plant, "coating", speed=v0 * f))),
        ("scrap rate of every step", "x", 1.0, lambda f: (bill, scrap(f))),
        ("electrode thickness", "x", 1.0, lambda f: (bill.scaled_coatings(f), plant)),
        ("dry-room volume", "m^3", room.volume, lambda f: (bill, plant.model_copy(update={
            "dry_room": room.model_copy(update={"volume": room.volume * f})}))),
        ("electricity price", f"{plant.currency}/kWh", price,
         lambda f: (bill, plant.model_copy(update={"prices": plant.prices.model_copy(
             update={"electricity_per_kWh": price * f})}))),
    ]
    bars = []
    for name, unit, value, make in levers:
        c_lo = cost(*make(lo)).total_per_kWh
        c_hi = cost(*make(hi)).total_per_kWh
        bars.append(TornadoBar(name, unit, value * lo, value * hi, value, c_lo, c_hi, base))
    return sorted(bars, key=lambda b: b.swing, reverse=True)


__all__ += ["PARTS", "size_line"]
