"""The twin's alarm policy on the simulated line: detection delay per defect, false alarms.

Issue 15's goal: every injected defect (``gap-step``, ``dryer-fault``, ``slurry-change``)
raises an alarm within 20 objects, with at most 1 false alarm per 1 000 objects in a
defect-free run of the same length.

Each run is the simulated line (:class:`twinline.twin.line.simulate.PilotLine`) written by
:func:`~twinline.twin.line.simulate.generate_record` — the stream ``twinline line simulate
--record`` writes, without waiting for real time — ingested into a fresh SQLite store
(``twinline ingest``) and processed by the live twin (:class:`twinline.twin.live.LiveTwin`,
the loop of ``twinline twin run``: predict, residuals, calibration update, alarm policy).
An *object* is a coated roll (one every ``--roll-every``; one sample per tag and roll by
default). A defect starts at object ``--defect-at`` (after the policy's phase I); its delay
is the number of coated rolls from the one being coated when it starts to the one whose
point raised the first alarm, inclusive. Alarms of a defect run before its defect count as
false alarms, as do all alarms of the defect-free run.

    python benchmarks/bench_twin_alarms.py [--objects 1000] [--json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "nmc111_cathode.yaml"
DEFECTS = ("gap-step", "dryer-fault", "slurry-change")
START = datetime(2026, 1, 1, tzinfo=UTC)


def policy_events(store) -> list[dict]:
    """The events of the alarm policy over the residuals stored in ``store``, fed as the live
    loop feeds them (time, then record order): the opening signal of each event."""
    from twinline.twin.loop import prediction_conditions
    from twinline.twin.spc import AlarmPolicy

    rows = []
    for par in sorted({m["parameter"] for m in store.measurements()}):
        for s in store.residual_series(par):
            rows.append((s["time"], s["record"], par, s))
    rows.sort(key=lambda x: (x[0], x[1]))
    policy = AlarmPolicy()
    signals = []
    for _, _, par, s in rows:
        signals += policy.add(
            par, prediction_conditions(par, s["conditions"]), s["object"], s["z"], s["time"], None
        )
    signals += policy.close()
    return [
        {
            "time": sig.time,
            "object": sig.object,
            "parameter": sig.parameter,
            "rule": sig.rule,
            "value": sig.value,
            "message": f"{sig.parameter} at {sig.object}: {sig.rule} {sig.value:+.3g}",
        }
        for sig in signals
        if sig.opens
    ]


def run_line(
    defect: str | None,
    objects: int,
    *,
    roll_every: float,
    per_object: int,
    defect_at: int,
    seed: int,
    recipe: Path = RECIPE,
    keep: str | None = None,
) -> dict:
    """One run: ``objects`` coated rolls, with ``defect`` from object ``defect_at`` on
    (``keep``: a folder where the run's store is kept, ``<defect or none>.db``)."""
    from twinline.spec.recipe import load_recipe
    from twinline.twin.ingest.files import ingest_file
    from twinline.twin.line.simulate import Defect, PilotLine, generate_record
    from twinline.twin.live import LiveTwin
    from twinline.twin.store import Store

    base = load_recipe(recipe)
    at = (defect_at - 1) * roll_every + 0.5 * roll_every / per_object  # inside that roll
    defects = [Defect(defect, at)] if defect else []
    line = PilotLine.from_recipe(
        base,
        rate=per_object / roll_every,
        seed=seed,
        roll_every=roll_every,
        defects=defects,
        stamp="B",
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="twinline-alarms-") as tmp:
        rec = Path(tmp) / "rec.csv"
        gen = generate_record(line, rec, duration=objects * roll_every - 1e-6, start=START)
        db = Path(keep or tmp) / f"{defect or 'none'}-{objects}-{seed}.db"
        with Store.open(db) as store:
            ingest_file(store, rec)
            live = LiveTwin(store, base, name="bench")
            live.process()
            live.loop.watch_policy([], close=True)
            events = policy_events(store)
            stored = [a for a in store.alarms() if a["series"] == "event"]
            assert len(stored) == len(events), "the live loop's alarms are the policy's events"
    seconds = time.perf_counter() - t0
    return judge(defect, objects, events, roll_every=roll_every, defect_at=defect_at, at=at) | {
        "ticks": gen.ticks,
        "measurements": live.stats.measurements,
        "updates": live.stats.updates,
        "seconds": round(seconds, 1),
    }


def judge(
    defect: str | None,
    objects: int,
    events: list[dict],
    *,
    roll_every: float,
    defect_at: int,
    at: float,
) -> dict:
    """Detection delay (objects) and false alarms of one run's events."""

    def roll(t: datetime) -> int:
        return math.floor((t - START).total_seconds() / roll_every + 1e-9) + 1

    starts = START + timedelta(seconds=at)
    false = [a for a in events if not defect or a["time"] < starts]
    after = [a for a in events if a not in false]
    delay = None
    if defect and after:
        first = min(after, key=lambda a: a["time"])
        delay = roll(first["time"]) - defect_at + 1
    return {
        "defect": defect,
        "objects": objects,
        "events": len(events),
        "false_alarms": len(false),
        "detection_delay_objects": delay,
        "first_alarm": (min(after, key=lambda a: a["time"])["message"] if after else None),
        "false_alarm_messages": [a["message"] for a in false][:5],
    }


def evaluate(db: str, roll_every: float, as_json: bool) -> int:
    """False alarms of the policy over the residuals of a kept defect-free store."""
    from twinline.twin.store import Store

    with Store.open(db, create=False) as store:
        events = policy_events(store)
        last = max(
            s["time"]
            for par in {m["parameter"] for m in store.measurements()}
            for s in store.residual_series(par)
        )
    objects = math.floor((last - START).total_seconds() / roll_every + 1e-9) + 1
    out = {
        "db": db,
        "objects": objects,
        "false_alarms": len(events),
        "false_alarms_per_1000_objects": 1000.0 * len(events) / objects,
        "messages": [e["message"] for e in events][:10],
        "load_average": os.getloadavg()[0],
    }
    print(
        json.dumps(out, indent=1, default=str)
        if as_json
        else f"{objects} objects, {len(events)} false alarms "
        f"({out['false_alarms_per_1000_objects']:.2f} per 1000 objects)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--objects",
        type=int,
        default=1000,
        help="coated rolls of the defect-free run (default 1000)",
    )
    ap.add_argument(
        "--defect-at", type=int, default=30, help="object at which each defect starts (default 30)"
    )
    ap.add_argument(
        "--after",
        type=int,
        default=25,
        help="objects of a defect run after its defect (default 25)",
    )
    ap.add_argument("--roll-every", type=float, default=30.0, help="seconds per coated roll")
    ap.add_argument("--per-object", type=int, default=1, help="samples per tag and roll")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument(
        "--defects",
        default=",".join(DEFECTS),
        help="comma-separated defects to run (default all three)",
    )
    ap.add_argument("--keep", help="keep each run's store in this folder")
    ap.add_argument(
        "--evaluate",
        metavar="DB",
        help="only judge the residuals stored in a "
        "kept defect-free store (a run still going or stopped: the objects "
        "processed so far)",
    )
    args = ap.parse_args(argv)
    if args.evaluate:
        return evaluate(args.evaluate, args.roll_every, args.json)
    kw = {
        "roll_every": args.roll_every,
        "per_object": args.per_object,
        "defect_at": args.defect_at,
        "keep": args.keep,
    }
    plans = [(None, args.objects, args.seed)] if args.objects > 0 else []
    plans += [
        (d, args.defect_at + args.after - 1, args.seed + 1 + i)
        for i, d in enumerate(x for x in args.defects.split(",") if x)
    ]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_line, d, n, seed=s, **kw) for d, n, s in plans]
        runs = [f.result() for f in futures]
    free = runs[0] if args.objects > 0 else {"objects": 0, "false_alarms": 0, "seconds": 0}
    runs = runs[1:] if args.objects > 0 else runs
    per_1000 = 1000.0 * free["false_alarms"] / free["objects"] if free["objects"] else None
    out = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "load_average": os.getloadavg()[0],
        "objects_defect_free": free["objects"],
        "false_alarms_defect_free": free["false_alarms"],
        "false_alarms_per_1000_objects": per_1000,
        "detection_delay_objects": {r["defect"]: r["detection_delay_objects"] for r in runs},
        "false_alarms_before_defects": sum(r["false_alarms"] for r in runs),
        "goal_met": (
            (per_1000 is None or per_1000 <= 1.0)
            and all(
                r["detection_delay_objects"] is not None and r["detection_delay_objects"] <= 20
                for r in runs
            )
        ),
        "runs": ([free] if args.objects > 0 else []) + runs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        if per_1000 is not None:
            print(
                f"defect-free: {free['objects']} objects, {free['false_alarms']} false "
                f"alarms ({per_1000:.2f} per 1000 objects), {free['seconds']} s"
            )
        for r in runs:
            print(
                f"{r['defect']:14s} detected after {r['detection_delay_objects']} objects "
                f"({r['false_alarms']} alarms before it): {r['first_alarm']}"
            )
        print(f"goal met: {out['goal_met']}  ({out['seconds']} s, load {out['load_average']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
