r"""Replay a recorded long-format file through the twin loop, as if live.

:func:`replay` reads and checks the whole file first
(:func:`twinline.twin.ingest.files.prepare`: nothing is replayed from a bad file), then walks
its rows in time order (rows of equal time in file order). A **step** is a run of rows of one
object at one time. For each step:

1. the object (and its parents, with the genealogy edges into it) enters the store, then the
   step's settings;
2. each of the step's measurements the chain predicts is predicted from everything before it:
   ``predicted_twin`` with the loop's calibration at that moment (stored, with its version),
   ``predicted_static`` with the package defaults (:meth:`Calibration.initial
   <twinline.twin.calibration.Calibration.initial>`, never updated; the same groups, so an
   unseen batch's variance is included);
3. the measurements are stored and :meth:`TwinLoop.observe
   <twinline.twin.loop.TwinLoop.observe>` learns from them (residuals, one calibration update
   per step, SPC alarms).

The result holds one row per measurement (``object, parameter, conditions, time, measured,
predicted_static, std_static, predicted_twin, std_twin, measured_std, batch``, SI) and a
summary per parameter: ``n``, the median absolute % error and the RMSE (SI) of both
predictions, for a viscosity also the RMSE of log10 η, and the share of measurements inside
the twin's 90 % predictive interval (``coverage_90``: :math:`|y-\hat y| \le 1.645
\sqrt{\sigma_{\hat y}^2 + \sigma_y^2}`).

Without ``store`` the replay runs on a fresh SQLite file in a temporary folder, removed
afterwards.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinline.twin.errors import TwinError

#: One-sided 95 % normal quantile: the 90 % central interval is ± this many sigma.
Z90 = 1.6448536269514722


@dataclass
class ReplayResult:
    """Rows (one per predicted measurement), summary per parameter, counts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: int = 0
    updates: int = 0
    alarms: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"measurements": self.rows, "summary": self.summary, "steps": self.steps,
                "updates": self.updates, "alarms": self.alarms, "skipped": self.skipped}


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per parameter: ``n``, ``median_abs_pct_static/twin`` [%], ``rmse_static/twin`` (SI),
    ``rmse_log10_static/twin`` (viscosity only) and ``coverage_90`` (twin)."""
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for par in sorted({r["parameter"] for r in rows}):
        sel = [r for r in rows if r["parameter"] == par]
        y = np.array([r["measured"] for r in sel], dtype=float)
        entry: dict[str, Any] = {"n": len(sel)}
        for which in ("static", "twin"):
            p = np.array([r[f"predicted_{which}"] for r in sel], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.abs(p - y) / np.abs(y) * 100.0
            entry[f"median_abs_pct_{which}"] = float(np.median(pct))
            entry[f"rmse_{which}"] = float(np.sqrt(np.mean((p - y) ** 2)))
            if par.endswith(".mixing.viscosity") and np.all(y > 0) and np.all(p > 0):
                entry[f"rmse_log10_{which}"] = float(np.sqrt(np.mean(
                    (np.log10(p) - np.log10(y)) ** 2)))
        p = np.array([r["predicted_twin"] for r in sel], dtype=float)
        s = np.array([math.hypot(r["std_twin"], r["measured_std"]) for r in sel])
        entry["coverage_90"] = float(np.mean(np.abs(y - p) <= Z90 * s))
        out[par] = entry
    return out


def _steps(records: Any) -> list[Any]:
    """Runs of rows of one object at one time, in time order (ties in file order)."""
    recs = records.sort_values(["time", "line"], kind="stable").reset_index(drop=True)
    key = recs["object"].astype(str) + "\x00" + recs["time"].astype(str)
    starts = (key != key.shift()).cumsum()
    return [g for _, g in recs.groupby(starts, sort=True)]


def replay(path: str | Path, base_recipe: Any, *, store: Any = None,
           constants: Any = None, seed: int = 0, samples: int = 0,
           batch_ids: Mapping[str, str] | None = None,
           progress: Callable[[int, int], None] | None = None,
           groups_kept: int | None = None) -> ReplayResult:
    """Stream the long-format file ``path`` through a :class:`~twinline.twin.loop.TwinLoop`
    (see the module docstring). ``store`` a :class:`~twinline.twin.store.Store` (default a
    temporary SQLite file); ``batch_ids`` maps slurry-batch object ids to batch group ids;
    ``progress(done, total)`` is called after each step; ``groups_kept``: the group offsets
    of each kind the calibration keeps (:func:`~twinline.twin.loop.keep_recent_groups`;
    default all)."""
    from twinline.twin.ingest.files import prepare

    prep = prepare(path)
    if store is None:
        from twinline.twin.store import Store

        with tempfile.TemporaryDirectory(prefix="twinline-replay-") as tmp:
            with Store.open(Path(tmp) / "replay.db") as st:
                return _replay(prep, base_recipe, st, constants, seed, samples, batch_ids,
                               progress, groups_kept)
    return _replay(prep, base_recipe, store, constants, seed, samples, batch_ids, progress,
                   groups_kept)


def _replay(prep: Any, base_recipe: Any, store: Any, constants: Any, seed: int, samples: int,
            batch_ids: Mapping[str, str] | None,
            progress: Callable[[int, int], None] | None,
            groups_kept: int | None = None) -> ReplayResult:
    import pandas as pd

    from twinline.twin.calibration import Calibration, predict
    from twinline.twin.loop import TwinLoop, at_shear_rate, prediction_conditions, with_shared
    from twinline.twin.store.rows import EdgeRow, ObjectRow, RecordRow

    loop = TwinLoop(store, base_recipe, constants=constants, seed=seed, samples=samples,
                    batch_ids=batch_ids, groups_kept=groups_kept)
    static = Calibration.initial(base_recipe, constants)
    static_cache: dict[Any, dict[str, tuple[float, float]]] = {}
    parents: dict[str, list[tuple[str, float | None, str]]] = {}
    for (p, c), (qty, unit, _) in prep.edges.items():
        parents.setdefault(c, []).append((p, qty, unit))
    entered: set[str] = set()
    last_pk = max((m["pk"] for m in store.measurements()), default=0)
    result = ReplayResult()
    steps = _steps(prep.records)

    def enter(oid: str) -> None:
        if oid in entered:
            return
        ups = parents.get(oid, [])
        for p, _, _ in ups:
            enter(p)
        kind, created, _ = prep.objects[oid] if oid in prep.objects else (None, None, 0)
        if kind is not None:
            store.add_objects([ObjectRow(oid, kind, created, prep.source)])
        store.add_edges([EdgeRow(p, oid, q, u) for p, q, u in ups])
        entered.add(oid)

    def rows_of(g: Any) -> list[RecordRow]:
        out = []
        for r in g.itertuples(index=False):
            value = None if r.value is None or not math.isfinite(r.value) else float(r.value)
            unc = (None if r.uncertainty is None or not math.isfinite(r.uncertainty)
                   else float(r.uncertainty))
            out.append(RecordRow(r.object, r.role, r.parameter,
                                 pd.Timestamp(r.time).tz_localize("UTC").to_pydatetime(),
                                 value=value, text=r.text if value is None else None,
                                 unit=r.unit, uncertainty=unc, method=r.method,
                                 source=prep.source, conditions=r.conditions))
        return out

    for i, g in enumerate(steps):
        oid = str(g["object"].iat[0])
        enter(oid)
        recs = rows_of(g)
        settings = [r for r in recs if r.role == "setting"]
        meas = [r for r in recs if r.role == "measurement" and r.value is not None]
        store.add_records(settings)
        if meas:
            ctx = loop.context(oid)
            batch = ctx.groups.get("batch")
            pending = []
            for r in meas:
                cond = prediction_conditions(r.parameter, r.conditions)
                try:
                    twin = loop.predict_measurement(oid, r.parameter, cond, context=ctx)
                except TwinError:
                    result.skipped += 1
                    continue
                recipe = at_shear_rate(ctx.recipe, r.parameter, cond)
                skey = (recipe.model_dump_json(), tuple(sorted(ctx.groups.items())))
                if skey not in static_cache:
                    static_cache[skey] = predict(recipe, static, group_ids=ctx.groups,
                                                 samples=samples, seed=seed)
                st = with_shared(r.parameter, static_cache[skey][r.parameter],
                                 loop.shared_table(ctx.groups, static))
                pending.append({"object": oid, "parameter": r.parameter,
                                "conditions": r.conditions, "time": r.time.isoformat(),
                                "measured": r.value, "measured_std": r.uncertainty or 0.0,
                                "predicted_static": st[0], "std_static": st[1],
                                "predicted_twin": twin[0], "std_twin": twin[1],
                                "calibration": loop.calibration.id, "batch": batch})
            store.add_records(meas)
            new = store.measurements(after_pk=last_pk)
            last_pk = max((m["pk"] for m in new), default=last_pk)
            obs = loop.observe(new)
            result.updates += obs.calibration is not None
            result.alarms += len(obs.alarms)
            result.rows.extend(pending)
        result.steps += 1
        if progress is not None:
            progress(i + 1, len(steps))
    result.summary = summarise(result.rows)
    return result
