r"""Post-drying: residual moisture of an electrode after vacuum or argon-purge baking.

Default model ``sorption``: a sorption equilibrium set by the water partial pressure and the
temperature, approached in time with a first-order (Arrhenius) time constant — the empirical
model class the LiPLANET data specification lists for this step (Zanotto et al. 2022,
Sec. 4.1.5: "sorption equilibrium of water ... temperature and dew point, combined with
activity or relative humidity ... the binder system strongly influences the water uptake").

**Equilibrium.** Each solid *i* of the coating (active material, conductive additive,
binder) takes up :math:`X_{50,i}` (``water_sorption`` of the material, mass fraction at
50 % RH and 25 °C). Water on heterogeneous oxide, carbon and polymer surfaces follows a
Freundlich isotherm with a constant isosteric heat :math:`Q` (Clausius–Clapeyron consistent:
:math:`\partial\ln p/\partial(1/T)|_X = -Q/R`):

.. math::
    X_{eq}(p_w, T) = \Big(\sum_i x_i X_{50,i}\Big)
        \left(\frac{p_w}{p_{ref}}\right)^{1/n}
        \exp\!\left[\frac{Q}{nR}\left(\frac{1}{T}-\frac{1}{T_{ref}}\right)\right],

with :math:`x_i` the dry-solid mass fractions, :math:`p_{ref}` = 0.5 :math:`p_{sat}`(25 °C)
= 1585 Pa, :math:`T_{ref}` = 298.15 K. The water partial pressure :math:`p_w` is the chamber
pressure under ``vacuum`` (the residual gas of a baking oven is mostly desorbed water: an
upper bound), and the saturation pressure at the purge gas's dew point under ``argon`` or
``dry_air``. Saturation pressures: Magnus forms of Alduchov & Eskridge (1996), over water
above 0 °C and over ice below.

**Kinetics.** Starting from the equilibrium at storage conditions (25 °C, 50 % RH:
:math:`X_0 = \sum_i x_i X_{50,i}`),

.. math::
    X(t) = X_{eq} + (X_0 - X_{eq})\,e^{-t/\tau},\qquad
    \tau = \tau_{ref}\,\exp\!\left[\frac{E_a}{R}\left(\frac{1}{T}-\frac{1}{T_{ref,k}}\right)
          \right] + \frac{4L^2}{\pi^2 D_{eff}},

a desorption time constant in series with gas diffusion out of the coating (thickness
:math:`L`, open at the top, foil below; first diffusion mode). The pore gas diffuses with
:math:`D_{eff} = \varepsilon^{1.5} (1/D_K + 1/D_m)^{-1}` (Bruggeman), Knudsen diffusivity
:math:`D_K = (d_p/3)\sqrt{8RT/(\pi M_w)}` in pores of hydraulic diameter
:math:`d_p = \tfrac{2}{3}\,\varepsilon/(1-\varepsilon)\,d_{50}` and molecular diffusivity of
water in the gas :math:`D_m = 2.2\times10^{-5}\,(T/298.15)^{1.75}\,(101325/p)` m² s⁻¹. For
coatings below ~200 µm the gas term is milliseconds: desorption from the solids limits.

Constants (module level): :math:`n` = 4, :math:`Q` = 60 kJ mol⁻¹ (isosteric heat of water
on oxide surfaces, 50–65 kJ mol⁻¹, above the 44 kJ mol⁻¹ heat of condensation);
:math:`\tau_{ref}` = 2 h at :math:`T_{ref,k}` = 120 °C and :math:`E_a` = 40 kJ mol⁻¹ — chosen
so that a 12 h vacuum bake at 120 °C removes > 99 % of the removable water while 60 °C takes
days, as reported for post-drying of NMC and graphite electrodes (Huttner et al. 2020). They
are order-of-magnitude values, not fitted to line data; the binder contrast (CMC ≫ PVDF) comes
from the materials' ``water_sorption``.

Validity: temperature 60–150 °C and time 1–48 h (the data specification's "60–150 °C for
more than 12 hours"); the temperature should stay 20 K below the binder's
``melting_temperature`` when the material gives one (long hot drying "could impair the
adhesion strength of the PVDF and CMC/SBR binder"). The result is flagged
(``moisture_ok = False``) above the recipe's ``target_moisture``.

References
----------
Zanotto, F. M. et al., Batteries & Supercaps 5 (2022) e202200224. doi:10.1002/batt.202200224

Huttner, F., Haselrieder, W., Kwade, A., The influence of different post-drying procedures on
remaining water content and physical and electrochemical properties of lithium-ion batteries,
Energy Technol. 8 (2020) 1900245. doi:10.1002/ente.201900245

Alduchov, O. A., Eskridge, R. E., Improved Magnus form approximation of saturation vapor
pressure, J. Appl. Meteorol. 35 (1996) 601–609.
"""

from __future__ import annotations

import numpy as np
from scipy.constants import R as R_GAS
from scipy.constants import atm as P_ATM

from twinline.materials import MaterialLibrary
from twinline.process.products import CalenderedElectrode, FinishedElectrode
from twinline.process.registry import Output, check_physical, check_validity
from twinline.process.values import as_output
from twinline.spec.errors import ProcessError
from twinline.spec.recipe import PostDryingSection

STEP = "post_drying"
CITATIONS: tuple[str, ...] = ("Zanotto2022", "Huttner2020", "Alduchov1996")

#: Molar mass of water [kg mol⁻¹].
M_WATER = 0.018015
#: Freundlich exponent n [-] and isosteric heat Q [J mol⁻¹].
FREUNDLICH_N = 4.0
ISOSTERIC_HEAT = 60e3
#: Reference state of ``water_sorption``: 25 °C, 50 % RH.
T_REF = 298.15
RH_REF = 0.5
#: Desorption time constant [s] at T_REF_KINETICS [K], activation energy [J mol⁻¹].
TAU_REF = 2 * 3600.0
T_REF_KINETICS = 393.15
ACTIVATION_ENERGY = 40e3
#: Validity ranges: temperature [degC], time [h].
TEMPERATURE_RANGE_C: tuple[float, float] = (60.0, 150.0)
TIME_RANGE_H: tuple[float, float] = (1.0, 48.0)


def saturation_pressure(temperature):
    r"""Saturation vapour pressure of water [Pa] (Magnus form, Alduchov & Eskridge 1996).

    .. math::
        p_{sat} = 610.94\,\exp\!\frac{17.625\,t}{t + 243.04}\ (t \ge 0),\quad
        611.21\,\exp\!\frac{22.587\,t}{t + 273.86}\ (t < 0,\ \text{over ice})

    with :math:`t` in °C. Within ~1 % of the steam tables from −60 to 60 °C, 3–5 % high at
    100–150 °C (enough for an isotherm that enters with the power 1/4).

    Parameters
    ----------
    temperature : float or ndarray
        [K], 173–473 K.

    Examples
    --------
    >>> round(float(saturation_pressure(373.15)) / 1e3)   # steam tables: 101.3 kPa
    104
    """
    t = np.asarray(temperature, dtype=float) - 273.15
    water = 610.94 * np.exp(17.625 * t / (t + 243.04))
    ice = 611.21 * np.exp(22.587 * t / (t + 273.86))
    return np.where(t >= 0.0, water, ice)


def water_partial_pressure(atmosphere, pressure, dew_point):
    """Water partial pressure [Pa] in the post-drying chamber.

    ``vacuum``: the chamber pressure (residual gas taken as water vapour, an upper bound);
    ``argon``/``dry_air``: the saturation pressure at the gas's dew point, at most the
    chamber pressure.
    """
    p = np.asarray(pressure, dtype=float)
    if atmosphere == "vacuum":
        return p
    if atmosphere in ("argon", "dry_air"):
        return np.minimum(saturation_pressure(dew_point), p)
    raise ProcessError(f"{STEP}: atmosphere = {atmosphere!r} is unknown; choose from "
                       "['argon', 'dry_air', 'vacuum']")


def equilibrium_moisture(reference_uptake, water_pressure, temperature):
    r"""Equilibrium water content [-] (mass fraction) from the Freundlich isotherm.

    .. math:: X_{eq} = X_{50}\,(p_w/p_{ref})^{1/n}\,\exp[Q/(nR)\,(1/T - 1/T_{ref})]

    Parameters
    ----------
    reference_uptake : float or ndarray
        :math:`X_{50}` [-], uptake at 25 °C and 50 % RH.
    water_pressure : float or ndarray
        :math:`p_w` [Pa], >= 0.
    temperature : float or ndarray
        [K].

    Examples
    --------
    >>> round(float(equilibrium_moisture(1e-3, 0.5 * saturation_pressure(298.15), 298.15)), 6)
    0.001
    """
    p_ref = RH_REF * saturation_pressure(T_REF)
    T = np.asarray(temperature, dtype=float)
    ratio = np.maximum(np.asarray(water_pressure, dtype=float), 0.0) / p_ref
    return (np.asarray(reference_uptake, dtype=float) * ratio ** (1.0 / FREUNDLICH_N)
            * np.exp(ISOSTERIC_HEAT / (FREUNDLICH_N * R_GAS) * (1.0 / T - 1.0 / T_REF)))


def desorption_time_constant(temperature, *, thickness=0.0, porosity=0.35,
                             particle_diameter=5e-6, gas_pressure=P_ATM):
    r"""Time constant :math:`\tau` [s] of moisture removal (desorption + pore diffusion).

    .. math::
        \tau = \tau_{ref} e^{E_a/R\,(1/T - 1/T_{ref,k})} + \frac{4L^2}{\pi^2 D_{eff}}

    Parameters
    ----------
    temperature : float or ndarray
        [K].
    thickness : float or ndarray
        Coating thickness :math:`L` [m], >= 0.
    porosity : float or ndarray
        [-], in (0, 1).
    particle_diameter : float or ndarray
        Median active-material particle diameter [m], sets the pore size.
    gas_pressure : float or ndarray
        Total gas pressure in the chamber [Pa].

    Examples
    --------
    >>> round(float(desorption_time_constant(393.15)) / 3600, 3)
    2.0
    """
    T = np.asarray(temperature, dtype=float)
    eps = np.asarray(porosity, dtype=float)
    L = np.asarray(thickness, dtype=float)
    tau_des = TAU_REF * np.exp(ACTIVATION_ENERGY / R_GAS * (1.0 / T - 1.0 / T_REF_KINETICS))
    d_pore = 2.0 / 3.0 * eps / (1.0 - eps) * np.asarray(particle_diameter, dtype=float)
    d_knudsen = d_pore / 3.0 * np.sqrt(8.0 * R_GAS * T / (np.pi * M_WATER))
    d_mol = 2.2e-5 * (T / 298.15) ** 1.75 * (P_ATM / np.asarray(gas_pressure, float))
    d_eff = eps ** 1.5 / (1.0 / d_knudsen + 1.0 / d_mol)
    return tau_des + 4.0 * L ** 2 / (np.pi ** 2 * d_eff)


def reference_uptake(composition, materials: MaterialLibrary, *, binder: str | None = None):
    """Mass-weighted water uptake at 25 °C / 50 % RH of the dry coating [-].

    Reads ``water_sorption`` of the active material, conductive additive and binder; a
    missing value is a :class:`~twinline.spec.errors.MaterialError` naming the material.
    """
    names = (composition.active_material, composition.conductive_additive,
             binder or composition.binder)
    fractions = (composition.am_mass_fraction, composition.conductive_mass_fraction,
                 composition.binder_mass_fraction)
    return sum(np.asarray(x, dtype=float) * materials[name].get("water_sorption")
               for name, x in zip(names, fractions, strict=True))


def post_dry(section: PostDryingSection, electrode, materials: MaterialLibrary, *,
             binder: str | None = None) -> FinishedElectrode:
    """Residual moisture after post-drying (model ``sorption``).

    Parameters
    ----------
    section : PostDryingSection
        ``temperature`` [K], ``time`` [s], ``atmosphere``, ``pressure`` [Pa],
        ``dew_point`` [K], ``target_moisture`` [-] (mass fraction).
    electrode : SlitElectrode or CalenderedElectrode
        The slit electrode (from :func:`twinline.process.slitting.slit`) or, without
        slitting, the calendered one.
    materials : MaterialLibrary
        Gives ``water_sorption`` of the three solids (and the binder's
        ``melting_temperature`` when present).
    binder : str, optional
        Binder material name; default: the composition's binder.

    Returns
    -------
    FinishedElectrode
        ``residual_moisture`` mass fraction [-] (×1e6 = ppm), ``moisture_ok`` against the
        target, ``width`` and ``edge_defect_risk`` from slitting (0 without slitting).

    Raises
    ------
    ProcessError
        If the moisture comes out negative or not finite, or the atmosphere is unknown.
    """
    if isinstance(electrode, CalenderedElectrode):
        cal, width, risk = electrode, electrode.width, 0.0
    else:
        cal, width, risk = electrode.electrode, electrode.width, electrode.edge_defect_risk
    comp = cal.composition
    binder_name = binder or comp.binder
    T = np.asarray(section.temperature, dtype=float)
    t = np.asarray(section.time, dtype=float)
    check_validity(STEP, "temperature", T - 273.15, "degC", *TEMPERATURE_RANGE_C)
    check_validity(STEP, "time", t / 3600.0, "h", *TIME_RANGE_H)
    t_melt = materials[binder_name].get("melting_temperature", None)
    if t_melt is not None:
        check_validity(STEP, f"temperature (binder {binder_name}: melting point "
                       f"{t_melt - 273.15:.0f} degC − 20 K)", T - 273.15, "degC",
                       -273.15, t_melt - 20.0 - 273.15)
    x50 = reference_uptake(comp, materials, binder=binder_name)
    p_w = water_partial_pressure(section.atmosphere, section.pressure, section.dew_point)
    x_eq = equilibrium_moisture(x50, p_w, T)
    # Storage before baking at 25 degC / 50 % RH: X0 = X50; a bake never adds water.
    x0 = np.maximum(x50, x_eq)
    tau = desorption_time_constant(T, thickness=cal.thickness, porosity=cal.porosity,
                                   particle_diameter=2.0 * np.asarray(cal.particle_radius),
                                   gas_pressure=section.pressure)
    moisture = x_eq + (x0 - x_eq) * np.exp(-t / tau)
    check_physical(STEP, "residual_moisture", moisture, "-", low=0.0, high=1.0,
                   low_open=False)
    ok = moisture <= np.asarray(section.target_moisture, dtype=float)
    return FinishedElectrode(electrode=cal, width=width, residual_moisture=as_output(moisture),
                             moisture_ok=bool(ok) if np.ndim(ok) == 0 else ok,
                             edge_defect_risk=risk)


MODELS = {"sorption": post_dry}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "post_drying.temperature": Output("K", lambda p, s: s["post_drying"].temperature),
    "post_drying.time": Output("s", lambda p, s: s["post_drying"].time),
    "post_drying.residual_moisture": Output("", lambda p, s: p["finished"].residual_moisture),
}
