r"""Campaigns: a design of experiments evaluated point by point, stored in Parquet.

A campaign is a list of :class:`Parameter` ranges, a design (full factorial, Latin
hypercube or scrambled Sobol sequence from :mod:`scipy.stats.qmc`) and an evaluation
function with the plain protocol

.. code-block:: python

    evaluate(point: dict[str, float], seed: int) -> dict[str, float]

(inputs and outputs in SI units). Each point gets its own seeds, derived from the campaign
seed with :class:`numpy.random.SeedSequence` (``spawn_key=(point, replicate)``), so a point
gives the same result on any executor and in any order. ``R`` replicates are averaged and
their sample standard deviation kept as ``<output>_std``.

Rows are appended to a dataset folder in chunks of atomically written Parquet files; a
campaign started again on the same folder skips the points it finds there, so an
interrupted and resumed campaign produces the same table as an uninterrupted one.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from twinline.learn import dataset as ds
from twinline.learn.dataset import stable_hash
from twinline.learn.recipe_points import preferred_unit
from twinline.spec.errors import RecipeError, TwinlineError

Design = Literal["factorial", "lhs", "sobol"]
DESIGNS: tuple[str, ...] = ("factorial", "lhs", "sobol")
Evaluate = Callable[[dict[str, float], int], dict[str, float]]


def quantity_errors() -> tuple[type[BaseException], ...]:
    """What pint's parser raises on text that is not a quantity (it has many types: an
    undefined unit, a tokenizer error, even an AssertionError for ``"1 +"``)."""
    from tokenize import TokenError

    from pint.errors import PintError

    return (PintError, ValueError, TypeError, AttributeError, AssertionError, SyntaxError,
            TokenError, IndexError)


@dataclass(frozen=True)
class Parameter:
    """One input of a campaign: a name (a recipe path such as ``cathode.calendering.pressure``
    or any key the evaluation understands), its range in SI ``unit`` and options.

    ``levels`` sets the number of levels of this axis in a full factorial (default: the
    campaign's ``points`` per axis); ``log`` samples uniformly in log space.
    """

    name: str
    low: float
    high: float
    unit: str = ""
    levels: int | None = None
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high < self.low:
            raise RecipeError(f"parameter {self.name}: need finite low <= high, got "
                              f"[{self.low:g}, {self.high:g}] {self.unit or '-'}")
        if self.log and self.low <= 0:
            raise RecipeError(f"parameter {self.name}: log sampling needs low > 0, got "
                              f"{self.low:g} {self.unit or '-'}")
        if self.levels is not None and self.levels < 1:
            raise RecipeError(f"parameter {self.name}: levels = {self.levels}, must be >= 1")

    def scale(self, u: np.ndarray) -> np.ndarray:
        """Map unit-interval samples ``u`` ∈ [0, 1] to this parameter's range."""
        u = np.asarray(u, dtype=float)
        if self.log:
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)

    @classmethod
    def parse(cls, text: str) -> Parameter:
        """Parse ``"name=low:high[:levels] [unit]"``; bounds may carry a unit
        (``cathode.calendering.pressure=20MPa:170MPa``) and are converted to SI."""
        from twinline.spec.units import Q_

        try:
            name, rng = text.split("=", 1)
            bits = rng.split(":")
            lo_q, hi_q = Q_(bits[0].strip()), Q_(bits[1].strip())
            levels = int(bits[2]) if len(bits) > 2 and bits[2].strip() else None
        except quantity_errors():
            raise RecipeError(f"parameter {text!r}: expected name=low:high[:levels], e.g. "
                              "cathode.calendering.pressure=20MPa:170MPa:5") from None
        unit = preferred_unit(name.strip(), lo_q)
        try:
            lo, hi = float(lo_q.m_as(unit or "")), float(hi_q.m_as(unit or ""))
        except quantity_errors():
            raise RecipeError(f"parameter {name}: bounds {bits[0]!r} and {bits[1]!r} do not "
                              f"both convert to {unit or 'a dimensionless number'} (different "
                              "dimensions)") from None
        _check_recipe_range(name.strip(), lo, hi)
        return cls(name.strip(), lo, hi, unit=unit, levels=levels)


def _check_recipe_range(name: str, low: float, high: float) -> None:
    """Refuse bounds of a recipe path outside that field's admissible range (every point
    would fail validation later)."""
    from twinline.spec.fields import field_at

    try:
        spec = field_at(name)
    except RecipeError:
        return  # not a recipe path: a key the evaluation understands
    bad = [x for x in (low, high) if not spec.range.contains(x)]
    if bad:
        raise RecipeError(f"parameter {name}: bound {bad[0]:g} {spec.unit or '-'} is outside "
                          f"the allowed range {spec.range_text} of that recipe field")


def design_points(parameters: Sequence[Parameter], *, design: Design = "lhs", points: int = 16,
                  seed: int = 0) -> list[dict[str, float]]:
    """Points of a design of experiments over ``parameters`` (values in SI units).

    ``factorial``: every combination of ``levels`` (per parameter, default ``points``)
    evenly spaced values, ends included. ``lhs``: ``points`` Latin-hypercube samples.
    ``sobol``: ``points`` points of a scrambled Sobol sequence (balanced when ``points`` is a
    power of 2). The stochastic designs are seeded.
    """
    from scipy.stats import qmc

    if not parameters:
        raise RecipeError("a campaign needs at least one parameter")
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise RecipeError(f"parameters repeat a name: {names}")
    if design not in DESIGNS:
        raise RecipeError(f"design = {design!r} is unknown; choose from {list(DESIGNS)}")
    if points < 1:
        raise RecipeError(f"points = {points}: must be >= 1")
    d = len(parameters)
    if design == "factorial":
        axes = []
        for p in parameters:
            n = p.levels or points
            axes.append(p.scale(np.linspace(0.0, 1.0, n)) if n > 1
                        else p.scale(np.array([0.5])))
        grid = list(itertools.product(*axes))
        return [{n: float(v) for n, v in zip(names, row, strict=True)} for row in grid]
    if design == "lhs":
        u = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(points)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warning for n != 2^m
            u = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed)).random(points)
    cols = [p.scale(u[:, j]) for j, p in enumerate(parameters)]
    return [{n: float(cols[j][i]) for j, n in enumerate(names)} for i in range(len(u))]


def point_seed(base_seed: int, point_id: int, replicate: int = 0) -> int:
    """Seed of one replicate of one point: independent of executor and order (32 bit)."""
    ss = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(point_id), int(replicate)))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class _Task:
    evaluate: Evaluate
    point_id: int
    inputs: dict[str, float]
    seeds: tuple[int, ...]


def _run_task(task: _Task) -> dict[str, Any]:
    """Evaluate all replicates of one point; average them; keep the spread (top level so
    that Dask can pickle it)."""
    results: list[dict[str, float]] = []
    status = "ok"
    extra: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        for s in task.seeds:
            out = task.evaluate(dict(task.inputs), int(s))
            if not isinstance(out, dict):
                raise TypeError(f"evaluate returned {type(out).__name__}, expected a dict")
            results.append(out)
    except TwinlineError as err:
        status = f"failed: {err}"
    wall = time.perf_counter() - t0
    row: dict[str, Any] = {"point_id": task.point_id, **task.inputs}
    keys: list[str] = []
    for r in results:
        keys.extend(k for k in r if k not in keys)
    for k in keys:
        vals = [r.get(k) for r in results]
        if all(isinstance(v, str) for v in vals):
            extra[k] = vals[0]
            continue
        arr = np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        with np.errstate(invalid="ignore"):  # an infinite replicate gives inf, std nan
            row[k] = float(np.mean(arr))
            row[f"{k}_std"] = float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0
    row.update(extra)
    row["seed"] = int(task.seeds[0])
    row["replicates"] = len(results)
    row["status"] = status
    row["_wall_s"] = wall
    return row


@dataclass
class CampaignResult:
    """What :meth:`Campaign.run` did: the full table and the timing of this run."""

    table: Any
    evaluated: int
    skipped: int
    wall_s: float
    eval_s: float
    executor: str
    folder: Path | None

    @property
    def points_per_s(self) -> float:
        return self.evaluated / self.wall_s if self.wall_s > 0 else float("nan")


@dataclass
class Campaign:
    """A design of experiments over ``parameters`` evaluated by ``evaluate``.

    Parameters
    ----------
    parameters : list of Parameter
        Inputs with their ranges (SI units).
    evaluate : callable
        ``evaluate(point, seed) -> dict`` of outputs (SI floats). Must pickle for Dask
        (a module-level function or a dataclass instance).
    design, points, seed
        See :func:`design_points`. ``seed`` also derives each point's evaluation seeds.
    replicates : int
        Evaluations per point (different seeds), averaged; ``<output>_std`` keeps the
        sample standard deviation.
    metadata : dict
        Stored in every row: ``recipe_hash``, ``model_versions`` (JSON) and in the manifest.
    extra_points : list of dict, optional
        Points appended after the design (e.g. a validation set).
    """

    parameters: list[Parameter]
    evaluate: Evaluate
    design: Design = "lhs"
    points: int = 16
    seed: int = 0
    replicates: int = 1
    name: str = "campaign"
    metadata: dict[str, Any] = field(default_factory=dict)
    extra_points: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.replicates < 1:
            raise RecipeError(f"replicates = {self.replicates}: must be >= 1")

    def plan(self) -> list[dict[str, float]]:
        """All points of the campaign in order (their index is the ``point_id``)."""
        pts = design_points(self.parameters, design=self.design, points=self.points,
                            seed=self.seed)
        return pts + [dict(p) for p in self.extra_points]

    def manifest(self) -> dict[str, Any]:
        """What identifies the campaign (a resumed run must match it)."""
        import twinline

        return {
            "name": self.name,
            "parameters": [asdict(p) for p in self.parameters],
            "design": self.design,
            "points": self.points,
            "extra_points": len(self.extra_points),
            "seed": self.seed,
            "replicates": self.replicates,
            "metadata": self.metadata,
            "twinline_version": twinline.__version__,
            "plan_hash": stable_hash(self.plan()),
        }

    def run(self, folder: str | Path | None = None, *, executor: Any = None, chunk: int = 16,
            progress: bool | Callable[[int, int], None] = False,
            stop_after: int | None = None) -> CampaignResult:
        """Evaluate the points not yet in ``folder`` and append them; return the full table.

        Parameters
        ----------
        folder : path, optional
            Dataset folder (created). ``None`` keeps the table in memory only.
        executor : SerialExecutor or DaskExecutor, optional
            From :func:`~twinline.learn.executors.make_executor`; default serial.
        chunk : int
            Rows per Parquet part file (a crash loses at most one chunk).
        progress : bool or callable
            ``True`` shows a Rich progress bar; a callable gets ``(done, total)``.
        stop_after : int, optional
            Stop after this many new points (for time-boxed runs; resume later).
        """
        import twinline
        from twinline.learn.executors import SerialExecutor

        executor = executor or SerialExecutor()
        plan = self.plan()
        done: set[int] = set()
        if folder is not None:
            folder = Path(folder)
            old = ds.read_manifest(folder)
            man = self.manifest()
            if old is not None and old.get("plan_hash") != man["plan_hash"]:
                raise ds.DatasetError(
                    f"{folder}: holds a different campaign (plan hash {old.get('plan_hash')} "
                    f"!= {man['plan_hash']}); use another folder")
            if old is not None and (old.get("replicates") != man["replicates"]
                                    or old.get("metadata") != json.loads(
                                        json.dumps(man["metadata"], default=str))):
                raise ds.DatasetError(f"{folder}: holds the same points with other "
                                      "replicates or metadata; use another folder")
            ds.write_manifest(folder, man)
            for part in ds.quarantine_corrupt_parts(folder):  # a truncated part: redo its points
                warnings.warn(f"{folder}: part file {part.name} is corrupt or truncated (moved "
                              f"to {part.name}.corrupt); its points are computed again",
                              ds.DatasetWarning, stacklevel=2)
            done = ds.completed_ids(folder)
        todo = [i for i in range(len(plan)) if i not in done]
        if stop_after is not None:
            todo = todo[:max(0, stop_after)]
        tasks = [_Task(self.evaluate, i, plan[i],
                       tuple(point_seed(self.seed, i, r) for r in range(self.replicates)))
                 for i in todo]
        meta = {
            "recipe_hash": str(self.metadata.get("recipe_hash", "")),
            "twinline_version": twinline.__version__,
            "model_versions": json.dumps(self.metadata.get("model_versions", {}),
                                         sort_keys=True),
        }
        rows_mem: list[dict[str, Any]] = []
        buffer: list[dict[str, Any]] = []
        eval_s = 0.0
        t0 = time.perf_counter()
        bar = _Progress(progress, len(plan), len(done), self.name)

        def flush() -> None:
            if folder is not None and buffer:
                ds.write_part(folder, buffer)
            buffer.clear()

        n_new = 0
        try:
            with bar:
                for row in executor.map_unordered(_run_task, tasks):
                    eval_s += row.pop("_wall_s", 0.0)
                    for k, v in meta.items():
                        row.setdefault(k, v)
                    buffer.append(row)
                    rows_mem.append(row)
                    n_new += 1
                    bar.advance()
                    if len(buffer) >= chunk:
                        flush()
        finally:
            flush()  # keep what finished, even on KeyboardInterrupt
        wall = time.perf_counter() - t0
        if folder is not None:
            table = ds.read_dataset(folder)
            failures = failure_summary(table, [p.name for p in self.parameters])
            ds.write_manifest(folder, {**(ds.read_manifest(folder) or {}), **failures})
        else:
            import pandas as pd

            table = (pd.DataFrame(rows_mem).sort_values("point_id").reset_index(drop=True)
                     if rows_mem else pd.DataFrame())
        return CampaignResult(table, n_new, len(done), wall, eval_s,
                              getattr(executor, "name", "custom"), folder)


def failure_summary(table: Any, inputs: Sequence[str]) -> dict[str, Any]:
    """``{"points_done": n, "failed_count": k, "failed": [{point_id, reason, inputs}, ...]}``
    of a campaign table (``inputs``: the parameter columns), stored in ``campaign.json`` so
    that failed points are listed with their reason."""
    if table is None or not len(table) or "status" not in table.columns:
        return {"points_done": 0, "failed_count": 0, "failed": []}
    bad = table[table["status"] != "ok"]
    inputs = [c for c in inputs if c in table.columns]
    failed = []
    for _, row in bad.iterrows():
        reason = str(row["status"])
        failed.append({"point_id": int(row["point_id"]),
                       "reason": reason.removeprefix("failed: "),
                       "inputs": {k: float(row[k]) for k in inputs}})
    return {"points_done": len(table), "failed_count": len(failed), "failed": failed}


class _Progress:
    """Rich progress bar, a callback, or nothing."""

    def __init__(self, progress: Any, total: int, done: int, name: str) -> None:
        self.cb = progress if callable(progress) else None
        self.total, self.done = total, done
        self.rich = None
        if progress is True:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            err = Console(stderr=True)  # stdout keeps the results; no bar in a pipe or log
            self.rich = Progress("[progress.description]{task.description}", BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=err,
                                 disable=not err.is_terminal)
            self.task = self.rich.add_task(name, total=total, completed=done)

    def __enter__(self) -> _Progress:
        if self.rich is not None:
            self.rich.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.rich is not None:
            self.rich.__exit__(*exc)

    def advance(self) -> None:
        self.done += 1
        if self.rich is not None:
            self.rich.update(self.task, completed=self.done)
        if self.cb is not None:
            self.cb(self.done, self.total)
