r"""Formation: first charge with SEI growth (PyBaMM), degassing, OCV self-discharge screening.

**SEI growth.** The first charge of the fresh cell (anode empty, cathode lithiated) is
simulated with PyBaMM's single-particle model and its solvent-diffusion-limited SEI
submodel with SEI porosity change (Single et al. 2018; Marquis 2020, eq. 5.91):

.. math:: j_{SEI} = -\frac{D_{sol} c_{sol} F}{L_{SEI}}
    \exp\Big[\frac{E_{SEI}}{R}\Big(\frac{1}{T_{ref}} - \frac{1}{T}\Big)\Big],

charging at ``formation.c_rate`` over the SOC window ``soc_min..soc_max`` at
``formation.temperature``, then resting ``rest_time``. The built-in PyBaMM sets carry
:math:`E_{SEI} = 0`; twinline uses 38 kJ mol⁻¹ (O'Kane et al. 2022) and records the
replacement. The SEI parameters of PyBaMM's sets are fitted to ageing, not to formation,
so the lithium the simulated SEI takes is *scaled* to the active material's first-cycle
efficiency :math:`\eta_1` (material library) at the reference protocol (C/10, 25 °C,
full window):

.. math:: Q_{SEI} = (1 - \eta_1)\,Q_{ch}\,\frac{\Delta Q^{sim}_{SEI}(T, C)}
    {\Delta Q^{sim}_{SEI}(25\,°C, C/10)},

so temperature and C-rate act through the physics of the SEI model, and the magnitude
through the measured material property. First-cycle Coulombic efficiency
:math:`CE_1 = 1 - Q_{SEI}/Q_{ch}`; formation time :math:`n_{cyc}(2\Delta SOC/C + t_{rest})`.

**Self-discharge screening.** After formation the cells are stored at open circuit for
``ocv_storage_time``. Each cell loses charge through the continuing SEI growth (PyBaMM's
rate at the end of the simulated rest, per unit capacity, *not* scaled: the calibration
above describes the first reduction of the electrolyte, not the passivated film) and
through a parallel leakage
resistance :math:`R_{leak}`, log-normal over the population (median
``leakage_resistance``, spread ``leakage_spread``, seeded):

.. math:: \frac{dU}{dt} = \frac{I_{SEI} + U/R_{leak}}{dQ/dU},

:math:`dQ/dU` from the open-circuit voltage of the balanced cell. Cells whose decay exceeds
``self_discharge_threshold`` are flagged (as in end-of-line OCV/K-value tests).

References
----------
.. [1] F. Single, A. Latz, B. Horstmann, ChemSusChem 11 (2018) 1950-1955.
       doi:10.1002/cssc.201800077
.. [2] S. E. J. O'Kane, W. Ai, G. Madabattula et al., Phys. Chem. Chem. Phys. 24 (2022)
       7909-7922. doi:10.1039/D2CP00417H
.. [3] D. L. Wood, J. Li, S. J. An, Joule 3 (2019) 2884-2888.
       doi:10.1016/j.joule.2019.11.002 (formation challenges)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Single2018", "OKane2022", "Wood2019", "Sulzer2021")

SEI_ACTIVATION_ENERGY = 38e3  # J/mol, O'Kane et al. 2022 (PyBaMM set OKane2022)
REFERENCE = {"c_rate": 0.1, "temperature": 298.15, "window": 1.0}
_INPUTS = ("Current function [A]", "Ambient temperature [K]", "Initial temperature [K]",
           "Initial concentration in negative electrode [mol.m-3]",
           "Initial concentration in positive electrode [mol.m-3]")


@dataclass(frozen=True)
class FormationResult:
    """Outcome of formation and OCV screening (SI; capacities in A h)."""

    first_cycle_efficiency: float     # [-]
    initial_capacity_loss: float      # fraction of the first-charge capacity [-]
    sei_lithium_loss: float           # [A h]
    sei_lithium_loss_mol: float       # [mol]
    formation_time: float             # [s]
    sei_growth_ratio: float           # simulated SEI growth / reference protocol [-]
    sei_thickness: float              # simulated mean SEI thickness after formation [m]
    ocv_decay_rates: tuple[float, ...] = field(default_factory=tuple)  # [V/s] per cell
    flagged: tuple[int, ...] = field(default_factory=tuple)            # cell indices
    flagged_fraction: float = 0.0
    replaced: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=8)
def _built(parameter_set: str):
    import pybamm

    base = pybamm.ParameterValues(parameter_set)
    pv = base.copy()
    replaced = {}
    if "SEI growth activation energy [J.mol-1]" not in pv.keys():
        # sets without SEI data (e.g. Prada2013): PyBaMM's default SEI set (Chen2020)
        donor = pybamm.ParameterValues("Chen2020")
        missing = {k: donor[k] for k in donor.keys()
                   if k not in pv.keys() and ("SEI" in k or "solvent" in k or "EC " in k
                                              or "Ratio of lithium" in k)}
        pv.update(missing, check_already_exists=False)
        replaced.update({k: float(v) for k, v in missing.items()
                         if isinstance(v, (int, float))})
    if float(pv["SEI growth activation energy [J.mol-1]"]) == 0.0:
        replaced["SEI growth activation energy [J.mol-1]"] = SEI_ACTIVATION_ENERGY
    replaced["Initial SEI thickness [m]"] = 1e-9  # fresh graphite: native film only
    pv.update(replaced)
    # a fresh cell (empty anode) sits below the discharge cut-off: no lower cut-off here
    pv.update({"Lower voltage cut-off [V]": 0.0})
    pv.update({k: "[input]" for k in _INPUTS})
    model = pybamm.lithium_ion.SPM({"SEI": "solvent-diffusion limited",
                                    "SEI porosity change": "true"})
    sim = pybamm.Simulation(model, parameter_values=pv, solver=pybamm.IDAKLUSolver())
    param = pybamm.LithiumIonParameters()
    q_n = float(base.evaluate(param.n.Q_init))
    c_n = float(base["Maximum concentration in negative electrode [mol.m-3]"])
    c_p = float(base["Maximum concentration in positive electrode [mol.m-3]"])
    return sim, base, param, q_n, c_n, c_p, replaced


@lru_cache(maxsize=8)
def esoh_solver(parameter_set: str):
    """PyBaMM's electrode state-of-health solver for a built-in set (cached)."""
    import pybamm

    base = pybamm.ParameterValues(parameter_set)
    param = pybamm.LithiumIonParameters()
    return pybamm.lithium_ion.ElectrodeSOHSolver(base, param), param, base


@lru_cache(maxsize=8)
def lithiated_stoichiometry(parameter_set: str) -> float:
    """Positive-electrode stoichiometry at 0 % SOC of a built-in set (its own balance) [-]."""
    solver, param, base = esoh_solver(parameter_set)
    q = {"Q_n": float(base.evaluate(param.n.Q_init)), "Q_p": float(base.evaluate(param.p.Q_init)),
         "Q_Li": float(base.evaluate(param.Q_Li_particles_init))}
    return float(solver.solve(q)["y_0"])


@lru_cache(maxsize=64)
def simulate_sei(parameter_set: str, *, c_rate: float, temperature: float,
                 window: float, rest_time: float) -> dict[str, float]:
    """First charge + rest of the set's own cell with SEI growth (PyBaMM SPM).

    Returns the simulated SEI capacity loss at the end of charge and rest [A h], the SEI
    loss rate at the end of the rest [A], the mean SEI thickness [m] and the charged
    capacity [A h] of the set's cell.
    """
    import pybamm

    sim, base, _param, _q_n, c_n, c_p, _ = _built(parameter_set)
    q = float(base["Nominal cell capacity [A.h]"])
    t_charge = 3600.0 * window / c_rate
    inp = {"Current function [A]": -c_rate * q, "Ambient temperature [K]": temperature,
           "Initial temperature [K]": temperature,
           "Initial concentration in negative electrode [mol.m-3]": 0.01 * c_n,
           "Initial concentration in positive electrode [mol.m-3]": float(
               base["Initial concentration in positive electrode [mol.m-3]"])}
    # start from the lithiated cathode of the set's own discharged state
    inp["Initial concentration in positive electrode [mol.m-3]"] = (
        lithiated_stoichiometry(parameter_set) * c_p)
    try:
        sol = sim.solve([0.0, t_charge], inputs=inp)
    except pybamm.SolverError as err:
        raise CellError(f"formation at {c_rate:g} C and {temperature - 273.15:.0f} °C cannot "
                        f"be solved: {str(err).splitlines()[0]}") from None
    loss = float(sol["Loss of capacity to negative SEI [A.h]"].entries[-1])
    thick = float(sol["X-averaged negative SEI thickness [m]"].entries[-1])
    rate = 0.0
    if rest_time > 0:
        # rest: SEI keeps growing (solvent diffusion), current zero
        L = thick
        # dL/dt ∝ 1/L  →  L(t)² = L0² + k t with k from the end of the charge
        t_arr = np.asarray(sol["Time [s]"].entries)
        L_arr = np.asarray(sol["X-averaged negative SEI thickness [m]"].entries)
        L0 = float(L_arr[0])
        k = (L ** 2 - L0 ** 2) / max(float(t_arr[-1]), 1e-9)
        L_rest = np.sqrt(L ** 2 + k * rest_time)
        frac = (L_rest - L0) / max(L - L0, 1e-30)
        loss_rest = loss * frac
        # loss rate at the end of the rest: dQ/dt = loss/(L-L0) · k / (2 L_rest)
        rate = loss / max(L - L0, 1e-30) * k / (2.0 * L_rest)
        loss, thick = float(loss_rest), float(L_rest)
    else:
        rate = loss / max(t_charge, 1.0) / 2.0
    return {"loss": loss, "rate": float(rate), "thickness": thick, "capacity": q}


def ocv_slope(parameter_set: str, window: dict[str, float], soc: float, capacity: float
              ) -> float:
    """dU/dQ of the balanced cell at ``soc`` [V per A h] from the electrodes' OCPs."""
    import pybamm

    _, base, param, *_ = _built(parameter_set)

    def ocv(s):
        x = window["x_0"] + s * (window["x_100"] - window["x_0"])
        y = window["y_0"] + s * (window["y_100"] - window["y_0"])
        T = pybamm.Scalar(298.15)
        return float(base.evaluate(param.p.prim.U(pybamm.Scalar(y), T))
                     - base.evaluate(param.n.prim.U(pybamm.Scalar(x), T)))

    ds = 0.05
    lo, hi = max(soc - ds, 0.0), min(soc + ds, 1.0)
    return (ocv(hi) - ocv(lo)) / ((hi - lo) * capacity)


def form(section: Any, *, parameter_set: str, capacity: float, first_cycle_efficiency: float,
         window: dict[str, float] | None = None, voltage: float = 3.7, seed: int = 0
         ) -> FormationResult:
    """Form the cell and screen the population for self-discharge.

    Parameters
    ----------
    section : FormationSection
        Protocol: ``c_rate`` [-], ``temperature`` [K], ``cycles``, ``soc_min``/``soc_max``
        [-], ``rest_time`` [s], ``degassing``; screening: ``ocv_storage_time`` [s],
        ``self_discharge_threshold`` [V/s], ``screened_cells``, ``leakage_resistance`` [Ω],
        ``leakage_spread`` [-].
    parameter_set : str
        PyBaMM parameter set of the chemistry.
    capacity : float
        First-charge capacity of the cell [A h] (before losses), > 0.
    first_cycle_efficiency : float
        The anode active material's first-cycle efficiency at the reference protocol [-].
    window : dict, optional
        Stoichiometry window (``x_0``...``y_100``) of the balanced cell for the OCV slope.
    voltage : float
        Storage voltage [V] for the leakage current.
    seed : int
        Seed of the leakage-resistance population.

    Raises
    ------
    CellError
        If ``capacity`` <= 0, the efficiency is not in (0, 1] or PyBaMM fails.
    """
    if not capacity > 0:
        raise CellError(f"formation needs a cell capacity > 0 A h, got {capacity:g} A h")
    if not 0 < first_cycle_efficiency <= 1:
        raise CellError(f"first_cycle_efficiency must be in (0, 1], got {first_cycle_efficiency}")
    span = section.soc_max - section.soc_min
    sim = simulate_sei(parameter_set, c_rate=float(section.c_rate),
                       temperature=float(section.temperature), window=float(span),
                       rest_time=float(section.rest_time))
    ref = simulate_sei(parameter_set, c_rate=REFERENCE["c_rate"],
                       temperature=REFERENCE["temperature"], window=REFERENCE["window"],
                       rest_time=float(section.rest_time))
    ratio = sim["loss"] / ref["loss"] if ref["loss"] > 0 else 1.0
    q_charge = capacity * span
    # more cycles: SEI keeps growing with sqrt(time) (diffusion-limited)
    ratio_total = ratio * np.sqrt(section.cycles)
    loss = (1.0 - first_cycle_efficiency) * capacity * ratio_total
    loss = min(loss, 0.99 * q_charge)
    ce1 = 1.0 - (1.0 - first_cycle_efficiency) * capacity * ratio / q_charge
    t_form = section.cycles * (2.0 * 3600.0 * span / section.c_rate + section.rest_time)
    if section.degassing:
        t_form += 1800.0  # opening, degassing under vacuum, re-sealing (about 30 min)
    _, _, _, _, _, _, replaced = _built(parameter_set)
    # self-discharge screening
    # storage: the passivated film grows at PyBaMM's own (unscaled) rate, per capacity
    i_sei = sim["rate"] * capacity / sim["capacity"] * 3600.0     # [A]
    dudq = ocv_slope(parameter_set, window, 0.5, capacity) if window else 0.5 / capacity
    rng = np.random.default_rng(seed)
    r_leak = section.leakage_resistance * np.exp(
        rng.normal(0.0, section.leakage_spread, size=section.screened_cells))
    rates = (i_sei + voltage / r_leak) * dudq / 3600.0          # V/s
    flagged = np.flatnonzero(rates > section.self_discharge_threshold)
    return FormationResult(
        first_cycle_efficiency=float(ce1), initial_capacity_loss=float(loss / capacity),
        sei_lithium_loss=float(loss), sei_lithium_loss_mol=float(loss * 3600.0 / 96485.33212),
        formation_time=float(t_form), sei_growth_ratio=float(ratio),
        sei_thickness=float(sim["thickness"]), ocv_decay_rates=tuple(float(r) for r in rates),
        flagged=tuple(int(i) for i in flagged),
        flagged_fraction=float(flagged.size / section.screened_cells), replaced=replaced)


MODELS = {"pybamm-sei": form}
