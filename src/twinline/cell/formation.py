r"""SEI growth during formation, simulated with PyBaMM, for the formation step.

The formation step (:mod:`twinline.process.formation`) needs three things only PyBaMM can
give; the chain computes them here and passes them in:

* the SEI growth of the protocol relative to the reference protocol (:func:`sei_growth`):
  the first charge of the fresh cell (anode empty, cathode lithiated) with PyBaMM's
  single-particle model and its solvent-diffusion-limited SEI submodel with SEI porosity
  change (Single et al. 2018; Marquis 2020, eq. 5.91),

  .. math:: j_{SEI} = -\frac{D_{sol} c_{sol} F}{L_{SEI}}
      \exp\Big[\frac{E_{SEI}}{R}\Big(\frac{1}{T_{ref}} - \frac{1}{T}\Big)\Big],

  charging at ``formation.c_rate`` over ``soc_min..soc_max`` at ``formation.temperature``,
  then resting ``rest_time`` (the SEI keeps growing as :math:`L^2 = L_0^2 + kt`). The
  built-in PyBaMM sets carry :math:`E_{SEI} = 0`; twinline uses 38 kJ mol⁻¹ (O'Kane et al.
  2022) and records the replacement;
* the SEI loss rate at the end of the rest (for the self-discharge screening);
* the slope :math:`dU/dQ` of the balanced cell's open-circuit voltage (:func:`ocv_slope`).

References
----------
.. [1] F. Single, A. Latz, B. Horstmann, ChemSusChem 11 (2018) 1950-1955.
       doi:10.1002/cssc.201800077
.. [2] S. E. J. O'Kane, W. Ai, G. Madabattula et al., Phys. Chem. Chem. Phys. 24 (2022)
       7909-7922. doi:10.1039/D2CP00417H
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from twinline.process.formation import SEIGrowth
from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Single2018", "OKane2022", "Sulzer2021")

SEI_ACTIVATION_ENERGY = 38e3  # J/mol, O'Kane et al. 2022 (PyBaMM set OKane2022)
REFERENCE = {"c_rate": 0.1, "temperature": 298.15, "window": 1.0}
_INPUTS = ("Current function [A]", "Ambient temperature [K]", "Initial temperature [K]",
           "Initial concentration in negative electrode [mol.m-3]",
           "Initial concentration in positive electrode [mol.m-3]")


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


def sei_growth(parameter_set: str, section: Any) -> SEIGrowth:
    """SEI growth of the formation protocol ``section`` relative to the reference protocol.

    Both are simulated on the parameter set's own cell (:func:`simulate_sei`, cached), so
    the ratio carries the effect of temperature, C-rate and window, and the loss rate is per
    unit capacity of that cell.
    """
    span = float(section.soc_max - section.soc_min)
    sim = simulate_sei(parameter_set, c_rate=float(section.c_rate),
                       temperature=float(section.temperature), window=span,
                       rest_time=float(section.rest_time))
    ref = simulate_sei(parameter_set, c_rate=REFERENCE["c_rate"],
                       temperature=REFERENCE["temperature"], window=REFERENCE["window"],
                       rest_time=float(section.rest_time))
    ratio = sim["loss"] / ref["loss"] if ref["loss"] > 0 else 1.0
    replaced = _built(parameter_set)[-1]
    return SEIGrowth(growth_ratio=float(ratio),
                     loss_rate_per_capacity=float(sim["rate"] / sim["capacity"]),
                     thickness=float(sim["thickness"]), replaced=dict(replaced))
