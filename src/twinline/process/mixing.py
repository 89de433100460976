r"""Mixing: slurry composition, density and shear-thinning viscosity.

Default model ``krieger-cross``. The slurry is a suspension of active-material (AM) and
conductive-additive (CA) particles in a *binder solution* (solvent + dissolved binder).

Phase volumes per kilogram of slurry (solid mass fraction :math:`w_s`, dry-solid mass
fractions :math:`x_i`, skeletal densities :math:`\rho_i`):

.. math::
    v_i = w_s x_i/\rho_i, \quad v_{solv} = (1-w_s)/\rho_{solv}, \quad
    \rho_{slurry} = 1/\textstyle\sum v, \quad
    \phi_{solid} = (v_{AM}+v_{CA}+v_{B})\,\rho_{slurry}

The conductive additive forms fractal aggregates that immobilise solvent, so it counts with
an effective volume :math:`k_{CA} v_{CA}` (``effective_volume_factor`` of the additive):
:math:`\phi_{eff} = (v_{AM} + k_{CA} v_{CA})\rho_{slurry}`. The binder solution has the
viscosity :math:`\eta_L = \eta_{solv}\exp(\beta c_B)` with :math:`c_B` the binder mass
fraction of the liquid and :math:`\beta` the binder's ``solution_viscosity_coefficient``
(Martin-type law for semi-dilute polymer solutions).

Level, Krieger–Dougherty (Krieger & Dougherty 1959):

.. math:: \eta_0 = \eta_L\,(1 - \phi_{eff}/\phi_m)^{-[\eta]\phi_m}

Shape, Cross (Cross 1965), from the zero-shear plateau to the binder-solution viscosity:

.. math:: \eta(\dot\gamma) = \eta_L + \frac{\eta_0 - \eta_L}{1 + (\lambda\dot\gamma)^{1-n}}

:math:`\phi_m` (``max_packing_fraction``), :math:`[\eta]` (``intrinsic_viscosity``),
:math:`\lambda` (``relaxation_time``) and :math:`n` (``rate_index``) are properties of the
active material standing for its slurry system; ``twinline calibrate slurry`` fits them to
rheometer data. Built-in NMC111/C65/PVDF/NMP constants: fitted to all 19 ARTISTIC
prototype-line batches (Duquesnoy et al. 2020, LRCS data; ``benchmarks/validate_artistic.py
--fit``, soft-L1 loss in log10 η): RMSE of log10 η 0.054 on the fitted batches, 0.058
leave-one-batch-out (0.041 without the one anomalous batch, 96/68.786, 0.24 below its
prediction) — about the line's batch-to-batch scatter (repeat batches of one formulation
differ by up to 0.12 in log10 η). In these slurries the dissolved PVDF sets most of the
level (η ∝ c_B^2.0 at fixed shear rate); the particle factor is weak ([η] and φ_m sit at
the bounds of the fit, 1.0 and 0.90) and the carbon black's effective volume (14.5) is not
identified by the data, so it is held at a value that keeps the jamming limit of
carbon-rich pastes. The data (12.5–100 s⁻¹) lie on the power-law branch of the Cross law
(:math:`n` = 0.43); :math:`\lambda` is at the fit's bound, 100 s.

Not modelled: the mixing time and rotational speed (the slurry is taken as fully
dispersed, as the ARTISTIC batches were; under-mixed slurries keep agglomerates and a
higher viscosity).

Validity: shear rate 0.1–1000 s⁻¹ (the fit covers 12.5–100 s⁻¹), :math:`\phi_{eff} <
\phi_m`, temperature 15–35 °C (the solvent viscosity is taken at 25 °C).

Coatability: the slurry is flagged (``coatable = False``) when the viscosity at the coating
shear rate is outside [0.5, 20] Pa s — the ARTISTIC comma coater handled 1.4–13 Pa s
(Duquesnoy 2020 data); lower viscosities give levelling and edge flow ("wavy edges from
insufficient viscosity", Örüm Aydin et al. 2023), higher ones do not level and entrain air
(Kwade et al. 2018) — or when :math:`\phi_{eff}` reaches 0.98 :math:`\phi_m` (a paste).
"""

from __future__ import annotations

import numpy as np

from twinline.materials import MaterialLibrary
from twinline.process.products import Composition, Slurry
from twinline.process.registry import Output, check_physical, check_validity
from twinline.process.values import as_flag, as_output
from twinline.spec.recipe import MixingSection

STEP = "mixing"
CITATIONS: tuple[str, ...] = ("Krieger1959", "Cross1965", "Duquesnoy2020", "Kwade2018",
                              "OrumAydin2023")

#: Coatable viscosity window at the coating shear rate [Pa s] (see module docstring).
COATABLE_VISCOSITY: tuple[float, float] = (0.5, 20.0)
#: Reference shear rate [s⁻¹] when no coating shear rate is given (mid-range of the ARTISTIC
#: comma coater: 5 mm/s over a 200 µm gap).
REFERENCE_SHEAR_RATE = 25.0
#: Shear-rate range of the rheology model [s⁻¹].
SHEAR_RANGE: tuple[float, float] = (0.1, 1000.0)


def slurry_fractions(composition: Composition, solid_content, solvent_density):
    r"""Density and volume fractions of a slurry.

    Parameters
    ----------
    composition : Composition
        Dry-solid mass fractions and skeletal densities [kg m⁻³].
    solid_content : float or ndarray
        Solid mass fraction of the slurry :math:`w_s` [-], in (0, 1).
    solvent_density : float
        [kg m⁻³].

    Returns
    -------
    dict
        ``density`` [kg m⁻³], ``solid_volume_fraction`` (AM + CA + binder) [-],
        ``am``/``ca``/``binder``/``solvent`` volume fractions of the slurry [-] and
        ``binder_in_liquid`` binder mass fraction of the binder solution [-].
    """
    ws = np.asarray(solid_content, dtype=float)
    c = composition
    v_am = ws * np.asarray(c.am_mass_fraction) / np.asarray(c.am_density)
    v_ca = ws * np.asarray(c.conductive_mass_fraction) / np.asarray(c.conductive_density)
    v_b = ws * np.asarray(c.binder_mass_fraction) / np.asarray(c.binder_density)
    v_s = (1.0 - ws) / solvent_density
    total = v_am + v_ca + v_b + v_s
    rho = 1.0 / total
    mb = ws * np.asarray(c.binder_mass_fraction)
    return {
        "density": rho,
        "solid_volume_fraction": (v_am + v_ca + v_b) * rho,
        "am": v_am * rho, "ca": v_ca * rho, "binder": v_b * rho, "solvent": v_s * rho,
        "binder_in_liquid": mb / (mb + 1.0 - ws),
    }


def krieger_dougherty(phi, phi_max, intrinsic_viscosity):
    r"""Relative viscosity :math:`(1-\phi/\phi_m)^{-[\eta]\phi_m}` [-].

    Returns ``inf`` where :math:`\phi \ge \phi_m`. Dilute limit: :math:`1 + [\eta]\phi`
    (Einstein for :math:`[\eta] = 2.5`).

    Examples
    --------
    >>> round(float(krieger_dougherty(0.001, 0.64, 2.5)), 4)
    1.0025
    """
    phi = np.asarray(phi, dtype=float)
    ratio = phi / phi_max
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(np.clip(1.0 - ratio, 0.0, None), -intrinsic_viscosity * phi_max)
    return np.where(ratio < 1.0, out, np.inf)


def cross_viscosity(shear_rate, viscosity_zero, viscosity_infinite, relaxation_time,
                    rate_index):
    r"""Cross law :math:`\eta_\infty + (\eta_0-\eta_\infty)/(1+(\lambda\dot\gamma)^{1-n})` [Pa s].

    For :math:`\lambda\dot\gamma \gg 1` it is a power law of index ``rate_index``.
    """
    g = np.asarray(shear_rate, dtype=float)
    return viscosity_infinite + (viscosity_zero - viscosity_infinite) / (
        1.0 + np.power(relaxation_time * g, 1.0 - rate_index))


def slurry_viscosity(slurry: Slurry, shear_rate):
    """Viscosity of a :class:`Slurry` at ``shear_rate`` [s⁻¹] → [Pa s] (Cross law)."""
    return cross_viscosity(shear_rate, slurry.viscosity_zero, slurry.viscosity_infinite,
                           slurry.relaxation_time, slurry.rate_index)


def rheology_parameters(composition: Composition, solid_content, materials: MaterialLibrary,
                        *, constants: dict | None = None):
    """Cross-law parameters of a slurry from its composition (the model of the module).

    ``constants`` overrides material constants (keys ``max_packing_fraction``,
    ``intrinsic_viscosity``, ``relaxation_time``, ``rate_index``,
    ``effective_volume_factor``, ``solution_viscosity_coefficient``); used by calibration.

    Returns
    -------
    dict
        ``fractions`` (see :func:`slurry_fractions`), ``phi_eff`` [-], ``phi_max`` [-],
        ``viscosity_zero``/``viscosity_infinite`` [Pa s], ``relaxation_time`` [s],
        ``rate_index`` [-].
    """
    k = _constants(composition, materials, dict(constants or {}))
    solvent = materials.require(composition.solvent, "solvent", parameter="formulation.solvent")
    fr = slurry_fractions(composition, solid_content, solvent.get("density"))
    phi_eff = fr["am"] + k["effective_volume_factor"] * fr["ca"]
    eta_s = solvent.get("viscosity")
    eta_l = eta_s * (1.0 + np.power(fr["binder_in_liquid"] / k["overlap_concentration"],
                                    k["concentration_exponent"]))
    eta_r = krieger_dougherty(phi_eff, k["max_packing_fraction"], k["intrinsic_viscosity"])
    return {"fractions": fr, "phi_eff": phi_eff, "phi_max": k["max_packing_fraction"],
            "viscosity_zero": eta_l * eta_r, "viscosity_infinite": eta_s * np.ones_like(eta_r),
            "relaxation_time": k["relaxation_time"], "rate_index": k["rate_index"]}


def predict_viscosity(composition: Composition, solid_content, shear_rate,
                      materials: MaterialLibrary, *, constants: dict | None = None):
    """Viscosity [Pa s] of a slurry of ``composition`` and ``solid_content`` at ``shear_rate``."""
    p = rheology_parameters(composition, solid_content, materials, constants=constants)
    return cross_viscosity(shear_rate, p["viscosity_zero"], p["viscosity_infinite"],
                           p["relaxation_time"], p["rate_index"])


def _constants(composition: Composition, materials: MaterialLibrary, given: dict) -> dict:
    """Rheology constants: ``given`` first, else the material library's."""
    owners = {
        "max_packing_fraction": ("active_material", composition.active_material),
        "intrinsic_viscosity": ("active_material", composition.active_material),
        "relaxation_time": ("active_material", composition.active_material),
        "rate_index": ("active_material", composition.active_material),
        "effective_volume_factor": ("conductive_additive", composition.conductive_additive),
        "overlap_concentration": ("binder", composition.binder),
        "concentration_exponent": ("binder", composition.binder),
    }
    out = {}
    for prop, (kind, name) in owners.items():
        if prop in given:
            out[prop] = given[prop]
        else:
            out[prop] = materials.require(name, kind, parameter=f"formulation.{kind}").get(prop)
    return out


def mix(section: MixingSection, composition: Composition, materials: MaterialLibrary, *,
        shear_rate=None) -> Slurry:
    """Slurry from a formulation and the mixing settings (model ``krieger-cross``).

    Parameters
    ----------
    section : MixingSection
        ``solid_content`` [-] (array allowed), ``temperature`` [K].
    composition : Composition
        From :func:`twinline.process.composition.resolve_composition`.
    materials : MaterialLibrary
    shear_rate : float or ndarray, optional
        Coating shear rate [s⁻¹] at which ``viscosity_at_coating`` is evaluated; default
        :data:`REFERENCE_SHEAR_RATE`. :func:`twinline.process.coating.coat` re-evaluates it at
        the coater's own shear rate (speed / gap).

    Returns
    -------
    Slurry

    Raises
    ------
    ProcessError
        If the solid content is not in (0, 1) or the density is not positive.
    """
    ws = np.asarray(section.solid_content, dtype=float)
    check_physical(STEP, "solid_content", ws, "-", low=0.0, high=1.0)
    check_validity(STEP, "temperature", np.asarray(section.temperature) - 273.15, "degC",
                   15.0, 35.0)
    gamma = REFERENCE_SHEAR_RATE if shear_rate is None else np.asarray(shear_rate, float)
    check_validity(STEP, "shear_rate", gamma, "1/s", *SHEAR_RANGE)
    p = rheology_parameters(composition, ws, materials)
    check_physical(STEP, "density", p["fractions"]["density"], "kg/m^3")
    phi_ratio = p["phi_eff"] / p["phi_max"]
    check_validity(STEP, "effective solid volume fraction / max packing", phi_ratio, "-",
                   0.0, 0.98)
    eta_c = cross_viscosity(gamma, p["viscosity_zero"], p["viscosity_infinite"],
                            p["relaxation_time"], p["rate_index"])
    coatable = ((eta_c >= COATABLE_VISCOSITY[0]) & (eta_c <= COATABLE_VISCOSITY[1])
                & (phi_ratio < 0.98))
    return Slurry(
        composition=composition,
        solid_mass_fraction=ws if ws.ndim else float(ws),
        solid_volume_fraction=as_output(p["fractions"]["solid_volume_fraction"]),
        density=as_output(p["fractions"]["density"]),
        viscosity_zero=as_output(p["viscosity_zero"]),
        viscosity_infinite=as_output(p["viscosity_infinite"]),
        relaxation_time=as_output(p["relaxation_time"]),
        rate_index=as_output(p["rate_index"]),
        viscosity_at_coating=as_output(eta_c),
        coating_shear_rate=as_output(gamma),
        coatable=as_flag(coatable),
    )


MODELS = {"krieger-cross": mix}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "mixing.solid_content": Output("", lambda p, s: p["slurry"].solid_mass_fraction),
    "mixing.density": Output("kg/m^3", lambda p, s: p["slurry"].density),
    "mixing.solid_volume_fraction": Output("", lambda p, s: p["slurry"].solid_volume_fraction),
}
