"""A simulated pilot line: an OPC UA server whose values come from twinline's own chain.

The address space follows the electrode steps — ``Objects/Line/<Electrode>/<Machine>`` with the
machines Mixer, Coater, Dryer, Calender and Slitter — and holds, per machine, the settings (MP)
and gauges (PP/SP) that the catalogue marks *online* (:attr:`Parameter.online`): web speed, coat
gap, dryer zone temperatures and air velocities, calender gap and line load, β-gauge areal
weight, laser thickness ... plus an ``object_id`` variable, the batch or roll the machine
works on now, which rolls as material moves (a new roll every ``roll_every`` seconds, a new
slurry batch every three rolls, two slit coils per calendered roll).

The values are the SI outputs of :func:`twinline.chain.run_chain` on the recipe (run once, and
once more per injected defect — not per sample) with

* seeded Gaussian noise of the catalogue's resolution (:attr:`Parameter.resolution_si`, or
  :attr:`Parameter.resolution_relative` of the value; 0.2 % where the catalogue gives none;
  at most 1 % of the value);
* slow drift: slurry ageing raises the coated, dried and calendered gauges by 2 %/h since the
  slurry batch started, and roll wear raises the calender gap and thickness by 0.5 %/h;
* injected defects from a given time on (:data:`DEFECTS`): ``gap-step`` (the coat gap +10 %),
  ``dryer-fault`` (dryer zone 1 20 K colder, its air velocity halved) and ``slurry-change``
  (the slurry's solid content 0.03 lower: a new batch outside its usual spread); the
  downstream values follow from the chain run with the defect, while the set-point tags of
  what the defect changed keep reading the set point (a fault is what the line does, not
  what the operator set — so the twin, which predicts from the settings, sees it as a
  residual).

Every variable is historized (HistoryRead backfill for :mod:`twinline.twin.ingest.opcua`) and
every published sample can be recorded in the long format of ``twinline ingest``
(:data:`RECORD_COLUMNS`). A sample is published only when its value differs from the previous
one (OPC UA reports value changes only), and so is it recorded.
"""

from __future__ import annotations

import asyncio
import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from twinline.twin.errors import TwinError

#: Namespace URI of the simulated line's address space.
NAMESPACE = "urn:twinline:pilot-line"
#: Columns of the ``--record`` file (the long format of ``twinline ingest``).
RECORD_COLUMNS = ("time", "object", "kind", "parent", "parameter", "value", "unit", "role",
                  "conditions")
#: Machines of an electrode, in line order: name, step, object kind, id code, upstream.
MACHINES = (
    ("Mixer", "mixing", "slurry_batch", "SB", None),
    ("Coater", "coating", "coated_roll", "CR", "Mixer"),
    ("Dryer", "drying", "dried_roll", "DR", "Coater"),
    ("Calender", "calendering", "calendered_roll", "KR", "Dryer"),
    ("Slitter", "slitting", "slit_coil", "SC", "Calender"),
)
#: Gauges that traverse the web; with ``lanes > 1`` each reads ``lane=1..N``.
GAUGES = frozenset({"coating.wet_film_thickness", "coating.am_loading", "drying.weight",
                    "drying.coating_thickness", "calendering.thickness"})
#: Relative drift per hour: slurry ageing (since the batch started) and roll wear (since start).
AGEING_PER_H = 0.02
WEAR_PER_H = 0.005
#: Relative noise where the catalogue gives no resolution.
DEFAULT_NOISE = 0.002


def _gap_step(electrode: Any) -> Any:
    coating = electrode.coating.model_copy(update={"gap": electrode.coating.gap * 1.10})
    return electrode.model_copy(update={"coating": coating})


def _dryer_fault(electrode: Any) -> Any:
    zones = list(electrode.drying.zones)
    z = zones[0]
    zones[0] = z.model_copy(update={"temperature": z.temperature - 20.0,
                                    "air_velocity": z.air_velocity * 0.5})
    return electrode.model_copy(update={"drying": electrode.drying.model_copy(
        update={"zones": zones})})


#: Solid-content change of ``slurry-change`` (mass fraction, absolute): six times the
#: example recipe's tolerance of 0.005 (a new batch far outside its usual spread).
SLURRY_CHANGE = -0.03


def _slurry_change(electrode: Any) -> Any:
    mixing = electrode.mixing.model_copy(
        update={"solid_content": electrode.mixing.solid_content + SLURRY_CHANGE})
    return electrode.model_copy(update={"mixing": mixing})


#: Defects that ``--defect NAME@TIME`` injects (on the first electrode of the recipe):
#: description, the change of the electrode, and the catalogue parameters whose setting tags
#: keep publishing their set point (a defect is what the line does, not what the operator
#: set: the coater's gap reading, the dryer's zone set points; solid content has no tag).
DEFECTS: dict[str, tuple[str, Callable[[Any], Any], tuple[str, ...]]] = {
    "gap-step": ("the coat gap steps up by 10 % (its set point unchanged)", _gap_step,
                 ("coating.gap",)),
    "dryer-fault": ("dryer zone 1 runs 20 K colder with half the air velocity (set points "
                    "unchanged)", _dryer_fault, ("drying.temperature", "drying.air_velocity")),
    "slurry-change": ("the slurry's solid content drops by 0.03 (a new batch outside its "
                      "spread; viscosity, wet film and loading follow)", _slurry_change, ()),
}


@dataclass(frozen=True)
class Defect:
    """A defect ``name`` injected ``at`` seconds after the start."""

    name: str
    at: float


def parse_defect(text: str) -> Defect:
    """``gap-step@60s`` → :class:`Defect`; a :class:`TwinError` names the choices."""
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    name, sep, when = str(text).partition("@")
    name = name.strip()
    if name not in DEFECTS or not sep:
        raise TwinError(f"--defect {text!r}: write NAME@TIME with NAME one of "
                        f"{', '.join(DEFECTS)} (e.g. gap-step@60s)")
    try:
        at = parse_quantity(when.strip(), "s", name="--defect time")
    except RecipeError as err:
        raise TwinError(f"--defect {text!r}: {err}") from None
    if at < 0:
        raise TwinError(f"--defect {text!r}: the time must be >= 0 s")
    return Defect(name, float(at))


def parse_quantity_option(option: str, text: str, unit: str, *, positive: bool = True) -> float:
    """An option such as ``--rate 10Hz`` or ``--duration 10min`` in SI ``unit``."""
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    try:
        value = float(parse_quantity(str(text).strip(), unit, name=option))
    except RecipeError as err:
        raise TwinError(str(err)) from None
    if positive and not value > 0:
        raise TwinError(f"{option} {text}: must be > 0 {unit}")
    return value


@dataclass(frozen=True)
class Machine:
    """A machine of the line: its OPC UA name (``Cathode.Coater``), the step, the object kind
    and how its object id rolls (every ``every`` s from ``offset`` s on)."""

    name: str
    step: str
    kind: str
    code: str
    upstream: str | None
    every: float
    offset: float

    @property
    def id_node(self) -> str:
        return f"{self.name}.object_id"

    def index(self, t: float) -> int:
        """The 1-based number of the object the machine works on ``t`` s after the start."""
        return 1 + max(0, math.floor((t - self.offset) / self.every + 1e-9))


@dataclass(frozen=True)
class Tag:
    """A published variable: OPC UA node name, machine, catalogue parameter (with electrode
    prefix), display unit, role, conditions, and how it is simulated (SI)."""

    node: str
    machine: str
    parameter: str
    unit: str
    role: str
    conditions: str = ""
    noise_si: float = 0.0
    ageing: bool = False
    wear: bool = False
    low: float = -math.inf
    high: float = math.inf

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "machine": self.machine, "parameter": self.parameter,
                "unit": self.unit, "role": self.role, "conditions": self.conditions}


@dataclass
class PilotLine:
    """The simulated line of a recipe: machines, tags and their SI values per defect phase.

    ``values[p][i]`` is the noise-free SI value of tag ``i`` in phase ``p`` (phase 0: no
    defect; phase ``k``: the first ``k`` defects, in time order, active).
    """

    recipe_name: str
    rate: float
    seed: int
    roll_every: float
    machines: dict[str, Machine]
    tags: list[Tag]
    values: np.ndarray
    defects: list[Defect] = field(default_factory=list)
    stamp: str = ""

    # ------------------------------------------------------------------ building
    @classmethod
    def from_recipe(cls, recipe: Any, *, rate: float = 10.0, seed: int = 0,
                    roll_every: float = 30.0, lanes: int = 1,
                    defects: Sequence[Defect] = (), stamp: str | None = None) -> PilotLine:
        """The line of ``recipe`` (a :class:`~twinline.spec.recipe.Recipe`): one chain run
        per defect phase; ``lanes`` traversing-gauge lanes; ids stamped with ``stamp``
        (default: the start time, so that two runs never share an object id)."""
        from twinline.chain import run_chain
        from twinline.spec.catalogue import catalogue
        from twinline.twin.ingest.parameters import resolve

        if rate <= 0 or roll_every <= 0 or lanes < 1:
            raise TwinError("--rate and --roll-every must be > 0 and --lanes >= 1")
        electrodes = list(recipe.electrodes())
        defects = sorted(defects, key=lambda d: d.at)
        runs = [run_chain(recipe, seed=seed)]
        current = recipe
        for d in defects:
            first = electrodes[0]
            current = current.model_copy(update={first: DEFECTS[d.name][1](
                getattr(current, first))})
            runs.append(run_chain(current, seed=seed))
        # set points the defects leave unchanged on their tags (DEFECTS)
        hidden = {f"{electrodes[0]}.{p}" for d in defects for p in DEFECTS[d.name][2]}
        cat = catalogue()
        machines: dict[str, Machine] = {}
        tags: list[Tag] = []
        columns: list[list[float]] = []
        for electrode in electrodes:
            prefix = electrode.capitalize()
            for name, step, kind, code, upstream in MACHINES:
                every = {"mixing": 3 * roll_every, "calendering": roll_every,
                         "slitting": roll_every / 2}.get(step, roll_every)
                offset = {"calendering": roll_every / 2, "slitting": roll_every / 4}.get(step, 0.0)
                m = Machine(f"{prefix}.{name}", step, kind,
                            f"{electrode[0].upper()}{code}",
                            f"{prefix}.{upstream}" if upstream else None, every, offset)
                machines[m.name] = m
                for p in cat.values():
                    if p.step != step or not p.online:
                        continue
                    for conditions, getter in _sources(electrode, p.id, runs[0]):
                        try:
                            vals = [getter(r) for r in runs]
                        except (KeyError, TypeError, ValueError):
                            continue
                        if f"{electrode}.{p.id}" in hidden:
                            vals = [vals[0]] * len(vals)
                        if any(v is None or not math.isfinite(v) for v in vals):
                            continue
                        info = resolve(f"{electrode}.{p.id}")
                        # the gauge's resolution as one standard deviation, at most 1 %
                        noise = min(p.resolution_si if p.resolution_si
                                    else (p.resolution_relative or DEFAULT_NOISE) * abs(vals[0]),
                                    0.01 * abs(vals[0]))
                        lane_list = ([f"lane={k}" for k in range(1, lanes + 1)]
                                     if p.id in GAUGES and lanes > 1 else [conditions])
                        for cond in lane_list:
                            node = f"{m.name}.{p.snake_name}" + (
                                f"[{cond}]" if cond else "")
                            tags.append(Tag(
                                node, m.name, f"{electrode}.{p.id}", p.unit or "",
                                "setting" if p.category == "MP" else "measurement",
                                cond, float(noise),
                                ageing=(p.category != "MP" and step in
                                        ("coating", "drying", "calendering")),
                                wear=p.id in ("calendering.gap", "calendering.thickness"),
                                low=info.low, high=info.high))
                            columns.append(vals)
        values = np.array(columns, dtype=float).T.reshape(len(runs), len(tags))
        if stamp is None:
            stamp = datetime.now(UTC).strftime("%y%m%d%H%M%S")
        return cls(recipe.name, rate, seed, roll_every, machines, tags, values,
                   list(defects), stamp)

    # ------------------------------------------------------------------ sampling
    def object_id(self, machine: Machine, n: int) -> str:
        return f"{machine.code}-{self.stamp}-{n:03d}"

    def phase(self, t: float) -> int:
        return sum(1 for d in self.defects if d.at <= t)

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """Values of every tag at tick ``k`` (``k / rate`` s after the start), in their
        display units."""
        t = k / self.rate
        base = self.values[self.phase(t)].copy()
        drift = np.zeros(len(self.tags))
        batch_age = {}
        for name, m in self.machines.items():
            if m.step == "mixing":
                start = 0.0 if m.index(t) == 1 else m.offset + (m.index(t) - 1) * m.every
                batch_age[name.split(".")[0]] = t - start
        for i, tag in enumerate(self.tags):
            if tag.ageing:
                drift[i] += AGEING_PER_H * batch_age.get(tag.machine.split(".")[0], t) / 3600
            if tag.wear:
                drift[i] += WEAR_PER_H * t / 3600
        noise = rng.normal(0.0, 1.0, len(self.tags)) * self._noise
        si = np.clip(base * (1.0 + drift) + noise, self._low, self._high)
        return np.array([float(f"{v:.7g}") for v in si * self._factor + self._offset])

    def __post_init__(self) -> None:
        from twinline.spec.units import to_unit

        self._noise = np.array([t.noise_si for t in self.tags])
        self._low = np.array([t.low for t in self.tags])
        self._high = np.array([t.high for t in self.tags])
        si_units = {}
        for t in self.tags:
            from twinline.twin.ingest.parameters import resolve

            si_units[t.node] = resolve(t.parameter).si_unit
        self._offset = np.array([to_unit(0.0, si_units[t.node], t.unit) if t.unit else 0.0
                                 for t in self.tags])
        self._factor = np.array([to_unit(1.0, si_units[t.node], t.unit) - o if t.unit else 1.0
                                 for t, o in zip(self.tags, self._offset, strict=True)])

    # ------------------------------------------------------------------ tag map
    def tag_map(self, endpoint: str = "") -> dict[str, Any]:
        """The tag map of the address space (what ``twinline line ingest --map`` reads)."""
        return {
            "namespace": NAMESPACE,
            "endpoint": endpoint,
            "machines": {m.name: {"kind": m.kind, "object_id": m.id_node,
                                  "upstream": m.upstream} for m in self.machines.values()},
            "tags": [t.to_dict() for t in self.tags],
        }

    def write_map(self, path: str | Path, endpoint: str = "") -> Path:
        import yaml

        from twinline.atomic import write_atomic

        text = ("# Tag map of the twinline simulated pilot line (twinline line simulate "
                "--write-map)\n" + yaml.safe_dump(self.tag_map(endpoint), sort_keys=False))
        write_atomic(Path(path), text)
        return Path(path)


def _sources(electrode: str, pid: str, run: Any) -> list[tuple[str, Callable[[Any], float]]]:
    """(conditions, run → SI value) of a catalogue parameter: the chain's outputs, the
    recipe's inputs, or one per dryer zone."""
    from twinline.spec.catalogue import catalogue
    from twinline.spec.units import parse_quantity

    p = catalogue()[pid]
    step, name = pid.split(".", 1)
    key = f"{electrode}.{pid}"

    def si(value: Any, unit: str = "") -> float:
        if value is None:
            raise ValueError
        if isinstance(value, int | float):
            return parse_quantity(f"{value!r} {unit}".strip(), p.si_unit)
        return parse_quantity(str(value), p.si_unit)

    if step == "drying" and name in ("temperature", "air_velocity"):
        zones = run.inputs[electrode]["drying"]["zones"]
        return [(f"zone={i + 1}",
                 lambda r, i=i: si(r.inputs[electrode]["drying"]["zones"][i][name]))
                for i in range(len(zones))]
    if key in run.outputs:
        return [("", lambda r: si(r.outputs[key]["value"], r.outputs[key].get("unit") or ""))]
    section = run.inputs.get(electrode, {}).get(step, {})
    if isinstance(section, dict) and section.get(name) is not None:
        return [("", lambda r: si(r.inputs[electrode][step][name]))]
    return []


@dataclass
class SimStats:
    """What a simulation published: ``samples`` (parameter values), ``objects`` (ids rolled
    out), ``ticks`` and ``seconds``."""

    samples: int = 0
    objects: int = 0
    ticks: int = 0
    seconds: float = 0.0


def _sorted_history():
    """asyncua's in-memory history with HistoryRead by bisection on the source time.

    asyncua's ``HistoryDict`` scans a node's whole history on every read, so a reader that
    catches up every few seconds costs the server O(history) per tag and read — after ten
    minutes at 10 Hz that starves publishing. Values are appended in time order (the line
    publishes them so), and a read takes the slice between two bisections.
    """
    import bisect

    from asyncua import ua
    from asyncua.server.history import HistoryDict

    class SortedHistory(HistoryDict):
        def __init__(self) -> None:
            super().__init__()
            self._times: dict[ua.NodeId, list[datetime]] = {}

        async def new_historized_node(self, node_id, period, count=0) -> None:
            await super().new_historized_node(node_id, period, count)
            self._times[node_id] = []

        async def save_node_value(self, node_id, datavalue) -> None:
            data, times = self._datachanges[node_id], self._times[node_id]
            when = datavalue.SourceTimestamp
            i = bisect.bisect_right(times, when)
            times.insert(i, when)
            data.insert(i, datavalue)

        async def read_node_history(self, node_id, start, end, nb_values):
            if node_id not in self._datachanges:
                return [], None
            epoch = ua.get_win_epoch()
            start = epoch if start is None else start
            end = epoch if end is None else end
            data, times = self._datachanges[node_id], self._times[node_id]
            if start == epoch:         # newest first, down to nothing
                results = data[::-1]
            elif end == epoch:
                results = data[bisect.bisect_left(times, start):]
            elif start > end:          # newest first between end and start
                results = data[bisect.bisect_left(times, end):
                               bisect.bisect_right(times, start)][::-1]
            else:
                results = data[bisect.bisect_left(times, start):
                               bisect.bisect_right(times, end)]
            if nb_values and len(results) > nb_values:
                results = results[:nb_values]
            cont = None
            if len(results) > self.max_history_data_response_size:
                cont = results[self.max_history_data_response_size].SourceTimestamp
                results = results[:self.max_history_data_response_size]
            return results, cont

    return SortedHistory()


class Ticker:
    """What tick ``k`` publishes: the machines whose object id changes and the tag values
    that differ from the previous ones (OPC UA reports value changes only). One ticker is
    shared by the OPC UA server (:func:`serve`) and the stream generator
    (:func:`generate_record`), so both publish the same stream."""

    def __init__(self, line: PilotLine) -> None:
        self.line = line
        self.ids = {name: line.object_id(m, 1) for name, m in line.machines.items()}
        self.parents = {name: self.ids[m.upstream] if m.upstream else ""
                        for name, m in line.machines.items()}
        self.last = np.full(len(line.tags), np.nan)

    def tick(self, k: int, values: np.ndarray
             ) -> tuple[list[tuple[str, str]], list[tuple[int, float, str, str]]]:
        """``(changed, samples)``: ``(machine, new object id)`` and ``(tag index, value,
        object id, parent id)`` of tick ``k`` with the tag ``values`` (display units)."""
        line = self.line
        t = k / line.rate
        changed = []
        for name, m in line.machines.items():
            oid = line.object_id(m, m.index(t))
            if k == 0 or oid != self.ids[name]:
                self.ids[name] = oid
                self.parents[name] = self.ids[m.upstream] if m.upstream else ""
                changed.append((name, oid))
        samples = []
        for i, tag in enumerate(line.tags):
            v = float(values[i])
            if v == self.last[i]:
                continue
            self.last[i] = v
            samples.append((i, v, self.ids[tag.machine], self.parents[tag.machine]))
        return changed, samples


def record_row(line: PilotLine, i: int, value: float, object_id: str, parent: str,
               stamp: str) -> tuple[str, ...]:
    """One row of the ``--record`` file (:data:`RECORD_COLUMNS`)."""
    tag = line.tags[i]
    return (stamp, object_id, line.machines[tag.machine].kind, parent, tag.parameter,
            repr(value), tag.unit, tag.role, tag.conditions)


def generate_record(line: PilotLine, path: str | Path, *, duration: float,
                    start: datetime | None = None) -> SimStats:
    """Write, without a server and without waiting, the ``--record`` file that
    :func:`serve` would write for ``line`` over ``duration`` s from ``start`` (default
    2026-01-01 UTC): the same ticks, values and noise stream (seeded), the same rows. The
    fast path of the alarm benchmark (a stream of thousands of objects in seconds)."""
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    rng = np.random.default_rng(line.seed)
    ticker = Ticker(line)
    stats = SimStats()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RECORD_COLUMNS)
        k = 0
        while k / line.rate <= duration:
            values = line.sample(k, rng)
            when = start + timedelta(microseconds=round(k * 1e6 / line.rate))
            changed, samples = ticker.tick(k, values)
            stats.objects += len(changed)
            stamp = when.isoformat()
            for i, v, oid, parent in samples:
                writer.writerow(record_row(line, i, v, oid, parent, stamp))
            stats.samples += len(samples)
            k += 1
    stats.ticks = k
    stats.seconds = k / line.rate
    return stats


async def serve(line: PilotLine, *, host: str = "127.0.0.1", port: int = 4840,
                duration: float | None = None, record: str | Path | None = None,
                stop: asyncio.Event | None = None,
                ready: Callable[[str], None] | None = None, linger: float = 3.0) -> SimStats:
    """Run the OPC UA server of ``line`` until ``duration`` s have passed or ``stop`` is set.

    Publishes tick ``k`` at ``start + k / rate`` with that source timestamp (a tick that is
    late is caught up, keeping its timestamp); ``ready(endpoint)`` is called once the server
    listens. ``record``: the long-format CSV of every published sample. After the last tick
    the server stays up ``linger`` s, so that subscribers receive its notifications.
    """
    import logging

    from asyncua import Server, ua

    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    stop = stop or asyncio.Event()
    rng = np.random.default_rng(line.seed)
    endpoint = f"opc.tcp://{host}:{port}"
    server = Server()
    await server.init()
    server.iserver.history_manager.set_storage(_sorted_history())
    server.set_endpoint(endpoint + "/")
    server.set_server_name("twinline simulated pilot line")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await server.register_namespace(NAMESPACE)
    now_utc = datetime.now(UTC)
    start = now_utc.replace(microsecond=now_utc.microsecond // 1000 * 1000)
    t0 = asyncio.get_running_loop().time()
    first = line.sample(0, rng)
    folder = await server.nodes.objects.add_folder(idx, "Line")
    machine_nodes = {}
    for name in line.machines:
        e, short = name.split(".")
        parent = machine_nodes.get(e) or await folder.add_folder(idx, e)
        machine_nodes[e] = parent
        machine_nodes[name] = await parent.add_object(idx, short)
    id_vars = {}
    for name, m in line.machines.items():
        id_vars[name] = await machine_nodes[name].add_variable(
            ua.NodeId(m.id_node, idx), "object_id", "", ua.VariantType.String)
    # created empty (NaN, ""): tick 0 is then a value change, which OPC UA reports and the
    # history keeps
    tag_vars = []
    for tag in line.tags:
        tag_vars.append(await machine_nodes[tag.machine].add_variable(
            ua.NodeId(tag.node, idx), tag.node.split(".", 2)[2], math.nan,
            ua.VariantType.Double))

    def dv(value: Any, vtype: Any, when: datetime) -> Any:
        return ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=when, ServerTimestamp=when)

    writer = None
    fh = None
    if record is not None:
        fh = open(record, "w", newline="", encoding="utf-8")
        writer = csv.writer(fh)
        writer.writerow(RECORD_COLUMNS)

    stats = SimStats()
    ticker = Ticker(line)

    async def publish(k: int, values: np.ndarray) -> None:
        when = start + timedelta(microseconds=round(k * 1e6 / line.rate))
        changed, samples = ticker.tick(k, values)
        for name, oid in changed:
            await server.write_attribute_value(id_vars[name].nodeid,
                                               dv(oid, ua.VariantType.String, when))
            stats.objects += 1
        stamp = when.isoformat()
        for i, v, oid, parent in samples:
            await server.write_attribute_value(tag_vars[i].nodeid,
                                               dv(v, ua.VariantType.Double, when))
            stats.samples += 1
            if writer is not None:
                writer.writerow(record_row(line, i, v, oid, parent, stamp))

    try:
        async with server:
            # historize first: the history holds what is written after, from tick 0 on
            await server.historize_node_data_change(list(id_vars.values()) + tag_vars,
                                                    period=None, count=0)
            await publish(0, first)
            if ready is not None:
                ready(endpoint)
            k = 1
            while not stop.is_set():
                due = t0 + k / line.rate
                if duration is not None and k / line.rate > duration:
                    break
                delay = due - asyncio.get_running_loop().time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        break
                    except TimeoutError:
                        pass
                await publish(k, line.sample(k, rng))
                if fh is not None and k % int(max(line.rate, 1)) == 0:
                    fh.flush()
                k += 1
            stats.ticks = k
            stats.seconds = k / line.rate
            if fh is not None:
                fh.flush()
            # serve a little longer so that subscribers get the last ticks' notifications
            await asyncio.sleep(linger)
    finally:
        if fh is not None:
            fh.close()
    return stats


def simulate_line(recipe: str | Path, *, port: int = 4840, host: str = "127.0.0.1",
                  rate: float = 10.0, seed: int = 0, duration: float | None = None,
                  record: str | Path | None = None, write_map: str | Path | None = None,
                  defects: Sequence[Defect] = (), roll_every: float = 30.0, lanes: int = 1,
                  stop: asyncio.Event | None = None,
                  ready: Callable[[str, PilotLine], None] | None = None,
                  linger: float = 3.0) -> SimStats:
    """``twinline line simulate``: build the line of the recipe file, write its tag map,
    serve it until ``duration`` s, ``stop`` or SIGINT/SIGTERM; after the last tick the server
    stays up ``linger`` s (subscribers and history readers catch up)."""
    from twinline.spec.recipe import load_recipe
    from twinline.twin.ingest.opcua import run_until_signal

    line = PilotLine.from_recipe(load_recipe(recipe), rate=rate, seed=seed,
                                 roll_every=roll_every, lanes=lanes, defects=defects)
    endpoint = f"opc.tcp://{host}:{port}"
    if write_map is not None:
        line.write_map(write_map, endpoint)

    def on_ready(ep: str) -> None:
        if ready is not None:
            ready(ep, line)

    try:
        return run_until_signal(lambda ev: serve(line, host=host, port=port,
                                                 duration=duration, record=record, stop=ev,
                                                 ready=on_ready, linger=linger), stop)
    except OSError as err:
        raise TwinError(f"--port {port}: cannot listen on {host}:{port} "
                        f"({err.strerror or err})") from None
