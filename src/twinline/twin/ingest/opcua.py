"""Ingestion from the line over OPC UA: subscribe to mapped tags, store every data change.

A *tag map* (YAML; ``twinline line simulate --write-map`` writes one) names the namespace URI,
the machines — each with the object kind it makes, the node of its ``object id`` variable (the
batch or roll it works on now) and its upstream machine — and the tags::

    namespace: urn:twinline:pilot-line
    machines:
      Cathode.Coater: {kind: coated_roll, object_id: Cathode.Coater.object_id,
                       upstream: Cathode.Mixer}
    tags:
      - {node: Cathode.Coater.gap, machine: Cathode.Coater, parameter: cathode.coating.gap,
         unit: um, role: setting, conditions: ""}

Nodes are string node ids in that namespace. Each data change is stored with the server's
*source* timestamp, under the object the machine worked on at that time (its ``object id``
history); a new object is stored with its kind, its creation time and a genealogy edge from
the object the upstream machine worked on when it appeared. Values pass
:func:`twinline.twin.ingest.parameters.to_si` (unit, range); a value that fails is counted
and reported, not stored.

Writes are batched (every ``flush`` s, one transaction each: objects, edges, records). After
a crash or a network cut the ingester resumes per tag from the newest stored time of that tag
(:meth:`~twinline.twin.store.Store.last_record_times`) and reads the server's history
(HistoryRead) from there, so no sample is lost and none stored twice; the store's natural key
is the second guard, not the first. The source of every record is ``opcua:<endpoint>``.

That resume point is only sound if, per tag, the store holds *every* sample up to its newest
stored one. So a tag's samples are stored in time order and only up to the newest sample its
last HistoryRead returned (the history is complete there; a subscription may drop changes):
live changes wait for the next catch-up (every ``catch_up`` s) and a kill -9 at any moment
leaves a gap-free prefix per tag. The backfill stores as it goes, a few tags at a time, so a
restarted ingester makes progress even when it is killed again before it has caught up.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pint

from twinline.twin.errors import IngestError

_log = logging.getLogger(__name__)
#: Start of "all history".
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: A data change is stored once it has waited this long (s), so that the object-id change
#: it belongs to (delivered in the same publish, possibly later) is known.
HOLD = 0.3
#: Tags per HistoryRead round of the backfill (each round is then stored).
BACKFILL_TAGS = 10
#: How long a dropped connection is retried before the run ends (s).
RECONNECT_WINDOW = 30.0


@dataclass(frozen=True)
class MachineMap:
    """A machine: the object ``kind`` it makes, its ``object_id`` node, its ``upstream``."""

    name: str
    kind: str
    object_id: str
    upstream: str | None = None


@dataclass(frozen=True)
class TagSpec:
    """A mapped tag: node, machine, parameter, unit of its values, role, conditions."""

    node: str
    machine: str
    parameter: str
    unit: str
    role: str
    conditions: str = ""


@dataclass
class TagMap:
    """A parsed tag map (:func:`load_tag_map`)."""

    namespace: str
    machines: dict[str, MachineMap]
    tags: list[TagSpec]
    endpoint: str = ""


def load_tag_map(path: str | Path) -> TagMap:
    """Read and check a tag map: known kinds, machines and parameters, units of the right
    dimension, roles, no tag twice. Errors name the file and the entry."""
    import yaml

    from twinline.spec.units import Q_
    from twinline.twin.errors import StoreError
    from twinline.twin.ingest.parameters import resolve
    from twinline.twin.kinds import check_kind
    from twinline.twin.store.rows import canonical_conditions

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise IngestError(f"--map {p}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise IngestError(f"--map {p}: not YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tags"), list) \
            or not isinstance(data.get("machines"), dict):
        raise IngestError(f"--map {p}: expected the keys 'namespace', 'machines' (a mapping) "
                          "and 'tags' (a list)")
    machines: dict[str, MachineMap] = {}
    for name, m in data["machines"].items():
        where = f"--map {p}: machine {name!r}"
        if not isinstance(m, dict) or not m.get("kind") or not m.get("object_id"):
            raise IngestError(f"{where}: needs 'kind' and 'object_id'")
        try:
            check_kind(m["kind"])
        except StoreError as err:
            raise IngestError(f"{where}: {err}") from None
        machines[str(name)] = MachineMap(str(name), m["kind"], str(m["object_id"]),
                                         m.get("upstream") or None)
    for m in machines.values():
        if m.upstream and m.upstream not in machines:
            raise IngestError(f"--map {p}: machine {m.name!r}: upstream {m.upstream!r} is not "
                              "a machine of the map")
    tags: list[TagSpec] = []
    seen: set[tuple[str, str, str]] = set()
    for i, t in enumerate(data["tags"], start=1):
        where = f"--map {p}: tag {i}"
        if not isinstance(t, dict) or not all(t.get(k) for k in ("node", "machine",
                                                                  "parameter")):
            raise IngestError(f"{where}: needs 'node', 'machine' and 'parameter'")
        where += f" ({t['node']})"
        if t["machine"] not in machines:
            raise IngestError(f"{where}: machine {t['machine']!r} is not in 'machines'")
        role = t.get("role", "measurement")
        if role not in ("setting", "measurement"):
            raise IngestError(f"{where}: role {role!r}; choose setting or measurement")
        try:
            info = resolve(str(t["parameter"]))
        except IngestError as err:
            raise IngestError(f"{where}: {err}") from None
        unit = str(t.get("unit") or "")
        if not info.text:
            try:
                Q_(1.0, unit or "dimensionless").to(info.si_unit or "dimensionless")
            except (pint.errors.PintError, AssertionError, ValueError, TypeError, KeyError):
                raise IngestError(f"{where}: unit {unit!r} does not fit {t['parameter']} "
                                  f"(SI unit {info.si_unit or 'dimensionless'})") from None
        spec = TagSpec(str(t["node"]), t["machine"], str(t["parameter"]), unit, role,
                       canonical_conditions(t.get("conditions") or ""))
        key = (machines[spec.machine].kind, spec.parameter, spec.conditions)
        if key in seen:
            raise IngestError(f"{where}: a second tag for {key[0]} {spec.parameter}"
                              + (f" at {spec.conditions}" if spec.conditions else ""))
        seen.add(key)
        tags.append(spec)
    return TagMap(str(data.get("namespace") or ""), machines, tags,
                  str(data.get("endpoint") or ""))


@dataclass
class IngestStats:
    """What a run stored: ``received`` data changes (live + history), ``backfilled`` of them
    from history, ``stored`` records added, ``objects`` and ``edges`` added, ``rejected``
    values (with the first reasons), ``unattributed`` (no object id known at that time),
    ``pending`` (newer than the tag's history read: not stored, the next run reads them from
    history), ``server_lost`` why the server went away before the run ended (empty when it
    did not)."""

    received: int = 0
    backfilled: int = 0
    reconnects: int = 0
    server_lost: str = ""
    stored: int = 0
    objects: int = 0
    edges: int = 0
    rejected: int = 0
    unattributed: int = 0
    pending: int = 0
    flushes: int = 0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("received", "backfilled", "stored", "objects",
                                               "edges", "rejected", "unattributed", "pending",
                                               "flushes",
                                               "reconnects", "server_lost")}


class _Timeline:
    """Which object a machine worked on when: sorted change times → object id."""

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.ids: list[str] = []

    def add(self, when: datetime, object_id: str) -> None:
        i = bisect.bisect_left(self.times, when)
        if i < len(self.times) and self.times[i] == when:
            self.ids[i] = object_id
        else:
            self.times.insert(i, when)
            self.ids.insert(i, object_id)

    def at(self, when: datetime) -> tuple[str, datetime] | None:
        i = bisect.bisect_right(self.times, when) - 1
        return (self.ids[i], self.times[i]) if i >= 0 else None


def _utc(ts: datetime | None) -> datetime | None:
    """A server timestamp as aware UTC (:func:`twinline.twin.store.rows.utc`); None stays."""
    from twinline.twin.store.rows import utc

    return None if ts is None else utc(ts)


class OpcUaIngester:
    """Subscribe to the tags of ``tag_map`` on ``endpoint`` and store their data changes in
    ``store`` (see the module docstring). Use :meth:`run`."""

    def __init__(self, endpoint: str, tag_map: TagMap, store: Any, *, flush: float = 0.5,
                 source: str | None = None, publishing_interval: float = 0.1,
                 catch_up: float = 2.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.map = tag_map
        self.store = store
        self.flush_every = flush
        self.source = source or f"opcua:{self.endpoint}"
        self.publishing_interval = publishing_interval
        self.catch_up = catch_up
        self.stats = IngestStats()
        self._timelines = {name: _Timeline() for name in tag_map.machines}
        self._id_nodes = {m.object_id: name for name, m in tag_map.machines.items()}
        self._tag_of = {t.node: i for i, t in enumerate(tag_map.tags)}
        # (tag index, source time) → (value, arrival monotonic time)
        self._buffer: dict[tuple[int, datetime], tuple[Any, float]] = {}
        self._last: list[datetime] = [EPOCH] * len(tag_map.tags)
        # per tag: the newest source time its HistoryRead returned; every sample up to it is
        # stored or buffered, so storing up to it keeps the store gap-free per tag
        self._complete: list[datetime] = [EPOCH] * len(tag_map.tags)
        self._known_objects: set[str] = set()

    # ------------------------------------------------------------------ receiving
    def _receive(self, node_name: str, value: Any, source_time: datetime | None,
                 *, history: bool = False) -> None:
        when = _utc(source_time)
        # no time, no value, NaN or an empty id: a variable without a reading yet
        if when is None or value is None or (isinstance(value, float) and math.isnan(value)):
            return
        machine = self._id_nodes.get(node_name)
        if machine is not None:
            if not str(value).strip():
                return
            self._timelines[machine].add(when, str(value))
            return
        i = self._tag_of.get(node_name)
        if i is None or when <= self._last[i] or (i, when) in self._buffer:
            return
        # from history: ready at once (its object ids are read after it, see _backfill)
        self._buffer[(i, when)] = (value, 0.0 if history else time.monotonic())
        self.stats.received += 1
        if history:
            self.stats.backfilled += 1

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        """asyncua subscription callback: buffer the change with its source timestamp."""
        self._receive(node.nodeid.Identifier, val, data.monitored_item.Value.SourceTimestamp)

    # ------------------------------------------------------------------ storing
    def flush(self, *, everything: bool = False) -> int:
        """Store, in one transaction, per tag the oldest buffered changes up to the first
        that is newer than the tag's history read, has waited less than :data:`HOLD` s (any
        time with ``everything``) or has no object id yet; returns the records added."""
        from twinline.twin.ingest.parameters import to_si
        from twinline.twin.store.rows import EdgeRow, ObjectRow, RecordRow

        cutoff = time.monotonic() - (0.0 if everything else HOLD)
        per_tag: dict[int, list[datetime]] = {}
        for i, when in self._buffer:
            per_tag.setdefault(i, []).append(when)
        ready: list[tuple[int, datetime]] = []
        for i, times in per_tag.items():
            timeline = self._timelines[self.map.tags[i].machine]
            for when in sorted(times):
                if when > self._complete[i] or self._buffer[(i, when)][1] > cutoff \
                        or timeline.at(when) is None:
                    break  # this one and the newer ones wait: the tag stays gap-free
                ready.append((i, when))
        if not ready:
            return 0
        objects: dict[str, ObjectRow] = {}
        edges: dict[tuple[str, str], EdgeRow] = {}
        records: list[RecordRow] = []
        done: list[tuple[int, datetime]] = []
        for key in ready:
            i, when = key
            value = self._buffer[key][0]
            tag = self.map.tags[i]
            current = self._timelines[tag.machine].at(when)
            if current is None:
                continue  # its object id is not known yet; kept for a later flush
            done.append(key)
            object_id, created = current
            try:
                si, text = to_si(tag.parameter, value, tag.unit)
            except IngestError as err:
                self.stats.rejected += 1
                if len(self.stats.reasons) < 10:
                    self.stats.reasons.append(f"{tag.node} at {when.isoformat()}: {err}")
                continue
            self._new_object(object_id, tag.machine, created, objects, edges)
            records.append(RecordRow(object_id, tag.role, tag.parameter, when, value=si,
                                     text=text, unit=tag.unit, source=self.source,
                                     conditions=tag.conditions))
        with self.store.engine.begin() as conn:
            self.stats.objects += self.store.add_objects(objects.values(), conn=conn)
            self.stats.edges += self.store.add_edges(edges.values(), conn=conn)
            added = self.store.add_records(records, conn=conn)
        self._known_objects.update(objects)
        for key in done:
            del self._buffer[key]
            i, when = key
            if when > self._last[i]:
                self._last[i] = when
        self.stats.stored += added
        self.stats.flushes += 1
        return added

    def _new_object(self, object_id: str, machine_name: str, created: datetime,
                    objects: dict[str, Any], edges: dict[tuple[str, str], Any]) -> None:
        """Add ``object_id`` (made by ``machine_name`` at ``created``) to this flush's
        ``objects``, with its genealogy edge from what the upstream machine worked on then,
        and that parent the same way (the tags of a downstream machine may be stored before
        those of its upstream one: a parent is never stored without its own parent)."""
        from twinline.twin.store.rows import EdgeRow, ObjectRow

        if object_id in self._known_objects or object_id in objects:
            return
        machine = self.map.machines[machine_name]
        objects[object_id] = ObjectRow(object_id, machine.kind, created, self.source)
        if machine.upstream:
            parent = self._timelines[machine.upstream].at(created)
            if parent is not None:
                self._new_object(parent[0], machine.upstream, parent[1], objects, edges)
                edges[(parent[0], object_id)] = EdgeRow(parent[0], object_id)

    # ------------------------------------------------------------------ running
    async def _backfill(self, client: Any, nodes: dict[str, Any]) -> None:
        """HistoryRead of every object id (all of it: a few changes) and every tag from
        its last stored time on. Run at start (after a crash or a cut), every
        ``catch_up`` s while running (a subscription drops changes when it falls behind or
        several arrive within one publishing interval) and once more at the end."""
        end = datetime.now(UTC) + timedelta(days=1)

        async def read(name: str, start: datetime) -> datetime:
            newest = start
            for dv in await nodes[name].read_raw_history(start, end):
                value = dv.Value.Value if dv.Value is not None else None
                self._receive(name, value, dv.SourceTimestamp, history=True)
                newest = max(newest, _utc(dv.SourceTimestamp) or newest)
            return newest

        async def read_ids() -> None:
            await asyncio.gather(*(read(m.object_id, EPOCH)
                                   for m in self.map.machines.values()))

        await read_ids()
        names = [t.node for t in self.map.tags]
        for k in range(0, len(names), BACKFILL_TAGS):
            chunk = [self._tag_of[n] for n in names[k:k + BACKFILL_TAGS]]
            newest = await asyncio.gather(*(read(self.map.tags[i].node, self._complete[i])
                                            for i in chunk))
            # the object ids after the tags: every sample just read is then attributable
            await read_ids()
            for i, t in zip(chunk, newest, strict=True):
                self._complete[i] = max(self._complete[i], t)
            self.flush()  # store as it goes: a kill during a long backfill keeps the progress

    async def _catch_up(self, client: Any, nodes: dict[str, Any]) -> bool:
        """:meth:`_backfill` while running; False (and ``server_lost``) when the server has
        gone, so that the run stores what it has and ends."""
        from asyncua import ua

        try:
            await self._backfill(client, nodes)
        except (ConnectionError, OSError, TimeoutError, ua.UaError) as err:
            self.stats.server_lost = f"{type(err).__name__}: {err}"
            return False
        return True

    async def run(self, duration: float | None = None, stop: asyncio.Event | None = None,
                  on_flush: Callable[[IngestStats], None] | None = None) -> IngestStats:
        """Ingest until ``duration`` s have passed or ``stop`` is set, then store what is
        buffered and return the statistics.

        A session the server or the network drops is opened again (every second, for up to
        :data:`RECONNECT_WINDOW` s); each new session resumes every tag from its last stored
        time by HistoryRead, as after a restart. Only the first connection failing is an
        :class:`IngestError`.
        """
        logging.getLogger("asyncua").setLevel(logging.CRITICAL)
        stop = stop or asyncio.Event()
        started = time.monotonic()
        first = True
        lost_since: float | None = None
        while True:
            dropped = await self._session(started, duration, stop, on_flush, first=first)
            first = False
            over = stop.is_set() or (duration is not None
                                     and time.monotonic() - started >= duration)
            if not dropped or over:
                break
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since > RECONNECT_WINDOW:
                break
            self.stats.reconnects += 1
            await asyncio.sleep(1.0)
            if dropped == "connected":
                lost_since = None
        self.flush(everything=True)
        self.stats.unattributed = sum(
            1 for i, when in self._buffer
            if self._timelines[self.map.tags[i].machine].at(when) is None)
        self.stats.pending = len(self._buffer) - self.stats.unattributed
        return self.stats

    async def _session(self, started: float, duration: float | None, stop: asyncio.Event,
                       on_flush: Callable[[IngestStats], None] | None, *, first: bool
                       ) -> str:
        """One client session; returns ``""`` when it ended normally, ``"connected"`` when
        it was dropped after connecting, ``"refused"`` when it could not connect."""
        from asyncua import Client, ua

        last = self.store.last_record_times(self.source)
        for i, t in enumerate(self.map.tags):
            stored = last.get((self.map.machines[t.machine].kind, t.parameter, t.conditions),
                              EPOCH)
            self._last[i] = max(self._last[i], stored)
            self._complete[i] = max(self._complete[i], self._last[i])
        client = Client(self.endpoint + "/", timeout=10)
        try:
            await client.connect()
        except (OSError, TimeoutError, ua.UaError) as err:
            if first:
                raise IngestError(f"--from {self.endpoint}: cannot connect "
                                  f"({type(err).__name__}: {err})") from None
            self.stats.server_lost = f"{type(err).__name__}: {err}"
            return "refused"
        dropped = ""
        try:
            try:
                ns = await client.get_namespace_index(self.map.namespace)
            except ValueError:
                raise IngestError(f"--from {self.endpoint}: the server has no namespace "
                                  f"{self.map.namespace!r} (the map's 'namespace')") from None
            names = [m.object_id for m in self.map.machines.values()] + \
                [t.node for t in self.map.tags]
            nodes = {n: client.get_node(ua.NodeId(n, ns)) for n in names}
            sub = await client.create_subscription(self.publishing_interval * 1000, self)
            for i in range(0, len(names), 500):
                res = await sub.subscribe_data_change([nodes[n] for n in names[i:i + 500]],
                                                      queuesize=0)
                for n, h in zip(names[i:i + 500], res, strict=True):
                    if isinstance(h, ua.StatusCode):
                        raise IngestError(f"--from {self.endpoint}: node {n!r} of the map: "
                                          f"{h.name}")
            await asyncio.sleep(max(HOLD, 2 * self.publishing_interval))
            if not await self._catch_up(client, nodes):
                return "connected"
            self.stats.server_lost = ""
            last_catch_up = time.monotonic()
            while not stop.is_set():
                if duration is not None and time.monotonic() - started >= duration:
                    break
                try:
                    await asyncio.wait_for(stop.wait(), self.flush_every)
                except TimeoutError:
                    pass
                if time.monotonic() - last_catch_up >= self.catch_up:
                    if not await self._catch_up(client, nodes):
                        dropped = "connected"
                        break
                    last_catch_up = time.monotonic()
                self.flush()
                if on_flush is not None:
                    on_flush(self.stats)
            if not dropped:
                await asyncio.sleep(self.publishing_interval * 2)
                self.flush(everything=True)
                # what the subscription had not delivered
                if not await self._catch_up(client, nodes):
                    dropped = "connected"
                self.flush(everything=True)
            if not dropped:
                with contextlib.suppress(ConnectionError, OSError, TimeoutError, ua.UaError):
                    await sub.delete()
        except (ConnectionError, TimeoutError, ua.UaError) as err:
            self.stats.server_lost = f"{type(err).__name__}: {err}"
            dropped = "connected"
        finally:
            with contextlib.suppress(ConnectionError, OSError, TimeoutError, ua.UaError):
                await client.disconnect()
        return dropped


def ingest_opcua(endpoint: str, map_path: str | Path, db: str | Path | None = None, *,
                 duration: float | None = None, stop: asyncio.Event | None = None,
                 flush: float = 0.5) -> IngestStats:
    """``twinline line ingest``: ingest ``endpoint`` with the tag map ``map_path`` into
    ``db`` until ``duration`` s have passed, ``stop`` is set, or SIGINT/SIGTERM."""
    from twinline.twin.store import Store

    tag_map = load_tag_map(map_path)
    if not endpoint.startswith("opc.tcp://"):
        raise IngestError(f"--from {endpoint}: expected opc.tcp://HOST:PORT")
    with Store.open(db) as store:
        ingester = OpcUaIngester(endpoint, tag_map, store, flush=flush)
        return run_until_signal(lambda ev: ingester.run(duration, ev), stop)


def run_until_signal(main: Callable[[asyncio.Event], Any], stop: asyncio.Event | None = None
                     ) -> Any:
    """Run the coroutine ``main(stop)`` with ``stop`` set on SIGINT or SIGTERM."""
    import signal

    async def wrapper() -> Any:
        ev = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, ev.set)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return await main(ev)

    return asyncio.run(wrapper())


__all__ = ["IngestStats", "MachineMap", "OpcUaIngester", "TagMap", "TagSpec", "ingest_opcua",
           "load_tag_map", "run_until_signal"]

