r"""Monte Carlo propagation of machine tolerances through the electrode chain, and a
one-at-a-time local sensitivity table.

**Tolerances.** Each machine parameter :math:`x_j` with a tolerance gets a normal
distribution :math:`x_j \sim \mathcal N(x_{j,0}, \sigma_j^2)`, :math:`\sigma_j` one standard
deviation:

* from the recipe's ``tolerances`` mapping, keyed by recipe path
  (``cathode.coating.gap: 5 um``; ``2 %`` means 2 % of the nominal value; temperatures such as
  ``2 degC`` are differences); ``cathode.drying.temperature`` shifts every dryer zone
  together, ``cathode.drying.zones.1.temperature`` one zone;
* else, for the machine parameters (category MP) of the catalogue, the catalogue's
  measurement resolution where it is a number with a unit (``± 1 °C``, ``± 0.05 m/min``;
  a bare unit such as ``mbar`` is not a resolution), taken as one standard deviation;
  ``drying.temperature`` shifts every dryer zone together.

**Propagation.** All samples are drawn at once from one seeded
:class:`numpy.random.Generator` and passed as arrays through the *same* step functions as the
deterministic chain (sections rebuilt with ``model_copy(update=...)``, no validation, since
the step models broadcast). Sampled values are truncated to the parameter's admissible range
(positive quantities stay positive, fractions in [0, 1]). For each output: mean, standard
deviation and the 5/50/95 % percentiles. As :math:`\sigma \to 0` the mean converges to the
deterministic value (tested).

**Sensitivity.** One vectorised evaluation at :math:`x_0 \pm \sigma_j e_j` for every toleranced
input gives central differences; the row of output :math:`y_i` and input :math:`x_j` holds

.. math::
    c_{ij} = \frac{y_i(x_0 + \sigma_j e_j) - y_i(x_0 - \sigma_j e_j)}{2},\qquad
    s_{ij} = \frac{c_{ij}}{\sqrt{\sum_k c_{ik}^2}},

:math:`c_{ij}` the output change for a one-sigma change of the input (in the output's unit),
:math:`s_{ij}` its share (signed; :math:`\sum_j s_{ij}^2 = 1`), the first-order
(linearised) variance decomposition (Saltelli et al. 2008, Ch. 1).

References
----------
Saltelli, A. et al., Global Sensitivity Analysis: The Primer, Wiley (2008).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinline.spec.errors import RecipeError

#: Percentiles reported for every output [%].
PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)

#: Samples evaluated at once by :func:`monte_carlo`. The products of one chunk (about 0.6 kB
#: per sample) are freed before the next; only the outputs' values (8 bytes per varying
#: output per sample, about 0.26 kB for a cathode) are kept for exact percentiles. Up to this
#: many samples the numbers are bit-identical to an unchunked evaluation.
MC_CHUNK = 200_000


@dataclass(frozen=True)
class Tolerance:
    """One toleranced machine parameter (SI)."""

    electrode: str
    step: str
    field: str
    zone: int | None
    nominal: float
    sigma: float
    unit: str
    low: float
    high: float
    source: str  # "recipe" or "catalogue"

    @property
    def key(self) -> str:
        z = f"zones.{self.zone}." if self.zone is not None else ""
        return f"{self.electrode}.{self.step}.{z}{self.field}"


# ----------------------------------------------------------------------------- field metadata
def field_unit_and_range(section_cls: type, name: str) -> tuple[str, float, float] | None:
    """SI unit and admissible range of a numeric recipe field, or None if not numeric."""
    from twinline.spec.fields import field_spec

    spec = field_spec(section_cls, name)
    return None if spec is None else (spec.unit, spec.low, spec.high)


def parse_sigma(text: Any, unit: str, nominal: float, *, name: str) -> float:
    """One standard deviation in SI from ``'5 um'``, ``'2 %'`` (of nominal) or a number."""
    from twinline.spec.units import parse_quantity

    if isinstance(text, str) and text.strip().endswith("%") and unit != "":
        try:
            rel = float(text.strip()[:-1]) / 100.0
        except ValueError:
            raise RecipeError(f"tolerances.{name} = {text!r}: expected a quantity in "
                              f"{unit or '(dimensionless)'} or a percentage") from None
        return abs(rel * nominal)
    if isinstance(text, str) and unit == "K":
        text = re.sub(r"(°C|degC|celsius)\b|°C", "delta_degC", text)
        text = re.sub(r"(°F|degF)\b", "delta_degF", text)
    sigma = parse_quantity(text, unit, name=f"tolerances.{name}")
    if not np.isfinite(sigma) or sigma < 0:
        raise RecipeError(f"tolerances.{name} = {text!r}: a tolerance must be a finite "
                          "value >= 0")
    return abs(sigma)


# ----------------------------------------------------------------------------- tolerances
def resolve_tolerances(recipe, *, use_catalogue: bool = True) -> list[Tolerance]:
    """The toleranced machine parameters of a recipe (recipe first, then catalogue)."""
    electrodes = recipe.electrodes()
    out: dict[str, Tolerance] = {}
    for key, text in recipe.tolerances.items():
        tol = _recipe_tolerance(recipe, electrodes, key, text)
        out[tol.key] = tol
    if use_catalogue:
        for tol in _catalogue_tolerances(electrodes):
            out.setdefault(tol.key, tol)
    return list(out.values())


def _recipe_tolerance(recipe, electrodes, key: str, text: Any) -> Tolerance:
    parts = str(key).split(".")
    if len(parts) < 3 or parts[0] not in electrodes:
        raise RecipeError(
            f"tolerances: key {key!r} must read ELECTRODE.STEP.PARAMETER with ELECTRODE in "
            f"{sorted(electrodes)} (for example 'cathode.coating.gap')")
    electrode, step = parts[0], parts[1]
    from twinline.spec.steps import step_names

    steps = list(step_names("electrode"))
    if step not in steps:
        raise RecipeError(f"tolerances: {key!r}: unknown step {step!r}; choose from {steps}")
    section = getattr(electrodes[electrode], step)
    zone: int | None = None
    target, fname = section, parts[-1]
    if step == "drying" and len(parts) == 5 and parts[2] == "zones":
        try:
            zone = int(parts[3])
            target = section.zones[zone]
        except (ValueError, IndexError):
            raise RecipeError(f"tolerances: {key!r}: the dryer has zones 0..."
                              f"{len(section.zones) - 1}") from None
    elif step == "drying" and len(parts) == 3 and parts[2] in ("temperature", "air_velocity",
                                                                 "length"):
        target = section.zones[0]  # all zones shift together; nominal of zone 0 for '%'
    elif len(parts) != 3:
        raise RecipeError(f"tolerances: {key!r} must read ELECTRODE.STEP.PARAMETER")
    meta = field_unit_and_range(type(target), fname)
    nominal = getattr(target, fname, None)
    if meta is None or nominal is None:
        numeric = sorted(f for f in type(target).model_fields
                         if field_unit_and_range(type(target), f) is not None
                         and getattr(target, f, None) is not None)
        raise RecipeError(f"tolerances: {key!r}: {step} has no numeric parameter {fname!r} "
                          f"set in this recipe; choose from {numeric}")
    unit, low, high = meta
    sigma = parse_sigma(text, unit, float(nominal), name=key)
    return Tolerance(electrode, step, fname, zone, float(nominal), sigma, unit, low, high,
                     "recipe")


def _catalogue_tolerances(electrodes) -> list[Tolerance]:
    from twinline.spec.catalogue import catalogue

    cat = catalogue()
    out = []
    from twinline.spec.steps import step_names

    for electrode, rec in electrodes.items():
        for step in step_names("electrode"):
            section = getattr(rec, step)
            for fname in type(section).model_fields:
                meta = field_unit_and_range(type(section), fname)
                nominal = getattr(section, fname, None)
                if meta is None or nominal is None or isinstance(nominal, bool):
                    continue
                param = cat.get(f"{step}.{fname}", None)
                if param is None:
                    continue
                if str(getattr(param, "category", "MP")).upper() != "MP":
                    continue
                sigma = _resolution_sigma(param, meta[0], float(nominal))
                if sigma is None or sigma <= 0:
                    continue
                out.append(Tolerance(electrode, step, fname, None, float(nominal), sigma,
                                     meta[0], meta[1], meta[2], "catalogue"))
        # dryer zones: a catalogue resolution shifts every zone together
        zone = rec.drying.zones[0]
        for fname, pid in (("temperature", "drying.temperature"),
                           ("air_velocity", "drying.air_velocity"),
                           ("length", "drying.zone_length")):
            meta = field_unit_and_range(type(zone), fname)
            param = cat.get(pid, None)
            if param is None:
                continue
            sigma = _resolution_sigma(param, meta[0], float(getattr(zone, fname)))
            if sigma:
                out.append(Tolerance(electrode, "drying", fname, None,
                                     float(getattr(zone, fname)), sigma, meta[0], meta[1],
                                     meta[2], "catalogue"))
    return out


def _resolution_sigma(param: Any, unit: str, nominal: float) -> float | None:
    """One standard deviation from the catalogue's resolution, parsed when it loaded."""
    if param.resolution_relative is not None:
        return abs(param.resolution_relative * nominal)
    return param.resolution_in(unit)


# ----------------------------------------------------------------------------- sampling
def sample_sections(electrode_recipe, tolerances: list[Tolerance], values: dict[str, Any]
                    ) -> dict[str, Any]:
    """Sections of one electrode with the toleranced fields replaced by ``values[key]``."""
    from twinline.chain.steps import electrode_sections

    secs = electrode_sections(electrode_recipe)
    for tol in tolerances:
        x = values[tol.key]
        sec = secs[tol.step]
        if tol.step == "drying" and tol.field in ("temperature", "air_velocity", "length"):
            zones = list(sec.zones)
            idx = range(len(zones)) if tol.zone is None else [tol.zone]
            for i in idx:
                z = zones[i]
                shift = x - tol.nominal  # a common shift of every zone (or one zone)
                zones[i] = z.model_copy(update={tol.field: np.asarray(
                    getattr(z, tol.field), float) + shift})
            secs["drying"] = sec.model_copy(update={"zones": zones})
        else:
            secs[tol.step] = sec.model_copy(update={tol.field: x})
    return secs


def draw(tolerances: list[Tolerance], samples: int, seed: int) -> dict[str, np.ndarray]:
    """Normal samples of every toleranced parameter, truncated to its range."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((len(tolerances), samples))
    return {t.key: _clip(t, t.nominal + t.sigma * z[i]) for i, t in enumerate(tolerances)}


def draw_chunks(tolerances: list[Tolerance], samples: int, seed: int, chunk: int
                ) -> typing.Iterator[dict[str, np.ndarray]]:
    """:func:`draw` in chunks of at most ``chunk`` samples from one generator.

    With ``samples <= chunk`` the single chunk equals ``draw(tolerances, samples, seed)``;
    beyond, chunk ``k`` holds the generator's next ``len(tolerances) × n_k`` normals (the
    same seed gives the same samples for the same ``chunk``).
    """
    if chunk < 1:
        raise RecipeError(f"Monte Carlo chunk = {chunk}: must be >= 1")
    rng = np.random.default_rng(seed)
    for start in range(0, samples, chunk):
        n = min(chunk, samples - start)
        z = rng.standard_normal((len(tolerances), n))
        yield {t.key: _clip(t, t.nominal + t.sigma * z[i]) for i, t in enumerate(tolerances)}


def _clip(t: Tolerance, x: np.ndarray) -> np.ndarray:
    span = max(abs(t.nominal), t.sigma, 1e-300)
    low = t.low + 1e-9 * span if np.isfinite(t.low) else -np.inf
    high = t.high - 1e-9 * span if np.isfinite(t.high) else np.inf
    return np.clip(x, low, high)


def _electrode_outputs(name, electrode_recipe, composition, materials, tolerances, values,
                       kappa) -> dict[str, np.ndarray]:
    from twinline.chain.outputs import collect_outputs, to_display
    from twinline.chain.steps import evaluate_electrode

    secs = sample_sections(electrode_recipe, tolerances, values)
    prods = evaluate_electrode(name, electrode_recipe, composition, materials, sections=secs)
    raw = collect_outputs(prods, secs, electrolyte_conductivity=kappa)
    out = {}
    for pid, (value, si_unit, _) in raw.items():
        disp, _unit = to_display(pid, value, si_unit)
        out[f"{name}.{pid}"] = np.asarray(disp, dtype=float)
    return out


def monte_carlo(recipe, materials, compositions: dict[str, Any], *, samples: int,
                seed: int = 0, electrolyte_conductivity: float | None = None,
                tolerances: list[Tolerance] | None = None, chunk: int = MC_CHUNK,
                progress: typing.Callable[[float], None] | None = None
                ) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    """Monte Carlo statistics of every output and the one-at-a-time sensitivity table.

    Parameters
    ----------
    recipe : Recipe
    materials : MaterialLibrary
    compositions : dict
        ``electrode → Composition`` (from the deterministic run).
    samples : int
        Number of samples N (> 0).
    seed : int
        Seed of the generator; the same seed gives the same numbers.
    electrolyte_conductivity : float, optional
        [S m⁻¹], for the effective-conductivity estimate; default: the conductivity of the
        recipe's electrolyte in ``materials`` (LP30 without a cell section).
    tolerances : list of Tolerance, optional
        Default: :func:`resolve_tolerances`.
    chunk : int
        Samples evaluated at once (:data:`MC_CHUNK`): the chain's intermediate products
        exist for one chunk at a time, so the working memory is bounded by the chunk; the
        outputs' values (8 bytes per sample per varying output) are kept so that the mean,
        standard deviation and percentiles are exact, over all samples. Up to ``chunk``
        samples the results are bit-identical to a single evaluation.
    progress : callable, optional
        ``progress(fraction_done)`` after each chunk.

    Returns
    -------
    stats : dict
        ``"cathode.coating.loading"`` → ``{"mean", "std", "p5", "p50", "p95"}`` (display
        unit).
    sensitivity : list of dict
        Rows ``{output, input, sigma, unit, contribution, normalised}``.
    """
    if samples <= 0:
        raise RecipeError(f"samples = {samples} must be > 0 for Monte Carlo")
    tols = resolve_tolerances(recipe) if tolerances is None else tolerances
    if electrolyte_conductivity is None:
        from twinline.structure.analyse import bulk_conductivity

        cell = getattr(recipe, "cell", None)
        electrolyte_conductivity = bulk_conductivity(
            cell.electrolyte if cell is not None else None, materials)
    stats: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    electrodes = recipe.electrodes()
    for e_index, (name, rec) in enumerate(electrodes.items()):
        mine = [t for t in tols if t.electrode == name]
        if not mine:
            continue
        kept: dict[str, np.ndarray] = {}  # key → the output's value for every sample
        start = 0
        for values in draw_chunks(mine, samples, seed + 1000003 * e_index, chunk):
            n = len(next(iter(values.values())))
            out = _electrode_outputs(name, rec, compositions[name], materials, mine, values,
                                     electrolyte_conductivity)
            for key, arr in out.items():
                old = kept.get(key)
                if arr.ndim == 0 and (old is None or (old.ndim == 0 and old == arr)):
                    kept[key] = arr  # a constant: broadcast at the end, as before
                    continue
                if old is None or old.ndim == 0:
                    full = np.empty(samples)
                    if old is not None:
                        full[:start] = old
                    kept[key] = full
                kept[key][start:start + n] = arr
            del out, values
            start += n
            if progress is not None:
                progress((e_index + start / samples) / len(electrodes))
        for key, arr in kept.items():
            a = np.broadcast_to(arr, (samples,)) if arr.ndim == 0 else arr
            pct = np.percentile(a, PERCENTILES)
            mean = float(np.mean(a))
            std = float(np.std(a, ddof=1)) if samples > 1 else 0.0
            if std <= 1e-9 * abs(mean):  # round-off of an output no tolerance reaches
                std = 0.0
            stats[key] = {"mean": mean, "std": std,
                          **{f"p{p:g}": float(v) for p, v in zip(PERCENTILES, pct,
                                                                  strict=True)}}
        rows.extend(_sensitivity(name, rec, compositions[name], materials, mine,
                                 electrolyte_conductivity))
    return stats, rows


def _sensitivity(name, rec, composition, materials, tols, kappa) -> list[dict[str, Any]]:
    k = len(tols)
    values = {}
    for j, t in enumerate(tols):
        x = np.full(2 * k, t.nominal)
        x[2 * j] = t.nominal + t.sigma
        x[2 * j + 1] = t.nominal - t.sigma
        values[t.key] = _clip(t, x)
    out = _electrode_outputs(name, rec, composition, materials, tols, values, kappa)
    from twinline.chain.outputs import display_unit

    rows = []
    for key, arr in out.items():
        a = np.broadcast_to(arr, (2 * k,)) if arr.ndim == 0 else arr
        c = (a[0::2] - a[1::2]) / 2.0
        # round-off (e.g. a millisecond gas-diffusion term against hours): no effect
        c = np.where(np.abs(c) <= 1e-8 * float(np.max(np.abs(a))), 0.0, c)
        norm = float(np.sqrt(np.sum(c ** 2)))
        pid = key.split(".", 1)[1]
        unit = _unit_of(pid, display_unit)
        for j, t in enumerate(tols):
            rows.append({"output": key, "input": t.key, "sigma": t.sigma,
                         "sigma_unit": t.unit, "unit": unit, "contribution": float(c[j]),
                         "normalised": float(c[j] / norm) if norm > 0 else 0.0})
    return rows


def _unit_of(pid: str, display_unit) -> str:
    from twinline.chain.outputs import electrode_output_units

    si_unit = electrode_output_units().get(pid)
    return "" if si_unit is None else display_unit(pid, si_unit)[0]


def sensitivity_table(rows: list[dict[str, Any]], *, min_share: float = 0.0
                      ) -> list[dict[str, Any]]:
    """Rows sorted by output, largest share first, dropping shares below ``min_share``."""
    keep = [r for r in rows if abs(r["normalised"]) >= min_share and r["contribution"] != 0]
    return sorted(keep, key=lambda r: (r["output"], -abs(r["normalised"])))
