r"""Interpretable equations by SISSO-style symbolic regression.

Sure Independence Screening and Sparsifying Operator (SISSO, Ouyang et al. 2018), in the
form used for the calendering study (Duquesnoy et al. 2020):

1. **Feature space.** From the inputs :math:`x_i` build unary features
   :math:`x,\ x^2,\ x^3,\ x^{-1},\ \sqrt{x},\ x^{1.5},\ \ln x,\ e^{x}` (those defined on the
   data), then binary features :math:`a+b,\ a-b,\ a\,b,\ a/b` of every pair (depth 2).
   Features that are not finite, constant, or (almost) collinear with a simpler one are
   dropped.
2. **Screening (SIS).** For dimension :math:`D=1` keep the ``sis`` features most correlated
   with the target; for :math:`D>1` add the ``sis`` features most correlated with the
   residual of the best :math:`(D-1)`-term model.
3. **Sparsifying operator (ℓ0).** Least squares over every :math:`D`-subset of the
   screened features, :math:`y \approx c_0 + \sum_k c_k \phi_k`; keep the lowest RMSE.

The number of terms grows while it lowers the RMSE by more than ``improve`` (relative);
an intercept that does not help is dropped, so an exact law comes out in its own form,
e.g. ``sigma = 1.119·porosity^1.5``.

References
----------
R. Ouyang, S. Curtarolo, E. Ahmetcik, M. Scheffler, L. M. Ghiringhelli, Phys. Rev. Mater.
2 (2018) 083802. doi:10.1103/PhysRevMaterials.2.083802.
M. Duquesnoy, T. Lombardo, M. Chouchane, E. N. Primo, A. A. Franco, J. Power Sources 480
(2020) 229103. doi:10.1016/j.jpowsour.2020.229103.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinline.spec.errors import RecipeError

Expr = tuple  # ("var", i) | ("pow", e, p) | ("log", e) | ("exp", e) | (op, a, b)

UNARY = ("x", "x^2", "x^3", "x^-1", "sqrt", "x^1.5", "log", "exp")
BINARY = ("+", "-", "*", "/")


def _eval(e: Expr, X: np.ndarray) -> np.ndarray:
    tag = e[0]
    if tag == "var":
        return X[:, e[1]]
    if tag == "pow":
        return np.power(_eval(e[1], X), e[2])
    if tag == "log":
        return np.log(_eval(e[1], X))
    if tag == "exp":
        return np.exp(_eval(e[1], X))
    a, b = _eval(e[1], X), _eval(e[2], X)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[tag]


def _fmt_pow(p: float) -> str:
    return f"{p:g}" if p >= 0 else f"({p:g})"


def _name(e: Expr, names: Sequence[str]) -> str:
    tag = e[0]
    if tag == "var":
        return names[e[1]]
    if tag == "pow":
        inner = _name(e[1], names)
        return f"sqrt({inner})" if e[2] == 0.5 else f"{inner}^{_fmt_pow(e[2])}"
    if tag in ("log", "exp"):
        return f"{tag}({_name(e[1], names)})"
    op = {"*": "·", "/": "/", "+": " + ", "-": " - "}[tag]
    a, b = _name(e[1], names), _name(e[2], names)
    if tag in ("+", "-"):
        return f"({a}{op}{b})"
    def wrap(s):
        return (f"({s})" if (" " in s and not s.startswith("(")) else s)
    return f"{wrap(a)}{op}{wrap(b)}"


@dataclass
class Equation:
    """One fitted descriptor model :math:`y = c_0 + \\sum_k c_k \\phi_k(x)`."""

    target: str
    inputs: list[str]
    features: list[Expr]
    coefficients: list[float]
    intercept: float
    rmse: float
    r2: float
    feature_names: list[str] = field(default_factory=list)

    @property
    def terms(self) -> int:
        return len(self.features)

    def predict(self, x: Any) -> np.ndarray:
        """Evaluate on ``x`` (array ``(n, d)`` in input order, or a mapping of columns)."""
        X = _as_matrix(x, self.inputs)
        y = np.full(X.shape[0], self.intercept, dtype=float)
        for c, f in zip(self.coefficients, self.features, strict=True):
            y = y + c * _eval(f, X)
        return y

    def __str__(self) -> str:
        parts = []
        if self.intercept != 0.0:
            parts.append(f"{self.intercept:.6g}")
        for c, n in zip(self.coefficients, self.feature_names, strict=True):
            sign = "-" if c < 0 else "+"
            body = f"{abs(c):.6g}·{n}"
            parts.append(body if not parts and sign == "+" else f"{sign} {body}")
        if parts and parts[0].startswith("- "):
            parts[0] = "-" + parts[0][2:]
        return f"{self.target} = " + " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "equation": str(self), "terms": self.feature_names,
                "coefficients": self.coefficients, "intercept": self.intercept,
                "rmse": self.rmse, "r2": self.r2}


def _as_matrix(x: Any, inputs: Sequence[str]) -> np.ndarray:
    if isinstance(x, Mapping) or hasattr(x, "columns"):
        return np.column_stack([np.asarray(x[c], dtype=float) for c in inputs])
    arr = np.asarray(x, dtype=float)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def feature_space(X: np.ndarray, *, depth: int = 2, unary: Sequence[str] = UNARY,
                  binary: Sequence[str] = BINARY, collinear: float = 1 - 1e-10,
                  ) -> tuple[list[Expr], np.ndarray]:
    """Build the feature expressions and their values on ``X`` ``(n, d)``.

    Returns the expressions (simplest first) and a matrix ``(n, m)``; features that are
    non-finite, constant or with |corr| > ``collinear`` to an earlier one are removed.
    """
    n, d = X.shape
    exprs: list[Expr] = []
    for i in range(d):
        v = ("var", i)
        col = X[:, i]
        pos = bool(np.all(col > 0))
        nonzero = bool(np.all(col != 0))
        table = {"x": v, "x^2": ("pow", v, 2.0), "x^3": ("pow", v, 3.0)}
        if nonzero:
            table["x^-1"] = ("pow", v, -1.0)
        if pos:
            table.update({"sqrt": ("pow", v, 0.5), "x^1.5": ("pow", v, 1.5), "log": ("log", v)})
        if np.ptp(col) < 50:
            table["exp"] = ("exp", v)
        exprs.extend(table[u] for u in unary if u in table)
    base = list(exprs)
    if depth >= 2:
        for a, b in itertools.combinations(range(len(base)), 2):
            for op in binary:
                exprs.append((op, base[a], base[b]))
                if op in ("-", "/"):
                    exprs.append((op, base[b], base[a]))
    with np.errstate(all="ignore"):
        vals = np.column_stack([_eval(e, X) for e in exprs])
        ok = np.isfinite(vals).all(axis=0)
        ok[ok] = np.std(vals[:, ok], axis=0) > 1e-12 * (np.abs(vals[:, ok]).max(axis=0)
                                                       + 1e-300)
    exprs = [e for e, k in zip(exprs, ok, strict=True) if k]
    vals = vals[:, ok]
    # remove collinear duplicates (keep the first = simplest)
    z = (vals - vals.mean(0)) / vals.std(0)
    keep: list[int] = []
    kept = np.empty((n, 0))
    for j in range(z.shape[1]):
        if kept.shape[1]:
            c = np.abs(kept.T @ z[:, j]) / n
            if np.any(c > collinear):
                continue
        keep.append(j)
        kept = np.column_stack([kept, z[:, j]])
    return [exprs[j] for j in keep], vals[:, keep]


def _lstsq(F: np.ndarray, y: np.ndarray, intercept: bool) -> tuple[np.ndarray, float, float]:
    A = np.column_stack([np.ones(len(y)), F]) if intercept else F
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    rmse = float(np.sqrt(np.mean(resid**2)))
    return (coef if intercept else np.concatenate([[0.0], coef])), rmse, float(
        np.sum(resid**2))


def fit_equation(x: Any, y: Any, *, inputs: Sequence[str] | None = None,
                 target: str = "y", max_terms: int = 3, sis: int = 20, depth: int = 2,
                 improve: float = 0.05, unary: Sequence[str] = UNARY,
                 binary: Sequence[str] = BINARY) -> Equation:
    """Find a readable equation for ``y`` from the columns of ``x``.

    Parameters
    ----------
    x : array ``(n, d)``, DataFrame or mapping
        Inputs (SI units); names from ``inputs`` or the frame's columns.
    y : array ``(n,)``
        Target.
    max_terms : int
        Largest descriptor dimension :math:`D` (1–3 recommended; the ℓ0 search grows as
        :math:`\\binom{D \\cdot sis}{D}`).
    sis : int
        Features kept per screening step.
    improve : float
        A further term is kept only if it lowers the RMSE by more than this fraction.

    Returns
    -------
    Equation
        Readable (``str(eq)``), with coefficients, RMSE and R² on the data.
    """
    if inputs is None:
        if hasattr(x, "columns"):
            inputs = [str(c) for c in x.columns]
        elif isinstance(x, Mapping):
            inputs = list(x)
        else:
            inputs = [f"x{i}" for i in range(np.asarray(x).reshape(len(y), -1).shape[1])]
    X = _as_matrix(x, inputs)
    y = np.asarray(y, dtype=float)
    if X.shape[0] != y.shape[0] or X.shape[0] < 3:
        raise RecipeError(f"symbolic regression needs >= 3 rows of matching x and y, got "
                          f"{X.shape[0]} and {y.shape[0]}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise RecipeError("symbolic regression: x and y must be finite")
    if not 1 <= max_terms <= 4:
        raise RecipeError(f"max_terms = {max_terms}: must be in [1, 4]")
    exprs, F = feature_space(X, depth=depth, unary=unary, binary=binary)
    Fz = (F - F.mean(0)) / F.std(0)
    ysd = float(y.std()) or 1.0
    best: list[tuple[float, tuple[int, ...], np.ndarray]] = []
    selected: list[int] = []
    resid = y - y.mean()
    for dim in range(1, max_terms + 1):
        r = resid / (np.linalg.norm(resid) or 1.0)
        score = np.abs(Fz.T @ r)
        score[selected] = -1.0
        selected += [int(j) for j in np.argsort(-score)[:sis] if score[j] >= 0]
        top: tuple[float, tuple[int, ...], np.ndarray] | None = None
        for combo in itertools.combinations(selected, dim):
            coef, rmse, _ = _lstsq(F[:, combo], y, True)
            if top is None or rmse < top[0]:
                top = (rmse, combo, coef)
        assert top is not None
        best.append(top)
        coef = top[2]
        resid = y - (coef[0] + F[:, top[1]] @ coef[1:])
        if dim > 1 and best[-2][0] - top[0] <= improve * best[-2][0] + 1e-12 * ysd:
            best.pop()
            break
        if top[0] <= 1e-12 * ysd:
            break
    rmse, combo, coef = best[-1]
    c0, rmse0, _ = _lstsq(F[:, combo], y, False)  # without intercept
    if rmse0 <= rmse * (1 + 1e-6) + 1e-12 * ysd:
        coef, rmse = c0, rmse0
    yhat = coef[0] + F[:, combo] @ coef[1:]
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - yhat) ** 2)) / ss if ss > 0 else float("nan")
    feats = [exprs[j] for j in combo]
    return Equation(target=target, inputs=list(inputs), features=feats,
                    coefficients=[float(c) for c in coef[1:]], intercept=float(coef[0]),
                    rmse=rmse, r2=r2, feature_names=[_name(f, inputs) for f in feats])


def fit_equations(frame: Any, inputs: Sequence[str], targets: Sequence[str],
                  **kwargs: Any) -> dict[str, Equation]:
    """:func:`fit_equation` for each target column of a DataFrame (finite rows only)."""
    out = {}
    for t in targets:
        sub = frame[[*inputs, t]].replace([np.inf, -np.inf], np.nan).dropna()
        out[t] = fit_equation(sub[list(inputs)], sub[t].to_numpy(), inputs=list(inputs),
                              target=t, **kwargs)
    return out
