r"""Particle size distributions of active material for the 3D generator.

Two forms: a **log-normal** number distribution fitted to the characteristic diameters
d10/d50/d90 of the material library, and a **measured** list of diameters that is resampled
with replacement (bootstrap). Diameters are in metres everywhere.

Log-normal fit (number-based):

.. math:: \ln d \sim \mathcal N(\mu, s^2), \quad \mu = \ln d_{50},
          \quad s = \frac{\ln d_{90} - \ln d_{10}}{2\, z_{0.9}}, \; z_{0.9} = 1.2816

References
----------
.. [1] M. Duquesnoy, T. Lombardo, M. Chouchane, E. N. Primo, A. A. Franco, J. Power Sources
       480 (2020) 229103. doi:10.1016/j.jpowsour.2020.229103 (measured NMC PSD, 3–10 µm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinline.spec.errors import StructureError

_Z90 = 1.2815515655446004


@dataclass(frozen=True)
class ParticleSizeDistribution:
    """A number distribution of sphere diameters [m].

    Attributes
    ----------
    kind : {"lognormal", "measured"}
    d50 : float
        Median diameter [m].
    sigma_ln : float
        Log-normal shape s [-] (``nan`` for a measured list).
    diameters : tuple of float
        The measured diameters [m] (empty for a log-normal).
    d_min, d_max : float
        Clipping limits of sampled diameters [m].
    """

    kind: str
    d50: float
    sigma_ln: float = float("nan")
    diameters: tuple[float, ...] = ()
    d_min: float = 0.0
    d_max: float = float("inf")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` diameters [m] (clipped to [d_min, d_max])."""
        if self.kind == "measured":
            d = rng.choice(np.asarray(self.diameters), size=n, replace=True)
        else:
            d = np.exp(rng.normal(np.log(self.d50), self.sigma_ln, size=n))
        return np.clip(d, self.d_min, self.d_max)

    def percentiles(self) -> tuple[float, float, float]:
        """(d10, d50, d90) of the number distribution [m]."""
        if self.kind == "measured":
            p = np.percentile(np.asarray(self.diameters), [10, 50, 90])
            return float(p[0]), float(p[1]), float(p[2])
        return (self.d50 * np.exp(-_Z90 * self.sigma_ln), self.d50,
                self.d50 * np.exp(_Z90 * self.sigma_ln))

    def with_limits(self, d_min: float, d_max: float) -> ParticleSizeDistribution:
        from dataclasses import replace

        return replace(self, d_min=d_min, d_max=d_max)


def lognormal(d10: float, d50: float, d90: float) -> ParticleSizeDistribution:
    """Log-normal number distribution from d10 < d50 < d90 [m].

    The median is d50; the shape uses the d10–d90 span (geometric mean of the two tails).

    Raises
    ------
    StructureError
        Unless 0 < d10 < d50 < d90.

    Examples
    --------
    >>> p = lognormal(2.4e-6, 4.0e-6, 8.6e-6)
    >>> round(p.sigma_ln, 3)
    0.498
    """
    if not 0 < d10 < d50 < d90:
        raise StructureError(f"particle sizes need 0 < d10 < d50 < d90, got d10={d10 * 1e6:g} µm, "
                             f"d50={d50 * 1e6:g} µm, d90={d90 * 1e6:g} µm")
    s = (np.log(d90) - np.log(d10)) / (2.0 * _Z90)
    return ParticleSizeDistribution("lognormal", float(d50), float(s))


def measured(diameters) -> ParticleSizeDistribution:
    """A measured list of diameters [m], resampled with replacement.

    Raises
    ------
    StructureError
        If the list is empty or holds a non-positive or non-finite value.
    """
    d = np.asarray(diameters, dtype=float).ravel()
    if d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise StructureError("a measured particle size distribution needs at least one "
                             "finite diameter > 0 m")
    return ParticleSizeDistribution("measured", float(np.median(d)), diameters=tuple(d.tolist()))


def read_diameters(path: str | Path, *, unit: str = "um") -> ParticleSizeDistribution:
    """Read a text file of diameters (one per line; ``#`` comments) in ``unit``.

    Raises
    ------
    StructureError
        If the file cannot be read or holds no diameter.
    """
    from twinline.spec.units import ureg

    try:
        values = np.loadtxt(path, comments="#", ndmin=1, dtype=float)
    except (OSError, ValueError) as err:
        raise StructureError(f"cannot read particle diameters from {path}: {err}") from None
    factor = float(ureg().Quantity(1.0, unit).m_as("m"))
    return measured(values * factor)


def from_material(material) -> ParticleSizeDistribution:
    """Log-normal PSD from a library material's ``particle_d10/d50/d90`` [m]."""
    return lognormal(float(material["particle_d10"]), float(material["particle_d50"]),
                     float(material["particle_d90"]))
