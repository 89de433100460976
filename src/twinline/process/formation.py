r"""Formation: first charge with SEI growth, degassing, OCV self-discharge screening.

The formation step turns a :class:`~twinline.process.products.FilledCell` into a
:class:`~twinline.process.products.FormedCell`. The SEI growth during the first charge is
simulated by PyBaMM in :mod:`twinline.cell.formation` and passed in by the chain as an
:class:`SEIGrowth` (a step never calls PyBaMM itself).

**SEI lithium loss.** PyBaMM's solvent-diffusion-limited SEI model (Single et al. 2018) is
fitted to ageing, not to formation, so the lithium the SEI takes is *scaled* to the anode
active material's first-cycle efficiency :math:`\eta_1` (material library,
``first_cycle_efficiency``) at the reference protocol (C/10, 25 °C, full window):

.. math:: Q_{SEI} = (1 - \eta_1)\,Q\,r\,\sqrt{n_{cyc}},
    \qquad r = \frac{\Delta Q^{sim}_{SEI}(T, C, \Delta SOC)}{\Delta Q^{sim}_{SEI}(25\,°C, C/10, 1)},

:math:`Q` the balanced cell's capacity before formation; further cycles grow the SEI with the
square root of time (diffusion-limited). The loss is capped at 99 % of the charge
:math:`Q\,\Delta SOC`. First-cycle Coulombic efficiency
:math:`CE_1 = 1 - (1-\eta_1) Q r/(Q\,\Delta SOC)`; formation time
:math:`n_{cyc}(2\Delta SOC/C + t_{rest})` (+ 30 min when degassing: opening, vacuum,
re-sealing).

**Self-discharge screening.** After formation the cells are stored at open circuit for
``ocv_storage_time``. Each cell loses charge through the continuing SEI growth (PyBaMM's rate
at the end of the simulated rest, per unit capacity, *not* scaled: the calibration above
describes the first reduction of the electrolyte, not the passivated film) and through a
parallel leakage resistance :math:`R_{leak}`, log-normal over the population (median
``leakage_resistance``, spread ``leakage_spread``, seeded):

.. math:: \frac{dU}{dt} = \frac{I_{SEI} + U/R_{leak}}{dQ/dU},

:math:`dU/dQ` the slope of the balanced cell's open-circuit voltage (passed in). Cells whose
decay exceeds ``self_discharge_threshold`` are flagged (as in end-of-line OCV/K-value
tests).

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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.constants import physical_constants

from twinline.process.products import FilledCell, FormedCell
from twinline.process.registry import Output
from twinline.spec.cell_recipe import FormationSection
from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Single2018", "OKane2022", "Wood2019", "Sulzer2021")
STEP = "formation"
#: Faraday constant [C mol⁻¹] (CODATA, scipy.constants).
FARADAY = physical_constants["Faraday constant"][0]
#: Time added by degassing (open, vacuum, re-seal) [s].
DEGASSING_TIME = 1800.0
#: Storage voltage for the leakage current [V].
STORAGE_VOLTAGE = 3.7


@dataclass(frozen=True)
class SEIGrowth:
    """What the SEI simulation (:func:`twinline.cell.formation.sei_growth`) hands the step.

    ``growth_ratio`` simulated SEI capacity loss of this protocol over the reference
    protocol's [-]; ``loss_rate_per_capacity`` SEI loss rate at the end of the rest per unit
    capacity [s⁻¹]; ``thickness`` mean SEI thickness after formation [m];
    ``replaced`` the PyBaMM parameters twinline set for the SEI model.
    """

    growth_ratio: float
    loss_rate_per_capacity: float
    thickness: float
    replaced: dict[str, float] = field(default_factory=dict)


def form(section: Any, filled: FilledCell, materials: Any, *, sei: SEIGrowth,
         capacity: float, lithium_inventory: float, ocv_slope: float,
         seed: int = 0) -> FormedCell:
    """Form the cell and screen the population for self-discharge (model ``pybamm-sei``).

    Parameters
    ----------
    section : FormationSection
        Protocol: ``c_rate`` [-], ``temperature`` [K], ``cycles``, ``soc_min``/``soc_max``
        [-], ``rest_time`` [s], ``degassing``; screening: ``ocv_storage_time`` [s],
        ``self_discharge_threshold`` [V/s], ``screened_cells``, ``leakage_resistance`` [Ω],
        ``leakage_spread`` [-].
    filled : FilledCell
        The filled cell (its anode's active material gives the first-cycle efficiency).
    materials : MaterialLibrary
        ``first_cycle_efficiency`` of the anode active material (required).
    sei : SEIGrowth
        The simulated SEI growth of this protocol.
    capacity : float
        Capacity of the balanced cell before formation [A h], > 0.
    lithium_inventory : float
        Cyclable lithium of the assembled cell before formation [A h], > 0.
    ocv_slope : float
        dU/dQ of the balanced cell at 50 % SOC [V per A h].
    seed : int
        Seed of the leakage-resistance population.

    Raises
    ------
    CellError
        If ``capacity`` <= 0 or the first-cycle efficiency is not in (0, 1].
    """
    if not capacity > 0:
        raise CellError(f"formation needs a cell capacity > 0 A h, got {capacity:g} A h")
    anode_am = filled.cell.anode.composition.active_material
    fce = float(materials[anode_am].get("first_cycle_efficiency"))
    if not 0 < fce <= 1:
        raise CellError(f"first_cycle_efficiency of {anode_am} must be in (0, 1], got {fce}")
    span = section.soc_max - section.soc_min
    q_charge = capacity * span
    ratio = sei.growth_ratio
    loss = min((1.0 - fce) * capacity * ratio * np.sqrt(section.cycles), 0.99 * q_charge)
    ce1 = 1.0 - (1.0 - fce) * capacity * ratio / q_charge
    t_form = section.cycles * (2.0 * 3600.0 * span / section.c_rate + section.rest_time)
    if section.degassing:
        t_form += DEGASSING_TIME
    # storage: the passivated film grows at PyBaMM's own (unscaled) rate, per capacity
    i_sei = sei.loss_rate_per_capacity * capacity * 3600.0     # [A]
    rng = np.random.default_rng(seed)
    r_leak = section.leakage_resistance * np.exp(
        rng.normal(0.0, section.leakage_spread, size=section.screened_cells))
    rates = (i_sei + STORAGE_VOLTAGE / r_leak) * ocv_slope / 3600.0          # V/s
    flagged = np.flatnonzero(rates > section.self_discharge_threshold)
    return FormedCell(
        filled=filled, first_cycle_efficiency=float(ce1),
        initial_capacity_loss=float(loss / capacity), sei_lithium_loss=float(loss),
        sei_lithium_loss_mol=float(loss * 3600.0 / FARADAY),
        sei_lithium_loss_fraction=float(loss / lithium_inventory),
        formation_time=float(t_form), sei_growth_ratio=float(ratio),
        sei_thickness=float(sei.thickness), ocv_decay_rates=tuple(float(r) for r in rates),
        flagged=tuple(int(i) for i in flagged),
        flagged_fraction=float(flagged.size / section.screened_cells),
        replaced=dict(sei.replaced))


#: The recipe section of the step (its defaults apply when the recipe has none).
Section = FormationSection
MODELS = {"pybamm-sei": form}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "formation.coulombic_efficiency": Output("", lambda p, s: p["formed"].first_cycle_efficiency),
    "formation.initial_capacity_loss": Output(
        "", lambda p, s: p["formed"].initial_capacity_loss),
    "formation.sei_lithium_loss": Output("", lambda p, s: p["formed"].sei_lithium_loss_fraction),
    "formation.formation_time": Output("s", lambda p, s: p["formed"].formation_time),
}
