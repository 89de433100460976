r"""Calendering: porosity and thickness versus nip pressure or line load (Heckel-type).

Default model ``heckel``. The porosity after calendering (after the roll releases it)
follows the Heckel-type law of Meyer et al. (2017), written in pressure:

.. math::
    \varepsilon = \varepsilon_{min} + (\varepsilon_0 - \varepsilon_{min})\,e^{-P/P_c}

with three dependences, each a mechanism:

* **Minimum porosity vs formulation**, :math:`\varepsilon_{min} = \varepsilon_{min,0} +
  s_{AM}(x_{AM} - 0.95)`: the rigid AM particles form the skeleton that resists compaction;
  the soft carbon–binder domain is what deforms into the voids, so less CBD (a higher AM
  fraction) leaves more pores (trend of the in-silico calendering data: +0.8 points per AM
  wt %, Duquesnoy et al. 2020).
* **Minimum porosity vs initial porosity** (optional, ``porosity_min_initial_slope``
  :math:`s_0`, 0 unless a material sets it): :math:`+ s_0(\varepsilon_0 - 0.45)`. The lab
  calender's data hold one initial porosity and cannot fix it; the in-silico calender of
  Duquesnoy et al. (2020) wants :math:`s_0 \approx -0.58` (a looser coating packs denser
  at high load; see :data:`twinline.learn.study.INSILICO_CALENDERING`). The floor is
  capped at :math:`\varepsilon_0`: pressure never opens a coating up.
* **Compaction resistance vs initial porosity**, :math:`P_c = P_{c,0}\,[(1-\varepsilon_0)/
  0.55]^{m}\,f_T`: a looser coating has fewer particle–particle contacts (coordination
  number grows with solid fraction), so each contact carries more load and the network
  rearranges and yields at a lower pressure. With :math:`m` large enough a higher initial
  porosity ends at a *lower* porosity at the same pressure, as the in-silico calendering
  data show (``porous`` 40 → 50 %: porosity after calendering 0.375 → 0.304 at 174 MPa).
* **Roll temperature**, :math:`f_T = 1 - \tfrac12 (T - T_{ref})/(T_m - T_{ref})`, clipped to
  [0.5, 1.5], :math:`T_{ref}` = 60 °C (the fitted line), :math:`T_m` the binder's
  ``melting_temperature``: a warmer binder is softer (assumption, not fitted; binders
  without a melting point, e.g. SBR, get :math:`f_T = 1`).

Solid volume is conserved: :math:`h = h_0(1-\varepsilon_0)/(1-\varepsilon)`. The
spring-back is the elastic thickness recovery after the nip, :math:`s = s_{max}(1 -
e^{-P/P_c})` (``springback`` of the AM, Meyer 2017: a few %), so the thickness in the nip
is :math:`h/(1+s)`. Pressure ↔ line load through the contact width of a rolled strip,
:math:`b = \sqrt{R\,\Delta h}` (R roll radius, Δh thickness reduction in the nip):
:math:`q_L = P\,b`; a given line load is turned into a pressure by bisection.

Crack risk: flagged when the coating is pushed past 99.9 % of its compaction range,
:math:`(\varepsilon-\varepsilon_{min}) < 10^{-3}(\varepsilon_0-\varepsilon_{min})`, i.e.
about 7 :math:`P_c`: the particle skeleton is long jammed and further load goes into
particle fracture and foil damage (Meyer 2017; Sangrós Giménez et al. 2019). The ARTISTIC
line pressed NMC111 coatings to 185 MPa, which this flags.

Constants :math:`\varepsilon_{min,0}` (``porosity_min``), :math:`s_{AM}`
(``porosity_min_am_slope``), :math:`P_{c,0}` (``compaction_pressure``), :math:`m`
(``compaction_porosity_exponent``) for NMC111/C65/PVDF were fitted to the ARTISTIC lab
calender (``calendering_porosity.csv``, gap → pressure by the paper's relation
:func:`pressure_from_gap`, which accounts for the electrode thickness; all 10 rows)
together with the in-silico dataset's pressure–porosity relation for the trends :math:`s_{AM}`
and :math:`m` (Duquesnoy et al. 2020): MAE 0.015 on the 10 fitted rows, 0.019
leave-one-row-out; in-silico relation reproduced to 0.009.

Not modelled: the line speed (``speed`` is recorded; at lab and pilot speeds its effect on
the porosity is small next to the load's, Meyer 2017) and the foil's elongation.

Validity: pressure 0–200 MPa, roll temperature 20–120 °C, initial porosity 0.3–0.65.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinline.materials import MaterialLibrary
from twinline.process.products import CalenderedElectrode, DryElectrode
from twinline.process.registry import Output, check_physical, check_validity
from twinline.process.values import as_flag, as_output
from twinline.spec.recipe import CalenderingSection

STEP = "calendering"
CITATIONS: tuple[str, ...] = ("Meyer2017", "Duquesnoy2020", "SangrosGimenez2019")

AM_REF = 0.95
POROSITY_0_REF = 0.45
SOLID_REF = 0.55
T_REF = 333.15
#: Electrode thickness before calendering [µm] at which the ARTISTIC gap → pressure relation
#: holds (fitted, see :func:`pressure_from_gap`).
REFERENCE_THICKNESS_UM = 142.2


def pressure_from_gap(gap_um, thickness_before_um=REFERENCE_THICKNESS_UM):
    r"""Nip pressure [Pa] of the ARTISTIC lab calender at a nominal roll gap [µm].

    The in-silico calendering paper gives :math:`P = \exp(5.254 - 0.0307\,gap)` MPa
    (Duquesnoy et al. 2020) for its electrodes. The stand is compliant (a 1 µm gap leaves a
    ~100 µm electrode), so the load is set by the interference between the electrode and
    the gap; a thicker electrode at the same gap is pressed harder. We therefore shift the
    gap by the thickness difference to the paper's electrode, :math:`gap - (h_0 - h_{ref})`,
    with :math:`h_{ref}` = 142.2 µm (:data:`REFERENCE_THICKNESS_UM`) fitted to all rows of
    ``calendering_porosity.csv`` (thickness of the coated foil before calendering, as in that
    file).
    """
    shift = np.asarray(thickness_before_um, dtype=float) - REFERENCE_THICKNESS_UM
    return np.exp(5.254 - 0.0307 * (np.asarray(gap_um, dtype=float) - shift)) * 1e6


def heckel_porosity(pressure, porosity_0, *, porosity_min, compaction_pressure):
    r"""Porosity after calendering, Heckel-type law of Meyer et al. (2017).

    .. math:: \varepsilon = \varepsilon_{min}+(\varepsilon_0-\varepsilon_{min})e^{-P/P_c}

    Parameters
    ----------
    pressure : float or ndarray
        Nip pressure :math:`P` [Pa], >= 0.
    porosity_0, porosity_min : float or ndarray
        Porosity before calendering and its lower limit [-].
    compaction_pressure : float or ndarray
        :math:`P_c` [Pa], > 0.

    Examples
    --------
    >>> round(float(heckel_porosity(0.0, 0.5, porosity_min=0.2, compaction_pressure=4e7)), 3)
    0.5
    """
    p = np.asarray(pressure, dtype=float)
    return porosity_min + (porosity_0 - porosity_min) * np.exp(-p / compaction_pressure)


def calendering_constants(composition, porosity_0, roll_temperature,
                          materials: MaterialLibrary, *, constants: dict | None = None):
    """``porosity_min`` [-], ``compaction_pressure`` [Pa], ``springback`` [-] of a coating.

    ``constants`` overrides the AM properties (``porosity_min``, ``porosity_min_am_slope``,
    ``porosity_min_initial_slope`` (0 when absent), ``compaction_pressure``,
    ``compaction_porosity_exponent``, ``springback``).
    """
    k = dict(constants or {})
    am = materials.require(composition.active_material, "active_material",
                           parameter="formulation.active_material")
    binder = materials.require(composition.binder, "binder", parameter="formulation.binder")

    def val(name):
        return k[name] if name in k else am.get(name)

    eps_min = (val("porosity_min")
               + val("porosity_min_am_slope") * (np.asarray(composition.am_mass_fraction)
                                                 - AM_REF)
               + k.get("porosity_min_initial_slope", am.get("porosity_min_initial_slope", 0.0))
               * (np.asarray(porosity_0, dtype=float) - POROSITY_0_REF))
    # a floor above the initial porosity would make pressure open the coating up
    eps_min = np.minimum(eps_min, np.asarray(porosity_0, dtype=float))
    t_m = binder.get("melting_temperature", None)
    if t_m is None:      # amorphous binder (e.g. SBR): no roll-temperature effect modelled
        f_t = np.ones_like(np.asarray(roll_temperature, dtype=float))
    else:
        f_t = np.clip(1.0 - 0.5 * (np.asarray(roll_temperature, float) - T_REF)
                      / (t_m - T_REF), 0.5, 1.5)
    p_c = val("compaction_pressure") * np.power(
        (1.0 - np.asarray(porosity_0, dtype=float)) / SOLID_REF,
        val("compaction_porosity_exponent")) * f_t
    return eps_min, p_c, val("springback")


def predict_porosity(composition, porosity_0, pressure, materials: MaterialLibrary, *,
                     roll_temperature=T_REF, constants: dict | None = None):
    """Porosity after calendering [-] at ``pressure`` [Pa] (the model, without products)."""
    eps_min, p_c, _ = calendering_constants(composition, porosity_0, roll_temperature,
                                            materials, constants=constants)
    return heckel_porosity(pressure, porosity_0, porosity_min=eps_min, compaction_pressure=p_c)


def line_load_from_pressure(pressure, thickness_0, thickness_nip, roll_diameter):
    """Line load [N m⁻¹] = P · b, contact width :math:`b = \\sqrt{R\\,\\Delta h}` [m]."""
    dh = np.maximum(np.asarray(thickness_0) - np.asarray(thickness_nip), 0.0)
    return np.asarray(pressure, float) * np.sqrt(0.5 * np.asarray(roll_diameter) * dh)


def calender(section: CalenderingSection, electrode: DryElectrode,
             materials: MaterialLibrary) -> CalenderedElectrode:
    """Calendered electrode from a dry one and the calender settings (model ``heckel``).

    Parameters
    ----------
    section : CalenderingSection
        ``pressure`` [Pa] or ``line_load`` [N m⁻¹]; ``roll_temperature`` [K];
        ``roll_diameter`` [m]. Arrays allowed.
    electrode : DryElectrode
    materials : MaterialLibrary

    Returns
    -------
    CalenderedElectrode

    Raises
    ------
    ProcessError
        If a porosity is outside (0, 1) or a thickness is not positive.
    """
    comp = electrode.composition
    am = materials.require(comp.active_material, "active_material",
                           parameter="formulation.active_material")
    eps0 = np.asarray(electrode.porosity, dtype=float)
    t0 = np.asarray(electrode.thickness, dtype=float)
    check_physical(STEP, "porosity before calendering", eps0, "-", low=0.0, high=1.0)
    check_physical(STEP, "thickness before calendering", t0, "m")
    check_validity(STEP, "porosity before calendering", eps0, "-", 0.3, 0.65)
    temp = np.asarray(section.roll_temperature, dtype=float)
    check_validity(STEP, "roll_temperature", temp - 273.15, "degC", 20.0, 120.0)
    eps_min, p_c, sb_max = calendering_constants(comp, eps0, temp, materials)
    diameter = np.asarray(section.roll_diameter, dtype=float)

    def state(p):
        eps = heckel_porosity(p, eps0, porosity_min=eps_min, compaction_pressure=p_c)
        h = t0 * (1.0 - eps0) / (1.0 - eps)
        sb = sb_max * (1.0 - np.exp(-p / p_c))
        q = line_load_from_pressure(p, t0, h / (1.0 + sb), diameter)
        return eps, h, sb, q

    if section.pressure is not None:
        check_physical(STEP, "pressure", section.pressure, "Pa", low_open=False)
        pressure = np.asarray(section.pressure, dtype=float) + 0.0 * eps0
    else:
        check_physical(STEP, "line_load", section.line_load, "N/m", low_open=False)
        target = np.asarray(section.line_load, dtype=float) + 0.0 * eps0
        lo = np.full(target.shape, 1e3)
        hi = np.full(target.shape, 2e9)
        for _ in range(60):                       # bisection in log P; q(P) is increasing
            mid = np.sqrt(lo * hi)
            below = state(mid)[3] < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        pressure = np.where(target > 0, np.sqrt(lo * hi), 0.0)
    check_validity(STEP, "pressure", pressure / 1e6, "MPa", 0.0, 200.0)
    eps, h, sb, q = state(pressure)
    check_physical(STEP, "porosity", eps, "-", low=0.0, high=1.0)
    check_physical(STEP, "thickness", h, "m")
    crack = (eps - eps_min) < 1e-3 * (eps0 - eps_min)
    solid = 1.0 - eps
    return CalenderedElectrode(
        composition=comp,
        thickness=as_output(h),
        porosity=as_output(eps),
        thickness_before=as_output(t0),
        porosity_before=as_output(eps0),
        line_load=as_output(q),
        pressure=as_output(pressure),
        areal_loading=electrode.areal_loading,
        am_loading=electrode.am_loading,
        areal_capacity=electrode.areal_capacity,
        am_volume_fraction=as_output(solid * comp.am_solid_volume_fraction),
        cbd_volume_fraction=as_output(solid * comp.cbd_solid_volume_fraction),
        particle_radius=0.5 * am.get("particle_d50"),
        springback=as_output(sb),
        crack_risk=as_flag(crack),
        width=electrode.width,
        foil_thickness=electrode.foil_thickness,
    )


MODELS = {"heckel": calender}


def roll_gap(cal: CalenderedElectrode) -> Any:
    """Roll gap [m] = foil + coating thickness under load (before spring-back)."""
    return (np.asarray(cal.foil_thickness, float)
            + np.asarray(cal.thickness, float) / (1.0 + np.asarray(cal.springback, float)))


#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "calendering.gap": Output("m", lambda p, s: roll_gap(p["calendered"])),
    "calendering.pressure": Output("Pa", lambda p, s: p["calendered"].pressure),
    "calendering.line_load": Output("N/m", lambda p, s: p["calendered"].line_load),
    "calendering.speed": Output("m/s", lambda p, s: s["calendering"].speed),
    "calendering.temperature": Output("K", lambda p, s: s["calendering"].roll_temperature),
    "calendering.thickness": Output("m", lambda p, s: p["calendered"].thickness),
    "calendering.porosity": Output("", lambda p, s: p["calendered"].porosity),
    "calendering.springback": Output("", lambda p, s: p["calendered"].springback),
    "calendering.crack_risk": Output(
        "", lambda p, s: np.asarray(p["calendered"].crack_risk, float)),
}
