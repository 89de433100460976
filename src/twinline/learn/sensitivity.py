r"""Sensitivity: Sobol indices (SALib) and the input × output correlation map.

**Sobol indices.** For a model :math:`y = f(x_1..x_d)` with independent uniform inputs,
the first-order index :math:`S_i = V[E(y|x_i)]/V(y)` is the share of the output variance
explained by :math:`x_i` alone, the total index :math:`S_{T,i} = E[V(y|x_{\sim i})]/V(y)`
includes its interactions. Saltelli sampling (:math:`N(2d+2)` evaluations) and the
Jansen/Saltelli estimators of SALib, with bootstrap confidence intervals.

**Correlation map.** Spearman rank correlation :math:`\rho` of every input with every
output (direction and strength, Fig. 10 of Duquesnoy et al. 2020). For an output with a
wanted direction (``"max"``/``"min"``) the *push* of an input is
:math:`\mathrm{sign}(\rho)` (or its opposite for ``"min"``): the way to move the input.

References
----------
A. Saltelli et al., Comput. Phys. Commun. 181 (2010) 259. doi:10.1016/j.cpc.2009.09.018.
J. Herman, W. Usher, J. Open Source Softw. 2 (2017) 97 (SALib).
M. Duquesnoy et al., J. Power Sources 480 (2020) 229103.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinline.spec.errors import RecipeError, require


@dataclass(frozen=True)
class SobolResult:
    """Sobol indices per output: arrays over ``inputs``."""

    inputs: list[str]
    outputs: list[str]
    S1: dict[str, np.ndarray]
    S1_conf: dict[str, np.ndarray]
    ST: dict[str, np.ndarray]
    ST_conf: dict[str, np.ndarray]
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        return {o: {"S1": dict(zip(self.inputs, map(float, self.S1[o]), strict=True)),
                    "S1_conf": dict(zip(self.inputs, map(float, self.S1_conf[o]), strict=True)),
                    "ST": dict(zip(self.inputs, map(float, self.ST[o]), strict=True)),
                    "ST_conf": dict(zip(self.inputs, map(float, self.ST_conf[o]), strict=True))}
                for o in self.outputs} | {"evaluations": self.evaluations}

    def table(self):
        """Long-form DataFrame: output, input, S1, S1_conf, ST, ST_conf."""
        import pandas as pd

        rows = [{"output": o, "input": p, "S1": self.S1[o][i], "S1_conf": self.S1_conf[o][i],
                 "ST": self.ST[o][i], "ST_conf": self.ST_conf[o][i]}
                for o in self.outputs for i, p in enumerate(self.inputs)]
        return pd.DataFrame(rows)


def sobol_indices(func: Callable[[np.ndarray], np.ndarray], bounds: Mapping[str, tuple[float,
                  float]], *, outputs: Sequence[str] | None = None, n: int = 1024,
                  seed: int = 0, second_order: bool = False) -> SobolResult:
    """Sobol indices of a vectorised model by Saltelli sampling.

    Parameters
    ----------
    func : callable
        ``func(X) -> Y`` with ``X`` of shape ``(m, d)`` (columns in ``bounds`` order) and
        ``Y`` of shape ``(m,)`` or ``(m, k)``. A surrogate's ``predict`` fits directly; wrap
        the chain with :func:`vectorise`.
    bounds : mapping
        ``{input: (low, high)}`` (uniform ranges, SI units).
    n : int
        Base sample size (power of 2); ``n·(d+2)`` evaluations (``n·(2d+2)`` with
        ``second_order``).
    """
    require("SALib", "sa")
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    names = list(bounds)
    if not names:
        raise RecipeError("sobol_indices needs at least one input range")
    for k, (lo, hi) in bounds.items():
        if not hi > lo:
            raise RecipeError(f"sobol_indices: input {k} range [{lo:g}, {hi:g}] is empty")
    problem = {"num_vars": len(names), "names": names,
               "bounds": [list(map(float, bounds[k])) for k in names]}
    X = sobol_sample.sample(problem, n, calc_second_order=second_order, seed=seed)
    Y = np.asarray(func(X), dtype=float)
    Y = Y.reshape(len(X), -1)
    outputs = list(outputs) if outputs is not None else [f"y{j}" for j in range(Y.shape[1])]
    if len(outputs) != Y.shape[1]:
        raise RecipeError(f"sobol_indices: {len(outputs)} output names for {Y.shape[1]} "
                          "output columns")
    res: dict[str, dict[str, np.ndarray]] = {"S1": {}, "S1_conf": {}, "ST": {}, "ST_conf": {}}
    for j, o in enumerate(outputs):
        si = sobol_analyze.analyze(problem, Y[:, j], calc_second_order=second_order,
                                   seed=seed, print_to_console=False)
        for key in res:
            res[key][o] = np.asarray(si[key], dtype=float)
    return SobolResult(names, outputs, res["S1"], res["S1_conf"], res["ST"], res["ST_conf"],
                       len(X))


def vectorise(evaluate: Callable[[dict[str, float], int], dict[str, float]],
              inputs: Sequence[str], outputs: Sequence[str], *, seed: int = 0
              ) -> Callable[[np.ndarray], np.ndarray]:
    """Turn ``evaluate(point, seed) -> dict`` (e.g. the chain) into ``f(X) -> Y``."""
    def f(X: np.ndarray) -> np.ndarray:
        out = np.empty((len(X), len(outputs)))
        for i, row in enumerate(np.asarray(X, dtype=float)):
            r = evaluate(dict(zip(inputs, map(float, row), strict=True)), seed)
            out[i] = [r[o] for o in outputs]
        return out

    return f


@dataclass(frozen=True)
class CorrelationMap:
    """Spearman ρ inputs × outputs and, for outputs with a goal, the push direction."""

    inputs: list[str]
    outputs: list[str]
    rho: np.ndarray  # (n_inputs, n_outputs)
    goals: dict[str, str]

    def push(self) -> dict[str, dict[str, str]]:
        """For each output with a goal: ``{input: "increase"|"decrease"|"none"}``.

        "none" when |ρ| < 0.1 (no monotone effect worth acting on)."""
        out: dict[str, dict[str, str]] = {}
        for j, o in enumerate(self.outputs):
            goal = self.goals.get(o)
            if goal not in ("max", "min"):
                continue
            sign = 1.0 if goal == "max" else -1.0
            out[o] = {p: ("none" if abs(self.rho[i, j]) < 0.1 else
                          ("increase" if sign * self.rho[i, j] > 0 else "decrease"))
                      for i, p in enumerate(self.inputs)}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "outputs": self.outputs,
                "rho": self.rho.tolist(), "goals": self.goals, "push": self.push()}


def correlation_map(frame: Any, inputs: Sequence[str], outputs: Sequence[str], *,
                    goals: Mapping[str, str] | None = None) -> CorrelationMap:
    """Spearman correlation of each input with each output over the rows of ``frame``.

    ``goals`` maps outputs to ``"max"`` or ``"min"`` (the direction each should go).
    """
    from scipy.stats import spearmanr

    goals = dict(goals or {})
    bad = {k: v for k, v in goals.items() if v not in ("max", "min")}
    if bad:
        raise RecipeError(f"correlation_map goals must be 'max' or 'min', got {bad}")
    cols = list(inputs) + list(outputs)
    data = frame[cols].dropna().to_numpy(dtype=float)
    if len(data) < 3:
        raise RecipeError(f"correlation_map needs >= 3 complete rows, got {len(data)}")
    rho = np.full((len(inputs), len(outputs)), np.nan)
    for i in range(len(inputs)):
        for j in range(len(outputs)):
            a, b = data[:, i], data[:, len(inputs) + j]
            if np.ptp(a) > 0 and np.ptp(b) > 0:
                rho[i, j] = float(spearmanr(a, b).statistic)
    return CorrelationMap(list(inputs), list(outputs), rho, goals)
