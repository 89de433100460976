"""One step of the twin loop on a long history: ``TwinLoop.observe`` of one new measurement.

A step predicts the new measurement (the chain, no Monte Carlo: ``samples=0``), stores its
residual, then watches: the control charts of the parameter's residual and raw series
(:meth:`~twinline.twin.loop.TwinLoop.watch`, used when no alarm policy is set) and the
specification and capability alarms against the recipe's ``spec_limits``
(:meth:`~twinline.twin.loop.TwinLoop.watch_specs`). Before this benchmark's change the two
watches read every measurement and residual of the parameter, judged them all and read the
whole alarm table twice: O(whole history) per step. Now they judge only the points not
judged before (the chart and capability states kept per series, a bounded look-back read).

The history is built fast with bulk inserts (``bench_spc.build``: ``--points`` measurements
of ``cathode.coating.am_loading``, 0.021 ± 0.0004 kg/m² = 2.1 ± 0.04 mg/cm², with
predictions, residuals and one alarm per 100 points); the recipe gets specification limits
2.0..2.2 mg/cm² (Cpk ~ 0.8: about 1.2 % of the values beyond the limits, and capability
alarms, among the history). For each history
length, "after" (this code) and "before" (the whole-series watches of the previous
version, ``tests/twin/watch_reference.py``, bound to the same loop) each run one warm-up
step (after: the first step of a started loop judges the whole series once — its time is
printed as ``first``) and then ``--steps`` timed steps of one new measurement each; the
median per step is
printed, and the part of it spent watching.

    python benchmarks/bench_twin_step.py [--points 1000,10000,100000] [--steps 3] [--json]

SQLite file in a temporary folder. Bounded: about 1.5 min on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"


def _bench_spc() -> Any:
    spec = importlib.util.spec_from_file_location("bench_spc", ROOT / "benchmarks" / "bench_spc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------ before
def _reference() -> Any:
    """The whole-series watches as they were (``tests/twin/watch_reference.py``: the frozen
    copy the equality test holds the loop against)."""
    path = ROOT / "tests" / "twin" / "watch_reference.py"
    spec = importlib.util.spec_from_file_location("watch_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _whole_series(loop: Any) -> None:
    """Bind the old watches to ``loop`` in place of its incremental ones."""
    ref = _reference()
    limits = getattr(loop.base_recipe, "spec_limits", None) or {}
    loop.watch = lambda parameters: ref.old_watch(loop.store, parameters)
    loop.watch_specs = lambda parameters=None: (
        ref.old_watch_specs(loop.store, limits, parameters) if limits else []
    )


# ------------------------------------------------------------------------------ timing
def _recipe() -> Any:
    import yaml

    from twinline.spec.recipe import parse_recipe

    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["spec_limits"] = {
        "cathode.coating.am_loading": {"lower": "2.0 mg/cm^2", "upper": "2.2 mg/cm^2"}
    }
    return parse_recipe(data, "bench.yaml")


def _timed(loop: Any, name: str, spent: dict[str, float]) -> None:
    inner = getattr(loop, name)

    def wrapper(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            spent["watch"] += time.perf_counter() - t0

    setattr(loop, name, wrapper)


def time_steps(
    store: Any, recipe: Any, *, start: datetime, step: timedelta, first: int, steps: int, old: bool
) -> dict[str, Any]:
    """Warm-up and ``steps`` timed loop steps, each one new measurement at the end of the
    history; returns the per-step medians (ms) and the warm-up step's time."""
    from twinline.twin.loop import TwinLoop
    from twinline.twin.store import ObjectRow, RecordRow

    bs = _bench_spc()
    loop = TwinLoop(store, recipe, learn=False, samples=0)
    if old:
        _whole_series(loop)
    spent = {"watch": 0.0}
    _timed(loop, "watch", spent)
    _timed(loop, "watch_specs", spent)
    rng = np.random.default_rng(first)
    totals, watches = [], []
    for k in range(steps + 1):
        i = first + k
        t = start + i * step
        oid = f"CR-{i:07d}"
        store.add_objects([ObjectRow(oid, "coated_roll", t, "bench")])
        store.add_records(
            [
                RecordRow(
                    oid,
                    "measurement",
                    bs.PARAMETER,
                    t,
                    value=float(0.021 + 0.0004 * rng.standard_normal()),
                    uncertainty=0.0004,
                    source="bench",
                )
            ]
        )
        rec = store.measurement_window(bs.PARAMETER, "", tail=1)[2]
        spent["watch"] = 0.0
        t0 = time.perf_counter()
        obs = loop.observe(rec)
        total = time.perf_counter() - t0
        if len(obs.residuals) != 1:
            raise SystemExit(f"step {i}: the loop did not observe the new measurement")
        if k == 0:
            warm = (total, spent["watch"])
            continue
        totals.append(total)
        watches.append(spent["watch"])
    return {
        "first_ms": 1e3 * warm[0],
        "first_watch_ms": 1e3 * warm[1],
        "step_ms": 1e3 * statistics.median(totals),
        "watch_ms": 1e3 * statistics.median(watches),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", default="1000,10000,100000", help="history lengths")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per case")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
    from twinline.twin.calibration import Calibration
    from twinline.twin.store import Store

    bs = _bench_spc()
    recipe = _recipe()
    rows = []
    for n in (int(p) for p in args.points.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            Store.open(url).close()
            built = bs.build(url, n)
            with Store.open(url) as store:
                store.add_calibration(Calibration.initial(recipe).to_dict(), active=True)
                row: dict[str, Any] = {"points": n, "build_s": built}
                nxt = n
                for name, old in (("after", False), ("before", True)):
                    row[name] = time_steps(
                        store,
                        recipe,
                        start=bs.START,
                        step=bs.STEP,
                        first=nxt,
                        steps=args.steps,
                        old=old,
                    )
                    nxt += args.steps + 1
            rows.append(row)
            print(json.dumps(row) if args.json else _line(row), flush=True)
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python "
        f"{platform.python_version()}, SQLite",
        file=sys.stderr,
    )
    return 0


def _line(r: dict[str, Any]) -> str:
    a, b = r["after"], r["before"]
    return (
        f"{r['points']:>7} points (built {r['build_s']:.1f} s): step before "
        f"{b['step_ms']:.1f} ms (watch {b['watch_ms']:.1f}), after {a['step_ms']:.1f} ms "
        f"(watch {a['watch_ms']:.1f}); a started loop's first step {a['first_ms']:.1f} ms "
        f"(watch {a['first_watch_ms']:.1f})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
