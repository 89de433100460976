r"""Surrogates: fast regression models from dataset columns to other columns.

Three kinds, all from scikit-learn, inputs standardised:

``gp``
    Gaussian process, kernel :math:`C\,\mathrm{Matern}_{5/2}(\ell_1..\ell_d) + \sigma_n^2
    \delta` (anisotropic length scales, a white-noise term for the replicate scatter),
    ``normalize_y``; one GP per output; predicts a standard deviation.
``gbr``
    Histogram gradient boosting (one model per output); no uncertainty.
``mlp``
    Multi-layer perceptron on standardised inputs and outputs; no uncertainty.

:func:`fit_surrogate` holds back a test split (R² and MAPE reported per output) and runs
k-fold cross-validation on the training part; :meth:`Surrogate.score` scores any other
frame (the validation set of a study). :meth:`Surrogate.save` writes a joblib file and a
JSON file with the column names, units and metrics; :func:`load_surrogate` reads them back.

References
----------
C. E. Rasmussen, C. K. I. Williams, Gaussian Processes for Machine Learning, MIT Press
(2006). M. Duquesnoy et al., J. Power Sources 480 (2020) 229103 (surrogates of the
calendering study). F. Pedregosa et al., JMLR 12 (2011) 2825 (scikit-learn).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from twinline.spec.errors import RecipeError, TwinlineError

Kind = Literal["gp", "gbr", "mlp"]
KINDS: tuple[str, ...] = ("gp", "gbr", "mlp")


class SurrogateError(TwinlineError, ValueError):
    """A surrogate cannot be fitted, loaded or used with the data given."""


def r2_score(y: np.ndarray, yhat: np.ndarray) -> float:
    r""":math:`R^2 = 1 - \sum (y-\hat y)^2 / \sum (y - \bar y)^2` (nan when y is constant)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - yhat) ** 2)) / ss if ss > 0 else float("nan")


def mape(y: np.ndarray, yhat: np.ndarray) -> float:
    r"""Mean absolute percentage error :math:`100/n \sum |y-\hat y|/|y|` [%], over y ≠ 0."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    ok = np.abs(y) > 1e-300
    return float(100.0 * np.mean(np.abs((y[ok] - yhat[ok]) / y[ok]))) if ok.any() else float(
        "nan")


def _gp_mean(model: Any, X: np.ndarray, chunk: int = 16384) -> np.ndarray:
    r"""Posterior mean of a fitted ``StandardScaler → GaussianProcessRegressor`` pipeline
    with the kernel :math:`C\,\mathrm{Matern}_{\nu}(\ell) + \mathrm{White}`, evaluated in
    chunks with NumPy (≈5× faster than scikit-learn's generic kernel call):

    .. math:: \mu(x) = \bar y + s_y\, C \sum_i k_\nu(\lVert (x - x_i)/\ell \rVert)\,\alpha_i

    (the white-noise term does not correlate distinct points). Falls back to
    ``model.predict`` for any other kernel.
    """
    from scipy.spatial.distance import cdist
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, Product, Sum, WhiteKernel

    scaler, gp = model.steps[0][1], model.steps[-1][1]
    k = getattr(gp, "kernel_", None)
    if not (isinstance(k, Sum) and isinstance(k.k2, WhiteKernel) and isinstance(k.k1, Product)
            and isinstance(k.k1.k1, ConstantKernel) and isinstance(k.k1.k2, Matern)
            and k.k1.k2.nu in (0.5, 1.5, 2.5)):
        return model.predict(X)
    c, nu = float(k.k1.k1.constant_value), k.k1.k2.nu
    ls = np.asarray(k.k1.k2.length_scale, dtype=float)
    B = gp.X_train_ / ls
    alpha = np.asarray(gp.alpha_, dtype=float).reshape(len(B), -1)[:, 0]
    Xs = scaler.transform(X) / ls
    out = np.empty(len(Xs))
    for a in range(0, len(Xs), chunk):
        d = cdist(Xs[a:a + chunk], B)
        if nu == 0.5:
            K = np.exp(-d)
        elif nu == 1.5:
            d *= np.sqrt(3.0)
            K = (1.0 + d) * np.exp(-d)
        else:
            d *= np.sqrt(5.0)
            K = (1.0 + d + d * d / 3.0) * np.exp(-d)
        out[a:a + chunk] = c * (K @ alpha)
    y_std = np.asarray(getattr(gp, "_y_train_std", 1.0), dtype=float).reshape(-1)[0]
    y_mean = np.asarray(getattr(gp, "_y_train_mean", 0.0), dtype=float).reshape(-1)[0]
    return out * y_std + y_mean


def _make_model(kind: str, d: int, seed: int):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = (ConstantKernel(1.0, (1e-3, 1e3))
                  * Matern(length_scale=np.ones(d), length_scale_bounds=(1e-2, 1e3), nu=2.5)
                  + WhiteKernel(1e-3, (1e-8, 1.0)))
        return make_pipeline(StandardScaler(), GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed))
    if kind == "gbr":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=400, learning_rate=0.05,
                                             min_samples_leaf=5, random_state=seed)
    if kind == "mlp":
        from sklearn.neural_network import MLPRegressor

        mlp = MLPRegressor(hidden_layer_sizes=(64, 64), activation="tanh", solver="lbfgs",
                           alpha=1e-4, max_iter=5000, random_state=seed)
        return TransformedTargetRegressor(make_pipeline(StandardScaler(), mlp),
                                          transformer=StandardScaler())
    raise RecipeError(f"surrogate kind {kind!r} is unknown; choose from {list(KINDS)}")


@dataclass
class Surrogate:
    """A fitted surrogate: ``inputs`` → ``outputs`` (column names), with metrics.

    ``models`` holds one scikit-learn estimator per output. ``units`` maps column names to
    their (SI) unit strings, for people. ``metrics`` holds, per output, held-out ``r2`` and
    ``mape`` [%], cross-validated ``cv_r2`` (mean of k folds) and the sizes used.
    """

    kind: str
    inputs: list[str]
    outputs: list[str]
    models: list[Any]
    units: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    log_outputs: list[str] = field(default_factory=list)

    @property
    def has_std(self) -> bool:
        """Whether :meth:`predict` returns a standard deviation (Gaussian process)."""
        return self.kind == "gp"

    def _matrix(self, x: Any) -> np.ndarray:
        if isinstance(x, Mapping):
            missing = [c for c in self.inputs if c not in x]
            if missing:
                raise SurrogateError(f"surrogate inputs missing: {missing}; it needs "
                                     f"{self.inputs}")
            cols = [np.atleast_1d(np.asarray(x[c], dtype=float)) for c in self.inputs]
            return np.column_stack(np.broadcast_arrays(*cols))
        if hasattr(x, "columns"):
            missing = [c for c in self.inputs if c not in x.columns]
            if missing:
                raise SurrogateError(f"surrogate inputs missing from the table: {missing}")
            return x[self.inputs].to_numpy(dtype=float)
        arr = np.asarray(x, dtype=float)
        arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
        if arr.shape[1] != len(self.inputs):
            raise SurrogateError(f"expected {len(self.inputs)} input columns "
                                 f"{self.inputs}, got shape {arr.shape}")
        return arr

    def predict(self, x: Any, *, return_std: bool = False):
        """Predict the outputs for ``x`` (array ``(n, d)``, a DataFrame or a dict of arrays).

        Returns an array ``(n, n_outputs)``; with ``return_std`` a tuple ``(mean, std)``
        where ``std`` is the GP's predictive standard deviation (incl. the white noise) or
        NaN for kinds without uncertainty.
        """
        X = self._matrix(x)
        if len(X) < 10_000:  # small batches: thread start-up and spin costs more than it saves
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                return self._predict(X, return_std)
        return self._predict(X, return_std)

    def _predict(self, X: np.ndarray, return_std: bool):
        mean = np.empty((X.shape[0], len(self.outputs)))
        std = np.full_like(mean, np.nan)
        for j, m in enumerate(self.models):
            if return_std and self.kind == "gp":
                mu, sd = m.predict(X, return_std=True)
                mean[:, j], std[:, j] = mu, sd
            elif self.kind == "gp":
                mean[:, j] = _gp_mean(m, X)
            else:
                mean[:, j] = m.predict(X)
            if self.outputs[j] in self.log_outputs:  # fitted on ln y: back-transform
                mean[:, j] = np.exp(mean[:, j])
                std[:, j] = mean[:, j] * std[:, j]  # delta method
        return (mean, std) if return_std else mean

    def predict_dict(self, x: Any) -> dict[str, np.ndarray]:
        """:meth:`predict` as ``{output: values}``."""
        y = self.predict(x)
        return {name: y[:, j] for j, name in enumerate(self.outputs)}

    def score(self, frame: Any) -> dict[str, dict[str, float]]:
        """R² and MAPE [%] of the predictions on ``frame`` (which holds inputs and outputs)."""
        y = frame[self.outputs].to_numpy(dtype=float)
        yhat = self.predict(frame)
        out = {}
        for j, o in enumerate(self.outputs):
            ok = np.isfinite(y[:, j])  # e.g. an infinite tortuosity factor is not scored
            out[o] = {"r2": r2_score(y[ok, j], yhat[ok, j]), "mape": mape(y[ok, j], yhat[ok, j]),
                      "n": int(ok.sum())}
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.joblib``, the models) and ``path.json`` (metadata), atomically."""
        import joblib

        path = Path(path)
        if path.suffix != ".joblib":
            path = path.with_suffix(".joblib")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        joblib.dump({"kind": self.kind, "models": self.models}, tmp)
        tmp.replace(path)
        meta = {"kind": self.kind, "inputs": self.inputs, "outputs": self.outputs,
                "units": self.units, "metrics": self.metrics,
                "bounds": {k: list(v) for k, v in self.bounds.items()}, "info": self.info,
                "log_outputs": self.log_outputs}
        jtmp = path.with_name(f".{path.name}.json.tmp")
        jtmp.write_text(json.dumps(meta, indent=2, default=float), "utf-8")
        jtmp.replace(path.with_suffix(".json"))
        return path


def load_surrogate(path: str | Path) -> Surrogate:
    """Load a surrogate written by :meth:`Surrogate.save` (``x.joblib`` + ``x.json``)."""
    import joblib

    path = Path(path)
    if path.suffix != ".joblib":
        path = path.with_suffix(".joblib")
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        raise SurrogateError(f"{path}: no surrogate here (needs {path.name} and "
                             f"{meta_path.name})")
    meta = json.loads(meta_path.read_text("utf-8"))
    blob = joblib.load(path)
    return Surrogate(kind=meta["kind"], inputs=meta["inputs"], outputs=meta["outputs"],
                     models=blob["models"], units=meta.get("units", {}),
                     metrics=meta.get("metrics", {}),
                     bounds={k: tuple(v) for k, v in meta.get("bounds", {}).items()},
                     info=meta.get("info", {}), log_outputs=meta.get("log_outputs", []))


def fit_surrogate(frame: Any, inputs: Sequence[str], outputs: Sequence[str], *,
                  kind: Kind = "gp", test_size: float = 0.2, cv: int = 5, seed: int = 0,
                  units: Mapping[str, str] | None = None, threads: int | None = 1,
                  log_outputs: Sequence[str] = ()) -> Surrogate:
    r"""Fit a surrogate from ``frame[inputs]`` to ``frame[outputs]``.

    Rows with a non-finite input are dropped; rows with a non-finite output are left out of
    that output's model only. A share ``test_size`` of the rows is held back (seeded
    shuffle) to report R² and MAPE; ``cv``-fold cross-validation on
    the rest gives ``cv_r2`` (skipped when ``cv < 2`` or too few rows). The returned
    surrogate is refitted on all rows. ``threads`` limits BLAS/OpenMP threads during the
    fit (``None``: no limit). Outputs in ``log_outputs`` (strictly positive, heavy-tailed,
    e.g. a tortuosity factor) are fitted on :math:`\ln y`; predictions, R² and MAPE are on
    :math:`y`.

    Raises
    ------
    SurrogateError
        Unknown columns, fewer than 4 usable rows, or bad ``test_size``/``kind``.
    """
    from sklearn.model_selection import KFold

    if kind not in KINDS:
        raise RecipeError(f"surrogate kind {kind!r} is unknown; choose from {list(KINDS)}")
    inputs, outputs = list(inputs), list(outputs)
    missing = [c for c in inputs + outputs if c not in frame.columns]
    if missing:
        raise SurrogateError(f"columns not in the dataset: {missing}; it has "
                             f"{list(frame.columns)}")
    if not 0.0 <= test_size < 1.0:
        raise SurrogateError(f"test_size = {test_size}: must be in [0, 1)")
    X = frame[inputs].to_numpy(dtype=float)
    Y = frame[outputs].to_numpy(dtype=float)
    keep = np.isfinite(X).all(axis=1)
    X, Y = X[keep], Y[keep]
    # rows are used per output where that output is finite (e.g. a tortuosity factor is
    # infinite where the pore phase does not percolate)
    log_outputs = [o for o in log_outputs if o in outputs]
    for o in log_outputs:
        j = outputs.index(o)
        with np.errstate(divide="ignore", invalid="ignore"):
            Y[:, j] = np.where(Y[:, j] > 0, np.log(Y[:, j]), np.nan)
    logs = np.array([o in log_outputs for o in outputs])

    def back(j: int, y: np.ndarray) -> np.ndarray:
        return np.exp(y) if logs[j] else y

    ok = np.isfinite(Y)
    if len(X) < 4 or ok.sum(axis=0).min() < 4:
        worst = outputs[int(np.argmin(ok.sum(axis=0)))] if len(X) else outputs[0]
        raise SurrogateError(f"only {int(ok.sum(axis=0).min()) if len(X) else 0} usable "
                             f"rows for {worst!r} (finite inputs and output); a surrogate "
                             "needs at least 4")
    t0 = time.perf_counter()
    metrics: dict[str, dict[str, float]] = {o: {} for o in outputs}
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = round(test_size * len(X))
    test_rows, train_rows = order[:n_test], order[n_test:]
    from threadpoolctl import threadpool_limits

    # one BLAS/OpenMP thread: these fits are small, and on a shared or busy machine
    # OpenMP spin-waiting makes gradient boosting ~10x slower with more threads
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")  # GP bound / MLP convergence chatter
        for j, o in enumerate(outputs):
            tr = train_rows[ok[train_rows, j]]
            te = test_rows[ok[test_rows, j]]
            if len(te) >= 2 and len(tr) >= 4:
                m = _make_model(kind, X.shape[1], seed).fit(X[tr], Y[tr, j])
                yhat, ytrue = back(j, m.predict(X[te])), back(j, Y[te, j])
                metrics[o].update(r2=r2_score(ytrue, yhat), mape=mape(ytrue, yhat),
                                  n_test=len(te))
            if cv >= 2 and len(tr) >= 2 * cv:
                folds = KFold(n_splits=cv, shuffle=True, random_state=seed)
                scores = []
                for a, b in folds.split(tr):
                    m = _make_model(kind, X.shape[1], seed).fit(X[tr[a]], Y[tr[a], j])
                    scores.append(r2_score(back(j, Y[tr[b], j]),
                                           back(j, m.predict(X[tr[b]]))))
                metrics[o]["cv_r2"] = float(np.nanmean(scores))
            metrics[o]["n_train"] = int(ok[:, j].sum())
        models = [_make_model(kind, X.shape[1], seed).fit(X[ok[:, j]], Y[ok[:, j], j])
                  for j in range(len(outputs))]
    bounds = {c: (float(X[:, i].min()), float(X[:, i].max())) for i, c in enumerate(inputs)}
    return Surrogate(kind=kind, inputs=inputs, outputs=outputs, models=models,
                     units=dict(units or {}), metrics=metrics, bounds=bounds,
                     log_outputs=log_outputs,
                     info={"seed": seed, "fit_s": time.perf_counter() - t0,
                           "test_size": test_size, "cv": cv})


@dataclass
class SurrogateStep:
    """A step model whose product fields come from a surrogate.

    The ``base`` step model (e.g. ``calendering`` ``heckel``) builds the complete product;
    the surrogate then overrides the fields named by its outputs (``porosity`` …). Each
    surrogate input is looked up, in this order, on the recipe section, on the incoming
    product and on its composition (e.g. ``pressure`` from the section, ``porosity`` of
    the dry electrode via the name ``porosity_before`` → ``product.porosity``): give
    ``inputs_from={"porosity_before": "product.porosity"}`` for names that differ.

    When the surrogate sets ``porosity`` but not ``thickness``, the thickness follows from
    the conserved solid volume, :math:`L = L_0(1-\\varepsilon_0)/(1-\\varepsilon)`, and the
    AM and CBD volume fractions scale with :math:`1-\\varepsilon`.
    """

    surrogate: Surrogate
    step: str
    base: str
    inputs_from: dict[str, str] = field(default_factory=dict)

    def _input(self, name: str, section: Any, product: Any) -> Any:
        where = self.inputs_from.get(name)
        if where is not None:
            obj_name, _, attr = where.partition(".")
            obj = {"section": section, "product": product,
                   "composition": getattr(product, "composition", None)}.get(obj_name)
            if obj is None or not hasattr(obj, attr):
                raise SurrogateError(f"surrogate input {name!r}: cannot read {where!r}")
            return getattr(obj, attr)
        for obj in (section, product, getattr(product, "composition", None)):
            if obj is not None and hasattr(obj, name) and getattr(obj, name) is not None:
                return getattr(obj, name)
        raise SurrogateError(f"surrogate input {name!r} is neither a field of the "
                             f"{self.step} section nor of the incoming product; map it with "
                             "inputs_from={name: 'product.<field>'}")

    def __call__(self, section: Any, product: Any, materials: Any, **kwargs: Any) -> Any:
        from dataclasses import fields as dc_fields
        from dataclasses import replace

        from twinline.process.registry import get_model

        out = get_model(self.step, self.base)(section, product, materials, **kwargs)
        cols = {n: np.asarray(self._input(n, section, product), dtype=float)
                for n in self.surrogate.inputs}
        shape = np.broadcast_shapes(*(c.shape for c in cols.values()))
        pred = self.surrogate.predict_dict(cols)
        names = {f.name for f in dc_fields(out)}
        changes: dict[str, Any] = {}
        for o, v in pred.items():
            if o in names:
                changes[o] = v.reshape(shape) if shape else float(v[0])
        if "porosity" in changes and "thickness" not in changes and "thickness" in names \
                and hasattr(product, "solid_volume_per_area"):
            eps_old = np.asarray(out.porosity, dtype=float)
            eps = np.asarray(changes["porosity"], dtype=float)
            changes["thickness"] = product.solid_volume_per_area / (1.0 - eps)
            for f in ("am_volume_fraction", "cbd_volume_fraction"):
                if f in names:
                    changes[f] = getattr(out, f) * (1.0 - eps) / (1.0 - eps_old)
        return replace(out, **changes)


def register_surrogate(surrogate: Surrogate, step: str, name: str, *, base: str,
                       inputs_from: Mapping[str, str] | None = None,
                       replace: bool = False) -> SurrogateStep:
    """Register ``surrogate`` as the model ``name`` of ``step`` (``<step>.model: name`` in a
    recipe then uses it, in this process). Returns the step callable."""
    from twinline.process.registry import register_model

    fn = SurrogateStep(surrogate, step, base, dict(inputs_from or {}))
    register_model(step, name, fn, replace=replace)
    return fn
