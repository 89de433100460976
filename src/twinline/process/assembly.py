r"""Assembly: stacking (or winding) with a stochastic placement error, and scrap.

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
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("Zanotto2022", "Schnell2019")


@dataclass(frozen=True)
class AssemblyResult:
    """Outcome of stacking one cell design (SI)."""

    n_p_ratio: float              # [-]
    stack_weight: float           # electrodes + foils + separator [kg]
    scrap_probability: float      # [-]
    scrap_probability_std: float  # Monte Carlo standard error [-]
    worst_overhang_mean: float    # mean worst-case overhang [m]
    worst_overhang_p01: float     # 1 % quantile of the worst-case overhang [m]
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def assemble(section: Any, design: Any, materials: Any = None, *, seed: int = 0,
             samples: int = 4000) -> AssemblyResult:
    """Stack (wind) the cell and estimate its scrap probability.

    Parameters
    ----------
    section : CellSection
        ``overhang``, ``stacking_tolerance`` (σ per axis) and ``min_overhang`` [m].
    design : CellDesign
        From :func:`twinline.cell.design.design_cell`.
    materials : MaterialLibrary, optional
        Unused (kept for the step signature).
    seed : int
        Seed of the placement errors.
    samples : int
        Monte Carlo stacks (standard error :math:`\\sqrt{P(1-P)/N}` is reported).

    Raises
    ------
    CellError
        If ``samples`` < 100.
    """
    if samples < 100:
        raise CellError(f"assembly Monte Carlo needs >= 100 samples, got {samples}")
    rng = np.random.default_rng(seed)
    worst = worst_overhang(design.format, design.layers, section.overhang,
                           section.stacking_tolerance, samples=samples, rng=rng)
    scrap = worst < section.min_overhang
    p = float(scrap.mean())
    stack = sum(v for k, v in design.masses.items() if k not in ("casing", "electrolyte"))
    return AssemblyResult(n_p_ratio=float(design.n_p_ratio), stack_weight=float(stack),
                          scrap_probability=p,
                          scrap_probability_std=float(math.sqrt(max(p * (1 - p), 0.0) / samples)),
                          worst_overhang_mean=float(worst.mean()),
                          worst_overhang_p01=float(np.quantile(worst, 0.01)), samples=samples)


MODELS = {"stochastic-stacking": assemble}
