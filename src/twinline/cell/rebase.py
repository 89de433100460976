r"""Re-basing a PyBaMM parameter set on the electrode twinline manufactured.

A built-in parameter set (Chen2020, Ecker2015, ...) was fitted to *one* cell: its maximum
concentrations :math:`c_{max}`, its stoichiometry windows and its active-material volume
fractions :math:`\varepsilon_{set}` were fitted *together* (Chen2020 counts every solid of
the cathode as active, 0.665 = 1 − porosity; Ecker2015 measured 0.408). Only the products
mean something: the lithium an electrode stores per unit volume, :math:`\varepsilon c_{max}`,
and the part of it the cell cycles, :math:`\Delta`. Putting twinline's own volume fraction
into the set's :math:`c_{max}` mixes two bases; this module re-bases instead.

**Electrode capacity from what was made.** The capacity of an electrode follows from its
active-material mass per area :math:`m_{AM}` (= loading × AM mass fraction, per side) and the
material library's ``practical_specific_capacity`` :math:`q` (sourced per material)::

* positive electrode: :math:`q` is the capacity in the cell's voltage window (C/20), so it is
  mapped onto the set's own cathode window :math:`\Delta y_{set} = y_0 - y_{100}` (from the
  set's electrode state of health, its own lithium inventory);
* negative electrode: :math:`q` is the reversible half-cell capacity, mapped onto the whole
  stoichiometry range 0..1 of the set's OCP (:math:`\Delta x = 1`).

The PyBaMM inputs keep the *physical* active-material volume fraction
:math:`\varepsilon_{AM} = m_{AM}/(\rho_{AM} L)` (surface area :math:`3\varepsilon/R`,
conduction) and get a re-based maximum concentration

.. math:: c_{max} = \frac{\rho_{AM}\, q}{F\, \Delta},

so that :math:`\varepsilon_{AM} L A c_{max} F \Delta = m_{AM} A q`. The set's OCP, kinetics
and transport functions keep their stoichiometry argument.

**Lithium inventory and formation (counted once).** A set describes a *formed* cell: its
cyclable lithium :math:`Q_{Li,set}` (PyBaMM's ``Q_Li_particles_init``) already lacks the
lithium its own formation took. The fresh cathode's lithiation is the set's inventory with
that loss added back, the loss computed by twinline's own formation law
(:mod:`twinline.process.formation`, reference protocol, growth ratio 1) for the set's cell:

.. math:: y_{fresh} = \frac{Q_{Li,set} + L_{set}}{Q_{p,set}}, \qquad
          L_{set} = (1 - \eta_1)\, Q_0(Q_{Li,set} + L_{set}),

:math:`\eta_1` the first-cycle efficiency of the recipe's anode material,
:math:`Q_0(Q_{Li})` the capacity of the set's cell holding :math:`Q_{Li}` (the formation
law's capacity before formation; fixed point, :func:`set_formation_loss`) and
:math:`Q_{p,set}` the set's positive capacity over 0..1. The twin's fresh cell holds
:math:`Q_{Li,fresh} = y_{fresh} Q_{p}` (all of it in the cathode) and *this* twin's
formation step takes its own loss from it. A cell made exactly like the set's and formed by
the reference protocol gets exactly the set's inventory back; a set is never given a second
formation loss. One limit: the fresh cathode holds at most its full lithiation
(:math:`y_{fresh} \le 1`). A set whose formed cell is already nearly fully lithiated at
0 % SOC (Ecker2015: :math:`y_0 = 0.93`) cannot have lost :math:`1-\eta_1 = 14` % to an SEI
fed by the cathode; there the fresh cathode is capped at :math:`y = 1` and the formed twin
holds less lithium than the set (tests/cell/test_rebase.py).

**When what applies.** Every cell the chain assembles (from machine settings, target
properties or a measured teardown electrode) is re-based and formed by its own formation
step; the set's own formation loss is only ever *added back*. A set used as fitted (below)
is neither re-based nor formed. Validation against two published cells:
benchmarks/validate_cells.py and benchmarks/README.md ("Real cells").

**As fitted.** :func:`as_fitted_inputs` gives the set unchanged (its own thicknesses,
volume fractions, :math:`c_{max}` and inventory); twinline's discharge of it reproduces
PyBaMM run directly from ``initial_soc=1`` (tests/cell/test_rebase.py, 0.5 %).

References
----------
.. [1] C.-H. Chen, F. Brosa Planella, K. O'Regan et al., J. Electrochem. Soc. 167 (2020)
       080534. doi:10.1149/1945-7111/ab9050 (LG M50, parameter set Chen2020)
.. [2] M. Ecker, T. K. D. Tran, P. Dechent et al., J. Electrochem. Soc. 162 (2015)
       A1836-A1848. doi:10.1149/2.0551509jes (Kokam SLPB 75106100, set Ecker2015)
.. [3] P. Mohtat, S. Lee, J. B. Siegel, A. G. Stefanopoulou, J. Electrochem. Soc. 166 (2019)
       A3339 (electrode state of health, PyBaMM's ElectrodeSOHSolver)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Chen2020", "Ecker2015")
FARADAY = 96485.33212  # C mol⁻¹
_CMAX = "Maximum concentration in {} electrode [mol.m-3]"


@dataclass(frozen=True)
class SetReference:
    """A parameter set's own (formed) cell, as fitted (A h; stoichiometries [-])."""

    parameter_set: str
    window: dict[str, float]  # x_0, x_100, y_0, y_100, Q of its own balance
    lithium_inventory: float  # Q_Li of the formed cell [A h]
    q_negative: float  # negative capacity over stoichiometry 0..1 [A h]
    q_positive: float  # positive capacity over 0..1 [A h]
    c_max_negative: float  # [mol m⁻³]
    c_max_positive: float  # [mol m⁻³]

    @property
    def positive_window(self) -> float:
        """The set's cathode stoichiometry span between the cut-offs [-]."""
        return float(self.window["y_0"] - self.window["y_100"])


@lru_cache(maxsize=16)
def set_reference(parameter_set: str) -> SetReference:
    """The balance of the set's own cell with its own lithium inventory (cached)."""
    from twinline.cell.electrochemistry import _solve_esoh
    from twinline.cell.formation import esoh_solver

    solver, param, base = esoh_solver(parameter_set)
    q_n = float(base.evaluate(param.n.Q_init))
    q_p = float(base.evaluate(param.p.Q_init))
    q_li = float(base.evaluate(param.Q_Li_particles_init))
    win = _solve_esoh(solver, {"Q_n": q_n, "Q_p": q_p, "Q_Li": q_li})
    return SetReference(
        parameter_set,
        win,
        q_li,
        q_n,
        q_p,
        float(base[_CMAX.format("negative")]),
        float(base[_CMAX.format("positive")]),
    )


def as_fitted_inputs(parameter_set: str) -> tuple[dict[str, float], float]:
    """The set's own cell as PyBaMM inputs and its cyclable lithium [A h] (no re-basing)."""
    from twinline.cell.electrochemistry import default_inputs

    return default_inputs(parameter_set), set_reference(parameter_set).lithium_inventory


def rebased_max_concentration(density: float, practical_capacity: float, span: float) -> float:
    r""":math:`c_{max} = \rho q / (F \Delta)` [mol m⁻³] from the AM density [kg m⁻³], its
    practical specific capacity [C kg⁻¹] and the stoichiometry span it covers [-]."""
    if not (density > 0 and practical_capacity > 0 and 0 < span <= 1):
        raise CellError(
            f"cannot re-base: density {density:g} kg/m³, practical specific "
            f"capacity {practical_capacity:g} C/kg and stoichiometry span "
            f"{span:g} must be > 0 (span <= 1)"
        )
    return float(density * practical_capacity / (FARADAY * span))


def practical_capacity(materials: Any, name: str) -> float:
    """``practical_specific_capacity`` of an active material [C kg⁻¹] (``specific_capacity``
    when the library has none)."""
    mat = materials[name]
    q = mat.get("practical_specific_capacity", None)
    return float(q if q is not None else mat.get("specific_capacity"))


def rebase_inputs(
    inputs: dict[str, float], parameter_set: str, *, cathode: Any, anode: Any, materials: Any
) -> tuple[dict[str, float], dict[str, float]]:
    """Re-base the inputs of an assembled cell on its manufactured electrodes.

    ``cathode``/``anode`` are calendered electrodes (``thickness`` [m], ``am_loading``
    [kg m⁻²] per side, ``composition.active_material``). Returns the new inputs (physical
    AM volume fractions, re-based maximum concentrations) and what was used (SI).
    """
    ref = set_reference(parameter_set)
    out = dict(inputs)
    info: dict[str, float] = {}
    for dom, el, span in (("Positive", cathode, ref.positive_window), ("Negative", anode, 1.0)):
        d = dom.lower()
        am = el.composition.active_material
        rho = float(materials[am].get("density"))
        q = practical_capacity(materials, am)
        eps = float(el.am_loading) / (rho * float(el.thickness))
        c_max = rebased_max_concentration(rho, q, span)
        out[f"{dom} electrode active material volume fraction"] = eps
        out[_CMAX.format(d)] = c_max
        info[f"{d}_am_volume_fraction"] = eps
        info[f"{d}_max_concentration"] = c_max
        info[f"{d}_practical_specific_capacity"] = q
        info[f"{d}_stoichiometry_span"] = span
    return out, info


@lru_cache(maxsize=32)
def set_formation_loss(parameter_set: str, anode_first_cycle_efficiency: float) -> float:
    r"""Lithium the set's own cell lost in its formation [A h], by twinline's law.

    twinline's formation step (:mod:`twinline.process.formation`, reference protocol)
    takes :math:`(1-\eta_1) Q_0` from a fresh cell whose capacity before formation is
    :math:`Q_0`; for the set's cell :math:`Q_0` is that of its inventory *with* the loss
    added back, so the loss is the fixed point

    .. math:: L = (1-\eta_1)\, Q_0(Q_{Li,set} + L),

    found by iteration from :math:`L = (1-\eta_1) Q_{set}` (the map contracts: :math:`dQ_0/
    dQ_{Li} \le 1`, :math:`1-\eta_1 < 1`; converged to 1e-9 A h).
    """
    from twinline.cell.electrochemistry import _solve_esoh
    from twinline.cell.formation import esoh_solver

    eta = float(anode_first_cycle_efficiency)
    ref = set_reference(parameter_set)
    solver, _, _ = esoh_solver(parameter_set)
    loss = (1.0 - eta) * ref.window["Q"]
    for _ in range(50):
        q0 = _solve_esoh(
            solver,
            {
                "Q_n": ref.q_negative,
                "Q_p": ref.q_positive,
                "Q_Li": min(ref.lithium_inventory + loss, ref.q_positive),
            },
        )["Q"]
        new = (1.0 - eta) * q0
        if abs(new - loss) < 1e-9:
            return float(new)
        loss = new
    return float(loss)


def fresh_lithium(
    inputs: dict[str, float], parameter_set: str, *, anode_first_cycle_efficiency: float
) -> float:
    """Cyclable lithium of the fresh (unformed) cell [A h] (module docstring).

    ``inputs`` the (re-based) PyBaMM inputs; the set's formation loss
    (:func:`set_formation_loss`) is added back so that formation is counted once.
    """
    from twinline.cell.electrochemistry import electrode_capacities

    eta = float(anode_first_cycle_efficiency)
    if not 0 < eta <= 1:
        raise CellError(f"first_cycle_efficiency of the anode must be in (0, 1], got {eta:g}")
    ref = set_reference(parameter_set)
    loss = set_formation_loss(parameter_set, eta)
    y_fresh = (ref.lithium_inventory + loss) / ref.q_positive
    _, q_p = electrode_capacities(inputs, parameter_set)
    return float(min(y_fresh, 1.0) * q_p)
