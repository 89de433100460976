r"""Material flow and yield: the mass of every material per good cell and per kWh.

**The cell's bill** (:func:`cell_bill`) is read from a chain :class:`~twinline.chain.Run`
made with ``cell=True``: the coating masses and their composition (active material,
conductive additive, binder), the solvent carried by the wet film, the foils, separator,
electrolyte, tabs and casing (:class:`~twinline.process.cell_design.CellDesign`), the coated
areas, the drying energy per m², the calendering work and the cell's capacity and energy
(:class:`~twinline.cell.CellPerformance`).

**The yield cascade.** Step :math:`j` of the line scraps a fraction :math:`s_j` of the units
entering it. A material that enters the line at step :math:`i` (the coating solids and the
solvent at mixing, the foils at coating, the separator at stacking, tabs at welding, the
casing at packaging, the electrolyte at filling) must be bought in the amount

.. math:: m_{in} = \frac{m_{cell}}{\prod_{j \ge i} (1 - s_j)}

per good cell, where the product runs over the steps the material passes (an electrode's
own steps, then every cell step). The scrap at step :math:`j` is :math:`s_j` times what
reaches it. The solvent leaves at drying: what reaches the dryer evaporates, a fraction
:math:`r` (``solvent.nmp_recovery``, 0 for water) is condensed and recovered, the rest is
lost with the exhaust; solvent in slurry or wet film scrapped before the dryer is scrap.
Hence the balance, checked for every material:

.. math:: m_{in} = m_{product} + m_{scrap} + m_{recovered} + m_{lost}

Sources: scrap up to 30 % on prototype lines (LiPLANET data specification, seed 000), 0.5 %
per step on a mature line (25 steps × 99.5 % → 88 %, seed 003).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from twinline.factory.errors import FactoryError
from twinline.factory.plant import LINE, Plant

__all__ = ["CellBill", "MaterialFlow", "cell_bill", "material_flows", "yield_cascade"]

#: Step at which each cell-level material enters the line.
ENTRY = {"separator": "stacking", "tabs": "welding", "casing": "packaging",
         "electrolyte": "filling"}


@dataclass(frozen=True)
class ElectrodeBill:
    """One electrode of one cell (SI): coating solids by component [kg], the solvent of its
    wet film [kg], the foil [kg, m²], coated faces area [m²], drying energy per coated m²
    [J m⁻²] and its heat share [-], calendering work per coated m² [J m⁻²]."""

    solids: dict[str, float]
    solvent: str
    solvent_mass: float
    foil: str
    foil_mass: float
    foil_area: float
    coated_area: float
    drying_energy_per_area: float
    drying_heat_share: float
    calendering_work_per_area: float

    @property
    def coating_mass(self) -> float:
        return float(sum(self.solids.values()))


@dataclass(frozen=True)
class CellBill:
    """What one good cell is made of and what it stores (SI, plain data).

    ``capacity`` [A h] and ``energy`` [W h] at the lowest discharge rate of the run;
    ``first_cycle_efficiency`` [-]; ``formation_time`` and ``ageing_time`` [s].
    """

    recipe_name: str
    format: str
    cathode: ElectrodeBill
    anode: ElectrodeBill
    separator: str
    separator_mass: float
    separator_area: float
    electrolyte: str
    electrolyte_mass: float
    tabs_mass: float
    casing_mass: float
    capacity: float
    energy: float
    first_cycle_efficiency: float
    formation_time: float
    ageing_time: float
    cell_mass: float
    nominal_voltage: float = field(default=0.0)

    def electrodes(self) -> dict[str, ElectrodeBill]:
        return {"cathode": self.cathode, "anode": self.anode}

    def scaled_coatings(self, factor: float) -> CellBill:
        """The bill with both coatings ``factor`` times thicker (first order: the layer count
        and areas stay, coating solids, solvent, drying energy, capacity and energy scale)."""
        def sc(e: ElectrodeBill) -> ElectrodeBill:
            return replace(e, solids={k: v * factor for k, v in e.solids.items()},
                           solvent_mass=e.solvent_mass * factor,
                           drying_energy_per_area=e.drying_energy_per_area * factor,
                           calendering_work_per_area=e.calendering_work_per_area * factor)
        extra = (factor - 1.0) * (self.cathode.coating_mass + self.anode.coating_mass)
        return replace(self, cathode=sc(self.cathode), anode=sc(self.anode),
                       capacity=self.capacity * factor, energy=self.energy * factor,
                       electrolyte_mass=self.electrolyte_mass * (0.5 + 0.5 * factor),
                       cell_mass=self.cell_mass + extra)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _si(text: Any, unit: str) -> float:
    from twinline.spec.units import parse_quantity

    return float(parse_quantity(text, unit))


def _heat_share(composition: Any, run: Any, electrode: str) -> float:
    """Share of the dryer energy that is heat (the rest: the recovery chiller, electricity),
    from :func:`twinline.process.drying.energy_per_kg_solvent` at the mean zone temperature."""
    try:
        from twinline.materials import load_library
        from twinline.process.drying import energy_per_kg_solvent

        solvent = load_library()[composition.solvent]
        zones = run.inputs[electrode]["drying"]["zones"]
        t_air = sum(_si(z["temperature"], "K") for z in zones) / len(zones)
        total, heat = energy_per_kg_solvent(t_air, t_air - 10.0, solvent)
        return float(min(1.0, heat / 0.95 / total))
    except Exception:  # a material from an extra file: count the whole dryer as heat
        return 1.0


def cell_bill(run: Any) -> CellBill:
    """The bill of one cell from a chain run made with ``cell=True``.

    Raises
    ------
    FactoryError
        The run has no cell (run the chain with ``cell=True`` / ``twinline run --cell``).
    """
    prods = run.products
    if "cell" not in prods or run.cell is None:
        raise FactoryError(f"run {run.recipe_name!r} has no cell: the factory view needs the "
                           "cell's design and capacity; run the chain with the cell "
                           "(twinline run RECIPE --cell)")
    design = _get(prods["cell"]["cell"], "design")
    masses = dict(_get(design, "masses"))
    filled = prods["cell"]["filled"]
    electrodes = {}
    for name in ("cathode", "anode"):
        sheet = _get(design, name)
        cal = prods[name]["calendered"]
        comp = cal.composition
        coat = float(masses[f"{name}_coating"])
        area = float(_get(sheet, "coated_faces")) * float(_get(sheet, "sheet_area"))
        wet = prods[name]["wet_film"]
        dry = prods[name]["dry"]
        solids = {comp.active_material: coat * comp.am_mass_fraction,
                  comp.conductive_additive: coat * comp.conductive_mass_fraction,
                  comp.binder: coat * comp.binder_mass_fraction}
        work = float(cal.pressure) * max(float(cal.thickness_before) - float(cal.thickness),
                                         0.0)
        electrodes[name] = ElectrodeBill(
            solids=solids, solvent=comp.solvent,
            solvent_mass=float(wet.solvent_loading) * area, foil=run.inputs[name].get(
                "current_collector", "Al" if name == "cathode" else "Cu"),
            foil_mass=float(masses[f"{name}_foil"]),
            foil_area=float(_get(sheet, "sheets")) * float(_get(sheet, "sheet_area")),
            coated_area=area, drying_energy_per_area=float(dry.energy_per_area),
            drying_heat_share=_heat_share(comp, run, name),
            calendering_work_per_area=work)
    perf = run.cell
    energies = list(_get(perf, "energy"))
    capacities = list(_get(perf, "capacity"))
    formation = _get(perf, "formation") or {}
    fin = run.inputs.get("formation", {})
    energy, capacity = float(energies[0]), float(capacities[0])
    if not (energy > 0 and capacity > 0):
        raise FactoryError(f"run {run.recipe_name!r}: the cell stores no energy "
                           f"({energy:g} Wh): nothing to report per kWh")
    return CellBill(
        recipe_name=run.recipe_name, format=str(_get(design, "format")),
        cathode=electrodes["cathode"], anode=electrodes["anode"],
        separator=run.inputs["cell"].get("separator", "separator"),
        separator_mass=float(masses["separator"]),
        separator_area=float(_get(design, "separator_area")),
        electrolyte=run.inputs["cell"].get("electrolyte", "electrolyte"),
        electrolyte_mass=float(_get(filled, "electrolyte_mass")),
        tabs_mass=float(masses.get("tabs", 0.0)), casing_mass=float(masses["casing"]),
        capacity=capacity, energy=energy,
        first_cycle_efficiency=float(formation.get("first_cycle_efficiency", 0.9)),
        formation_time=float(formation.get("formation_time", 86400.0)),
        ageing_time=_si(fin.get("ocv_storage_time", "7 day"), "s"),
        cell_mass=float(_get(perf, "mass")), nominal_voltage=energy / capacity)


@dataclass(frozen=True)
class CascadeStep:
    """One step of the yield cascade: ``path`` (cathode, anode or cell), ``scrap`` [-],
    ``yield_to_end`` share of the units entering it that become good cells [-],
    ``cumulative`` good share after the step of what entered the path's first step [-]."""

    step: str
    path: str
    scrap: float
    yield_to_end: float
    cumulative: float


def yield_cascade(plant: Plant) -> list[CascadeStep]:
    """The cascade through every step: each electrode's own steps, then the cell steps.

    >>> from twinline.factory.plant import plant_from_dict
    >>> c = yield_cascade(plant_from_dict({"name": "demo"}))
    >>> round(c[-1].cumulative, 4)                     # 15 steps at 0.5 % each
    0.9276
    """
    line = plant.line()
    cell_steps = [s for s in line if s.scope == "cell"]
    cell_yield = math.prod(1 - s.scrap for s in cell_steps)
    out: list[CascadeStep] = []
    for path in ("cathode", "anode"):
        own = [s for s in line if s.scope == "electrode"]
        cum = 1.0
        for i, s in enumerate(own):
            cum *= 1 - s.scrap
            out.append(CascadeStep(s.name, path, s.scrap,
                                   math.prod(1 - t.scrap for t in own[i:]) * cell_yield, cum))
    cum = math.prod(1 - s.scrap for s in line if s.scope == "electrode")
    for i, s in enumerate(cell_steps):
        cum *= 1 - s.scrap
        out.append(CascadeStep(s.name, "cell", s.scrap,
                               math.prod(1 - t.scrap for t in cell_steps[i:]), cum))
    return out


@dataclass(frozen=True)
class MaterialFlow:
    """One material per good cell [kg]: bought (``input``), in the cell (``product``),
    scrapped, recovered (solvent condensed) and lost (solvent to the exhaust); ``scrap_by_step``
    [kg] and ``enters_at`` the step where it enters the line."""

    material: str
    role: str
    path: str
    enters_at: str
    input: float
    product: float
    scrap: float
    recovered: float
    lost: float
    scrap_by_step: dict[str, float]

    @property
    def balance_error(self) -> float:
        """``input − (product + scrap + recovered + lost)`` [kg] (0 when it closes)."""
        return self.input - (self.product + self.scrap + self.recovered + self.lost)


def _flow(material: str, role: str, path: str, good: float, steps: list[Any],
          *, evaporate_at: str | None = None, recovery: float = 0.0) -> MaterialFlow:
    """Walk a material backwards from the good cell through ``steps`` (the steps it passes)."""
    names = [s.name for s in steps]
    if evaporate_at is not None:
        # what reaches the dryer evaporates; the product keeps none of it
        reach = good / math.prod(1 - s.scrap for s in steps[names.index(evaporate_at):])
        before = steps[:names.index(evaporate_at)]
        amount = reach
        scrap_by_step: dict[str, float] = {}
        for s in reversed(before):
            amount = amount / (1 - s.scrap)
            scrap_by_step[s.name] = amount * s.scrap
        return MaterialFlow(material, role, path, names[0], amount, 0.0,
                            float(sum(scrap_by_step.values())), reach * recovery,
                            reach * (1 - recovery), dict(reversed(scrap_by_step.items())))
    amount = good
    scrap_by_step = {}
    for s in reversed(steps):
        amount = amount / (1 - s.scrap)
        scrap_by_step[s.name] = amount * s.scrap
    return MaterialFlow(material, role, path, names[0], amount, good,
                        float(sum(scrap_by_step.values())), 0.0, 0.0,
                        dict(reversed(scrap_by_step.items())))


def material_flows(bill: CellBill, plant: Plant) -> list[MaterialFlow]:
    """Every material per good cell through the yield cascade (see the module docstring).

    The electrode steps run once per electrode; the solvent of the anode (water) is lost
    unless ``solvent.water_recovery`` says otherwise.
    """
    line = plant.line()
    electrode_steps = [s for s in line if s.scope == "electrode"]
    cell_steps = [s for s in line if s.scope == "cell"]
    for s in line:
        if not 0 <= s.scrap < 1:
            raise FactoryError(f"steps.{s.name}.scrap = {s.scrap:g} must be in [0, 1)")
    flows: list[MaterialFlow] = []
    roles = ("active material", "conductive additive", "binder")
    for path, e in bill.electrodes().items():
        full = electrode_steps + cell_steps
        for (mat, mass), role in zip(e.solids.items(), roles, strict=True):
            flows.append(_flow(mat, f"{path} {role}", path, mass, full))
        coat = [s for s in full if s.name != "mixing"]
        flows.append(_flow(e.foil, f"{path} current collector", path, e.foil_mass, coat))
        recovery = (plant.solvent.water_recovery if e.solvent.lower() == "water"
                    else plant.solvent.nmp_recovery)
        flows.append(_flow(e.solvent, f"{path} solvent", path, e.solvent_mass, full,
                           evaporate_at="drying", recovery=recovery))
    for role, mat, mass in (("separator", bill.separator, bill.separator_mass),
                            ("tabs", "tabs", bill.tabs_mass),
                            ("casing", "casing", bill.casing_mass),
                            ("electrolyte", bill.electrolyte, bill.electrolyte_mass)):
        at = [s.name for s in cell_steps].index(ENTRY[role])
        flows.append(_flow(mat, role, "cell", mass, cell_steps[at:]))
    return flows


def flows_summary(flows: list[MaterialFlow], bill: CellBill) -> dict[str, Any]:
    """Totals per good cell and per kWh [kg], plus the rows, as plain data."""
    kwh = bill.energy / 1e3
    tot = {k: float(sum(getattr(f, k) for f in flows))
           for k in ("input", "product", "scrap", "recovered", "lost")}
    return {"per_cell_kg": tot, "per_kWh_kg": {k: v / kwh for k, v in tot.items()},
            "rows": [{**asdict(f), "per_kWh_input": f.input / kwh} for f in flows],
            "balance_error_kg": float(sum(f.balance_error for f in flows))}


__all__ += ["LINE", "CascadeStep", "ElectrodeBill", "flows_summary"]
