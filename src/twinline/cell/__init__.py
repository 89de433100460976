"""twinline.cell: the electrochemistry of the cell the chain builds, through PyBaMM.

The cell steps themselves (assembly, filling, formation) are process steps
(:mod:`twinline.process.assembly` ...) walked by the chain (:mod:`twinline.chain.cell`);
this package gives them what only an electrochemical model knows, and nothing else:

* :func:`cell_inputs`: the PyBaMM inputs of an assembled cell (geometry, volume fractions,
  tortuosity factors — from a 3D analysis or the Bruggeman closed form);
* :func:`formation_inputs`: the balanced cell before formation (capacity, cyclable lithium,
  OCV slope) and the simulated SEI growth (:mod:`twinline.cell.formation`);
* :func:`performance`: discharges of the formed cell at several C-rates, a pulse resistance,
  specific energy and energy density (:class:`CellPerformance`).

Nothing heavy is imported until it is called.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from twinline.spec.errors import CellError
from twinline.structure.closed_forms import bruggeman_tortuosity_factor

__all__ = ["CellPerformance", "FormationInputs", "cell_inputs", "formation_inputs",
           "performance"]


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

    def outputs(self) -> dict[str, tuple[float, str]]:
        """Catalogue outputs of the electrochemical model: id → (SI value, SI unit).

        The cell steps' own outputs (N/P ratio, electrolyte quantity, Coulombic efficiency
        ...) are reported by the steps (``OUTPUTS`` of their modules).
        """
        return {"formation.internal_resistance": (self.internal_resistance, "ohm")}



def cell_inputs(design: Any, cathode: Any, anode: Any, separator: Any, *,
                structure: Any = None, temperature: float = 298.15
                ) -> tuple[dict[str, float], str]:
    """PyBaMM inputs from the design and the calendered electrodes (SI).

    The cathode's tortuosity factors come from ``structure`` when it is given
    (``tortuosity_factor_pore``/``_solid``: a 3D analysis, or the chain's closed form fitted to
    the 3D model, which names itself by ``tortuosity_source``), else Bruggeman
    (:func:`~twinline.structure.closed_forms.bruggeman_tortuosity_factor`); the separator's
    from its MacMullin number :math:`N_M = \\tau/\\varepsilon`.

    PyBaMM's transport efficiency is :math:`B_e = \\varepsilon/\\tau_e` for the electrolyte and
    :math:`B_s = (1-\\varepsilon)/\\tau_s` for the solid, with :math:`\\varepsilon` the *total*
    porosity. A structure's tortuosity factors are defined on the phases it resolves
    (:math:`\\tau = \\phi\\,D_0/D_{eff}`, :math:`\\phi` the resolved pore fraction
    ``structure.porosity``: the CBD's own pores are not in it and carry no ions in the 3D
    model). So that PyBaMM's electrolyte and solid see the same :math:`D_{eff}/D_0` as the run
    reports (one electrode, one answer), they are re-based on the total porosity:

    .. math:: \\tau_e = \\tau_{pore}\\,\\varepsilon/\\phi, \\qquad
              \\tau_s = \\tau_{solid}\\,(1-\\varepsilon)/(1-\\phi)

    (ε = 0.265, φ = 0.169 for the NMC111 example: PyBaMM would otherwise see a 1.6× higher
    ionic conductance than the 3D image gives).
    """
    tau = bruggeman_tortuosity_factor
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
        "Negative electrode tortuosity factor (electrolyte)": float(tau(anode.porosity)),
        "Negative electrode tortuosity factor (electrode)": float(tau(anode.am_volume_fraction)),
        "Positive electrode tortuosity factor (electrolyte)": float(tau(cathode.porosity)),
        "Positive electrode tortuosity factor (electrode)": float(
            tau(cathode.am_volume_fraction)),
        "Separator tortuosity factor (electrolyte)": float(
            separator["macmullin_number"]) * float(design.separator_porosity),
        "Electrode height [m]": float(design.electrode_height),
        "Electrode width [m]": float(design.electrode_width),
        "Ambient temperature [K]": float(temperature),
        "Initial temperature [K]": float(temperature),
    }
    source = "bruggeman"
    if structure is not None and _finite(getattr(structure, "tortuosity_factor_pore", None)):
        eps = float(cathode.porosity)
        phi = float(getattr(structure, "porosity", float("nan")))
        if not (_finite(phi) and phi < 1):
            phi = eps  # no resolved fraction given: the factors are taken as on the total
        inp["Positive electrode tortuosity factor (electrolyte)"] = float(
            structure.tortuosity_factor_pore) * eps / phi
        # a 3D analysis, or the chain's closed form fitted to it (it names itself)
        source = str(getattr(structure, "tortuosity_source", "structure"))
        if _finite(getattr(structure, "tortuosity_factor_solid", None)):
            inp["Positive electrode tortuosity factor (electrode)"] = float(
                structure.tortuosity_factor_solid) * (1 - eps) / (1 - phi)
    return inp, source


def _finite(x: Any) -> bool:
    """True for a finite positive number (a structure field may be NaN when not computed)."""
    try:
        return math.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


def parameter_set_for(materials: Any, cathode_am: str) -> str:
    """The PyBaMM set named by the cathode material (``pybamm_parameter_set``)."""
    from twinline.cell.electrochemistry import DEFAULT_PARAMETER_SET

    return str(materials[cathode_am].get("pybamm_parameter_set", DEFAULT_PARAMETER_SET))


@dataclass(frozen=True)
class FormationInputs:
    """What the formation step needs from the electrochemical model (SI; A h).

    ``parameter_set`` the PyBaMM set; ``inputs`` the PyBaMM inputs of the assembled cell;
    ``tortuosity_source`` ``"structure"`` or ``"bruggeman"``; ``capacity`` of the balanced
    cell before formation; ``lithium_inventory`` its cyclable lithium; ``ocv_slope`` dU/dQ
    at 50 % SOC [V per A h]; ``sei`` the simulated SEI growth of the protocol.
    """

    parameter_set: str
    inputs: dict[str, float]
    tortuosity_source: str
    capacity: float
    lithium_inventory: float
    ocv_slope: float
    sei: Any


def pybamm_inputs(cell: Any, materials: Any, *, structure: Any = None
                  ) -> tuple[str, dict[str, float], str]:
    """PyBaMM set, inputs and tortuosity source of an assembled cell (``Cell`` product).

    The set is re-based on the manufactured electrodes (:func:`twinline.cell.rebase.
    rebase_inputs`): physical AM volume fractions, maximum concentrations from the
    materials' practical specific capacities.
    """
    from twinline.cell.rebase import rebase_inputs

    sep = materials.require(cell.separator, "separator", parameter="cell.separator")
    pset = parameter_set_for(materials, cell.cathode.composition.active_material)
    inputs, source = cell_inputs(cell.design, cell.cathode, cell.anode, sep,
                                 structure=structure)
    inputs, _ = rebase_inputs(inputs, pset, cathode=cell.cathode, anode=cell.anode,
                              materials=materials)
    return pset, inputs, source


def formation_inputs(cell: Any, section: Any, materials: Any, *, structure: Any = None
                     ) -> FormationInputs:
    """Balance the assembled cell and simulate the SEI growth of the formation protocol."""
    from twinline.cell import electrochemistry as ec
    from twinline.cell.formation import ocv_slope, sei_growth
    from twinline.cell.rebase import fresh_lithium

    pset, inputs, source = pybamm_inputs(cell, materials, structure=structure)
    eta = float(materials[cell.anode.composition.active_material].get(
        "first_cycle_efficiency"))
    q_fresh = fresh_lithium(inputs, pset, anode_first_cycle_efficiency=eta)
    _, window0, q_li0 = ec.balance(inputs, pset, lithium_loss=0.0,
                                   lithium_inventory=q_fresh)
    return FormationInputs(
        parameter_set=pset, inputs=inputs, tortuosity_source=source,
        capacity=float(window0["Q"]), lithium_inventory=float(q_li0),
        ocv_slope=float(ocv_slope(pset, window0, 0.5, window0["Q"])),
        sei=sei_growth(pset, section))


def check_c_rates(c_rates: tuple[float, ...]) -> tuple[float, ...]:
    """The C-rates as floats; none, or one outside (0, 20], is a :class:`CellError`."""
    rates = tuple(float(c) for c in c_rates)
    if not rates:
        raise CellError("give at least one C-rate")
    for c in rates:
        if not (math.isfinite(c) and 0 < c <= 20):
            raise CellError(f"C-rate {c:g} is outside the range the model solves: "
                            f"0 < C-rate <= 20")
    return rates


def performance(formed: Any, section: Any, prepared: FormationInputs, *,
                c_rates: tuple[float, ...] = (0.5, 1.0, 2.0), model: str = "DFN"
                ) -> CellPerformance:
    """Discharge the formed cell at ``c_rates`` and take a pulse (PyBaMM).

    Parameters
    ----------
    formed : FormedCell
        The product of the formation step.
    section : CellSection
        ``pulse_soc``, ``pulse_c_rate``, ``pulse_duration``.
    prepared : FormationInputs
        From :func:`formation_inputs` (PyBaMM set and inputs of this cell).
    c_rates : tuple of float
        Discharge C-rates [1/h] (1 C = the formed cell's capacity in one hour).
    model : {"DFN", "SPMe", "SPM"}

    Raises
    ------
    CellError
        A C-rate outside (0, 20] or one the model cannot solve.
    """
    import numpy as np

    from twinline.cell import electrochemistry as ec
    from twinline.cell.formation import CITATIONS as SEI_CIT

    t0 = time.perf_counter()
    rates = check_c_rates(c_rates)
    pset, inputs = prepared.parameter_set, prepared.inputs
    loss = formed.sei_lithium_loss
    q_fresh = prepared.lithium_inventory
    conc, window, q_li = ec.balance(inputs, pset, lithium_loss=loss, lithium_inventory=q_fresh)
    built = ec.built_simulation(model, pset)
    full = {**inputs, **conc}
    nominal = window["Q"]
    discharges = [ec.discharge(built, full, c, nominal) for c in rates]
    conc_p, _, _ = ec.balance(inputs, pset, lithium_loss=loss, soc=section.pulse_soc,
                              lithium_inventory=q_fresh)
    r_int = ec.pulse_resistance(built, {**inputs, **conc_p},
                                current=section.pulse_c_rate * nominal,
                                duration=section.pulse_duration)
    filled = formed.filled
    cell = filled.cell
    design = cell.design
    i_low, i_high = rates.index(min(rates)), rates.index(max(rates))
    energy_low = discharges[i_low].energy
    base = ec.base_parameter_values(pset)
    replaced = {name: {"built_in": float(base[name]), "twinline": float(v)}
                for name, v in full.items()
                if name in base.keys() and not callable(base[name])
                and name != "Current function [A]"}
    replaced.update({name: {"built_in": 0.0, "twinline": float(v)}
                     for name, v in formed.replaced.items()})
    fo = {k: v for k, v in formed.to_dict().items() if k != "filled"}
    decay = np.asarray(formed.ocv_decay_rates)
    fo["ocv_decay_rates"] = decay.tolist()
    fo["ocv_decay_quantiles_mV_per_day"] = (np.quantile(decay, [0.05, 0.5, 0.95])
                                            * 86400e3).tolist()
    fo["flagged"] = list(formed.flagged)
    fo["cyclable_lithium_Ah"] = q_li
    fo["window"] = dict(window)
    assembly = {k: v for k, v in cell.to_dict().items()
                if k not in ("design", "cathode", "anode", "separator", "electrolyte")}
    filling = {k: v for k, v in filled.to_dict().items() if k != "cell"}
    citations = tuple(dict.fromkeys(ec.CITATIONS + SEI_CIT + (pset,)))
    fo["fresh_lithium_Ah"] = q_fresh
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
        n_p_ratio=design.n_p_ratio, design=design.to_dict(), assembly=assembly,
        filling=filling, formation=fo, parameters=full, replaced=replaced,
        tortuosity_source=prepared.tortuosity_source, citations=citations,
        timings={"discharge": time.perf_counter() - t0})
