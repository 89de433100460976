r"""Energy per step and per kWh of cell: process energy, fixed loads and the building.

**Line sizing** (:func:`size_line`, a static capacity model; the discrete-event model of
:mod:`twinline.factory.throughput` refines it). A machine of cycle time :math:`t_c` [s per
unit] runs :math:`H\,A` hours a year (scheduled hours × availability). Each step needs
:math:`u` units per good cell (coated m², kg of slurry or cells, divided by the yield from
the step to the end). Steps with a given machine count cap the output; the smallest cap is
the bottleneck (the coating line in the examples) and steps set to ``auto`` get just enough
machines for it.

**Per step and good cell** (electricity unless said):

* fixed load: ``idle_power`` × machines × scheduled hours / cells a year — what a faster
  line spreads over more cells;
* specific energy × units (mixing, coating drives, slitting, post-drying, notching,
  stacking, welding, packaging, filling, grading: documented assumptions, see
  ``defaults.yaml``);
* **drying**: the chain's dryer model (:mod:`twinline.process.drying`: LEL-controlled
  exhaust, heater, NMP condenser and chiller; Ahmed et al. 2016) per coated m² — heat, and
  the recovery chiller's electricity;
* **calendering**: the compaction work :math:`p\,(h_0-h)` per coated m² of the chain's
  product over a drive efficiency :math:`\eta_d = 0.85` (assumption);
* **formation**: per cycle the charge :math:`E/(\mathrm{CE}\,\eta_c)` drawn and the
  discharge :math:`E\,\eta_c\,r` fed back (cell energy :math:`E`, first-cycle efficiency CE
  of the chain's formation model, converter efficiency :math:`\eta_c`, recuperation
  :math:`r`); **degassing** a vacuum energy per cell; **ageing** a climate-control energy per
  cell and day of the recipe's OCV storage.

**Dry room** (runs 8760 h a year). Humidity ratio :math:`w = 0.622\,p_w/(p-p_w)` with the
saturation pressure of Magnus/Sonntag (over ice below 0 °C; WMO 2008). Supply air
:math:`\dot m_a = \rho V n/3600`; moisture to remove
:math:`\dot m_w = f\,\dot m_a\,(w_{out}-w_{dp}) + N\,\dot m_p` (fresh-air share :math:`f`,
people :math:`N`). The desiccant wheel releases :math:`\dot m_w h_{ads}` into the process
air, removed by a chiller (:math:`/\mathrm{COP}`, electricity); its regeneration air
:math:`f_r \dot m_a` is heated from outside temperature to :math:`T_{reg}`, which rises as the
dew point falls (:math:`T_{reg} = T_{-40} + k\,(-40\,°C - T_{dp})`), and at least
:math:`\dot m_w h_{ads}` (heat). Fans move :math:`\dot V \Delta p/\eta`. **Clean room**:
fans only. The air-handling figures are assumptions stated in ``defaults.yaml``.

**Anchors** (Degen et al. 2023, Nature Energy 8, 1284): 20.3–37.5 kWh per kWh of cell for
today's large plants; about 41 kWh/kWh with 52 % for drying and dry rooms in an older
plant-level estimate (both quoted in the seeds' review, seed 004). The dry room can take up
to 48 % of a plant's electricity (seed 000). ``docs/factory.md`` states the inputs under
which twinline reproduces each anchor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from twinline.factory.errors import FactoryError
from twinline.factory.flows import CellBill, yield_cascade
from twinline.factory.plant import Plant

__all__ = ["EnergyResult", "Sizing", "dry_room_power", "energy", "humidity_ratio",
           "saturation_pressure", "size_line"]

KWH = 3.6e6
ROOM_HOURS = 8760.0          # dry and clean rooms run all year [h]
DRIVE_EFFICIENCY = 0.85      # calender drives (assumption)
P_ATM = 101325.0
RHO_AIR = 1.2                # kg m⁻³ near 20 °C
CP_AIR = 1007.0              # J kg⁻¹ K⁻¹


def saturation_pressure(temperature: float) -> float:
    r"""Saturation vapour pressure [Pa] over water (≥ 0 °C) or ice (< 0 °C).

    Magnus form with the WMO (2008) / Sonntag (1990) constants:
    :math:`p_{ws} = 611.2\,\exp(a\,t/(b+t))`, :math:`t` in °C; water a = 17.62, b = 243.12;
    ice a = 22.46, b = 272.62.

    >>> round(saturation_pressure(273.15 + 20.0))
    2333
    """
    t = float(temperature) - 273.15
    a, b = (17.62, 243.12) if t >= 0 else (22.46, 272.62)
    return 611.2 * math.exp(a * t / (b + t))


def humidity_ratio(vapour_pressure: float, pressure: float = P_ATM) -> float:
    """Humidity ratio [kg water per kg dry air] = 0.622 p_w / (p − p_w)."""
    return 0.622 * vapour_pressure / (pressure - vapour_pressure)


def dry_room_power(plant: Plant) -> dict[str, float]:
    """Mean power of the dry room [W]: ``fans``, ``cooling`` (electricity), ``regeneration``
    (heat), and the ``moisture`` removed [kg s⁻¹] (see the module docstring)."""
    d, c = plant.dry_room, plant.climate
    flow = d.volume * d.air_changes_per_hour / 3600.0          # m³ s⁻¹
    m_air = RHO_AIR * flow
    w_out = humidity_ratio(c.relative_humidity * saturation_pressure(c.temperature))
    w_room = humidity_ratio(saturation_pressure(d.dew_point))
    moisture = (d.fresh_air_fraction * m_air * max(w_out - w_room, 0.0)
                + d.people * d.volume * d.moisture_per_person)
    t_reg = d.regeneration_temperature_at_minus_40 + d.regeneration_temperature_slope * (
        233.15 - d.dew_point)
    regeneration = max(d.regeneration_air_fraction * m_air * CP_AIR
                       * max(t_reg - c.temperature, 0.0), moisture * d.adsorption_heat)
    return {"fans": flow * d.fan_pressure / d.fan_efficiency,
            "cooling": moisture * d.adsorption_heat / d.chiller_cop,
            "regeneration": regeneration, "moisture": moisture}


@dataclass(frozen=True)
class Sizing:
    """The line sized for one plant and cell: ``cells_per_year`` good cells, the
    ``bottleneck`` step, ``machines`` per step (``cathode.coating`` ...), ``units_per_cell``
    per step (basis units per good cell), ``running_hours`` a year [h]."""

    cells_per_year: float
    bottleneck: str
    machines: dict[str, int]
    units_per_cell: dict[str, float]
    running_hours: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _units(bill: CellBill, plant: Plant) -> dict[str, float]:
    ytoend = {(c.path, c.step): c.yield_to_end for c in yield_cascade(plant)}
    out: dict[str, float] = {}
    for s in plant.line():
        for path in (("cathode", "anode") if s.scope == "electrode" else ("cell",)):
            y = ytoend[(path, s.name)]
            if s.basis == "m2":
                base = bill.electrodes()[path].coated_area
            elif s.basis == "kg":
                e = bill.electrodes()[path]
                base = e.coating_mass + e.solvent_mass
            else:
                base = 1.0
            out[s.name if path == "cell" else f"{path}.{s.name}"] = base / y
    return out


def size_line(bill: CellBill, plant: Plant) -> Sizing:
    """Size the line: cells a year, bottleneck and machine counts (see the module docstring).

    Raises
    ------
    FactoryError
        No step has a machine count (nothing sets the output).
    """
    units = _units(bill, plant)
    hours = plant.operation.hours_per_year * plant.operation.availability
    steps = {s.name: s for s in plant.line()}
    rate: dict[str, float] = {}
    fixed: dict[str, int] = {}
    for key in units:
        s = steps[key.rsplit(".", 1)[-1]]
        if s.cycle_time <= 0:
            continue
        rate[key] = hours * 3600.0 / s.cycle_time / units[key]   # good cells per machine
        if isinstance(s.machines, int):
            fixed[key] = s.machines
    if not fixed:
        raise FactoryError("no step of the plant has a machine count: give at least "
                           "steps.coating.machines (the number of coating lines)")
    caps = {k: n * rate[k] for k, n in fixed.items()}
    bottleneck = min(caps, key=caps.__getitem__)
    cells = caps[bottleneck]
    machines = {k: fixed.get(k, max(1, math.ceil(cells / rate[k] - 1e-9))) for k in rate}
    for path in ("cathode", "anode"):      # the dryer is part of its coating line
        machines[f"{path}.drying"] = machines[f"{path}.coating"]
    return Sizing(cells, bottleneck, machines, units, plant.operation.hours_per_year)


@dataclass(frozen=True)
class EnergyResult:
    """Energy per good cell by step and utility [J], and per kWh of cell [kWh/kWh].

    ``by_step[step] = {"electricity": J, "heat": J}`` per good cell (electrode steps summed
    over both electrodes; ``dry_room`` and ``clean_room`` as steps); ``per_kWh`` the same in
    kWh per kWh of cell energy; ``total_per_kWh``; ``by_utility_per_kWh``; ``sizing``;
    ``dry_room`` its mean powers [W].
    """

    by_step: dict[str, dict[str, float]]
    per_kWh: dict[str, dict[str, float]]
    total_per_kWh: float
    by_utility_per_kWh: dict[str, float]
    annual_GWh: dict[str, float]
    sizing: Sizing
    dry_room: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def energy(bill: CellBill, plant: Plant, sizing: Sizing | None = None) -> EnergyResult:
    """Energy of every step and the building per good cell and per kWh of cell.

    Parameters
    ----------
    bill : CellBill
        From :func:`twinline.factory.flows.cell_bill`.
    plant : Plant
    sizing : Sizing, optional
        Default :func:`size_line`.
    """
    sz = sizing or size_line(bill, plant)
    cells = sz.cells_per_year
    steps = {s.name: s for s in plant.line()}
    by: dict[str, dict[str, float]] = {n: {"electricity": 0.0, "heat": 0.0} for n in steps}
    run_s = sz.running_hours * 3600.0
    for key, u in sz.units_per_cell.items():
        name = key.rsplit(".", 1)[-1]
        s = steps[name]
        n = sz.machines.get(key, 0)
        by[name]["electricity"] += s.idle_power * n * run_s / cells + s.specific_energy * u
        if s.scope == "electrode":
            e = bill.electrodes()[key.split(".")[0]]
            if name == "drying":
                de = e.drying_energy_per_area * u
                by[name]["heat"] += de * e.drying_heat_share
                by[name]["electricity"] += de * (1 - e.drying_heat_share)
            elif name == "calendering":
                by[name]["electricity"] += e.calendering_work_per_area * u / DRIVE_EFFICIENCY
        elif name == "formation":
            f = plant.formation
            e_cell = bill.energy * 3600.0
            per_cycle = (e_cell / bill.first_cycle_efficiency / f.converter_efficiency
                         - e_cell * f.converter_efficiency * f.recuperation)
            by[name]["electricity"] += f.cycles * per_cycle * u
        elif name == "degassing":
            by[name]["electricity"] += plant.formation.degassing_energy * u
        elif name == "ageing":
            by[name]["electricity"] += (plant.formation.ageing_energy_per_cell_day * u
                                        * bill.ageing_time / 86400.0)
    room = dry_room_power(plant)
    year = ROOM_HOURS * 3600.0
    by["dry_room"] = {"electricity": (room["fans"] + room["cooling"]) * year / cells,
                      "heat": room["regeneration"] * year / cells}
    cr = plant.clean_room
    by["clean_room"] = {"electricity": cr.volume * cr.air_changes_per_hour / 3600.0
                        * cr.fan_pressure / cr.fan_efficiency * year / cells, "heat": 0.0}
    kwh_cell = bill.energy / 1e3
    per = {k: {u: v / KWH / kwh_cell for u, v in d.items()} for k, d in by.items()}
    util = {u: float(sum(d[u] for d in per.values())) for u in ("electricity", "heat")}
    annual = {u: v * kwh_cell * cells / 1e6 for u, v in util.items()}   # GWh a year
    return EnergyResult(by, per, util["electricity"] + util["heat"], util, annual, sz, room)
