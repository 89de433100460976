r"""The live twin: the loop kept current as the line's data arrive (``twinline twin run``).

:class:`LiveTwin` follows a store that an ingester fills — its own OPC UA ingester
(:func:`run_opcua`, ``twinline twin run --from opc.tcp://…``) or a separate ``twinline
ingest`` / ``twinline line ingest`` process (:func:`run_store`, ``twinline twin run --db``) —
and runs the :class:`~twinline.twin.loop.TwinLoop` on every step as it arrives: predict, then
residuals, a calibration update, the alarm policy (:class:`~twinline.twin.spc.AlarmPolicy`).

**Order.** Records are taken in the order of the line: by time, and at one time by
``rank`` — the tag map's order of the tags (the order a ``--record`` file of the simulated
line writes them, so that the live loop and ``twinline twin replay`` of the record meet the
same steps in the same order) or, without a map, the store's insertion order. A *step* is a
run of one object's records at one time, as in :mod:`twinline.twin.replay`; a step sees the
settings stored before it in that order and its own, never a later one (the ingester may
already have stored the next seconds): the effective recipe is computed with a
``visible`` filter (:func:`~twinline.twin.loop.effective_recipe`). Replaying the record of
a live run therefore gives the same predictions, residuals and calibration versions.

**Complete times only (the watermark).** An ingester stores a tag's samples in time order and
gap-free, but tags independently; the loop processes a time only when every tag that is
still publishing has been stored up to it: the watermark :math:`W = \min_s t_s` over the
series :math:`s` = (source, object kind, parameter, conditions) whose newest stored time
:math:`t_s` lies within ``stale`` s (default :data:`STALE`) of the newest of all (a tag that
does not change is not waited for). At the end of an own OPC UA run everything stored is
processed.

**Position.** After each time is processed the loop's position (that time) is stored
(``twin_cursors``); a restarted loop resumes after it, and a measurement that already has a
residual (a crash inside a time) is not learnt from twice. The alarm policy's state is
rebuilt from the stored residuals.
"""

from __future__ import annotations

import asyncio
import threading
import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twinline.twin.errors import TwinError

#: Series silent for longer than this (s) behind the newest are not waited for.
STALE = 10.0
#: Seconds between two looks at the store.
POLL = 0.5
#: Group offsets (slurry batches, rolls) of each kind the live calibration keeps
#: (:func:`~twinline.twin.loop.keep_recent_groups`): a line that makes a roll a minute would
#: otherwise grow the calibration's state by a row and a column per roll.
GROUPS_KEPT = 8


@dataclass
class LiveStats:
    """What a live run did: ``times`` and ``steps`` processed, ``measurements`` predicted and
    learnt from, calibration ``updates``, ``alarms`` stored, ``skipped`` measurements (the
    chain predicts no such output), ``position`` (the newest processed time, ISO 8601) and,
    with an own ingester, its counts (``ingest``)."""

    times: int = 0
    steps: int = 0
    measurements: int = 0
    updates: int = 0
    alarms: int = 0
    skipped: int = 0
    position: str = ""
    ingest: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "times",
                "steps",
                "measurements",
                "updates",
                "alarms",
                "skipped",
                "position",
                "ingest",
            )
        }


def watermark(
    newest: Mapping[Any, datetime],
    stale: float = STALE,
    *,
    expected: Sequence[Any] = (),
    earliest: datetime | None = None,
) -> datetime | None:
    """The time up to which every live series is stored (module docstring): the oldest of
    the series' newest times within ``stale`` s of the newest of all; None when empty.

    ``expected`` series (a tag map's) that have nothing stored yet count as stored up to
    just before ``earliest`` (the oldest stored time): nothing is processed until they
    arrive, or until the stream is ``stale`` s longer than they have been silent."""
    if not newest:
        return None
    times = dict(newest)
    if earliest is not None:
        for key in expected:
            times.setdefault(key, earliest - timedelta(microseconds=1))
    top = max(times.values())
    live = [t for t in times.values() if t >= top - timedelta(seconds=stale)]
    return min(live)


def map_rank(tag_map: Any) -> Callable[[Mapping[str, Any]], tuple[int, int]]:
    """A record's rank at its time from a tag map: its tag's position in the map (then the
    record's pk); records the map does not name go last."""
    index = {
        (tag_map.machines[t.machine].kind, t.parameter, t.conditions): i
        for i, t in enumerate(tag_map.tags)
    }
    big = len(index)

    def rank(r: Mapping[str, Any]) -> tuple[int, int]:
        return index.get((r["kind"], r["parameter"], r["conditions"]), big), int(r["pk"])

    return rank


def map_series(tag_map: Any) -> list[tuple[str, str, str]]:
    """The series (object kind, parameter, conditions) of a tag map's tags."""
    return [(tag_map.machines[t.machine].kind, t.parameter, t.conditions) for t in tag_map.tags]


def _pk_rank(r: Mapping[str, Any]) -> tuple[int, int]:
    return 0, int(r["pk"])


class LiveTwin:
    """The twin loop following ``store`` (see the module docstring).

    Parameters
    ----------
    store : Store
        The line's database.
    base_recipe : Recipe
        The recipe the stored settings override.
    name : str
        The loop's name: its position in the store is kept under it.
    rank : callable, optional
        A record's order at its time (:func:`map_rank`; default the insertion order).
    source : str, optional
        Follow only the records of this source (an own OPC UA ingester's).
    expected : sequence of (kind, parameter, conditions), optional
        The series a tag map promises (:func:`map_series`): waited for before the first
        time is processed (:func:`watermark`).
    seed, samples : int
        As :class:`~twinline.twin.loop.TwinLoop`.
    policy : bool
        Watch with the alarm policy (default) instead of the loop's per-series charts.
    groups_kept : int or None
        Group offsets of each kind the calibration keeps (default :data:`GROUPS_KEPT`;
        None: all). ``twinline twin replay --groups-kept`` reproduces a live run.
    """

    def __init__(
        self,
        store: Any,
        base_recipe: Any,
        *,
        name: str = "default",
        rank: Callable[[Mapping[str, Any]], Any] | None = None,
        seed: int = 0,
        samples: int = 0,
        policy: bool = True,
        source: str | None = None,
        expected: Sequence[tuple[str, str, str]] = (),
        groups_kept: int | None = GROUPS_KEPT,
    ) -> None:
        from twinline.twin.loop import TwinLoop
        from twinline.twin.spc import AlarmPolicy

        if not name or len(name) > 100:
            raise TwinError(f"--name {name!r}: 1 to 100 characters")
        self.store, self.name, self.source = store, name, source
        self.expected = list(expected)
        self.rank = rank or _pk_rank
        self.loop = TwinLoop(
            store,
            base_recipe,
            seed=seed,
            samples=samples,
            policy=AlarmPolicy() if policy else None,
            groups_kept=groups_kept,
        )
        self.position = store.twin_cursor(name)
        self.stats = LiveStats(position=self.position.isoformat() if self.position else "")
        if policy:
            self.loop.restore_policy()

    # ------------------------------------------------------------------ reading
    def newest_times(self) -> tuple[dict[tuple[str, str, str], datetime], datetime | None]:
        """The newest stored time of each series (kind, parameter, conditions; of every
        source, or only of ``source`` when the loop has one) and the oldest stored time."""
        from sqlalchemy import func, select

        from twinline.twin.store.rows import utc
        from twinline.twin.store.schema import objects, records

        q = (
            select(
                records.c.source,
                objects.c.kind,
                records.c.parameter,
                records.c.conditions,
                func.max(records.c.time),
            )
            .join(objects, objects.c.pk == records.c.object_pk)
            .group_by(records.c.source, objects.c.kind, records.c.parameter, records.c.conditions)
        )
        first = select(func.min(records.c.time))
        if self.source is not None:
            q = q.where(records.c.source == self.source)
            first = first.where(records.c.source == self.source)
        newest: dict[tuple[str, str, str], datetime] = {}
        with self.store.engine.connect() as conn:
            for _, k, p, c, t in conn.execute(q):
                newest[(k, p, c)] = max(newest.get((k, p, c), utc(t)), utc(t))
            oldest = conn.execute(first).scalar()
        return newest, None if oldest is None else utc(oldest)

    def _records(self, until: datetime | None) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from twinline.twin.store.rows import utc
        from twinline.twin.store.schema import objects, records, residuals

        r = records
        q = (
            select(
                r.c.pk,
                objects.c.object_id,
                objects.c.kind,
                r.c.role,
                r.c.parameter,
                r.c.value,
                r.c.uncertainty,
                r.c.time,
                r.c.conditions,
                residuals.c.pk.label("done"),
            )
            .join(objects, objects.c.pk == r.c.object_pk)
            .outerjoin(residuals, residuals.c.record_pk == r.c.pk)
        )
        if self.position is not None:
            q = q.where(r.c.time > self.position)
        if until is not None:
            q = q.where(r.c.time <= until)
        with self.store.engine.connect() as conn:
            rows = conn.execute(q).all()
        seen: set[int] = set()
        out = []
        for x in rows:
            if x.pk in seen:
                continue
            seen.add(x.pk)
            out.append(
                {
                    "pk": x.pk,
                    "object": x.object_id,
                    "kind": x.kind,
                    "role": x.role,
                    "parameter": x.parameter,
                    "value": x.value,
                    "uncertainty": x.uncertainty,
                    "time": utc(x.time),
                    "conditions": x.conditions,
                    "done": x.done is not None,
                }
            )
        out.sort(key=lambda d: (d["time"], self.rank(d)))
        return out

    # ------------------------------------------------------------------ processing
    def process(self, until: datetime | None = None, *, stop: threading.Event | None = None) -> int:
        """Process every stored record after the position up to ``until`` (default: all)
        time by time; returns the steps processed. ``stop`` ends it between two times."""
        recs = self._records(until)
        steps = 0
        i = 0
        while i < len(recs):
            if stop is not None and stop.is_set():
                break
            t = recs[i]["time"]
            j = i
            while j < len(recs) and recs[j]["time"] == t:
                j += 1
            steps += self._process_time(t, recs[i:j])
            self.store.set_twin_cursor(self.name, t)
            self.position = t
            self.stats.times += 1
            self.stats.position = t.isoformat()
            i = j
        return steps

    def _process_time(self, t: datetime, recs: Sequence[dict[str, Any]]) -> int:
        entered: set[str] = set()
        steps = 0
        k = 0
        while k < len(recs):
            oid = recs[k]["object"]
            m = k
            while m < len(recs) and recs[m]["object"] == oid:
                m += 1
            entered.add(oid)
            self._step(oid, t, recs[k:m], frozenset(entered))
            steps += 1
            k = m
        self.stats.steps += steps
        return steps

    def _step(
        self, oid: str, t: datetime, recs: Sequence[dict[str, Any]], entered: frozenset[str]
    ) -> None:
        from twinline.twin.loop import prediction_conditions

        meas = [
            r
            for r in recs
            if r["role"] == "measurement" and r["value"] is not None and not r["done"]
        ]
        if not meas:
            return

        def visible(object_id: str, s: Mapping[str, Any]) -> bool:
            when = datetime.fromisoformat(s["time"])
            return when < t or (when == t and object_id in entered)

        loop = self.loop
        ctx = loop.context(oid, visible=visible)
        predicted: set[str] = set()
        usable = []
        for r in meas:
            cond = prediction_conditions(r["parameter"], r["conditions"])
            try:
                if cond:
                    loop.predict_measurement(oid, r["parameter"], cond, context=ctx)
                elif "" not in predicted:  # every unconditioned output in one chain run
                    loop.predict_object(oid, context=ctx)
                    predicted.add("")
            except TwinError:
                pass
            usable.append(r)
        obs = loop.observe(usable, contexts={oid: ctx})
        self.stats.measurements += len(obs.residuals)
        self.stats.skipped += len(obs.skipped)
        self.stats.updates += obs.calibration is not None
        self.stats.alarms += len(obs.alarms)

    def follow(
        self,
        stop: threading.Event,
        *,
        poll: float = POLL,
        stale: float = STALE,
        duration: float | None = None,
    ) -> LiveStats:
        """Process complete times (the watermark) as they are stored until ``stop`` is set
        or ``duration`` s have passed."""
        started = _time.monotonic()
        while not stop.is_set():
            if duration is not None and _time.monotonic() - started >= duration:
                break
            newest, earliest = self.newest_times()
            mark = watermark(newest, stale, expected=self.expected, earliest=earliest)
            if mark is not None and (self.position is None or mark > self.position):
                self.process(mark, stop=stop)
            stop.wait(poll)
        return self.stats


def run_store(
    db: Any,
    base_recipe: Any,
    *,
    name: str = "default",
    map_path: Any = None,
    duration: float | None = None,
    stop: threading.Event | None = None,
    seed: int = 0,
    samples: int = 0,
    poll: float = POLL,
    stale: float = STALE,
    policy: bool = True,
    groups_kept: int | None = GROUPS_KEPT,
    on_start: Callable[[LiveTwin], None] | None = None,
) -> LiveStats:
    """``twinline twin run --db DB [--map tags.yaml]``: follow a store that another process
    fills, until ``duration`` s, ``stop`` or SIGINT/SIGTERM. With a tag map the records are
    taken in its order and its series are waited for (:func:`watermark`)."""
    import signal

    from twinline.twin.store import Store

    rank, expected = None, []
    if map_path is not None:
        from twinline.twin.ingest.opcua import load_tag_map

        tag_map = load_tag_map(map_path)
        rank, expected = map_rank(tag_map), map_series(tag_map)
    stop = stop or threading.Event()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with Store.open(db, create=False) as store:
            live = LiveTwin(
                store,
                base_recipe,
                name=name,
                seed=seed,
                samples=samples,
                policy=policy,
                rank=rank,
                expected=expected,
                groups_kept=groups_kept,
            )
            if on_start is not None:
                on_start(live)
            return live.follow(stop, poll=poll, stale=stale, duration=duration)
    finally:
        for sig, h in handlers.items():
            signal.signal(sig, h)


def run_opcua(
    endpoint: str,
    map_path: Any,
    db: Any,
    base_recipe: Any,
    *,
    name: str = "default",
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    seed: int = 0,
    samples: int = 0,
    poll: float = POLL,
    stale: float = STALE,
    policy: bool = True,
    flush: float = 0.5,
    groups_kept: int | None = GROUPS_KEPT,
) -> LiveStats:
    """``twinline twin run --from opc.tcp://… --map tags.yaml --db DB``: the OPC UA ingester
    (:class:`~twinline.twin.ingest.opcua.OpcUaIngester`) and the live twin in one process —
    the ingester on the event loop, the twin in a worker thread on its own connection —
    until ``duration`` s, ``stop`` or SIGINT/SIGTERM; then the ingester stores what it has and
    the twin processes everything stored."""
    from twinline.twin.errors import IngestError
    from twinline.twin.ingest.opcua import OpcUaIngester, load_tag_map, run_until_signal
    from twinline.twin.store import Store

    tag_map = load_tag_map(map_path)
    if not endpoint.startswith("opc.tcp://"):
        raise IngestError(f"--from {endpoint}: expected opc.tcp://HOST:PORT")

    async def main(ev: asyncio.Event) -> LiveStats:
        with Store.open(db) as store, Store.open(db) as twin_store:
            ingester = OpcUaIngester(endpoint, tag_map, store, flush=flush)
            live = LiveTwin(
                twin_store,
                base_recipe,
                name=name,
                rank=map_rank(tag_map),
                seed=seed,
                samples=samples,
                policy=policy,
                source=ingester.source,
                expected=map_series(tag_map),
                groups_kept=groups_kept,
            )
            halt = threading.Event()
            worker = asyncio.create_task(
                asyncio.to_thread(live.follow, halt, poll=poll, stale=stale)
            )
            try:
                stats = await ingester.run(duration, ev)
            finally:
                halt.set()
                await worker
            if not ev.is_set():  # --duration: everything stored (a signal: stop now)
                await asyncio.to_thread(live.process)
            live.stats.ingest = stats.to_dict()
            return live.stats

    return run_until_signal(main, stop)


__all__ = ["LiveStats", "LiveTwin", "map_rank", "map_series", "run_opcua", "run_store", "watermark"]
