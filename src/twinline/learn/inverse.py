r"""Inverse design: from target properties back to the settings that give them.

Multi-objective optimisation with Optuna (NSGA-II, seeded) over parameters within bounds,
with constraints, on any model ``predict({name: array}) -> {output: array}`` — a surrogate
(vectorised, fast) or the chain itself (:func:`from_evaluate`).

Objectives are ``max``, ``min`` or a *target band* :math:`y^* \pm \delta`: the band becomes a
feasibility constraint :math:`|y-y^*| \le \delta` and the objective
:math:`\min |y-y^*|`. Constraints are ``{output: (low, high)}`` (either may be ``None``),
handled by Deb's constrained domination in NSGA-II. The result is the Pareto front of the
feasible trials with their predicted properties, and a *best* compromise: the Pareto point
nearest the utopia point in objectives scaled to [0, 1] over the front.

A targets file (YAML) reads::

    parameters:               # bounds, with units
      cathode.calendering.pressure: [20 MPa, 170 MPa]
      am_mass_fraction: [0.93, 0.96]
    objectives:
      porosity: {target: 0.30, tolerance: 0.01}
      sigma: max
      active_surface: max
    constraints:
      thickness: {max: 80 um}
    trials: 2000
    seed: 0

References
----------
K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, IEEE Trans. Evol. Comput. 6 (2002) 182
(NSGA-II). T. Akiba et al., KDD 2019 (Optuna).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinline.spec.errors import RecipeError, require

Predict = Callable[[dict[str, np.ndarray]], Mapping[str, Any]]


@dataclass(frozen=True)
class Objective:
    """``kind`` is ``max``, ``min`` or ``target`` (with ``target`` ± ``tolerance``)."""

    name: str
    kind: str
    target: float | None = None
    tolerance: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("max", "min", "target"):
            raise RecipeError(f"objective {self.name}: kind {self.kind!r} must be max, min "
                              "or target")
        if self.kind == "target" and (self.target is None or self.tolerance is None
                                      or not self.tolerance > 0):
            raise RecipeError(f"objective {self.name}: a target needs a value and a "
                              f"tolerance > 0, got {self.target} ± {self.tolerance}")

    @property
    def direction(self) -> str:
        return "maximize" if self.kind == "max" else "minimize"

    def value(self, y: np.ndarray) -> np.ndarray:
        return np.abs(y - self.target) if self.kind == "target" else y


@dataclass(frozen=True)
class Constraint:
    """``low <= output <= high`` (either bound may be None), SI units."""

    name: str
    low: float | None = None
    high: float | None = None
    unit: str = ""

    def violation(self, y: np.ndarray) -> np.ndarray:
        v = np.zeros_like(y, dtype=float)
        if self.low is not None:
            v = np.maximum(v, self.low - y)
        if self.high is not None:
            v = np.maximum(v, y - self.high)
        return v


@dataclass
class DesignProblem:
    """Parameters with bounds (SI), objectives and constraints.

    ``units`` holds the SI unit of each named quantity, ``shown_units`` the unit it was
    written in (for display)."""

    bounds: dict[str, tuple[float, float]]
    objectives: list[Objective]
    constraints: list[Constraint] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    trials: int = 1000
    seed: int = 0
    shown_units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.bounds:
            raise RecipeError("inverse design needs at least one parameter with bounds")
        for k, (lo, hi) in self.bounds.items():
            if not hi > lo:
                raise RecipeError(f"parameter {k}: bounds [{lo:g}, {hi:g}] "
                                  f"{self.units.get(k, '')} are empty; need low < high")
        if not self.objectives:
            raise RecipeError("inverse design needs at least one objective")
        if self.trials < 2:
            raise RecipeError(f"trials = {self.trials}: must be >= 2")

    @property
    def outputs(self) -> list[str]:
        names = [o.name for o in self.objectives] + [c.name for c in self.constraints]
        return list(dict.fromkeys(names))


def _si(value: Any, name: str, key: str = "") -> tuple[float, str, str]:
    """``(SI value, SI unit, unit as written)`` of a number or a quantity string."""
    from twinline.learn.campaign import quantity_errors
    from twinline.learn.recipe_points import preferred_unit
    from twinline.spec.units import Q_

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), "", ""
    try:
        q = Q_(str(value))
        unit = preferred_unit(key, q)
        return float(q.m_as(unit or "")), unit, f"{q.units:~}" if not q.dimensionless else ""
    except quantity_errors():
        raise RecipeError(f"{name}: cannot read {value!r} as a quantity (e.g. \"80 um\")"
                          ) from None


def display(value: float, si_unit: str, unit: str) -> str:
    """``value`` (SI) written in ``unit`` for people, e.g. ``6.3e7, 'Pa', 'MPa'`` → 63 MPa."""
    from twinline.learn.campaign import quantity_errors
    from twinline.spec.units import Q_

    if unit and unit != si_unit:
        try:
            return f"{Q_(value, si_unit or '').m_as(unit):.4g} {unit}"
        except quantity_errors():
            pass
    return f"{value:.4g} {si_unit or '-'}"


def parse_targets(data: Mapping[str, Any], origin: str = "targets") -> DesignProblem:
    """Build a :class:`DesignProblem` from a parsed targets file (see module doc)."""
    if not isinstance(data, Mapping):
        raise RecipeError(f"{origin}: expected a mapping with parameters/objectives")
    unknown = set(data) - {"parameters", "objectives", "constraints", "trials", "seed",
                           "model", "name", "description"}
    if unknown:
        raise RecipeError(f"{origin}: unknown keys {sorted(unknown)}")
    bounds, units, shown = {}, {}, {}
    for k, v in (data.get("parameters") or {}).items():
        if not (isinstance(v, Sequence) and len(v) == 2) or isinstance(v, str):
            raise RecipeError(f"{origin}: parameters.{k} must be [low, high], got {v!r}")
        lo, u, d = _si(v[0], f"{origin}: parameters.{k}", k)
        hi, _, _ = _si(v[1], f"{origin}: parameters.{k}", k)
        bounds[k], units[k], shown[k] = (lo, hi), u, d
    objectives = []
    for k, v in (data.get("objectives") or {}).items():
        if v in ("max", "min"):
            objectives.append(Objective(k, v))
        elif isinstance(v, Mapping) and "target" in v:
            t, u, d = _si(v["target"], f"{origin}: objectives.{k}.target", k)
            tol, _, _ = _si(v.get("tolerance", 0), f"{origin}: objectives.{k}.tolerance", k)
            objectives.append(Objective(k, "target", t, tol, u))
            units[k], shown[k] = u, d
        else:
            raise RecipeError(f"{origin}: objectives.{k} must be max, min or "
                              f"{{target, tolerance}}, got {v!r}")
    constraints = []
    for k, v in (data.get("constraints") or {}).items():
        if not isinstance(v, Mapping) or not set(v) <= {"min", "max"} or not v:
            raise RecipeError(f"{origin}: constraints.{k} must be {{min: .., max: ..}}, "
                              f"got {v!r}")
        lo = _si(v["min"], f"{origin}: constraints.{k}.min", k) if "min" in v else (
            None, "", "")
        hi = _si(v["max"], f"{origin}: constraints.{k}.max", k) if "max" in v else (
            None, "", "")
        constraints.append(Constraint(k, lo[0], hi[0], lo[1] or hi[1]))
        units[k], shown[k] = lo[1] or hi[1], lo[2] or hi[2]
    return DesignProblem(bounds, objectives, constraints, units,
                         trials=int(data.get("trials", 1000)), seed=int(data.get("seed", 0)),
                         shown_units=shown)


def load_targets(path: str | Path) -> DesignProblem:
    """Read a targets YAML file (through :func:`twinline.spec.yamlfile.read_yaml`)."""
    from twinline.spec.yamlfile import read_yaml

    p = Path(path)
    data = read_yaml(p, what="targets file", error=RecipeError)
    return parse_targets(data or {}, str(p))


def limit_to_training_range(problem: DesignProblem,
                             trained: Mapping[str, tuple[float, float]], *,
                             extrapolate: bool = False) -> list[str]:
    """Keep the design bounds inside a surrogate's training range; return the warnings.

    A bound outside the range ``trained[name]`` (the inputs' span in the training data) is
    clipped to it, with a warning naming the parameter, the bounds asked for and the trained
    range. With ``extrapolate=True`` the bounds are kept and the warning says that points
    beyond the range are extrapolations (they are flagged by :func:`optimise`). Parameters
    without a trained range (not a surrogate input) are left alone.

    Raises
    ------
    RecipeError
        If the bounds do not overlap the trained range at all (nothing to clip to), unless
        ``extrapolate``.
    """
    notes: list[str] = []
    for k, (lo, hi) in list(problem.bounds.items()):
        if k not in trained:
            continue
        tlo, thi = (float(v) for v in trained[k])
        if tlo <= lo and hi <= thi:
            continue
        unit = problem.units.get(k, "")
        shown = problem.shown_units.get(k, "")
        asked = f"[{display(lo, unit, shown)}, {display(hi, unit, shown)}]"
        rng = f"[{display(tlo, unit, shown)}, {display(thi, unit, shown)}]"
        if extrapolate:
            notes.append(f"{k}: bounds {asked} reach outside the surrogate's training range "
                         f"{rng}; points outside it are extrapolations")
            continue
        new_lo, new_hi = max(lo, tlo), min(hi, thi)
        if not new_hi > new_lo:
            raise RecipeError(f"parameters.{k}: bounds {asked} lie outside the surrogate's "
                              f"training range {rng}; choose bounds inside it (or pass "
                              "--extrapolate)")
        problem.bounds[k] = (new_lo, new_hi)
        notes.append(f"{k}: bounds {asked} clipped to the surrogate's training range {rng} "
                     f"→ [{display(new_lo, unit, shown)}, {display(new_hi, unit, shown)}]")
    return notes


def extrapolated(point: Mapping[str, float], trained: Mapping[str, tuple[float, float]]
                 ) -> list[str]:
    """Names of the parameters of ``point`` outside their trained range."""
    return [k for k, v in point.items() if k in trained
            and not float(trained[k][0]) <= float(v) <= float(trained[k][1])]


def from_evaluate(evaluate: Callable[[dict[str, float], int], Mapping[str, float]], *,
                  seed: int = 0) -> Predict:
    """Wrap a point-wise ``evaluate(point, seed)`` (e.g. the chain) as a batch predictor."""
    from twinline.spec.errors import TwinlineError

    def predict(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(batch.values())))
        rows: list[Mapping[str, Any]] = []
        for i in range(n):
            try:  # a setting the chain refuses is an infeasible trial, not the end
                rows.append(evaluate({k: float(v[i]) for k, v in batch.items()}, seed))
            except TwinlineError:
                rows.append({})
        keys = [k for r in rows for k, v in r.items()
                if isinstance(v, int | float | np.floating | np.integer)]
        return {k: np.array([float(r.get(k, np.nan)) for r in rows], dtype=float)
                for k in dict.fromkeys(keys)}

    return predict


@dataclass
class DesignResult:
    """All trials, the feasible Pareto front and the best compromise."""

    problem: DesignProblem
    trials: Any  # DataFrame: parameters, outputs, violation, feasible
    front: Any  # DataFrame (subset of trials)
    best: dict[str, float]
    wall_s: float
    #: parameters of the best point outside the surrogate's training range (extrapolated)
    extrapolated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"best": self.best, "front": self.front.to_dict(orient="records"),
                "n_trials": len(self.trials), "n_feasible": int(self.trials.feasible.sum()),
                "wall_s": self.wall_s, "extrapolated": self.extrapolated}


def _pareto_mask(F: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``F`` (all minimised)."""
    n = len(F)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        if not mask[i]:
            continue
        dominated = np.all(F <= F[i], axis=1) & np.any(F < F[i], axis=1)
        if dominated.any():
            mask[i] = False
    return mask


def optimise(problem: DesignProblem, predict: Predict, *, population: int = 64,
             progress: Callable[[int, int], None] | None = None,
             trained: Mapping[str, tuple[float, float]] | None = None) -> DesignResult:
    """Run NSGA-II (Optuna, seeded) on ``predict`` and return the Pareto front.

    Trials are asked and told in generations of ``population`` so a surrogate predicts a
    whole generation at once. With ``trained`` (a surrogate's input ranges) every trial gets
    an ``extrapolation`` column: the parameters outside their trained range, comma-separated
    (empty inside), and :attr:`DesignResult.extrapolated` lists those of the best point.
    """
    optuna = require("optuna", "opt")
    import pandas as pd

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = list(problem.bounds)
    objs, cons = problem.objectives, problem.constraints
    bands = [Constraint(o.name, o.target - o.tolerance, o.target + o.tolerance)
             for o in objs if o.kind == "target"]
    all_cons = cons + bands

    def constraints_func(trial: Any) -> Sequence[float]:
        return trial.user_attrs["violations"]

    native = hasattr(optuna.trial.Trial, "set_constraint")  # Optuna >= 5
    sampler = optuna.samplers.NSGAIISampler(
        population_size=population, seed=problem.seed,
        **({} if native or not all_cons else {"constraints_func": constraints_func}))
    study = optuna.create_study(directions=[o.direction for o in objs], sampler=sampler)
    dists = {k: optuna.distributions.FloatDistribution(lo, hi)
             for k, (lo, hi) in problem.bounds.items()}
    rows: list[dict[str, float]] = []
    t0 = time.perf_counter()
    done = 0
    while done < problem.trials:
        k = min(population, problem.trials - done)
        trials = [study.ask(dists) for _ in range(k)]
        batch = {n: np.array([t.params[n] for t in trials]) for n in names}
        pred = predict(batch)
        missing = [o for o in problem.outputs if o not in pred]
        if missing:
            raise RecipeError(f"the model does not predict {missing}; it gives "
                              f"{sorted(pred)}")
        Y = {o: np.asarray(pred[o], dtype=float).reshape(-1) for o in problem.outputs}
        for i, t in enumerate(trials):
            viol = [float(c.violation(Y[c.name][i : i + 1])[0]) for c in all_cons]
            viol = [v if np.isfinite(v) else 1e9 for v in viol]
            t.set_user_attr("violations", viol)
            if native:
                for j, v in enumerate(viol):
                    t.set_constraint(f"c{j}", v)
            vals = [float(o.value(Y[o.name][i : i + 1])[0]) for o in objs]
            ok = all(np.isfinite(vals))
            study.tell(t, vals if ok else None,
                       state=None if ok else optuna.trial.TrialState.FAIL)
            point = {n: float(batch[n][i]) for n in names}
            rows.append({**point,
                         **{o: float(Y[o][i]) for o in problem.outputs},
                         "violation": float(sum(viol)), "feasible": bool(ok and
                                                                         sum(viol) <= 0),
                         "extrapolation": ",".join(extrapolated(point, trained or {}))})
        done += k
        if progress is not None:
            progress(done, problem.trials)
    table = pd.DataFrame(rows)
    feas = table[table.feasible].reset_index(drop=True)
    best: dict[str, float] = {}
    if len(feas):
        F = np.column_stack([(-1.0 if o.kind == "max" else 1.0) * o.value(
            feas[o.name].to_numpy()) for o in objs])
        mask = _pareto_mask(F)
        front = feas[mask].reset_index(drop=True)
        Ff = F[mask]
        span = np.ptp(Ff, axis=0)
        Z = (Ff - Ff.min(0)) / np.where(span > 0, span, 1.0)
        i_best = int(np.argmin(np.linalg.norm(Z, axis=1)))
        best = {c: float(front.loc[i_best, c]) for c in names + problem.outputs}
    else:
        front = feas
    return DesignResult(problem, table, front, best, time.perf_counter() - t0,
                        extrapolated(best, trained or {}) if best else [])


def surrogate_predictor(surrogate: Any, *, fixed: Mapping[str, float] | None = None
                        ) -> Predict:
    """Batch predictor from a :class:`~twinline.learn.surrogate.Surrogate`; inputs not
    optimised take the values in ``fixed``."""
    fixed = dict(fixed or {})

    def predict(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(batch.values())))
        cols = {}
        for c in surrogate.inputs:
            if c in batch:
                cols[c] = batch[c]
            elif c in fixed:
                cols[c] = np.full(n, float(fixed[c]))
            else:
                raise RecipeError(f"surrogate input {c!r} is neither a design parameter nor "
                                  f"fixed; parameters: {sorted(batch)}")
        return surrogate.predict_dict(cols)

    return predict
