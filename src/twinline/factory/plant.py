"""The plant description: a YAML file a production engineer can read and edit.

A plant file gives what the recipe does not: the line (speed, width, cycle time, number of
machines, scrap, MTBF/MTTR and changeovers of every step), the operating time, the dry and
clean rooms and the outside climate, energy and material prices, carbon intensities, capex
and labour. Every value it omits comes from the package's literature defaults
(``twinline/factory/data/defaults.yaml``, each with its source), so a plant file may be
three lines long. The cell format is the recipe's (the chain's :class:`CellDesign`).

Physical values are quantities with units, converted to SI once here (``"60 m/min"``,
``"-40 degC"``, ``"200 h"``; :func:`twinline.spec.quantity.SI`); money is in
:attr:`Plant.currency` (USD by default) and named in the field (``electricity_per_kWh``).

>>> plant = plant_from_dict({"name": "demo", "steps": {"coating": {"speed": "60 m/min"}}})
>>> plant.step("coating").speed, plant.step("coating").width
(1.0, 1.4)
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twinline.factory.errors import FactoryError
from twinline.spec.errors import quote
from twinline.spec.quantity import SI, Fraction

__all__ = ["LINE", "Plant", "PlantStep", "defaults", "line_view", "load_plant",
           "plant_from_dict", "source_of"]

#: The steps of the line, in order (electrode steps run once per electrode).
LINE: tuple[str, ...] = ("mixing", "coating", "drying", "calendering", "slitting",
                         "post_drying", "notching", "stacking", "welding", "packaging",
                         "filling", "formation", "degassing", "ageing", "grading")
_HOUR = 3600.0
_KWH = 3.6e6


@cache
def defaults() -> dict[str, Any]:
    """The package's literature defaults (``factory/data/defaults.yaml``), parsed once."""
    from twinline.spec.yamlfile import read_yaml

    return read_yaml(Path(__file__).with_name("data") / "defaults.yaml",
                     what="factory defaults file", error=FactoryError)


def source_of(*path: str) -> str:
    """The source text of a default, e.g. ``source_of("dry_room", "dew_point")``."""
    node: Any = defaults()
    for key in path:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return str(node.get("source", "")) if isinstance(node, dict) else ""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepSettings(_Model):
    """One step of the line as a plant file gives it (every field optional)."""

    scrap: Fraction | None = None
    speed: Annotated[SI("m/s", gt=0), Field()] | None = None
    width: Annotated[SI("m", gt=0), Field()] | None = None
    cycle_time: Annotated[SI("s", gt=0), Field()] | None = None
    machines: int | Literal["auto"] = "auto"
    mtbf: Annotated[SI("s", ge=0), Field()] | None = None
    mttr: Annotated[SI("s", ge=0), Field()] | None = None
    changeover: Annotated[SI("s", ge=0), Field()] | None = None
    changeover_every: int | None = Field(default=None, ge=0)
    idle_power: Annotated[SI("W", ge=0), Field()] | None = None
    specific_energy: Annotated[SI("J", ge=0), Field()] | None = None
    capex: float | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class PlantStep:
    """One step of the line with every default filled in (SI).

    ``scope`` electrode or cell; ``basis`` the unit the step counts (``m2`` of one coated
    face, ``kg`` of slurry, ``cell``); ``speed`` [m s⁻¹] and ``width`` [m] of a web step
    (0 for a discrete one); ``cycle_time`` [s per basis unit] of one machine (web steps:
    ``1/(speed·width)``); ``machines`` a number or ``"auto"`` (sized to the coating line);
    ``mtbf``/``mttr``/``changeover`` [s]; ``idle_power`` [W per machine];
    ``specific_energy`` [J per basis unit]; ``capex`` [currency per machine].
    """

    name: str
    scope: str
    basis: str
    scrap: float
    speed: float
    width: float
    cycle_time: float
    machines: int | str
    mtbf: float
    mttr: float
    changeover: float
    changeover_every: int
    idle_power: float
    specific_energy: float
    capex: float


class Operation(_Model):
    hours_per_shift: float = Field(gt=0, le=24)
    shifts_per_day: int = Field(ge=1, le=4)
    days_per_year: float = Field(gt=0, le=366)
    availability: Fraction

    @property
    def hours_per_year(self) -> float:
        """Scheduled hours a year [h] (before availability)."""
        return self.hours_per_shift * self.shifts_per_day * self.days_per_year


class DryRoom(_Model):
    volume: Annotated[SI("m^3", ge=0), Field()]
    air_changes_per_hour: float = Field(ge=0, le=200)
    fresh_air_fraction: Fraction
    dew_point: Annotated[SI("K", gt=173.15, lt=293.15), Field()]
    people: Annotated[SI("1/m^3", ge=0), Field()]
    moisture_per_person: Annotated[SI("kg/s", ge=0), Field()]
    regeneration_air_fraction: Fraction
    regeneration_temperature_at_minus_40: Annotated[SI("K", gt=273.15), Field()]
    regeneration_temperature_slope: Annotated[SI("K/K", ge=0), Field()]
    fan_pressure: Annotated[SI("Pa", ge=0), Field()]
    fan_efficiency: Annotated[Fraction, Field(gt=0)]
    chiller_cop: float = Field(gt=0)
    adsorption_heat: Annotated[SI("J/kg", gt=0), Field()]


class CleanRoom(_Model):
    volume: Annotated[SI("m^3", ge=0), Field()] = 0.0
    air_changes_per_hour: float = Field(ge=0, le=200)
    fan_pressure: Annotated[SI("Pa", ge=0), Field()]
    fan_efficiency: Annotated[Fraction, Field(gt=0)]


class Climate(_Model):
    temperature: Annotated[SI("K", gt=223.15, lt=333.15), Field()]
    relative_humidity: Fraction


class FormationPlant(_Model):
    cycles: int = Field(ge=1, le=20)
    converter_efficiency: Annotated[Fraction, Field(gt=0)]
    recuperation: Fraction
    degassing_energy: Annotated[SI("J", ge=0), Field()]
    ageing_energy_per_cell_day: Annotated[SI("J", ge=0), Field()]


class Solvent(_Model):
    nmp_recovery: Fraction
    water_recovery: Fraction


class Prices(_Model):
    electricity_per_kWh: float = Field(ge=0)
    heat_per_kWh: float = Field(ge=0)
    materials_per_kg: dict[str, float] = Field(default_factory=dict)


class Cost(_Model):
    labour_per_worker_year: float = Field(ge=0)
    workers_per_machine_shift: float = Field(ge=0)
    equipment_depreciation_years: float = Field(gt=0)
    building_depreciation_years: float = Field(gt=0)
    building_cost_per_m2: float = Field(ge=0)
    floor_area_per_m3_room: Annotated[SI("1/m", ge=0), Field()]
    overhead_rate: float = Field(ge=0, le=5)
    floor_area: Annotated[SI("m^2", ge=0), Field()] | None = None


class Carbon(_Model):
    grid_intensity: Annotated[SI("kg/J", ge=0), Field()]
    heat_intensity: Annotated[SI("kg/J", ge=0), Field()]
    grid: str | None = None
    materials_per_kg: dict[str, float] = Field(default_factory=dict)


class Buffer(_Model):
    after: str
    capacity: int = Field(ge=0)


class Plant(_Model):
    """A plant: the line, the rooms, the climate, prices, carbon, capex and labour (SI)."""

    name: str
    description: str = ""
    location: str = ""
    manufacturing_date: str | None = None
    currency: str = "USD"
    operation: Operation
    steps: dict[str, StepSettings] = Field(default_factory=dict)
    buffers: tuple[Buffer, ...] = ()
    dry_room: DryRoom
    clean_room: CleanRoom
    climate: Climate
    formation: FormationPlant
    solvent: Solvent
    prices: Prices
    cost: Cost
    carbon: Carbon
    source_path: str | None = None

    def step(self, name: str) -> PlantStep:
        """The step ``name`` with the plant's settings over the literature defaults (SI)."""
        table = defaults()["steps"]
        if name not in table:
            raise FactoryError(_unknown("step", name, table))
        d = table[name]
        s = self.steps.get(name, StepSettings())

        def pick(value: Any, key: str, scale: float = 1.0) -> float:
            return float(value) if value is not None else float(d.get(key, 0.0)) * scale

        speed = pick(s.speed, "speed")
        width = pick(s.width, "width")
        if d["basis"] == "m2" and speed > 0 and width > 0:
            cycle = 1.0 / (speed * width)
        else:
            cycle = pick(s.cycle_time, "cycle_time")
        return PlantStep(
            name=name, scope=d["scope"], basis=d["basis"], scrap=pick(s.scrap, "scrap"),
            speed=speed, width=width, cycle_time=cycle, machines=s.machines,
            mtbf=pick(s.mtbf, "mtbf", _HOUR), mttr=pick(s.mttr, "mttr", _HOUR),
            changeover=pick(s.changeover, "changeover"),
            changeover_every=int(s.changeover_every if s.changeover_every is not None
                                 else d.get("changeover_every", 0)),
            idle_power=pick(s.idle_power, "idle_power", 1e3),
            specific_energy=pick(s.specific_energy, "specific_energy", _KWH),
            capex=pick(s.capex, "capex"))

    def line(self) -> list[PlantStep]:
        """Every step of :data:`LINE`, resolved."""
        return [self.step(n) for n in LINE]

    def material_price(self, name: str) -> float:
        """Price of a material [currency per kg, or per m² for foils and separators]."""
        own = self.prices.materials_per_kg
        if name in own:
            return float(own[name])
        table = defaults()["prices"]["materials_per_kg"]
        return float(table.get(name, table["default"])["value"])

    def material_footprint(self, name: str) -> float | None:
        """Cradle-to-gate footprint [kg CO₂e per kg], None where no figure is given."""
        own = self.carbon.materials_per_kg
        if name in own:
            return float(own[name])
        entry = defaults()["carbon"]["materials_per_kg"].get(name)
        return None if entry is None else float(entry["value"])


def _unknown(what: str, name: str, choices: Any) -> str:
    near = difflib.get_close_matches(str(name), list(choices), n=1)
    return (f"unknown {what} {quote(name)}; choose from {sorted(choices)}"
            + (f"; did you mean {near[0]!r}?" if near else ""))


def _default_tree() -> dict[str, Any]:
    """The defaults as a plant-shaped mapping of quantities (``{value, unit}``)."""
    d = defaults()

    def q(entry: dict[str, Any]) -> Any:
        return ({"value": entry["value"], "unit": entry["unit"]} if "unit" in entry
                else entry["value"])

    tree: dict[str, Any] = {}
    for section in ("operation", "dry_room", "clean_room", "climate", "formation", "solvent"):
        tree[section] = {k: q(v) for k, v in d[section].items()}
    tree["prices"] = {"electricity_per_kWh": d["prices"]["electricity_per_kWh"]["value"],
                      "heat_per_kWh": d["prices"]["heat_per_kWh"]["value"]}
    tree["cost"] = {k: q(v) for k, v in d["cost"].items()}
    tree["carbon"] = {"grid_intensity": q(d["carbon"]["grid_intensity"]),
                      "heat_intensity": q(d["carbon"]["heat_intensity"])}
    tree["dry_room"]["volume"] = {"value": 0.0, "unit": "m^3"}
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            and k not in ("steps",) else v
    return out


def plant_from_dict(data: Any, *, origin: str = "plant") -> Plant:
    """Validate a plant mapping over the defaults; :class:`FactoryError` names the field.

    A named grid (``carbon: {grid: EU27}``) sets ``grid_intensity`` from the defaults'
    table unless the file gives the intensity itself.
    """
    if not isinstance(data, dict):
        raise FactoryError(f"{origin}: a plant file is a mapping (name:, steps:, dry_room: ...),"
                           f" got {type(data).__name__}")
    merged = _merge(_default_tree(), data)
    grid = (data.get("carbon") or {}).get("grid") if isinstance(data.get("carbon"), dict) \
        else None
    if grid is not None and "grid_intensity" not in data["carbon"]:
        grids = defaults()["carbon"]["grids"]
        if grid not in grids:
            raise FactoryError(f"{origin}: carbon.grid: " + _unknown("grid", grid, grids))
        merged["carbon"]["grid_intensity"] = {"value": grids[grid]["value"], "unit": "kg/kWh"}
    for name in (data.get("steps") or {}) if isinstance(data.get("steps"), dict) else ():
        if name not in LINE:
            raise FactoryError(f"{origin}: steps: " + _unknown("step", name, LINE))
    try:
        plant = Plant.model_validate(merged)
    except ValidationError as err:
        e = err.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        raise FactoryError(f"{origin}: {where}: {msg}") from None
    for b in plant.buffers:
        if b.after not in LINE:
            raise FactoryError(f"{origin}: buffers: after: " + _unknown("step", b.after, LINE))
    return plant


def load_plant(path: str | Path) -> Plant:
    """Read a plant YAML through the project's bounded loader and validate it.

    Raises
    ------
    FactoryError
        Unreadable or malformed file, unknown key or step, a value without a unit or out of
        range (the message names the file, the field and the allowed range).
    """
    from twinline.spec.yamlfile import read_yaml

    data = read_yaml(path, what="plant file", error=FactoryError)
    plant = plant_from_dict(data, origin=str(path))
    return plant.model_copy(update={"source_path": str(path)})


def line_view(plant: Plant, units_per_cell: dict[str, float] | None = None,
              machines: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The line as plain dicts for the discrete-event model (:mod:`twinline.factory.throughput`).

    ``machines``: one row per step and electrode (``cathode.coating`` ...), ``cycle_time_s``
    per ``unit`` of one machine (``m2`` of one coated face, ``kg`` of slurry, ``cell``),
    ``mtbf_h``/``mttr_h``, ``changeover_s`` every ``changeover_every`` units, ``scrap``,
    ``count`` machines (``None`` for ``auto`` unless ``machines`` sizes it) and, when
    ``units_per_cell`` is given, ``units_per_cell``. ``buffers``: ``{after, capacity}``.
    """
    rows: list[dict[str, Any]] = []
    for s in plant.line():
        if s.cycle_time <= 0:     # drying is part of the coating line
            continue
        for prefix in (("cathode.", "anode.") if s.scope == "electrode" else ("",)):
            name = prefix + s.name
            count = (machines or {}).get(name, s.machines if isinstance(s.machines, int)
                                         else None)
            row = {"name": name, "cycle_time_s": s.cycle_time, "unit": s.basis,
                   "mtbf_h": s.mtbf / _HOUR, "mttr_h": s.mttr / _HOUR,
                   "changeover_s": s.changeover, "changeover_every": s.changeover_every,
                   "scrap": s.scrap, "count": count}
            if units_per_cell is not None and name in units_per_cell:
                row["units_per_cell"] = units_per_cell[name]
            rows.append(row)
    return {"machines": rows,
            "buffers": [{"after": b.after, "capacity": b.capacity} for b in plant.buffers]}


def step_dict(step: PlantStep) -> dict[str, Any]:
    """A resolved step as a plain dict (SI)."""
    return asdict(step)
