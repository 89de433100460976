r"""Calibrate the slurry rheology model from rheometer data and write a materials file.

The rheometer CSV has one row per measurement and the columns ``shear_rate`` and
``viscosity``, optionally ``solid_content``; a unit may follow the name in brackets
(``viscosity [mPa s]``, ``solid_content [%]``), otherwise SI is assumed (1/s, Pa s, -);
``[-]`` marks a plain fraction. Other columns are ignored, and so are lines starting with
``#`` (comments). ``examples/rheometer.csv`` is an example.

The model is the one of :mod:`twinline.process.mixing` (Krieger–Dougherty level in the
binder solution, Cross shape). Least squares on :math:`\log_{10}\eta`:

* always fitted: the Cross ``relaxation_time`` λ and ``rate_index`` n (of the active
  material) and the binder's ``overlap_concentration`` c* (the level);
* with three or more distinct solid contents also the binder's ``concentration_exponent``
  and the active material's ``max_packing_fraction`` (how the level grows with solids).

The result is written as a materials YAML holding complete copies of the active material
and the binder with the fitted properties replaced (a user file replaces a built-in
material of the same name), each fitted value's ``source`` naming the data file and the
fit's RMSE.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twinline.materials import PROPERTY_UNITS, MaterialLibrary
from twinline.process.mixing import predict_viscosity
from twinline.process.products import Composition
from twinline.spec.errors import RecipeError, quote

_AM_KEYS = ("relaxation_time", "rate_index", "max_packing_fraction")
_BINDER_KEYS = ("overlap_concentration", "concentration_exponent")


@dataclass(frozen=True)
class RheometerData:
    """Measured points: shear rate [s⁻¹], viscosity [Pa s], solid content [-] (arrays)."""

    shear_rate: np.ndarray
    viscosity: np.ndarray
    solid_content: np.ndarray
    source: str = ""


@dataclass(frozen=True)
class SlurryFit:
    """Fitted constants, RMSE of log10 η before and after, number of points."""

    constants: dict[str, float]
    fitted: tuple[str, ...]
    rmse_before: float
    rmse_after: float
    n_points: int
    composition: Composition
    notes: tuple[str, ...] = field(default_factory=tuple)


_DIMENSIONLESS = ("", "-", "1", "fraction")


def _column_unit(header: str) -> tuple[str, str | None]:
    """``'viscosity [mPa s]'`` → ``('viscosity', 'mPa s')``; ``[-]`` and no unit → None (SI)."""
    m = re.match(r"^\s*([A-Za-z_ ]+?)\s*(?:[\[(](.*)[\])])?\s*$", header)
    if not m:
        return header.strip().lower(), None
    unit = (m.group(2) or "").strip()
    return (m.group(1).strip().lower().replace(" ", "_"),
            None if unit.lower() in _DIMENSIONLESS else unit)


def read_rheometer_csv(path: str | Path, *, solid_content: float | None = None) -> RheometerData:
    """Read a rheometer CSV (see the module docstring).

    Raises
    ------
    RecipeError
        Missing file or column, non-numeric or non-positive values, a unit that does not
        convert, or no solid content in the file nor in ``solid_content``.
    """
    from twinline.spec.units import parse_quantity

    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except OSError as err:
        raise RecipeError(f"{p}: cannot read rheometer file ({err.strerror})") from None
    # lines starting with '#' are comments (line numbers in messages stay the file's)
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1)
             if not ln.lstrip().startswith("#")]
    parsed = zip([n for n, _ in lines], csv.reader([ln for _, ln in lines]), strict=True)
    numbered = [(n, r) for n, r in parsed if any(c.strip() for c in r)]
    rows = [r for _, r in numbered]
    if len(rows) < 2:
        raise RecipeError(f"{p}: needs a header and at least one data row")
    cols = {}
    for i, h in enumerate(rows[0]):
        name, unit = _column_unit(h)
        cols[name] = (i, unit)
    si = {"shear_rate": "1/s", "viscosity": "Pa*s", "solid_content": ""}
    need = ["shear_rate", "viscosity"] + ([] if solid_content is not None else ["solid_content"])
    for name in need:
        if name not in cols:
            raise RecipeError(
                f"{p}: column {name!r} is missing (found {quote(rows[0])}); expected 'shear_rate "
                f"[1/s]', 'viscosity [Pa s]' and 'solid_content [-]' (or --solid-content)")
    out: dict[str, list[float]] = {k: [] for k in si}
    for n, row in numbered[1:]:
        for name, unit_si in si.items():
            if name not in cols:
                continue
            i, unit = cols[name]
            try:
                raw = row[i].strip()
                value = float(raw) if unit is None else parse_quantity(
                    f"{raw} {unit}", unit_si, name=name)
            except (ValueError, IndexError, RecipeError):
                raise RecipeError(f"{p}: line {n}: {name} = {quote(row[i] if i < len(row) else '')}"
                                  f" is not a number in {unit or unit_si or '-'}") from None
            out[name].append(value)
    gamma, eta = np.array(out["shear_rate"]), np.array(out["viscosity"])
    ws = (np.array(out["solid_content"]) if "solid_content" in cols
          else np.full(gamma.shape, float(solid_content)))
    for name, arr, hi in (("shear_rate", gamma, np.inf), ("viscosity", eta, np.inf),
                          ("solid_content", ws, 1.0)):
        if np.any(~(arr > 0)) or np.any(arr >= hi):
            bad = arr[~(arr > 0) | (arr >= hi)][0]
            raise RecipeError(f"{p}: {name} = {bad:g} {si[name] or '-'} is out of range; "
                              f"allowed (0, {hi:g})")
    return RheometerData(gamma, eta, ws, source=p.name)


def fit_slurry_rheology(data: RheometerData, composition: Composition,
                        materials: MaterialLibrary) -> SlurryFit:
    """Least-squares fit of the rheology constants to ``data`` (see the module docstring)."""
    from scipy.optimize import least_squares

    am = materials.require(composition.active_material, "active_material",
                           parameter="active material")
    binder = materials.require(composition.binder, "binder", parameter="binder")
    start = {k: am.get(k) for k in _AM_KEYS} | {k: binder.get(k) for k in _BINDER_KEYS}
    multi = len(np.unique(np.round(data.solid_content, 4))) >= 3
    names = ["relaxation_time", "rate_index", "overlap_concentration"]
    if multi:
        names += ["concentration_exponent", "max_packing_fraction"]
    # fitted in transformed coordinates: log10 of the positive scales
    logs = {"relaxation_time", "overlap_concentration"}
    lo = {"relaxation_time": -3.0, "rate_index": 0.05, "overlap_concentration": -5.0,
          "concentration_exponent": 1.0, "max_packing_fraction": 0.3}
    hi = {"relaxation_time": 4.0, "rate_index": 0.99, "overlap_concentration": -0.5,
          "concentration_exponent": 8.0, "max_packing_fraction": 0.95}
    y = np.log10(data.viscosity)

    def constants(x):
        k = dict(start)
        for n, v in zip(names, x, strict=True):
            k[n] = 10.0 ** v if n in logs else v
        return k

    def residual(x):
        eta = predict_viscosity(composition, data.solid_content, data.shear_rate, materials,
                                constants=constants(x))
        return np.log10(np.where(np.isfinite(eta) & (eta > 0), eta, 1e12)) - y

    x0 = np.array([np.clip(np.log10(start[n]) if n in logs else start[n], lo[n] + 1e-6,
                           hi[n] - 1e-6) for n in names])
    before = float(np.sqrt(np.mean(residual(x0) ** 2)))
    res = least_squares(residual, x0, bounds=([lo[n] for n in names], [hi[n] for n in names]))
    notes = []
    if not multi:
        notes.append("fewer than 3 solid contents: concentration_exponent and "
                     "max_packing_fraction kept from the library")
    if float(np.ptp(np.log10(data.shear_rate))) < 1.0:
        notes.append("shear rates span less than a decade: relaxation_time is poorly "
                     "determined")
    return SlurryFit(constants=constants(res.x), fitted=tuple(names), rmse_before=before,
                     rmse_after=float(np.sqrt(np.mean(res.fun ** 2))),
                     n_points=int(y.size), composition=composition, notes=tuple(notes))


def materials_yaml(fit: SlurryFit, materials: MaterialLibrary, *, source: str) -> str:
    """A materials file (YAML text) with the calibrated active material and binder."""
    import yaml

    comp = fit.composition
    note = f"twinline calibrate slurry {source} (RMSE log10 eta {fit.rmse_after:.3f}, " \
           f"{fit.n_points} points)"
    out: dict[str, dict] = {}
    for name, keys in ((comp.active_material, _AM_KEYS), (comp.binder, _BINDER_KEYS)):
        mat = materials[name]
        props: dict[str, object] = {}
        for prop, value in mat.properties.items():
            unit = PROPERTY_UNITS.get(prop)
            if prop in keys and prop in fit.fitted:
                props[prop] = {"value": float(fit.constants[prop]), "unit": unit,
                               "source": note}
            elif unit is None or isinstance(value, str):
                props[prop] = value
            else:
                props[prop] = {"value": float(value), "unit": unit,
                               "source": mat.source(prop) or "built-in library"}
        for prop in keys:
            if prop in fit.fitted and prop not in props:
                props[prop] = {"value": float(fit.constants[prop]),
                               "unit": PROPERTY_UNITS[prop], "source": note}
        out[name] = {"kind": mat.kind, "description": mat.description, "properties": props}
    header = (f"# Slurry rheology calibrated by twinline from {source}\n"
              f"# fitted: {', '.join(fit.fitted)}; RMSE of log10(viscosity): "
              f"{fit.rmse_before:.3f} before, {fit.rmse_after:.3f} after\n")
    return header + yaml.safe_dump({"materials": out}, sort_keys=False, allow_unicode=True)
