r"""Assembly: cell layout, stacking (or winding) with a stochastic placement error, and scrap.

The step turns the :class:`~twinline.process.products.ElectrodePair` of two finished
electrodes into an assembled :class:`~twinline.process.products.Cell`: it lays the cell out
(:func:`twinline.process.cell_design.design_cell`: format, sheets, N/P ratio, mass and volume)
and stacks it.

Stochastic stacking model (Monte Carlo of the sheet placement, like the stacking-error
simulations the LiPLANET data specification lists for z-stacking, where positioning is
the core quality criterion, Zanotto et al. 2022; scrap from production data, Schnell et
al. 2019): every sheet is placed with an independent, normally distributed offset
:math:`\delta \sim N(0, \sigma^2)` per in-plane axis (``cell.stacking_tolerance`` =
:math:`\sigma`). Between a cathode sheet and a neighbouring anode sheet the remaining anode
overhang on the worse edge of an axis is

.. math:: o_{eff} = o - |\delta_c - \delta_a|,

and the stack's worst case is the minimum over every facing pair and both axes. A stack is
scrap when :math:`o_{eff} < o_{min}` (``cell.min_overhang``): a cathode edge would then
face no anode (lithium plating at the edge). For one pair and one axis the probability is
analytic, :math:`P = 2[1 - \Phi((o - o_{min})/(\sqrt{2}\sigma))]`; the Monte Carlo handles
many layers (correlated through shared anodes). Coins use the radial centre offset; wound
cells the axial drift of the strips (one pair, one axis).

Validity: placement errors small against the sheet size (:math:`\sigma \ll L, W`);
rotations are neglected.

References
----------
.. [1] F. M. Zanotto et al., "Data specifications for battery manufacturing
       digitalization", Batteries & Supercaps (2022) (LiPLANET; Sec. 3.2.4 and Table 10).
.. [2] J. Schnell, C. Nentwich, F. Endres et al., J. Power Sources 413 (2019) 360-366.
       doi:10.1016/j.jpowsour.2018.12.062
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from twinline.process.cell_design import design_cell
from twinline.process.products import Cell, ElectrodePair
from twinline.process.registry import Output
from twinline.spec.cell_recipe import CellSection
from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Zanotto2022", "Schnell2019")
STEP = "assembly"


def pair_scrap_probability(overhang: float, min_overhang: float, sigma: float) -> float:
    r"""Analytic scrap probability of one cathode/anode pair along one axis [-].

    .. math:: P = 2\,[1 - \Phi((o - o_{min}) / (\sqrt{2}\,\sigma))]

    Examples
    --------
    >>> round(pair_scrap_probability(1e-3, 0.0, 0.0), 3)
    0.0
    """
    margin = overhang - min_overhang
    if sigma <= 0:
        return float(margin < 0)
    return float(math.erfc(margin / (math.sqrt(2.0) * sigma) / math.sqrt(2.0)))


def worst_overhang(fmt: str, layers: int, overhang: float, sigma: float, *,
                   samples: int, rng: np.random.Generator) -> np.ndarray:
    """Worst-case anode overhang of ``samples`` stacks [m] (model in the module docstring)."""
    if fmt == "pouch":
        n = int(layers)
        dc = rng.normal(0.0, sigma, size=(samples, 2, n))
        da = rng.normal(0.0, sigma, size=(samples, 2, n + 1))
        dev = np.maximum(np.abs(dc - da[:, :, :-1]), np.abs(dc - da[:, :, 1:]))
        return overhang - dev.max(axis=(1, 2))
    if fmt == "coin":
        d = rng.normal(0.0, sigma, size=(samples, 2, 2))
        rel = d[:, :, 0] - d[:, :, 1]
        return overhang - np.hypot(rel[:, 0], rel[:, 1])
    d = rng.normal(0.0, sigma, size=(samples, 2))
    return overhang - np.abs(d[:, 0] - d[:, 1])


def assemble(section: Any, electrodes: ElectrodePair, materials: Any, *, seed: int = 0,
             samples: int = 4000) -> Cell:
    """Lay out, stack (wind) and house the cell; estimate its scrap probability.

    Parameters
    ----------
    section : CellSection
        Format and sheet sizes (see :func:`~twinline.process.cell_design.design_cell`),
        ``overhang``, ``stacking_tolerance`` (σ per axis) and ``min_overhang`` [m].
    electrodes : ElectrodePair
        The finished cathode and anode with their current collectors.
    materials : MaterialLibrary
        Foils, separator and electrolyte.
    seed : int
        Seed of the placement errors.
    samples : int
        Monte Carlo stacks (standard error :math:`\\sqrt{P(1-P)/N}` is reported).

    Raises
    ------
    CellError
        If the N/P ratio is outside the accepted range, the electrodes do not fit the
        format, or ``samples`` < 100.
    """
    if samples < 100:
        raise CellError(f"assembly Monte Carlo needs >= 100 samples, got {samples}")
    cathode, anode = electrodes.cathode.electrode, electrodes.anode.electrode
    design = design_cell(section, cathode, anode, materials,
                         cathode_foil=(electrodes.cathode_foil, electrodes.cathode_foil_thickness),
                         anode_foil=(electrodes.anode_foil, electrodes.anode_foil_thickness))
    rng = np.random.default_rng(seed)
    worst = worst_overhang(design.format, design.layers, section.overhang,
                           section.stacking_tolerance, samples=samples, rng=rng)
    scrap = worst < section.min_overhang
    p = float(scrap.mean())
    stack = sum(v for k, v in design.masses.items() if k not in ("casing", "electrolyte"))
    return Cell(design=design, cathode=cathode, anode=anode, separator=section.separator,
                electrolyte=section.electrolyte, n_p_ratio=float(design.n_p_ratio),
                stack_weight=float(stack), scrap_probability=p,
                scrap_probability_std=float(math.sqrt(max(p * (1 - p), 0.0) / samples)),
                worst_overhang_mean=float(worst.mean()),
                worst_overhang_p01=float(np.quantile(worst, 0.01)), samples=samples)


#: The recipe section of the step (its defaults apply when the recipe has none).
Section = CellSection
MODELS = {"stochastic-stacking": assemble}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "assembly.n_p_ratio": Output("", lambda p, s: p["cell"].n_p_ratio),
    "assembly.stack_weight": Output("kg", lambda p, s: p["cell"].stack_weight),
    "assembly.scrap_probability": Output("", lambda p, s: p["cell"].scrap_probability,
                                         lambda p, s: p["cell"].scrap_probability_std),
}
