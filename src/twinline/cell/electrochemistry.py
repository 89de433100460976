r"""Electrochemistry of the cell through PyBaMM (DFN, SPMe or SPM).

The model starts from the built-in PyBaMM parameter set closest to the chemistry (the
cathode active material's ``pybamm_parameter_set`` in the material library, e.g.
``Mohtat2020`` for NMC622, ``Chen2020`` for NMC811) and replaces the geometric and
microstructural parameters with the values the chain predicted; every replacement is
recorded in :attr:`CellParameters.replaced`.

Speed: the geometric parameters below are PyBaMM ``"[input]"`` parameters and the 1D
meshes are :class:`pybamm.SymbolicUniform1DSubMesh` (nodes in fractions of each domain's
length), so one built and discretised model per (model, parameter set) serves every recipe:
a thickness change is an input change, not a rebuild (:func:`built_simulation` caches it).

Inputs (all SI): electrode and separator thicknesses, porosities, active-material volume
fractions, particle radii, tortuosity factors of the electrolyte and solid phases
(``"transport efficiency": "tortuosity factor"``; :math:`B = \varepsilon/\tau`), electrode
height and width, initial lithium concentrations, ambient temperature and current.
Without a measured tortuosity factor the Bruggeman relation
:math:`\tau = \varepsilon^{1-b}` (:math:`b = 1.5`) is the fallback [2]_
(:func:`twinline.structure.closed_forms.bruggeman_tortuosity_factor`).

References
----------
.. [1] V. Sulzer, S. G. Marquis, R. Timms, M. Robinson, S. J. Chapman, J. Open Res. Softw.
       9 (2021) 14. doi:10.5334/jors.309 (PyBaMM)
.. [2] D. A. G. Bruggeman, Ann. Phys. 416 (1935) 636-664. doi:10.1002/andp.19354160705
.. [3] M. Doyle, T. F. Fuller, J. Newman, J. Electrochem. Soc. 140 (1993) 1526.
       doi:10.1149/1.2221597 (DFN)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from twinline.spec.errors import CellError
from twinline.structure.closed_forms import BRUGGEMAN_EXPONENT, bruggeman_tortuosity_factor

CITATIONS: tuple[str, ...] = ("Sulzer2021", "Doyle1993", "Bruggeman1935")

MODEL_NAMES: tuple[str, ...] = ("DFN", "SPMe", "SPM")
DEFAULT_PARAMETER_SET = "Chen2020"

#: PyBaMM parameters that are inputs of the cached model (one build serves all recipes).
INPUT_NAMES: tuple[str, ...] = (
    "Negative electrode thickness [m]", "Positive electrode thickness [m]",
    "Separator thickness [m]",
    "Negative electrode porosity", "Positive electrode porosity", "Separator porosity",
    "Negative electrode active material volume fraction",
    "Positive electrode active material volume fraction",
    "Negative particle radius [m]", "Positive particle radius [m]",
    "Negative electrode tortuosity factor (electrolyte)",
    "Positive electrode tortuosity factor (electrolyte)",
    "Separator tortuosity factor (electrolyte)",
    "Negative electrode tortuosity factor (electrode)",
    "Positive electrode tortuosity factor (electrode)",
    "Electrode height [m]", "Electrode width [m]",
    "Initial concentration in negative electrode [mol.m-3]",
    "Initial concentration in positive electrode [mol.m-3]",
    "Maximum concentration in negative electrode [mol.m-3]",
    "Maximum concentration in positive electrode [mol.m-3]",
    "Ambient temperature [K]", "Initial temperature [K]",
    "Current function [A]",
)

#: Inputs a caller may leave out: the set's own value is used (:meth:`BuiltSimulation.solve`).
#: The maximum concentrations are inputs so that a cell re-based on its manufactured
#: electrodes (:mod:`twinline.cell.rebase`) shares the one built model; a cell that is not
#: re-based (the set as fitted, or a caller that only changes the geometry) keeps the set's.
OPTIONAL_INPUTS: tuple[str, ...] = (
    "Maximum concentration in negative electrode [mol.m-3]",
    "Maximum concentration in positive electrode [mol.m-3]",
)

_X_DOMAINS = ("negative electrode", "separator", "positive electrode",
              "negative particle", "positive particle")
_LOCK = threading.Lock()


def _pybamm():
    from twinline.spec.errors import require

    pybamm = require("pybamm", "core")
    return pybamm


@lru_cache(maxsize=16)
def base_parameter_values(parameter_set: str):
    """The built-in PyBaMM parameter set (cached; copy before editing)."""
    pybamm = _pybamm()
    try:
        return pybamm.ParameterValues(parameter_set)
    except (ValueError, KeyError) as err:  # unknown set name
        raise CellError(f"PyBaMM parameter set {parameter_set!r} cannot be loaded: {err}") from None


def _model(pybamm, model: str, options: dict[str, str]):
    if model not in MODEL_NAMES:
        import difflib

        near = difflib.get_close_matches(model, MODEL_NAMES, n=1)
        raise CellError(f"cell model {model!r} is unknown; choose from {list(MODEL_NAMES)}"
                        + (f"; did you mean {near[0]!r}?" if near else ""))
    return getattr(pybamm.lithium_ion, model)(options)


@dataclass
class BuiltSimulation:
    """A discretised PyBaMM model whose geometry is an input (one per model and set)."""

    model: str
    parameter_set: str
    simulation: Any
    parameter_values: Any
    base: Any
    lock: threading.Lock = field(default_factory=threading.Lock)

    def complete(self, inputs: dict[str, float]) -> dict[str, float]:
        """``inputs`` with the set's own value for each :data:`OPTIONAL_INPUTS` left out."""
        out = {name: float(self.base[name]) for name in OPTIONAL_INPUTS}
        out.update(inputs)
        return out

    def solve(self, t_end: float, inputs: dict[str, float], *, n_points: int = 200):
        """Solve from rest for ``t_end`` seconds (stops at the voltage cut-off)."""
        t_eval = np.linspace(0.0, t_end, n_points)
        full = self.complete(inputs)
        with self.lock:
            return self.simulation.solve([0.0, t_end], inputs=full, t_interp=t_eval)


@lru_cache(maxsize=8)
def built_simulation(model: str = "DFN", parameter_set: str = DEFAULT_PARAMETER_SET
                     ) -> BuiltSimulation:
    """Build (once) the PyBaMM simulation with geometric inputs (see module docstring)."""
    pybamm = _pybamm()
    base = base_parameter_values(parameter_set)
    pv = base.copy()
    pv.update({name: "[input]" for name in INPUT_NAMES}, check_already_exists=False)
    with _LOCK:
        mdl = _model(pybamm, model, {"transport efficiency": "tortuosity factor"})
        submesh = dict(mdl.default_submesh_types)
        for dom in _X_DOMAINS:
            submesh[dom] = pybamm.SymbolicUniform1DSubMesh
        solver = pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8)
        sim = pybamm.Simulation(mdl, parameter_values=pv, submesh_types=submesh,
                                solver=solver)
    return BuiltSimulation(model, parameter_set, sim, pv, base)


def default_inputs(parameter_set: str = DEFAULT_PARAMETER_SET) -> dict[str, float]:
    """The inputs that reproduce the built-in set itself (Bruggeman tortuosity factors)."""
    base = base_parameter_values(parameter_set)
    out: dict[str, float] = {}
    for name in INPUT_NAMES:
        if "tortuosity" in name:
            continue
        out[name] = float(base[name])
    for dom in ("Negative electrode", "Positive electrode", "Separator"):
        b = float(base.get(f"{dom} Bruggeman coefficient (electrolyte)", BRUGGEMAN_EXPONENT))
        out[f"{dom} tortuosity factor (electrolyte)"] = float(
            bruggeman_tortuosity_factor(out[f"{dom} porosity"], b))
    for dom in ("Negative electrode", "Positive electrode"):
        b = float(base.get(f"{dom} Bruggeman coefficient (electrode)", BRUGGEMAN_EXPONENT))
        out[f"{dom} tortuosity factor (electrode)"] = float(
            bruggeman_tortuosity_factor(out[f"{dom} active material volume fraction"], b))
    return out


@dataclass(frozen=True)
class CellParameters:
    """PyBaMM inputs of one cell and what they replaced in the base set."""

    parameter_set: str
    inputs: dict[str, float]
    replaced: dict[str, dict[str, float]]
    nominal_capacity: float          # [A h] between the cut-offs at C/20-like rates
    stoichiometry: dict[str, float]  # x_0, x_100, y_0, y_100
    cyclable_lithium: float          # [A h]


def electrode_capacities(inputs: dict[str, float], parameter_set: str) -> tuple[float, float]:
    r"""Theoretical capacities of the negative and positive electrodes [A h].

    .. math:: Q = \varepsilon_{AM} L A c_{max} F / 3600
    """
    area = inputs["Electrode height [m]"] * inputs["Electrode width [m]"]
    f = 96485.33212 / 3600.0
    q = []
    for dom, d in (("Negative", "negative"), ("Positive", "positive")):
        q.append(inputs[f"{dom} electrode active material volume fraction"]
                 * inputs[f"{dom} electrode thickness [m]"] * area
                 * max_concentration(inputs, parameter_set, d) * f)
    return q[0], q[1]


def max_concentration(inputs: dict[str, float], parameter_set: str, electrode: str) -> float:
    """Maximum concentration [mol m⁻³] of ``electrode`` ("negative"/"positive"): the re-based
    value in ``inputs`` (:mod:`twinline.cell.rebase`), else the set's own."""
    name = f"Maximum concentration in {electrode} electrode [mol.m-3]"
    if name in inputs:
        return float(inputs[name])
    return float(base_parameter_values(parameter_set)[name])


def _esoh(parameter_set: str):
    from twinline.cell.formation import esoh_solver

    solver, param, _ = esoh_solver(parameter_set)
    return solver, param


def lithiated_stoichiometry(parameter_set: str) -> float:
    """Positive-electrode stoichiometry at 0 % SOC of the built-in set (its own balance)."""
    from twinline.cell.formation import lithiated_stoichiometry as _ls

    return _ls(parameter_set)


def _solve_esoh(solver, q: dict[str, float]) -> dict[str, float]:
    pybamm = _pybamm()
    try:
        res = solver.solve(q)
    except (pybamm.SolverError, ValueError, ZeroDivisionError) as err:
        raise CellError(
            f"the electrodes cannot be balanced between the voltage cut-offs (negative "
            f"{q['Q_n']:.4g} A h, positive {q['Q_p']:.4g} A h, cyclable lithium "
            f"{q['Q_Li']:.4g} A h): {str(err).splitlines()[0]}") from None
    return {k: float(res[k]) for k in ("x_0", "x_100", "y_0", "y_100", "Q")}


def balance(inputs: dict[str, float], parameter_set: str, *, lithium_loss: float = 0.0,
            soc: float = 1.0, lithium_inventory: float | None = None
            ) -> tuple[dict[str, float], dict[str, float], float]:
    r"""Initial concentrations of a cell at ``soc`` after losing ``lithium_loss`` [A h].

    Cyclable lithium of the assembled (fresh) cell is ``lithium_inventory`` [A h]
    (:func:`twinline.cell.rebase.fresh_lithium`); without it, the positive capacity times
    the set's own lithiated stoichiometry :math:`y_0` (the set's *formed* cell: then
    ``lithium_loss`` should be 0, see :mod:`twinline.cell.rebase`). Formation takes
    ``lithium_loss`` from it. The
    electrode state-of-health equations of PyBaMM (Mohtat et al. 2019) give the
    stoichiometry windows between the voltage cut-offs.

    Returns
    -------
    concentrations : dict
        Initial concentrations of both electrodes [mol m⁻³] (PyBaMM input names).
    window : dict
        ``x_0``, ``x_100``, ``y_0``, ``y_100`` [-] and ``Q`` [A h].
    q_li : float
        Cyclable lithium after formation [A h].
    """
    q_n, q_p = electrode_capacities(inputs, parameter_set)
    q_fresh = (q_p * lithiated_stoichiometry(parameter_set) if lithium_inventory is None
               else float(lithium_inventory))
    q_li = q_fresh - float(lithium_loss)
    if q_li <= 0:
        raise CellError(f"formation consumed all cyclable lithium ({lithium_loss:.4g} A h lost)")
    solver, _ = _esoh(parameter_set)
    win = _solve_esoh(solver, {"Q_n": q_n, "Q_p": q_p, "Q_Li": q_li})
    x = win["x_0"] + soc * (win["x_100"] - win["x_0"])
    y = win["y_0"] + soc * (win["y_100"] - win["y_0"])
    conc = {
        "Initial concentration in negative electrode [mol.m-3]":
            x * max_concentration(inputs, parameter_set, "negative"),
        "Initial concentration in positive electrode [mol.m-3]":
            y * max_concentration(inputs, parameter_set, "positive"),
    }
    return conc, win, q_li


@dataclass(frozen=True)
class Discharge:
    """One constant-current discharge: curves and totals (SI; capacity in A h)."""

    c_rate: float
    current: float                     # [A]
    time: tuple[float, ...]            # [s]
    voltage: tuple[float, ...]         # [V]
    capacity_curve: tuple[float, ...]  # [A h]
    capacity: float                    # [A h]
    energy: float                      # [W h]
    termination: str


def discharge(built: BuiltSimulation, inputs: dict[str, float], c_rate: float,
              nominal_capacity: float) -> Discharge:
    """Constant-current discharge at ``c_rate`` until the lower cut-off voltage.

    Raises
    ------
    CellError
        If PyBaMM cannot solve it (the message names the C-rate) or the C-rate is <= 0.
    """
    c = float(c_rate)
    if not np.isfinite(c) or c <= 0 or c > 20:
        raise CellError(f"C-rate {c_rate!r} is outside the range the model solves: "
                        f"0 < C-rate <= 20")
    current = c * nominal_capacity
    inp = dict(inputs)
    inp["Current function [A]"] = current
    t_end = 3600.0 / c * 1.3
    pybamm = _pybamm()
    try:
        sol = built.solve(t_end, inp)
    except pybamm.SolverError as err:
        raise CellError(f"the {built.model} model cannot solve a {c:g} C discharge: "
                        f"{str(err).splitlines()[0]}") from None
    t = np.asarray(sol["Time [s]"].entries, dtype=float)
    v = np.asarray(sol["Voltage [V]"].entries, dtype=float)
    q = np.asarray(sol["Discharge capacity [A.h]"].entries, dtype=float)
    if t.size < 3 or not np.all(np.isfinite(v)):
        raise CellError(f"the {built.model} model cannot solve a {c:g} C discharge "
                        f"(solution stopped at t = {t[-1] if t.size else 0:g} s)")
    energy = float(np.trapezoid(v * current, t) / 3600.0)
    return Discharge(c_rate=c, current=current, time=tuple(t), voltage=tuple(v),
                     capacity_curve=tuple(q), capacity=float(q[-1]), energy=energy,
                     termination=str(sol.termination))


def pulse_resistance(built: BuiltSimulation, inputs: dict[str, float], *, current: float,
                     duration: float) -> float:
    r"""Internal resistance from a discharge pulse [Ω].

    .. math:: R = (U_{OCV}(t=0) - V(t_p)) / I

    at the state of charge set by the initial concentrations in ``inputs``.
    """
    pybamm = _pybamm()
    inp = dict(inputs)
    inp["Current function [A]"] = float(current)
    try:
        sol = built.solve(float(duration), inp, n_points=21)
    except pybamm.SolverError as err:
        raise CellError(f"the pulse of {current:.3g} A for {duration:g} s cannot be "
                        f"solved: {str(err).splitlines()[0]}") from None
    ocv = float(sol["Battery open-circuit voltage [V]"].entries[0])
    v_end = float(sol["Voltage [V]"].entries[-1])
    return (ocv - v_end) / float(current)
