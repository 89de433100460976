r"""Slitting: edge-quality risk of the slit electrode versus speed, method and coating.

Default model ``edge-risk``: an empirical index :math:`r \in [0, 1]` for the probability that
a slit edge shows a defect that leads to scrap (burr, delamination of the coating at the
edge, particle contamination). It combines two independent causes,

.. math::
    r = 1 - (1 - r_v)(1 - r_c),

a *speed* term, logistic around the upper end of the method's speed window
:math:`v_{max}` (the cut degrades when the knife or the laser pulses cannot keep up),

.. math::
    r_v = \frac{1}{1 + \exp\!\left(-\dfrac{v - v_{max}}{w\,v_{max}}\right)},

and a *coating* term that grows with coating thickness :math:`L` and porosity
:math:`\varepsilon` — a thick, weakly compacted layer gives the worst edges (burr
case on ceramic-coated Al foil: "a thick ceramic layer with low
compaction gives the worst edges", Örüm Aydin et al. 2023):

.. math::
    r_c = r_{c,0}\,\frac{L}{L_{ref}}\,\frac{\varepsilon}{\varepsilon_{ref}}
          \quad (\text{capped at } 1).

Constants (module level, documented; not calibrated on line data — the index ranks settings,
it is not a measured scrap rate):

* speed windows: rotary knife 80–150 m/min (Zanotto et al. 2022, LiPLANET data specification,
  Sec. 4.1.5: "low-cost, high-throughput process (80–150 m/min)"); laser 10–60 m/min (Örüm
  Aydin et al. 2023, laser cutting "speed 10–60 m/min"); below the window the index is not
  reduced further (slower is not worse for the edge), but a validity warning is raised;
* logistic width :math:`w` = 0.1 (the risk rises from 12 % to 88 % within ±20 % of
  :math:`v_{max}`);
* coating term :math:`r_{c,0}` = 0.02 at :math:`L_{ref}` = 60 µm, :math:`\varepsilon_{ref}` =
  0.30, i.e. a 2 % edge-defect rate for a typical calendered cathode layer.

Validity: slit width 60–300 mm (data specification, Sec. 4.1.5), speed inside the method's
window, slit width ≤ coated width (a wider slit is impossible: :class:`ProcessError`).

References
----------
Zanotto, F. M., Zapata Dominguez, D., ..., Franco, A. A., Data specifications for battery
manufacturing digitalization, Batteries & Supercaps 5 (2022) e202200224.
doi:10.1002/batt.202200224

Örüm Aydin, A. et al., Lithium-ion battery manufacturing: industrial view on processing
challenges, possible solutions and recent advances, Batteries 9 (2023) 555.
doi:10.3390/batteries9110555
"""

from __future__ import annotations

import numpy as np

from twinline.materials import MaterialLibrary
from twinline.process.products import CalenderedElectrode, SlitElectrode
from twinline.process.registry import Output, check_physical, check_validity
from twinline.process.values import as_output
from twinline.spec.errors import ProcessError
from twinline.spec.recipe import SlittingSection

STEP = "slitting"
CITATIONS: tuple[str, ...] = ("Zanotto2022", "OrumAydin2023")

#: Speed window of each slitting method [m/s] (see module docstring).
SPEED_WINDOW: dict[str, tuple[float, float]] = {
    "rotary_knife": (80.0 / 60.0, 150.0 / 60.0),
    "laser": (10.0 / 60.0, 60.0 / 60.0),
}
#: Relative width of the logistic speed term [-].
LOGISTIC_WIDTH = 0.1
#: Coating term: risk at the reference thickness and porosity [-].
COATING_RISK_REF = 0.02
#: Reference coating thickness [m] and porosity [-] of the coating term.
THICKNESS_REF = 60e-6
POROSITY_REF = 0.30
#: Slit-width validity range [m].
WIDTH_RANGE: tuple[float, float] = (0.06, 0.30)


def edge_defect_risk(speed, thickness, porosity, *, method: str = "rotary_knife"):
    r"""Edge-defect risk index of a slit electrode (model ``edge-risk``).

    .. math:: r = 1 - (1 - r_v)(1 - r_c)

    Parameters
    ----------
    speed : float or ndarray
        Slitting speed :math:`v` [m s⁻¹], > 0.
    thickness : float or ndarray
        Coating thickness :math:`L` [m] (one side), > 0.
    porosity : float or ndarray
        Coating porosity :math:`\varepsilon` [-], in (0, 1).
    method : {"rotary_knife", "laser"}
        Slitting method; sets the speed window.

    Returns
    -------
    risk, speed_risk, coating_risk : float or ndarray
        The index and its speed and coating parts [-], each in [0, 1].

    Raises
    ------
    ProcessError
        For an unknown method.

    Examples
    --------
    >>> r, rv, rc = edge_defect_risk(1.0, 60e-6, 0.30)
    >>> round(float(rc), 3), float(rv) < 0.01
    (0.02, True)
    """
    if method not in SPEED_WINDOW:
        raise ProcessError(f"{STEP}: method = {method!r} is unknown; choose from "
                           f"{sorted(SPEED_WINDOW)}")
    v_max = SPEED_WINDOW[method][1]
    v = np.asarray(speed, dtype=float)
    z = np.clip((v - v_max) / (LOGISTIC_WIDTH * v_max), -60.0, 60.0)
    r_v = 1.0 / (1.0 + np.exp(-z))
    r_c = np.minimum(COATING_RISK_REF * np.asarray(thickness, float) / THICKNESS_REF
                     * np.asarray(porosity, float) / POROSITY_REF, 1.0)
    r = 1.0 - (1.0 - r_v) * (1.0 - r_c)
    return as_output(r), as_output(r_v), as_output(r_c)


def slit(section: SlittingSection, electrode: CalenderedElectrode,
         materials: MaterialLibrary | None = None) -> SlitElectrode:
    """Slit a calendered electrode (model ``edge-risk``).

    Parameters
    ----------
    section : SlittingSection
        ``method``, ``speed`` [m s⁻¹] and ``width`` [m] (default: the coated width).
    electrode : CalenderedElectrode
        The calendered coating; its ``thickness``, ``porosity`` and ``width`` are used.
    materials : MaterialLibrary, optional
        Not used by this model (kept for the common step signature).

    Returns
    -------
    SlitElectrode

    Raises
    ------
    ProcessError
        If the slit width is not positive or exceeds the coated width, or the method is
        unknown.

    Warns
    -----
    ValidityWarning
        Speed outside the method's window, slit width outside 60–300 mm.
    """
    coated = np.asarray(electrode.width, dtype=float)
    width = coated if section.width is None else np.asarray(section.width, dtype=float)
    check_physical(STEP, "width", width, "m", hint="the slit width must be positive")
    if np.any((coated > 0) & (width > coated * (1 + 1e-9))):
        raise ProcessError(
            f"{STEP}: width = {np.max(width) * 1e3:.4g} mm is wider than the coated width "
            f"{np.min(coated) * 1e3:.4g} mm; it must lie in (0, {np.min(coated) * 1e3:.4g}] mm")
    method = section.method
    if method not in SPEED_WINDOW:
        raise ProcessError(f"{STEP}: method = {method!r} is unknown; choose from "
                           f"{sorted(SPEED_WINDOW)}")
    lo, hi = SPEED_WINDOW[method]
    check_validity(STEP, f"speed ({method})", np.asarray(section.speed) * 60.0, "m/min",
                   lo * 60.0, hi * 60.0)
    check_validity(STEP, "width", width * 1e3, "mm", WIDTH_RANGE[0] * 1e3,
                   WIDTH_RANGE[1] * 1e3)
    r, r_v, r_c = edge_defect_risk(section.speed, electrode.thickness, electrode.porosity,
                                   method=method)
    speed = np.asarray(section.speed, dtype=float)
    return SlitElectrode(electrode=electrode, width=as_output(width), speed=as_output(speed),
                         method=method, edge_defect_risk=r, speed_risk=r_v,
                         coating_risk=r_c)


MODELS = {"edge-risk": slit}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "slitting.slitting_speed": Output("m/s", lambda p, s: s["slitting"].speed),
    "slitting.edge_defect_risk": Output("", lambda p, s: p["slit"].edge_defect_risk),
}
