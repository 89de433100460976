r"""Closed forms that stand in for a 3D analysis of a calendered coating when none is run.

* Tortuosity factor of a phase of volume fraction :math:`\varepsilon`, Bruggeman (1935):
  :math:`\tau = \varepsilon^{1-b}` (:math:`b = 1.5` for spheres), so that
  :math:`D_{eff}/D = \varepsilon/\tau = \varepsilon^{b}` (:func:`bruggeman_tortuosity_factor`).
* Effective ionic conductivity :math:`\sigma_{eff} = \sigma_0\,\varepsilon/\tau`.
* Active surface of spheres of radius :math:`r`: :math:`a = 3\,\varepsilon_{AM}/r`
  [m² m⁻³].
* Current-collector coverage by each phase = its volume fraction (Delesse's principle for an
  isotropic random medium: area fraction on a plane = volume fraction; Delesse 1847).

These are the only copies of these laws in twinline: the chain's estimates and the cell's
PyBaMM inputs both call them.

References
----------
.. [1] D. A. G. Bruggeman, Ann. Phys. 416 (1935) 636-664. doi:10.1002/andp.19354160705
.. [2] A. Delesse, Ann. Mines 13 (1848) 379-388 (area fraction = volume fraction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Bruggeman exponent of a packing of spheres [-].
BRUGGEMAN_EXPONENT = 1.5
#: BibTeX keys of the closed forms (``references.bib``).
CITATIONS: tuple[str, ...] = ("Bruggeman1935", "Delesse1847")


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
