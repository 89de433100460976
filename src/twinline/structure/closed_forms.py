r"""Closed forms that stand in for a 3D analysis of a calendered coating when none is run.

**Fitted structure laws (the chain's default).** Without ``--structure`` the chain takes the
structure parameters of a calendered coating from power laws fitted to twinline's own 3D model
(:func:`twinline.structure.generate.generate_electrode` + :func:`twinline.structure.analyse.analyse`
on the chain's grid, :func:`twinline.structure.grid.grid_for`), so that a run with and without
``--structure`` gives one answer for one electrode (:func:`fitted_estimates`). Each quantity
:math:`y` is

.. math:: \ln y = c_0 + c_1 \ln\varepsilon + c_2 \ln(1-\varepsilon) + c_3 \ln s
   + c_4 \ln(h/d_{50}) + c_5 \ln(\varepsilon - \varepsilon_c), \qquad
   s = \frac{\phi_{CBD}}{\phi_{AM} + \phi_{CBD}}

with :math:`\varepsilon` the total porosity and :math:`s` the CBD share of the solid volume: a
Bruggeman-type power law whose prefactor and exponents are fitted. The pore-transport laws
(pore tortuosity factor, :math:`\sigma_{eff}`) take the percolation form instead of
:math:`\ln\varepsilon` (:math:`c_1 = 0`, :math:`c_5` free): near the threshold
:math:`\varepsilon_c` at which the image's pore network stops percolating, percolation theory
gives :math:`D_{eff}/D_0 \propto (\varepsilon-\varepsilon_c)^{\mu}` (Stauffer & Aharony 1994,
:math:`\mu \approx 2` in 3D); :math:`\varepsilon_c` is fitted (``percolation_threshold`` in the
data file), the other laws have :math:`c_5 = 0`. :math:`h` is the voxel edge the chain's 3D image
of this coating would have (:func:`twinline.structure.grid.grid_for`): the closed form follows
the 3D analysis of the same recipe, so it carries the residual voxel-size dependence of the
transport solve (issue 17 part 3).
The quantities:

* pore and solid tortuosity factors :math:`\tau_f = \varepsilon_{phase} D_0/D_{eff}` (TauFactor's
  ``tau``, PoreSpy's ``tortuosity``; :math:`\varepsilon_{phase}` the phase's resolved volume
  fraction in the image, the CBD dense for ions, as in Duquesnoy et al. 2020);
* :math:`\sigma_{eff}/\sigma_0 = D_{eff}/D_0` of the electrolyte (its own law, not
  :math:`\varepsilon/\tau_f`: the image's pore fraction is smaller than :math:`\varepsilon`
  because the CBD holds unresolved pores, :func:`resolved_pore_fraction`);
* active surface :math:`a = k\,3\phi_{AM}/r_{50}` (the law gives :math:`k`);
* current-collector coverage by AM and by CBD.

The coefficients, the fit's date, the generator's version, the design, the valid ranges and the
fit errors live in ``structure/data/structure_fit.json``, written by
``benchmarks/fit_closed_form.py`` (one command; rerun it whenever the generator changes). The
fit errors of the file in use are appended below (read from the file, so they cannot go stale)
and returned by :func:`fit_errors`; the ``source`` of every output quotes them.
Outside the fitted range (porosity, CBD share, particle d50) the estimate is marked
"extrapolated" (:func:`extrapolation`).

**Classical closed forms** (still used for the separator and the anode's PyBaMM inputs by
:mod:`twinline.cell`, and for comparison):

* Tortuosity factor of a phase of volume fraction :math:`\varepsilon`, Bruggeman (1935):
  :math:`\tau = \varepsilon^{1-b}` (:math:`b = 1.5` for spheres), so that
  :math:`D_{eff}/D = \varepsilon/\tau = \varepsilon^{b}` (:func:`bruggeman_tortuosity_factor`).
  For these calendered NMC electrodes it is far off: 1.9 for the pore phase of the example
  cathode (porosity 0.265) where the 3D model gives 16, and 1.5-1.9 at porosity 0.29-0.42
  where the in-silico data of Duquesnoy et al. 2020 give 3.7-39.8.
* Active surface of spheres of radius :math:`r`: :math:`a = 3\,\varepsilon_{AM}/r` [m² m⁻³].
* Current-collector coverage by each phase = its volume fraction (Delesse's principle for an
  isotropic random medium: area fraction on a plane = volume fraction; Delesse 1847).

References
----------
.. [1] D. A. G. Bruggeman, Ann. Phys. 416 (1935) 636-664. doi:10.1002/andp.19354160705
.. [2] A. Delesse, Ann. Mines 13 (1848) 379-388 (area fraction = volume fraction).
.. [3] M. Duquesnoy et al., J. Power Sources 480 (2020) 229103.
       doi:10.1016/j.jpowsour.2020.229103
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

#: Bruggeman exponent of a packing of spheres [-].
BRUGGEMAN_EXPONENT = 1.5
#: BibTeX keys of the closed forms (``references.bib``).
CITATIONS: tuple[str, ...] = ("Bruggeman1935", "Delesse1847")
#: BibTeX keys of the fitted laws (the 3D model they were fitted to).
FITTED_CITATIONS: tuple[str, ...] = ("Duquesnoy2020", "Chouchane2019")
#: The quantities of the fitted laws, in the order of the data file.
FITTED_QUANTITIES: tuple[str, ...] = (
    "tortuosity_factor_pore", "tortuosity_factor_solid", "relative_conductivity",
    "active_surface_factor", "cc_coverage_am", "cc_coverage_cbd")
#: The data file of the fitted laws (package data).
FIT_FILE = "data/structure_fit.json"


def bruggeman_tortuosity_factor(volume_fraction: Any,
                                exponent: float = BRUGGEMAN_EXPONENT) -> Any:
    r"""Tortuosity factor of a phase from the Bruggeman relation.

    .. math:: \tau = \varepsilon^{1-b}, \qquad B = \varepsilon/\tau = \varepsilon^{b}

    Parameters
    ----------
    volume_fraction : float or ndarray
        Volume fraction of the conducting phase (pores or solid) [-], in (0, 1].
    exponent : float
        Bruggeman exponent :math:`b` [-] (1.5 for spheres).

    Returns
    -------
    float or ndarray
        Tortuosity factor [-], >= 1.

    Examples
    --------
    >>> round(float(bruggeman_tortuosity_factor(0.25)), 3)
    2.0
    """
    eps = np.asarray(volume_fraction, dtype=float)
    return eps ** (1.0 - exponent)


def calendered_estimates(porosity: Any, am_volume_fraction: Any, cbd_volume_fraction: Any,
                         particle_radius: Any, electrolyte_conductivity: float
                         ) -> dict[str, Any]:
    """Closed-form structure parameters of a calendered coating (module docstring), SI.

    Keys: ``tortuosity_factor_pore``, ``tortuosity_factor_solid`` [-],
    ``effective_ionic_conductivity`` [S m⁻¹], ``active_surface`` [m⁻¹],
    ``cc_coverage_am``, ``cc_coverage_cbd`` [-]. Arrays broadcast (Monte Carlo).
    """
    eps = np.asarray(porosity, dtype=float)
    tau_pore = bruggeman_tortuosity_factor(eps)
    return {
        "tortuosity_factor_pore": tau_pore,
        "tortuosity_factor_solid": bruggeman_tortuosity_factor(1.0 - eps),
        "effective_ionic_conductivity": electrolyte_conductivity * eps / tau_pore,
        "active_surface": 3.0 * np.asarray(am_volume_fraction, float)
        / np.asarray(particle_radius, float),
        "cc_coverage_am": np.asarray(am_volume_fraction, float),
        "cc_coverage_cbd": np.asarray(cbd_volume_fraction, float),
    }


@cache
def fitted_laws() -> dict[str, Any]:
    """The fitted laws as stored in ``structure/data/structure_fit.json`` (read once)."""
    text = resources.files("twinline.structure").joinpath(FIT_FILE).read_text("utf-8")
    data = json.loads(text)
    missing = [q for q in FITTED_QUANTITIES if q not in data.get("laws", {})]
    if missing:  # pragma: no cover - a broken package
        raise RuntimeError(f"{FIT_FILE} lacks the laws {missing}; rerun "
                           "benchmarks/fit_closed_form.py")
    return data


def law_features(porosity: Any, cbd_solid_share: Any, voxel_over_d50: Any,
                 percolation_threshold: float = 0.0) -> np.ndarray:
    r"""Design matrix of the fitted laws: columns :math:`1, \ln\varepsilon, \ln(1-\varepsilon),
    \ln s, \ln(h/d_{50}), \ln(\varepsilon-\varepsilon_c)` (last axis), for arrays of porosity
    :math:`\varepsilon`, CBD share :math:`s`, voxel edge over median particle diameter and the
    pore network's percolation threshold :math:`\varepsilon_c`. At or below the threshold the
    last column is :math:`\ln 10^{-6}` (a pore law then gives an enormous tortuosity factor and
    a vanishing conductivity: the network does not percolate)."""
    eps, s, hd = np.broadcast_arrays(np.asarray(porosity, dtype=float),
                                     np.asarray(cbd_solid_share, dtype=float),
                                     np.asarray(voxel_over_d50, dtype=float))
    above = np.log(np.maximum(eps - float(percolation_threshold), 1e-6))
    return np.stack([np.ones_like(eps), np.log(eps), np.log1p(-eps), np.log(s), np.log(hd),
                     above], axis=-1)


def voxel_over_d50(particle_radius: Any, thickness: Any) -> Any:
    """:math:`h/d_{50}` of the chain's 3D image of a coating (:func:`~twinline.structure.grid.
    grid_for`) for a median particle radius and a coating thickness [m] (arrays allowed)."""
    from twinline.structure.grid import VOXELS_PER_D50, VOXELS_THROUGH

    d50 = 2.0 * np.asarray(particle_radius, dtype=float)
    h = np.maximum(d50 / VOXELS_PER_D50, np.asarray(thickness, dtype=float) / VOXELS_THROUGH)
    return h / d50


def solid_shares(porosity: Any, am_mass_fraction: Any, am_density: float,
                 cbd_density: float) -> tuple[Any, Any, Any]:
    r"""AM and CBD volume fractions and the CBD share of the solid volume of a coating.

    .. math:: s = \frac{(1-w)/\rho_{CBD}}{w/\rho_{AM} + (1-w)/\rho_{CBD}},\quad
       \phi_{AM} = (1-\varepsilon)(1-s),\quad \phi_{CBD} = (1-\varepsilon)s

    Returns ``(phi_am, phi_cbd, s)`` [-].
    """
    eps = np.asarray(porosity, dtype=float)
    w = np.asarray(am_mass_fraction, dtype=float)
    v_am, v_cbd = w / am_density, (1.0 - w) / cbd_density
    s = v_cbd / (v_am + v_cbd)
    return (1.0 - eps) * (1.0 - s), (1.0 - eps) * s, s


def fit_errors() -> dict[str, dict[str, float | None]]:
    """RMS and largest relative error of each fitted law on its fit and validation sets."""
    return {q: {k: v for k, v in law.items() if k != "coefficients"}
            for q, law in fitted_laws()["laws"].items()}


def extrapolation(porosity: Any, cbd_solid_share: Any, particle_radius: Any,
                  voxel_d50: Any) -> list[str]:
    """Why an input lies outside the fitted laws' range: one line per input, [] inside.

    Checked: total porosity, CBD share of the solid volume, particle d50 = 2 r [m] and the
    voxel edge over d50 of the chain's 3D image (a thick coating coarsens the voxel) (scalars
    or Monte Carlo arrays; an array is outside when any sample is).
    """
    rng = fitted_laws()["range"]
    out = []
    for name, value, unit, scale in (
            ("porosity", porosity, "", 1.0),
            ("cbd_solid_share", cbd_solid_share, "", 1.0),
            ("particle_d50_m", 2.0 * np.asarray(particle_radius, float), " um", 1e6),
            ("voxel_over_d50", voxel_d50, "", 1.0)):
        v = np.asarray(value, dtype=float)
        lo, hi = rng[name]
        if np.any(v < lo * (1 - 1e-9)) or np.any(v > hi * (1 + 1e-9)):
            label = name.removesuffix("_m")
            out.append(f"{label} {float(np.mean(v)) * scale:.4g}{unit} is outside the fitted "
                       f"range {lo * scale:.4g}-{hi * scale:.4g}{unit}")
    return out


def fitted_source(extrapolated: list[str] | None = None) -> str:
    """The ``source`` text of a fitted estimate: what it is, its fit error, and whether it is
    extrapolated."""
    data = fitted_laws()
    worst = max((law["validation_max_rel_error"] or law["fit_max_rel_error"])
                for q, law in data["laws"].items() if q.startswith("tortuosity")
                or q == "relative_conductivity")
    rms = max(law["fit_rms_rel_error"] for q, law in data["laws"].items()
              if q.startswith("tortuosity") or q == "relative_conductivity")
    text = (f"closed form fitted to twinline's 3D model ({data['fitted'][:10]}; "
            f"tortuosity factors and sigma_eff: RMS error {100 * rms:.1f} %, largest "
            f"{100 * worst:.1f} % on held-out images)")
    if extrapolated:
        text = "extrapolated: " + "; ".join(extrapolated) + "; " + text
    return text


def fitted_estimates(porosity: Any, am_volume_fraction: Any, cbd_volume_fraction: Any,
                     particle_radius: Any, electrolyte_conductivity: float, *,
                     thickness: Any) -> dict[str, Any]:
    r"""Structure parameters of a calendered coating from the fitted laws (module docstring).

    Parameters
    ----------
    porosity : float or ndarray
        Total porosity :math:`\varepsilon` [-] in (0, 1).
    am_volume_fraction, cbd_volume_fraction : float or ndarray
        :math:`\phi_{AM}`, :math:`\phi_{CBD}` [-] (CBD solid: carbon + binder).
    particle_radius : float or ndarray
        Median AM particle radius :math:`r_{50}` [m].
    electrolyte_conductivity : float
        :math:`\sigma_0` [S m⁻¹].
    thickness : float or ndarray
        Coating thickness [m] (sets the voxel edge of the 3D model, :func:`voxel_over_d50`).

    Returns
    -------
    dict
        ``tortuosity_factor_pore``, ``tortuosity_factor_solid`` (ε·D₀/D_eff) [-],
        ``effective_ionic_conductivity`` [S m⁻¹], ``active_surface`` [m⁻¹],
        ``cc_coverage_am``, ``cc_coverage_cbd`` [-], ``resolved_pore_fraction`` [-] and
        ``extrapolated`` (list of str, empty inside the fitted range). Arrays broadcast.

    Examples
    --------
    >>> est = fitted_estimates(0.35, 0.585, 0.065, 2e-6, 1.0, thickness=90e-6)
    >>> 3.0 < float(est["tortuosity_factor_pore"]) < 20.0, est["extrapolated"]
    (True, [])
    """
    data = fitted_laws()
    eps = np.asarray(porosity, dtype=float)
    phi_am = np.asarray(am_volume_fraction, dtype=float)
    phi_cbd = np.asarray(cbd_volume_fraction, dtype=float)
    s = phi_cbd / (phi_am + phi_cbd)
    r = np.asarray(particle_radius, dtype=float)
    hd = voxel_over_d50(r, thickness)
    x = law_features(eps, s, hd, data.get("percolation_threshold", 0.0))

    def law(q: str) -> Any:
        y = np.exp(x @ np.asarray(data["laws"][q]["coefficients"], dtype=float))
        return y if y.ndim else float(y)

    return {
        "tortuosity_factor_pore": law("tortuosity_factor_pore"),
        "tortuosity_factor_solid": law("tortuosity_factor_solid"),
        "effective_ionic_conductivity": electrolyte_conductivity
        * law("relative_conductivity"),
        "active_surface": law("active_surface_factor") * 3.0 * phi_am / r,
        "cc_coverage_am": np.minimum(law("cc_coverage_am"), 1.0),
        "cc_coverage_cbd": np.minimum(law("cc_coverage_cbd"), 1.0),
        "resolved_pore_fraction": resolved_pore_fraction(eps, phi_am, phi_cbd),
        "extrapolated": extrapolation(eps, s, r, hd),
    }


def resolved_pore_fraction(porosity: Any, am_volume_fraction: Any,
                           cbd_volume_fraction: Any) -> Any:
    r"""Pore fraction the 3D image resolves: the total porosity less the pores held in the CBD.

    As the generator lays out the volume (:func:`twinline.structure.generate.volume_fractions`,
    :math:`\varepsilon_n = 0`): the CBD label holds its solid plus :math:`\nu` (``BOUND_PORE``)
    of pore volume per unit solid volume, so

    .. math:: \phi_{pore} = \varepsilon - \nu (1-\varepsilon)

    Examples
    --------
    >>> round(float(resolved_pore_fraction(0.265, 0.6636, 0.0715)), 3)
    0.169
    """
    from twinline.structure.generate import BOUND_PORE

    eps = np.asarray(porosity, dtype=float)
    solid = np.asarray(am_volume_fraction, float) + np.asarray(cbd_volume_fraction, float)
    return eps - BOUND_PORE * solid


def _fit_error_text() -> str:
    """The fit errors of the data file, as a paragraph of this module's docstring."""
    try:
        data = fitted_laws()
    except (OSError, ValueError, RuntimeError):  # pragma: no cover - a broken install
        return ""
    rows = [f"* ``{q}``: RMS {100 * law['fit_rms_rel_error']:.1f} %, largest "
            f"{100 * law['fit_max_rel_error']:.1f} % on the fit images; largest "
            f"{100 * (law['validation_max_rel_error'] or 0.0):.1f} % on held-out images"
            for q, law in data["laws"].items()]
    rng = data["range"]
    return (f"\n\n**Fit errors** (``{FIT_FILE}``, fitted {data['fitted']}, "
            f"{data['design']['images']} images; porosity {rng['porosity'][0]:g}-"
            f"{rng['porosity'][1]:g}, CBD share {rng['cbd_solid_share'][0]:.3f}-"
            f"{rng['cbd_solid_share'][1]:.3f}, d50 {rng['particle_d50_m'][0] * 1e6:.2f}-"
            f"{rng['particle_d50_m'][1] * 1e6:.2f} µm, voxel/d50 "
            f"{rng['voxel_over_d50'][0]:.3f}-{rng['voxel_over_d50'][1]:.3f}):\n\n"
            + "\n".join(rows) + "\n")


if __doc__ is not None:
    __doc__ += _fit_error_text()
