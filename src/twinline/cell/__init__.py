"""twinline.cell: from the chain's electrodes to a formed cell and its performance.

:func:`simulate_cell` lays out the cell (:mod:`twinline.cell.design`), stacks it
(:mod:`twinline.process.assembly`), fills it (:mod:`twinline.process.filling`), forms it
(:mod:`twinline.process.formation`) and discharges it with PyBaMM
(:mod:`twinline.cell.electrochemistry`). Nothing heavy is imported until it is called.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from twinline.spec.errors import CellError

__all__ = ["CellPerformance", "simulate_cell"]


@dataclass(frozen=True)
class CellPerformance:
    """Everything the cell simulation predicts (SI inside; ``summary()`` for people).

    ``capacity``/``energy`` per C-rate [A h]/[W h] in the order of ``c_rates``;
    ``discharge_curves`` per C-rate: ``time_s``, ``voltage_V``, ``capacity_Ah``;
    ``specific_energy`` [W h kg⁻¹], ``energy_density`` [W h L⁻¹] at the lowest C-rate;
    ``internal_resistance`` [Ω] from a pulse; ``design``, ``assembly``, ``filling``,
    ``formation`` as plain dicts; ``parameters`` the PyBaMM inputs and ``replaced`` the
    built-in values they replaced.
    """

    model: str
    parameter_set: str
    c_rates: tuple[float, ...]
    capacity: tuple[float, ...]
    energy: tuple[float, ...]
    discharge_curves: tuple[dict[str, list[float]], ...]
    nominal_capacity: float
    specific_energy: float
    energy_density: float
    rate_capability: float            # capacity at the highest / lowest C-rate [-]
    internal_resistance: float        # [Ω]
    mass: float                       # [kg]
    volume: float                     # [m³]
    n_p_ratio: float
    design: dict[str, Any]
    assembly: dict[str, Any]
    filling: dict[str, Any]
    formation: dict[str, Any]
    parameters: dict[str, float]
    replaced: dict[str, dict[str, float]]
    tortuosity_source: str
    citations: tuple[str, ...] = field(default_factory=tuple)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The JSON of ``twinline cell simulate --json`` (units in the key names)."""
        return {
            "model": self.model,
            "parameter_set": self.parameter_set,
            "c_rates": list(self.c_rates),
            "capacity_Ah": list(self.capacity),
            "energy_Wh": list(self.energy),
            "specific_energy_Wh_per_kg": self.specific_energy,
            "energy_density_Wh_per_L": self.energy_density,
            "rate_capability": self.rate_capability,
            "internal_resistance_mOhm": self.internal_resistance * 1e3,
            "mass_g": self.mass * 1e3,
            "volume_mL": self.volume * 1e6,
            "n_p_ratio": self.n_p_ratio,
            "scrap_probability": self.assembly["scrap_probability"],
            "electrolyte_volume_mL": self.filling["electrolyte_volume"] * 1e6,
            "wetting_time_s": self.filling["wetting_time"],
            "wetting_degree": self.filling["wetting_degree"],
            "first_cycle_efficiency": self.formation["first_cycle_efficiency"],
            "sei_lithium_loss_Ah": self.formation["sei_lithium_loss"],
            "formation_time_h": self.formation["formation_time"] / 3600.0,
            "self_discharge_flagged_fraction": self.formation["flagged_fraction"],
            "tortuosity_source": self.tortuosity_source,
        }

    def outputs(self) -> dict[str, dict[str, Any]]:
        """Catalogue-id outputs for :class:`twinline.chain.Run` (catalogue display units)."""
        f, fo, a = self.filling, self.formation, self.assembly
        return {
            "assembly.n_p_ratio": {"value": self.n_p_ratio, "unit": "", "std": 0.0},
            "assembly.stack_weight": {"value": a["stack_weight"] * 1e3, "unit": "g", "std": 0.0},
            "assembly.scrap_probability": {"value": a["scrap_probability"], "unit": "",
                                           "std": a["scrap_probability_std"]},
            "filling.electrolyte_quantity": {"value": f["electrolyte_volume"] * 1e6,
                                             "unit": "mL", "std": 0.0},
            "filling.wetting_time": {"value": f["wetting_time"] / 3600.0, "unit": "h",
                                     "std": 0.0},
            "filling.wetting_degree": {"value": f["wetting_degree"], "unit": "", "std": 0.0},
            "formation.coulombic_efficiency": {"value": fo["first_cycle_efficiency"],
                                               "unit": "", "std": 0.0},
            "formation.initial_capacity_loss": {"value": fo["initial_capacity_loss"],
                                                "unit": "", "std": 0.0},
            "formation.internal_resistance": {"value": self.internal_resistance * 1e3,
                                              "unit": "mohm", "std": 0.0},
            "formation.sei_lithium_loss": {"value": fo["sei_lithium_loss_fraction"],
                                           "unit": "", "std": 0.0},
            "formation.formation_time": {"value": fo["formation_time"] / 3600.0, "unit": "h",
                                         "std": 0.0},
        }


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


def cell_inputs(design: Any, cathode: Any, anode: Any, separator: Any, *,
                structure: Any = None, temperature: float = 298.15
                ) -> tuple[dict[str, float], str]:
    """PyBaMM inputs from the design and the calendered electrodes (SI).

    The cathode's tortuosity factors come from the structure analysis when it is given
    (``tortuosity_factor_pore``/``_solid``), else Bruggeman; the separator's from its
    MacMullin number :math:`N_M = \\tau/\\varepsilon`.
    """
    from twinline.cell.electrochemistry import bruggeman_tortuosity

    inp = {
        "Negative electrode thickness [m]": float(anode.thickness),
        "Positive electrode thickness [m]": float(cathode.thickness),
        "Separator thickness [m]": float(design.separator_thickness),
        "Negative electrode porosity": float(anode.porosity),
        "Positive electrode porosity": float(cathode.porosity),
        "Separator porosity": float(design.separator_porosity),
        "Negative electrode active material volume fraction": float(anode.am_volume_fraction),
        "Positive electrode active material volume fraction": float(cathode.am_volume_fraction),
        "Negative particle radius [m]": float(anode.particle_radius),
        "Positive particle radius [m]": float(cathode.particle_radius),
        "Negative electrode tortuosity factor (electrolyte)": float(
            bruggeman_tortuosity(anode.porosity)),
        "Negative electrode tortuosity factor (electrode)": float(
            bruggeman_tortuosity(anode.am_volume_fraction)),
        "Positive electrode tortuosity factor (electrolyte)": float(
            bruggeman_tortuosity(cathode.porosity)),
        "Positive electrode tortuosity factor (electrode)": float(
            bruggeman_tortuosity(cathode.am_volume_fraction)),
        "Separator tortuosity factor (electrolyte)": float(
            separator["macmullin_number"]) * float(design.separator_porosity),
        "Electrode height [m]": float(design.electrode_height),
        "Electrode width [m]": float(design.electrode_width),
        "Ambient temperature [K]": float(temperature),
        "Initial temperature [K]": float(temperature),
    }
    source = "bruggeman"
    if structure is not None and _finite(getattr(structure, "tortuosity_factor_pore", None)):
        inp["Positive electrode tortuosity factor (electrolyte)"] = float(
            structure.tortuosity_factor_pore)
        source = "structure"
        if _finite(getattr(structure, "tortuosity_factor_solid", None)):
            inp["Positive electrode tortuosity factor (electrode)"] = float(
                structure.tortuosity_factor_solid)
    return inp, source


def parameter_set_for(materials: Any, cathode_am: str) -> str:
    """The PyBaMM set named by the cathode material (``pybamm_parameter_set``)."""
    from twinline.cell.electrochemistry import DEFAULT_PARAMETER_SET

    try:
        return str(materials[cathode_am].get("pybamm_parameter_set", DEFAULT_PARAMETER_SET))
    except Exception:
        return DEFAULT_PARAMETER_SET


def simulate_cell(recipe: Any, products: dict[str, dict[str, Any]], materials: Any = None, *,
                  structure: Any = None, c_rates: tuple[float, ...] = (0.5, 1.0, 2.0),
                  model: str = "DFN", seed: int = 0, imbibition: Any = None
                  ) -> CellPerformance:
    """Assemble, fill, form and discharge the cell made of the chain's electrodes.

    Parameters
    ----------
    recipe : Recipe
        Needs ``cathode`` and ``anode``; ``cell``, ``filling``, ``formation`` sections
        (defaults when absent).
    products : dict
        ``{"cathode": {"calendered": CalenderedElectrode, ...}, "anode": {...}}``.
    materials : MaterialLibrary, optional
        Default: the built-in library.
    structure : StructureAnalysis, optional
        Cathode structure analysis (measured tortuosity factors, pore size).
    c_rates : tuple of float
        Discharge C-rates [1/h] (1 C = the formed cell's capacity in one hour).
    model : {"DFN", "SPMe", "SPM"}
    seed : int
        Seed of the stacking and screening Monte Carlo.
    imbibition : ImbibitionResult, optional
        Saturation curve of the cathode image (:mod:`twinline.structure.imbibition`).

    Raises
    ------
    CellError
        Missing electrode, impossible N/P ratio, electrodes that do not fit the format,
        a C-rate the model cannot solve.
    """
    from twinline.cell import electrochemistry as ec
    from twinline.cell.design import design_cell
    from twinline.process.assembly import CITATIONS as A_CIT
    from twinline.process.assembly import assemble
    from twinline.process.filling import CITATIONS as F_CIT
    from twinline.process.filling import fill
    from twinline.process.formation import CITATIONS as FO_CIT
    from twinline.process.formation import form
    from twinline.spec.cell_recipe import CellSection

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if materials is None:
        from twinline.materials import builtin_library

        materials = builtin_library()
    if recipe.cathode is None or recipe.anode is None:
        raise CellError("a cell needs both a 'cathode' and an 'anode' in the recipe")
    for name in ("cathode", "anode"):
        if name not in products or "calendered" not in products[name]:
            raise CellError(f"the cell needs the calendered {name} (products[{name!r}]"
                            f"['calendered'])")
    rates = tuple(float(c) for c in c_rates)
    if not rates:
        raise CellError("give at least one C-rate")
    for c in rates:
        if not (math.isfinite(c) and 0 < c <= 20):
            raise CellError(f"C-rate {c:g} is outside the range the model solves: "
                            f"0 < C-rate <= 20")
    section = recipe.cell or CellSection()
    cal_c, cal_a = products["cathode"]["calendered"], products["anode"]["calendered"]
    design = design_cell(section, cal_c, cal_a, materials,
                         cathode_foil=(recipe.cathode.current_collector,
                                       recipe.cathode.current_collector_thickness),
                         anode_foil=(recipe.anode.current_collector,
                                     recipe.anode.current_collector_thickness))
    assembly = assemble(section, design, seed=seed)
    timings["design+assembly"] = time.perf_counter() - t0
    sep = materials.require(section.separator, "separator", parameter="cell.separator")
    pset = parameter_set_for(materials, cal_c.composition.active_material)
    inputs, tau_source = cell_inputs(design, cal_c, cal_a, sep, structure=structure)

    t1 = time.perf_counter()
    _, window0, _ = ec.balance(inputs, pset, lithium_loss=0.0)
    anode_am = materials[cal_a.composition.active_material]
    fce = float(anode_am.get("first_cycle_efficiency", 0.9))
    formation = form(recipe.formation, parameter_set=pset, capacity=window0["Q"],
                     first_cycle_efficiency=fce, window=window0, seed=seed)
    conc, window, q_li = ec.balance(inputs, pset, lithium_loss=formation.sei_lithium_loss)
    timings["formation"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    built = ec.built_simulation(model, pset)
    full = {**inputs, **conc}
    nominal = window["Q"]
    discharges = [ec.discharge(built, full, c, nominal) for c in rates]
    conc_p, _, _ = ec.balance(inputs, pset, lithium_loss=formation.sei_lithium_loss,
                              soc=section.pulse_soc)
    r_int = ec.pulse_resistance(built, {**inputs, **conc_p},
                                current=section.pulse_c_rate * nominal,
                                duration=section.pulse_duration)
    timings["discharge"] = time.perf_counter() - t2

    ely_name = section.electrolyte
    filling = fill(recipe.filling, design, materials, electrolyte=ely_name,
                   separator=section.separator,
                   particle_radius={"cathode": cal_c.particle_radius,
                                    "anode": cal_a.particle_radius},
                   tortuosity_factor={
                       "cathode": inputs["Positive electrode tortuosity factor (electrolyte)"],
                       "anode": inputs["Negative electrode tortuosity factor (electrolyte)"],
                       "separator": inputs["Separator tortuosity factor (electrolyte)"]},
                   structure=structure, imbibition=imbibition)
    design = design.with_electrolyte(filling.electrolyte_mass)
    i_low = rates.index(min(rates))
    i_high = rates.index(max(rates))
    energy_low = discharges[i_low].energy
    base = ec.base_parameter_values(pset)
    replaced = {name: {"built_in": float(base[name]), "twinline": float(v)}
                for name, v in full.items()
                if name in base.keys() and not callable(base[name])
                and name != "Current function [A]"}
    replaced.update({name: {"built_in": 0.0, "twinline": float(v)}
                     for name, v in formation.replaced.items()})
    fo = formation.to_dict()
    import numpy as np

    decay = np.asarray(formation.ocv_decay_rates)
    fo["ocv_decay_rates"] = decay.tolist()
    fo["ocv_decay_quantiles_mV_per_day"] = (np.quantile(decay, [0.05, 0.5, 0.95])
                                            * 86400e3).tolist()
    fo["flagged"] = list(formation.flagged)
    fo["sei_lithium_loss_fraction"] = formation.sei_lithium_loss / max(
        q_li + formation.sei_lithium_loss, 1e-30)
    fo["cyclable_lithium_Ah"] = q_li
    fo["window"] = dict(window)
    timings["total"] = time.perf_counter() - t0
    citations = tuple(dict.fromkeys(ec.CITATIONS + A_CIT + F_CIT + FO_CIT + (pset,)))
    return CellPerformance(
        model=model, parameter_set=pset, c_rates=rates,
        capacity=tuple(d.capacity for d in discharges),
        energy=tuple(d.energy for d in discharges),
        discharge_curves=tuple({"time_s": list(d.time), "voltage_V": list(d.voltage),
                                "capacity_Ah": list(d.capacity_curve)} for d in discharges),
        nominal_capacity=float(nominal),
        specific_energy=energy_low / design.mass,
        energy_density=energy_low / (design.cell_volume * 1e3),
        rate_capability=discharges[i_high].capacity / discharges[i_low].capacity,
        internal_resistance=float(r_int), mass=design.mass, volume=design.cell_volume,
        n_p_ratio=design.n_p_ratio, design=design.to_dict(), assembly=assembly.to_dict(),
        filling=filling.to_dict(), formation=fo, parameters=full, replaced=replaced,
        tortuosity_source=tau_source, citations=citations, timings=timings)
