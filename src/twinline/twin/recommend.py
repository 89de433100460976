r"""Recommend settings for the next object from the calibrated twin.

:func:`recommend` proposes values of a few adjustable machine settings (recipe paths such as
``cathode.calendering.line_load`` and ``cathode.coating.gap``) that bring target outputs
(``cathode.calendering.porosity = 0.30 ± 0.01``) to their values, with the **calibrated**
chain: the active calibration version of the line's store (its posterior-mean constants for
the object's slurry batch and roll; :mod:`twinline.twin.calibration`) applied to the
object's effective settings (own over ancestors' over the base recipe;
:func:`twinline.twin.loop.effective_recipe`), or to the base recipe.

**Solve.** A direct bounded least-squares problem over the :math:`m` adjustable settings
(1–3 in practice), each mapped linearly onto :math:`u_j \in [0, 1]` across its machine window
:math:`[a_j, b_j]`:

.. math::
    \min_{u \in [0,1]^m} \sum_i \left(\frac{y_i(u) - y_i^*}{\delta_i}\right)^2
        + \lambda^2 \sum_j (u_j - u_j^0)^2

with :math:`y_i` the deterministic chain's output at the calibrated constants, :math:`y_i^*
\pm \delta_i` the targets and :math:`u^0` the current settings; the small :math:`\lambda`
(:data:`STAY_WEIGHT`) picks, among equally good settings, those nearest the current ones.
Trust-region reflective least squares (Branch, Coleman & Li 1999; ``scipy.optimize.
least_squares``) with finite-difference Jacobians, from the current settings and, with two or
more settings and a target left unmet, again from the window's centre. A target is
**reached** when :math:`|y_i - y_i^*| \le \delta_i`. An unreached target is refused with the
reason: the best reachable value (the same solve for that target alone, or a corner of the
window when no worse) and the settings at a bound of their window, or, when it is reachable
alone, that it conflicts with the other targets.

**Machine window.** Each adjustable setting's window defaults to the admissible range of its
recipe field (:func:`twinline.spec.fields.field_at`; an open end is moved inside by
:data:`OPEN_END` of the width) and may be narrowed by the caller (the real machine's limits).

**Uncertainty.** At the recommended settings every catalogue output is predicted with
:func:`twinline.twin.calibration.predict` (posterior of the constants, linearised; the
machine tolerances by the chain's Monte Carlo with ``samples``; the model's structural noise)
plus the shared structural error of :data:`twinline.twin.loop.SHARED_NOISE`: the same
uncertainty as the loop's predict-before-measure.

References
----------
M. A. Branch, T. F. Coleman, Y. Li, SIAM J. Sci. Comput. 21 (1999) 1-23 (trust-region
reflective method for bounded least squares).
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinline.twin.errors import TwinError

#: Weight of the pull towards the current settings (in window fractions vs tolerances).
STAY_WEIGHT = 1e-3
#: An open end of a field's admissible range is moved inside by this fraction of the width.
OPEN_END = 1e-3
#: Residual (in tolerances) of a chain run that fails at some settings (keeps the solver away).
FAILED = 1e3
#: Default adjustable setting per step of a target output (``<electrode>.`` is prefixed;
#: calendering uses whichever of line load or pressure the recipe sets).
DEFAULT_ADJUST = {
    "coating": "coating.gap",
    "mixing": "mixing.solid_content",
    "calendering": "calendering.line_load",
}

_PLUS_MINUS = re.compile(r"\s*(?:±|\+/-|\+-)\s*")


@dataclass(frozen=True)
class Target:
    """``parameter`` (a catalogue output with electrode, as stored: ``cathode.coating.
    am_loading``) to reach ``value`` ± ``tolerance`` (SI, ``unit``)."""

    parameter: str
    value: float
    tolerance: float
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "value": self.value,
            "tolerance": self.tolerance,
            "unit": self.unit,
        }


def parse_target(text: str) -> Target:
    """``NAME=VALUE±TOL`` (``±``, ``+/-`` or ``+-``) with units (pint), e.g.
    ``cathode.calendering.porosity=0.30±0.01``, ``cathode.calendering.porosity=30 % ± 1 %``,
    ``cathode.coating.am_loading=33 mg/cm^2 ± 0.5 mg/cm^2``. A tolerance without a unit takes
    the value's unit. The value must have the output's dimension (its catalogue unit);
    the result is an :class:`~twinline.learn.inverse.Objective`-checked :class:`Target`
    in SI."""
    from twinline.learn.inverse import Objective
    from twinline.spec.errors import RecipeError, quote
    from twinline.spec.spec_limits import output_parameter
    from twinline.spec.units import parse_quantity

    name, sep, rest = str(text).partition("=")
    name = name.strip()
    parts = _PLUS_MINUS.split(rest.strip())
    if not sep or not name or len(parts) != 2 or not all(parts):
        raise TwinError(
            f"--target {quote(text)}: write NAME=VALUE±TOL, e.g. "
            "cathode.calendering.porosity=0.30±0.01 or "
            "cathode.coating.am_loading=33 mg/cm^2±0.5 mg/cm^2"
        )
    try:
        param = output_parameter(name)
        if name.split(".", 1)[0] not in ("cathode", "anode"):
            raise RecipeError(f"--target {name}: give the electrode, e.g. cathode.{name}")
        si = param.si_unit
        value = parse_quantity(parts[0], si, name=f"--target {name}")
        try:
            tol_text: Any = {"value": float(parts[1]), "unit": _unit_of(parts[0])}
        except ValueError:  # a tolerance with its own unit
            tol_text = parts[1]
        if isinstance(tol_text, dict) and not tol_text["unit"]:
            tol_text = parts[1]
        tolerance = parse_quantity(tol_text, si, name=f"--target {name} tolerance")
        unit = tol_text["unit"] if isinstance(tol_text, dict) else _unit_of(tol_text)
        if unit:  # a tolerance is a difference: no offset (°C)
            tolerance -= parse_quantity({"value": 0.0, "unit": unit}, si, name=name)
        Objective(name, "target", value, tolerance, si)  # checks tolerance > 0
    except RecipeError as err:
        raise TwinError(str(err)) from None
    return Target(name, value, tolerance, si)


def parse_window(text: str) -> tuple[str, tuple[float, float]]:
    """``PATH=LOW..HIGH`` with units → ``(path, (low, high))`` in the field's SI unit, e.g.
    ``cathode.calendering.line_load=0.5 kN/cm..30 kN/cm``; a bound without a unit takes the
    other's."""
    from twinline.spec.errors import RecipeError, quote
    from twinline.spec.fields import field_at
    from twinline.spec.units import parse_quantity

    path, sep, rest = str(text).partition("=")
    path = path.strip()
    ends = [e.strip() for e in rest.split("..")]
    if not sep or not path or len(ends) != 2 or not all(ends):
        raise TwinError(
            f"--window {quote(text)}: write PATH=LOW..HIGH, e.g. "
            "cathode.calendering.line_load=0.5 kN/cm..30 kN/cm"
        )
    try:
        unit = field_at(path).unit
        given = [_unit_of(e) for e in ends]
        out = []
        for e, other in zip(ends, given[::-1], strict=True):
            try:
                v: Any = {"value": float(e), "unit": other} if other else e
            except ValueError:
                v = e
            out.append(parse_quantity(v, unit, name=f"--window {path}"))
    except RecipeError as err:
        raise TwinError(str(err)) from None
    return path, (out[0], out[1])


def _unit_of(text: str) -> str:
    """The unit written in a quantity text (``""`` for a plain number or text pint cannot
    read: the caller's :func:`~twinline.spec.units.parse_quantity` then says what is wrong)."""
    from twinline.learn.campaign import quantity_errors
    from twinline.spec.units import ureg

    try:
        q = ureg().Quantity(text.strip())
    except quantity_errors():
        return ""
    return f"{q.units}" if isinstance(q, ureg().Quantity) and not q.unitless else ""


@dataclass
class Recommendation:
    """What :func:`recommend` proposes (SI floats; ``units`` gives each key's SI unit).

    Attributes
    ----------
    settings : dict
        Recommended value of each adjusted recipe path.
    predicted : dict
        Every catalogue output of the chain at those settings (calibrated mean).
    uncertainty : dict
        Its standard deviation (calibration posterior + machine tolerances + model error).
    calibration_version : str
        The calibration version the prediction used (the store's active one, else the prior).
    reachable : bool
        True when every target is within its tolerance.
    messages : list of str
        One line per refused target (why), and notes (no calibration stored ...).
    targets, current, windows, units, object, groups, wall_s
        The targets, the settings before, the machine windows ``[low, high]``, the SI unit of
        every setting and output, the object and its groups, and the time taken [s].
    """

    settings: dict[str, float]
    predicted: dict[str, float]
    uncertainty: dict[str, float]
    calibration_version: str
    reachable: bool
    messages: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    current: dict[str, float] = field(default_factory=dict)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    object: str | None = None
    groups: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``json.dumps`` works on it as is)."""

        def f(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "settings": {k: f(v) for k, v in self.settings.items()},
            "predicted": {k: f(v) for k, v in self.predicted.items()},
            "uncertainty": {k: f(v) for k, v in self.uncertainty.items()},
            "calibration_version": self.calibration_version,
            "reachable": self.reachable,
            "messages": list(self.messages),
            "targets": [t.to_dict() for t in self.targets],
            "current": {k: f(v) for k, v in self.current.items()},
            "windows": {k: [f(a), f(b)] for k, (a, b) in self.windows.items()},
            "units": dict(self.units),
            "object": self.object,
            "groups": dict(self.groups),
            "wall_s": self.wall_s,
        }


# ----------------------------------------------------------------------------- settings
def _get(recipe: Any, path: str) -> float | None:
    node: Any = recipe
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else getattr(node, part, None)
        if node is None:
            return None
    return float(node)


def _with(recipe: Any, values: Mapping[str, float]) -> Any:
    """The recipe with the settings ``values`` (recipe paths, SI), through the loop's
    :func:`~twinline.twin.loop.apply_settings` (a formulation mass fraction set: the others
    close the sum as before); a line load replaces a pressure and back (the calender takes
    one of them)."""
    from twinline.twin.loop import _set, apply_settings

    for path in values:
        parts = path.split(".")
        other = {"line_load": "pressure", "pressure": "line_load"}.get(parts[-1])
        if parts[1:-1] == ["calendering"] and other is not None:
            el = _set(getattr(recipe, parts[0]), ["calendering", other], None)
            recipe = recipe.model_copy(update={parts[0]: el})
    recipe, _, skipped = apply_settings(recipe, {p: {"value": float(v)} for p, v in values.items()})
    if skipped:
        raise TwinError(f"--adjust {skipped[0]}: sets no field of this recipe")
    return recipe


def _switch_load(
    recipe: Any, path: str, value: float, outputs: Mapping[str, tuple[float, float]]
) -> Any:
    """The recipe set by ``path`` (``<e>.calendering.line_load`` or ``.pressure``) at
    ``value`` instead of the other; a tolerance of the other moves over with the same
    relative size (at the current operating point, ``outputs`` of the chain)."""
    from twinline.spec.units import parse_quantity

    electrode, _, name = path.split(".")
    other = "pressure" if name == "line_load" else "line_load"
    key = f"{electrode}.calendering.{other}"
    tols = dict(recipe.tolerances)
    if key in tols:
        unit = "Pa" if other == "pressure" else "N/m"
        rel = parse_quantity(tols.pop(key), unit, name=f"tolerances.{key}") / outputs[key][0]
        tols[path] = f"{rel * value!r} {'N/m' if name == 'line_load' else 'Pa'}"
    recipe = _with(recipe, {path: value})
    return recipe.model_copy(update={"tolerances": tols})


def _window(path: str, given: Mapping[str, tuple[float, float]] | None) -> tuple[float, float]:
    from twinline.spec.fields import field_at

    spec = field_at(path)
    lo, hi = spec.low, spec.high
    if given and path in given:
        a, b = (float(x) for x in given[path])
        if not a < b:
            raise TwinError(
                f"machine window of {path}: [{a:g}, {b:g}] {spec.unit or '-'} is "
                "empty; need low < high"
            )
        if not (spec.range.contains(a) or a == lo) or not (spec.range.contains(b) or b == hi):
            raise TwinError(
                f"machine window of {path}: [{a:g}, {b:g}] {spec.unit or '-'} "
                f"leaves the field's admissible range {spec.range_text}"
            )
        lo, hi = max(a, lo), min(b, hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise TwinError(
            f"{path} has no bounded admissible range ({spec.range_text}): give its machine window"
        )
    width = hi - lo
    if not spec.range.contains(lo):
        lo += OPEN_END * width
    if not spec.range.contains(hi):
        hi -= OPEN_END * width
    return lo, hi


def default_adjust(recipe: Any, targets: Sequence[Target]) -> list[str]:
    """The settings adjusted when none are named: per target's step, :data:`DEFAULT_ADJUST`
    (calendering: the recipe's ``line_load`` or ``pressure``, whichever it sets)."""
    out: list[str] = []
    for t in targets:
        electrode, step = t.parameter.split(".")[:2]
        knob = DEFAULT_ADJUST.get(step)
        if knob is None:
            raise TwinError(
                f"--target {t.parameter}: no default setting to adjust for the "
                f"{step} step; name them with --adjust (recipe paths, e.g. "
                f"{electrode}.coating.gap)"
            )
        el = getattr(recipe, electrode, None)
        if step == "calendering" and el is not None and el.calendering.pressure is not None:
            knob = "calendering.pressure"
        path = f"{electrode}.{knob}"
        if path not in out:
            out.append(path)
    return out


def _fmt(path: str, x: float, unit: str) -> str:
    """A setting or output value (SI, ``unit``) for people, in its catalogue unit where the
    catalogue gives one."""
    from twinline.spec.catalogue import catalogue
    from twinline.spec.errors import TwinlineError
    from twinline.spec.fields import field_at

    try:
        pid = field_at(path).catalogue_id
    except TwinlineError:  # not a recipe field: an output id
        head, _, rest = path.partition(".")
        pid = rest if head in ("cathode", "anode") else path
    cat = catalogue()
    param = cat[pid] if pid is not None and pid in cat else None
    if param is not None and param.unit and param.si_unit == unit and math.isfinite(x):
        return f"{param.from_si(x):.4g} {param.unit}"
    return f"{x:.4g}{' ' + unit if unit else ''}"


# ----------------------------------------------------------------------------- recommend
def recommend(
    base_recipe: Any,
    targets: Sequence[Target | str],
    *,
    adjust: Sequence[str] | None = None,
    store: Any = None,
    object_id: str | None = None,
    calibration: Any = None,
    windows: Mapping[str, tuple[float, float]] | None = None,
    groups: Mapping[str, str] | None = None,
    samples: int = 64,
    seed: int = 0,
    materials: Any = None,
) -> Recommendation:
    """Settings for the next object that reach ``targets`` with the calibrated chain.

    Parameters
    ----------
    base_recipe : Recipe
        The line's base recipe.
    targets : sequence of Target or str
        Target outputs (``"cathode.calendering.porosity=0.30±0.01"`` or :class:`Target`).
    adjust : sequence of str, optional
        Recipe paths of the settings to adjust (default :func:`default_adjust`).
    store : Store, optional
        The line's database: its active calibration, and the object's effective settings.
    object_id : str, optional
        Start from this object's effective settings and groups (needs ``store``).
    calibration : Calibration, optional
        Use this calibration instead of the store's active one.
    windows : mapping, optional
        Machine window ``(low, high)`` (SI) per adjusted path (default: the field's range).
    groups : mapping, optional
        Groups of the next object (``{"batch": ...}``) when no ``object_id`` gives them.
    samples, seed : int
        Monte Carlo over the machine tolerances for the uncertainty (0: not propagated).
    materials : MaterialLibrary, optional

    Returns
    -------
    Recommendation

    Raises
    ------
    TwinError
        An unreadable target, an unknown setting or output, an empty machine window.
    """
    from scipy.optimize import least_squares

    from twinline.spec.errors import TwinlineError
    from twinline.spec.fields import field_at
    from twinline.twin.calibration import Calibration, chain_outputs, predict
    from twinline.twin.loop import effective_recipe, with_shared

    t0 = time.perf_counter()
    goals = [parse_target(t) if isinstance(t, str) else t for t in targets]
    if not goals:
        raise TwinError("recommend needs at least one --target")
    messages: list[str] = []
    recipe, group_ids = base_recipe, dict(groups or {})
    if object_id is not None:
        if store is None:
            raise TwinError(f"--object {object_id}: needs the line's database (--db)")
        ctx = effective_recipe(store, object_id, base_recipe)
        recipe, group_ids = ctx.recipe, {**ctx.groups, **group_ids}
    for t in goals:
        if getattr(recipe, t.parameter.split(".", 1)[0], None) is None:
            raise TwinError(
                f"--target {t.parameter}: the recipe has no {t.parameter.split('.', 1)[0]}"
            )
    if calibration is None and store is not None:
        state = store.calibration_state()
        if state is not None:
            calibration = Calibration.from_dict(state)
    if calibration is None:
        calibration = Calibration.initial(recipe, materials=materials)
        messages.append("no calibration stored: the package defaults (the prior) are used")
    paths = list(adjust) if adjust else default_adjust(recipe, goals)
    if not paths:
        raise TwinError("--adjust names no setting")
    units: dict[str, str] = {}
    for p in paths:
        try:
            units[p] = field_at(p).unit
        except TwinlineError as err:
            raise TwinError(f"--adjust {p}: {err}") from None
        if getattr(recipe, p.split(".", 1)[0], None) is None:
            raise TwinError(f"--adjust {p}: the recipe has no {p.split('.', 1)[0]}")
    for p in windows or {}:
        if p not in paths:
            raise TwinError(f"--window {p}: not an adjusted setting (adjusted: {paths})")
    bounds = {p: _window(p, windows) for p in paths}
    lo = np.array([bounds[p][0] for p in paths])
    hi = np.array([bounds[p][1] for p in paths])
    values = calibration.values(group_ids)
    specs = calibration.constants

    first = chain_outputs(recipe, values, specs, materials=materials)
    current = {}
    for p in paths:
        v = _get(recipe, p)
        if v is None and p.endswith(("calendering.line_load", "calendering.pressure")):
            v = first[p][0]  # the recipe sets the other of the two: the chain's value
            recipe = _switch_load(recipe, p, float(v), first)
        current[p] = float(v) if v is not None else 0.5 * (bounds[p][0] + bounds[p][1])
    for t in goals:
        if t.parameter not in first:
            raise TwinError(
                f"--target {t.parameter}: the chain predicts no such output for this recipe"
            )
    u0 = np.clip((np.array([current[p] for p in paths]) - lo) / (hi - lo), 0.0, 1.0)

    cache: dict[tuple[float, ...], dict[str, tuple[float, float]] | None] = {}

    def outputs(u: np.ndarray) -> dict[str, tuple[float, float]] | None:
        key = tuple(float(x) for x in u)
        if key not in cache:
            rec = _with(recipe, dict(zip(paths, lo + np.asarray(u) * (hi - lo), strict=True)))
            try:
                cache[key] = chain_outputs(rec, values, specs, materials=materials)
            except TwinlineError:
                cache[key] = None
        return cache[key]

    def solve(which: Sequence[Target], start: np.ndarray) -> np.ndarray:
        def fun(u: np.ndarray) -> np.ndarray:
            out = outputs(u)
            stay = STAY_WEIGHT * (u - u0)
            if out is None:
                return np.concatenate([np.full(len(which), FAILED), stay])
            r = [(out[t.parameter][0] - t.value) / t.tolerance for t in which]
            return np.concatenate([r, stay])

        res = least_squares(
            fun,
            start,
            bounds=(0.0, 1.0),
            method="trf",
            diff_step=1e-4,
            x_scale=1.0,
            xtol=1e-10,
            ftol=1e-10,
            gtol=1e-10,
            max_nfev=200,
        )
        return np.clip(res.x, 0.0, 1.0)

    def misses(u: np.ndarray, which: Sequence[Target]) -> list[Target]:
        out = outputs(u)
        if out is None:
            return list(which)
        return [t for t in which if abs(out[t.parameter][0] - t.value) > t.tolerance]

    u = solve(goals, u0)
    if misses(u, goals) and len(paths) > 1:  # one setting: the corners are checked below
        alt = solve(goals, np.full(len(paths), 0.5))
        if len(misses(alt, goals)) < len(misses(u, goals)):
            u = alt
    unmet = misses(u, goals)
    corners = [np.array(c, dtype=float) for c in itertools.product((0.0, 1.0), repeat=len(paths))]
    for t in unmet:
        # best reachable: this target alone, or a corner of the window when no worse (an
        # output that levels off near a bound, e.g. calendering's minimum porosity)
        alone = solve([t], u) if len(goals) > 1 else u
        best, gap, seen = math.nan, math.inf, []
        for k, cand in enumerate([*corners, alone]):
            y = (outputs(cand) or {}).get(t.parameter, (math.nan,))[0]
            seen.append(y)
            d = abs(y - t.value)
            if math.isfinite(d) and d < gap - (1e-3 * t.tolerance if k == len(corners) else 0):
                best, gap, alone = y, d, cand
        what = (
            f"{t.parameter} = {_fmt(t.parameter, t.value, t.unit)} ± "
            f"{_fmt(t.parameter, t.tolerance, t.unit)}"
        )
        knobs = ", ".join(paths)
        if abs(best - t.value) <= t.tolerance:
            messages.append(
                f"{what} conflicts with the other targets: alone it is reachable "
                f"({_fmt(t.parameter, best, t.unit)}), together with them not"
            )
            continue
        at_bound = [
            f"{p} at its {'lower' if x < 0.5 else 'upper'} bound "
            f"{_fmt(p, lo[j] + x * (hi[j] - lo[j]), units[p])}"
            for j, (p, x) in enumerate(zip(paths, alone, strict=True))
            if x <= 1e-3 or x >= 1 - 1e-3
        ]
        finite = [y for y in seen if math.isfinite(y)]
        if finite and max(finite) - min(finite) <= 1e-6 * t.tolerance:
            why = "the model's output does not respond to these settings"
        elif at_bound:
            why = "with " + " and ".join(at_bound)
        else:
            why = "inside the window, where the output levels off"
        messages.append(
            f"{what} is not reachable by adjusting {knobs} within the machine "
            f"window: the best reachable value is "
            f"{_fmt(t.parameter, best, t.unit)}, {why}"
        )
    settings = dict(zip(paths, (float(x) for x in lo + u * (hi - lo)), strict=True))
    final = _with(recipe, settings)
    pred = predict(
        final, calibration, group_ids=group_ids, samples=samples, seed=seed, materials=materials
    )
    pred = {k: with_shared(k, v) for k, v in pred.items()}
    from twinline.chain.outputs import electrode_output_units

    eu = electrode_output_units()
    for k in pred:
        head, _, rest = k.partition(".")
        units[k] = eu.get(rest, "") if head in ("cathode", "anode") else ""
    for t in goals:
        units[t.parameter] = t.unit
    return Recommendation(
        settings=settings,
        predicted={k: m for k, (m, _) in pred.items()},
        uncertainty={k: s for k, (_, s) in pred.items()},
        calibration_version=calibration.id,
        reachable=not unmet,
        messages=messages,
        targets=goals,
        current=current,
        windows=bounds,
        units=units,
        object=object_id,
        groups=group_ids,
        wall_s=time.perf_counter() - t0,
    )
