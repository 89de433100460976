r"""Particle size distributions of active material for the 3D generator.

Three forms: a **log-normal** number distribution fitted to the characteristic diameters
d10/d50/d90 of the material library, a **truncated three-parameter log-normal** (shift, scale,
shape, bounds) for a material whose measured size list is known, and a **measured** list of
diameters that is resampled with replacement (bootstrap). Diameters are in metres everywhere.

Log-normal fit (number-based):

.. math:: \ln d \sim \mathcal N(\mu, s^2), \quad \mu = \ln d_{50},
          \quad s = \frac{\ln d_{90} - \ln d_{10}}{2\, z_{0.9}}, \; z_{0.9} = 1.2816

Shifted, truncated log-normal (number-based), for skewed measured distributions:

.. math:: \ln(d - d_0) \sim \mathcal N(\ln d_s, s^2), \quad d_{min} \le d \le d_{max}

The NMC111 default of the material library is this form fitted by maximum likelihood to the
409 measured diameters of the ARTISTIC data set [1]_ (``am_particle_diameters_um.dat``;
SEM particle sizing, LRCS Amiens): :math:`d_0` = 0.958 µm, :math:`d_s` = 3.296 µm,
s = 0.6666, bounds 1.25–16.5 µm (just outside the data's 1.28–16.22 µm). The data: mean
4.92 µm, median 4.01 µm, P10/P25/P75/P90 2.42/3.04/6.17/8.60 µm, Sauter mean d32 7.88 µm,
volume-weighted median 9.0 µm. The fit: mean 4.91 µm, median 4.23 µm, P10/P25/P75/P90
2.36/3.05/6.05/8.45 µm, d32 7.89 µm, volume-weighted median 9.27 µm; Kolmogorov–Smirnov
D = 0.043 (p = 0.42). The two-parameter log-normal through d10/d50/d90 of the same data
(median 4.0 µm, s = 0.498) puts its own P10/P90 at 2.11/7.57 µm and has no upper bound: it
misses the skew of the data (:math:`\ln(d_{90}/d_{50}) = 0.77` against
:math:`\ln(d_{50}/d_{10}) = 0.51`).

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
    kind : {"lognormal", "lognormal3", "measured"}
    d50 : float
        Median diameter [m].
    sigma_ln : float
        Log-normal shape s [-] (``nan`` for a measured list).
    diameters : tuple of float
        The measured diameters [m] (empty for a log-normal).
    d_min, d_max : float
        Limits of sampled diameters [m]: clipped for "lognormal" and "measured", truncated
        (drawn again) for "lognormal3".
    shift : float
        :math:`d_0` of a "lognormal3" [m] (0 otherwise); ``d50`` then holds its scale
        :math:`d_s` (the median of :math:`d - d_0` before truncation).
    """

    kind: str
    d50: float
    sigma_ln: float = float("nan")
    diameters: tuple[float, ...] = ()
    d_min: float = 0.0
    d_max: float = float("inf")
    shift: float = 0.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` diameters [m] (clipped to [d_min, d_max])."""
        if self.kind == "measured":
            d = rng.choice(np.asarray(self.diameters), size=n, replace=True)
        elif self.kind == "lognormal3":
            d = self.shift + np.exp(rng.normal(np.log(self.d50), self.sigma_ln, size=n))
            bad = (d < self.d_min) | (d > self.d_max)
            for _ in range(100):            # truncation: draw the rejected ones again
                if not bad.any():
                    break
                d[bad] = self.shift + np.exp(rng.normal(np.log(self.d50), self.sigma_ln,
                                                        size=int(bad.sum())))
                bad = (d < self.d_min) | (d > self.d_max)
        else:
            d = np.exp(rng.normal(np.log(self.d50), self.sigma_ln, size=n))
        return np.clip(d, self.d_min, self.d_max)

    def percentiles(self) -> tuple[float, float, float]:
        """(d10, d50, d90) of the number distribution [m]."""
        if self.kind == "measured":
            p = np.percentile(np.asarray(self.diameters), [10, 50, 90])
            return float(p[0]), float(p[1]), float(p[2])
        if self.kind == "lognormal3":
            from scipy.stats import norm

            mu = np.log(self.d50)
            lo = norm.cdf((np.log(max(self.d_min - self.shift, 1e-300)) - mu) / self.sigma_ln)
            hi = norm.cdf((np.log(max(self.d_max - self.shift, 1e-300)) - mu) / self.sigma_ln) \
                if np.isfinite(self.d_max) else 1.0
            q = norm.ppf(lo + (hi - lo) * np.array([0.1, 0.5, 0.9]))
            d = self.shift + np.exp(mu + self.sigma_ln * q)
            return float(d[0]), float(d[1]), float(d[2])
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


def shifted_lognormal(shift: float, scale: float, sigma_ln: float, d_min: float,
                      d_max: float) -> ParticleSizeDistribution:
    """Truncated three-parameter log-normal: ln(d − shift) ~ N(ln scale, sigma_ln²), d in
    [d_min, d_max] [m] (see the module docstring for the NMC111 fit).

    Raises
    ------
    StructureError
        Unless 0 <= shift < d_min < d_max, scale > 0 and sigma_ln > 0.

    Examples
    --------
    >>> p = shifted_lognormal(0.958e-6, 3.296e-6, 0.6666, 1.25e-6, 16.5e-6)
    >>> [round(v * 1e6, 2) for v in p.percentiles()]
    [2.36, 4.23, 8.45]
    """
    if not (0 <= shift < d_min < d_max and scale > 0 and sigma_ln > 0):
        raise StructureError(
            f"a shifted log-normal needs 0 <= shift < d_min < d_max, scale > 0, sigma_ln > 0; "
            f"got shift={shift * 1e6:g} µm, d_min={d_min * 1e6:g} µm, d_max={d_max * 1e6:g} µm, "
            f"scale={scale * 1e6:g} µm, sigma_ln={sigma_ln:g}")
    return ParticleSizeDistribution("lognormal3", float(scale), float(sigma_ln),
                                    d_min=float(d_min), d_max=float(d_max), shift=float(shift))


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


#: The NMC111 fit to the measured ARTISTIC diameters (module docstring; the material library's
#: ``particle_size_*`` of NMC111 hold the same numbers with their source): shift, scale [m],
#: shape [-], bounds [m]. The generator's default PSD.
NMC111_FIT: tuple[float, float, float, float, float] = (0.958e-6, 3.296e-6, 0.6666, 1.25e-6,
                                                        16.5e-6)

#: Properties of a material that give its PSD as a truncated shifted log-normal.
SHIFTED_KEYS: tuple[str, ...] = ("particle_size_shift", "particle_size_scale",
                                 "particle_size_sigma_ln", "particle_size_min",
                                 "particle_size_max")


def from_material(material) -> ParticleSizeDistribution:
    """PSD of a library material [m].

    The truncated shifted log-normal when the material gives ``particle_size_shift``,
    ``_scale``, ``_sigma_ln``, ``_min`` and ``_max`` (NMC111: fitted to the measured
    diameters, see the module docstring); else the log-normal through ``particle_d10/d50/d90``.
    """
    vals = [material.get(k, None) for k in SHIFTED_KEYS] if hasattr(material, "get") else []
    if vals and all(v is not None for v in vals):
        return shifted_lognormal(*(float(v) for v in vals))
    return lognormal(float(material["particle_d10"]), float(material["particle_d50"]),
                     float(material["particle_d90"]))
