r"""Throughput of a production line by discrete-event simulation (SimPy).

The line is a series of machines joined by finite buffers, simulated with SimPy [1]_ (an
existing discrete-event engine: its event queue, timeouts and blocking ``Store`` get/put do the
scheduling; no home-made time loop). Outputs: good units per year and per operating hour,
OEE per machine, utilisation, blocked and starved fractions, the bottleneck, buffer levels over
time and the time-averaged work in progress, each as a mean and a 95 % confidence interval over
independent replications.

Modelling choices (stated, because they set what the numbers mean)
------------------------------------------------------------------
*Flow unit.* Every machine counts the same flow unit (``unit``: e.g. a lot of 1 000 cells, a
coated roll, a mixer batch expressed per lot). ``cycle_time_s`` is a machine's time per flow
unit; a web machine given a ``speed`` and a ``unit_size`` has ``cycle_time_s = unit_size /
speed`` (e.g. 3 000 m of electrode per lot at 1 m/s). Coarse units keep a simulated year to a
few 10⁵ events: a cell-by-cell model of a 1 cell/s line would need ~10⁸ (issue 18 asks for a
25-step line year in ≤ 30 s).

*Blocking.* Blocking after service: a machine that has finished a unit holds it until the
downstream buffer has room. The first machine is never starved (raw material is always there),
the last is never blocked (finished goods leave). A buffer of capacity *B* holds *B* units
besides the unit inside each machine; a position without a listed buffer gets capacity 1.

*Failures.* Operation-dependent: a machine ages only while it processes (not while starved,
blocked, down or changing over). Time to failure is exponential with mean ``mtbf_h`` of
operating time, repair time exponential with mean ``mttr_h``; a failed unit resumes where it
stopped (preempt–resume). The isolated availability is thus MTBF/(MTBF+MTTR). Processing times
are deterministic (``cycle_distribution="deterministic"``, the default) or exponential.

*Changeovers.* Every ``changeover_every`` units (a roll change, a batch change) the machine
stops ``changeover_s`` before it starts the next unit.

*Scrap.* After processing, a unit is scrapped with probability ``scrap`` (Bernoulli per flow
unit: the mean loss is right, the lot granularity coarse) and leaves the line.

*Shifts.* Planned downtime (``operating_hours_per_week`` < 168) freezes the whole line: nothing
moves, ages or gets repaired off shift, so off-shift time is cut out of the simulated time; the
simulated (operating) time is ``horizon_s × operating_hours_per_week / 168`` and rates per
calendar year are rates per operating second × operating seconds per year.

OEE (the standard definition of Nakajima [2]_)
-----------------------------------------------
Over the planned production time :math:`T_p` (operating time after the warm-up):

.. math::

    A = \frac{T_p - T_{down} - T_{changeover}}{T_p}, \qquad
    P = \min\left(1, \frac{t_{c} N_{total}}{T_p - T_{down} - T_{changeover}}\right), \qquad
    Q = \frac{N_{good}}{N_{total}}, \qquad OEE = A \cdot P \cdot Q

with :math:`t_c` the ideal (nominal mean) cycle time and :math:`N_{total}` the units the machine
finished. Starved and blocked time are performance losses (the machine could run but has no
work or no room). With deterministic cycles :math:`P \le 1` exactly; with exponential ones the
sampled cycles can add up to more than the nominal ones and :math:`P` is capped at 1.
``utilisation`` is the fraction of :math:`T_p` spent processing;
``utilisation + down + changeover + starved + blocked = 1``.

Bottleneck: the active-fraction (utilisation) method as defined by Roser et al. [3]_: a machine
is *active* when it is neither starved nor blocked (processing, failed or changing over); the
machine with the largest active fraction of the planned time constrains the line. The mean
active period of every machine (the same authors' *average active period* method) is reported
beside it (``mean_active_period_h``) but not used to choose: with blocking after service a
machine that fails often is blocked for a moment after nearly every unit when its downstream
buffer is full, which cuts its active periods short. Measured case (30 days, 3 replications,
seed 2; a shorter run of it is ``test_an_unreliable_fast_machine_is_the_bottleneck``): 10 s per
unit at 50 % availability (MTBF = MTTR = 1 h) before a reliable 15 s machine, buffers of 20.
The line makes 145 units/h, less than either machine alone (180, 240). The unreliable machine
is active 83 % of the time, the reliable one 60 %, but the reliable one has the longer mean
active period (1.6 h against 0.007 h). Without the failures the line would make 240/h; an
infinitely fast reliable machine would lift it to 180/h at most: the active fraction names the
right machine. With replications the bottleneck is the machine chosen most often
(``bottleneck_share`` says how often). Both methods need finite buffers: a machine feeding an
infinite buffer is never blocked and can be named although it only fills that buffer.

WIP and flow time: a unit enters the line when the first machine puts it into the first
buffer and leaves when the last machine finishes it; WIP counts units in buffers and held by
machines 2…n, so by Little's law WIP ≈ entry rate × mean flow time.

References
----------
.. [1] SimPy 4 — discrete-event simulation for Python, https://simpy.readthedocs.io
       (Team SimPy, MIT licence).
.. [2] S. Nakajima, Introduction to TPM: Total Productive Maintenance, Productivity Press,
       1988 (OEE = availability × performance × quality).
.. [3] C. Roser, M. Nakano, M. Tanaka, "A practical bottleneck detection method",
       Proc. 2001 Winter Simulation Conference, 949–953. doi:10.1109/WSC.2001.977398
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from twinline.factory.errors import FactoryError

HOUR = 3600.0
WEEK_H = 168.0
YEAR_S = 365.0 * 24.0 * HOUR

_BUSY, _DOWN, _SETUP, _STARVED, _BLOCKED = range(5)

MACHINE_KEYS = ("name", "cycle_time_s", "speed", "unit_size", "unit", "mtbf_h", "mttr_h",
                "changeover_s", "changeover_every", "scrap", "cycle_distribution")
BUFFER_KEYS = ("after", "capacity")


@dataclass(frozen=True)
class Machine:
    """One machine of the line (SI inside: seconds, hours only where the name says so).

    ``cycle_time_s`` [s per flow unit], > 0; ``mtbf_h`` [h of operating time], > 0 or ``inf``
    (no failures); ``mttr_h`` [h], >= 0; ``changeover_s`` [s], >= 0, every
    ``changeover_every`` units (0: never); ``scrap`` [-] in [0, 1). No defaults come from the
    literature here: the plant description gives them (the twinline seeds give no MTBF/MTTR).
    """

    name: str
    cycle_time_s: float
    unit: str = "unit"
    mtbf_h: float = math.inf
    mttr_h: float = 0.0
    changeover_s: float = 0.0
    changeover_every: int = 0
    scrap: float = 0.0
    cycle_distribution: Literal["deterministic", "exponential"] = "deterministic"

    def __post_init__(self) -> None:
        where = f"machine {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise FactoryError(f"machine name must be a non-empty string, got {self.name!r}")
        _positive(f"{where}: cycle_time_s", self.cycle_time_s, "s")
        if not (_is_num(self.mtbf_h) and self.mtbf_h > 0):
            raise FactoryError(f"{where}: mtbf_h must be > 0 h (or inf for no failures), "
                               f"got {self.mtbf_h!r}")
        _nonneg(f"{where}: mttr_h", self.mttr_h, "h")
        _nonneg(f"{where}: changeover_s", self.changeover_s, "s")
        if (not isinstance(self.changeover_every, int) or isinstance(self.changeover_every, bool)
                or self.changeover_every < 0):
            raise FactoryError(f"{where}: changeover_every must be an integer >= 0 units "
                               f"(0: no changeovers), got {self.changeover_every!r}")
        if not (_is_num(self.scrap) and 0 <= self.scrap < 1):
            raise FactoryError(f"{where}: scrap must be a fraction in [0, 1), "
                               f"got {self.scrap!r}")
        if self.cycle_distribution not in ("deterministic", "exponential"):
            raise FactoryError(f"{where}: cycle_distribution must be 'deterministic' or "
                               f"'exponential', got {self.cycle_distribution!r}")

    @property
    def availability(self) -> float:
        """Isolated availability MTBF/(MTBF+MTTR) [-] (1 without failures)."""
        return 1.0 if math.isinf(self.mtbf_h) else self.mtbf_h / (self.mtbf_h + self.mttr_h)


@dataclass(frozen=True)
class Line:
    """Machines in series; ``buffers[i]`` [units] is the capacity after ``machines[i]``
    (``len(buffers) == len(machines) - 1``, each >= 1 or ``inf``)."""

    machines: tuple[Machine, ...]
    buffers: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.machines:
            raise FactoryError("a line needs at least one machine, got none")
        names = [m.name for m in self.machines]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise FactoryError(f"machine names must be unique, {dup[0]!r} appears twice")
        if len(self.buffers) != len(self.machines) - 1:
            raise FactoryError(f"a line of {len(self.machines)} machines needs "
                               f"{len(self.machines) - 1} buffers, got {len(self.buffers)}")
        for m, b in zip(self.machines, self.buffers, strict=False):
            if not (_is_num(b) and b >= 1 and (math.isinf(b) or float(b).is_integer())):
                raise FactoryError(f"buffer after {m.name!r}: capacity must be an integer >= 1 "
                                   f"unit (or inf), got {b!r}")


@dataclass(frozen=True)
class Estimate:
    """Mean over replications and its 95 % confidence interval (Student t; ``None`` with one
    replication)."""

    mean: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class MachineStats:
    """Per-machine figures, means over replications (fractions of planned production time)."""

    name: str
    utilisation: float
    down: float
    changeover: float
    starved: float
    blocked: float
    active: float                   # 1 - starved - blocked: the bottleneck criterion
    availability: float
    performance: float
    quality: float
    oee: Estimate
    mean_active_period_h: float
    units_finished: float
    units_scrapped: float


@dataclass(frozen=True)
class ThroughputResult:
    """What :func:`simulate_line` returns (plain data: pickles, and ``to_dict`` is JSON-ready).

    ``buffer_times_h`` [h of operating time] and ``buffer_levels`` [units] (one row per sample,
    one column per buffer) are from the first replication. ``flow_time_h`` is ``None`` for a
    one-machine line (no unit enters a buffer). Rates: ``good_per_year`` per calendar year,
    ``good_per_operating_hour`` per hour of planned operation; fractions of machines are of
    the planned production time after the warm-up.
    """

    unit: str
    horizon_s: float
    operating_s: float
    warmup_s: float
    replications: int
    seed: int
    good_per_year: Estimate
    good_per_operating_hour: Estimate
    wip_mean: Estimate
    flow_time_h: Estimate | None
    machines: tuple[MachineStats, ...]
    bottleneck: str                 # the machine with the largest active fraction
    bottleneck_share: float         # share of replications that chose it
    bottleneck_method: str
    buffer_names: tuple[str, ...]
    buffer_capacity: tuple[float | None, ...]
    buffer_mean_level: tuple[float, ...]
    buffer_times_h: tuple[float, ...]
    buffer_levels: tuple[tuple[int, ...], ...]
    events: int
    wall_s: float = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (infinite buffer capacities are ``None``)."""
        return asdict(self)


# ----------------------------------------------------------------------------- input

def line_from_plant(plant: Mapping[str, Any], *, strict: bool = True) -> Line:
    """Build a :class:`Line` from a plain mapping (a plant YAML section).

    Parameters
    ----------
    plant : mapping
        ``{"machines": [{name, cycle_time_s | (speed, unit_size), unit, mtbf_h, mttr_h,
        changeover_s, changeover_every, scrap, cycle_distribution}, ...],
        "buffers": [{after, capacity}, ...], "default_buffer": 1}`` — SI floats (seconds,
        hours where the key says ``_h``). ``speed`` [quantity/s] and ``unit_size`` [quantity per
        flow unit] give ``cycle_time_s = unit_size / speed``. Machines run in list order; a
        buffer sits after the machine it names; positions without one get ``default_buffer``
        (1). Other top-level keys are ignored (the plant description holds more than the line).
    strict : bool
        Refuse unknown keys inside a machine or buffer entry (a misspelt ``mtbf`` would
        otherwise silently mean "never fails").

    Raises
    ------
    FactoryError
        One line naming the entry, the key, the value and what is allowed.

    Examples
    --------
    >>> line = line_from_plant({"machines": [{"name": "coat", "speed": 1.0, "unit_size": 600},
    ...                                      {"name": "stack", "cycle_time_s": 500}],
    ...                         "buffers": [{"after": "coat", "capacity": 4}]})
    >>> line.machines[0].cycle_time_s, line.buffers
    (600.0, (4,))
    """
    if not isinstance(plant, Mapping):
        raise FactoryError(f"plant must be a mapping with 'machines', got {type(plant).__name__}")
    raw = plant.get("machines")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise FactoryError("plant 'machines' must be a non-empty list of machines, "
                           f"got {_short(raw)}")
    machines = tuple(_machine_from(i, m, strict) for i, m in enumerate(raw))
    names = [m.name for m in machines]
    default = plant.get("default_buffer", 1)
    caps: list[Any] = [default] * (len(machines) - 1)
    seen: set[str] = set()
    for j, b in enumerate(plant.get("buffers") or []):
        where = f"buffers[{j}]"
        if not isinstance(b, Mapping):
            raise FactoryError(f"{where} must be a mapping {{after, capacity}}, got {_short(b)}")
        _check_keys(where, b, BUFFER_KEYS, strict)
        after = b.get("after")
        if after not in names:
            near = difflib.get_close_matches(str(after), names, n=1)
            raise FactoryError(f"{where}: after={after!r} is not a machine of the line; "
                               f"choose from {names}"
                               + (f"; did you mean {near[0]!r}?" if near else ""))
        k = names.index(after)
        if k == len(machines) - 1:
            raise FactoryError(f"{where}: after={after!r} is the last machine; a buffer sits "
                               "between two machines (finished goods leave the line)")
        if after in seen:
            raise FactoryError(f"{where}: a second buffer after {after!r}; give one per gap")
        seen.add(after)
        cap = b.get("capacity")
        if isinstance(cap, str) and cap.strip().lower() in ("inf", "infinite"):
            cap = math.inf
        caps[k] = cap
    return Line(machines, tuple(caps))


def _machine_from(i: int, m: Any, strict: bool) -> Machine:
    where = f"machines[{i}]"
    if not isinstance(m, Mapping):
        raise FactoryError(f"{where} must be a mapping, got {_short(m)}")
    if "name" in m:
        where = f"machines[{i}] {m['name']!r}"
    _check_keys(where, m, MACHINE_KEYS, strict)
    kw = {k: m[k] for k in MACHINE_KEYS if k in m and k not in ("speed", "unit_size")}
    if "name" not in kw:
        raise FactoryError(f"{where}: 'name' is missing")
    if "cycle_time_s" in m and ("speed" in m or "unit_size" in m):
        raise FactoryError(f"{where}: give either cycle_time_s or speed with unit_size, not both")
    if "cycle_time_s" not in m:
        if "speed" not in m or "unit_size" not in m:
            raise FactoryError(f"{where}: needs cycle_time_s [s per unit] or speed [per s] "
                               "with unit_size [per unit]")
        _positive(f"{where}: speed", m["speed"], "per s")
        _positive(f"{where}: unit_size", m["unit_size"], "per unit")
        kw["cycle_time_s"] = float(m["unit_size"]) / float(m["speed"])
    for key in ("mtbf_h",):
        if isinstance(kw.get(key), str) and kw[key].strip().lower() in ("inf", "infinite"):
            kw[key] = math.inf
    try:
        return Machine(**kw)
    except FactoryError as err:          # name the entry by its position too
        raise FactoryError(str(err).replace(f"machine {kw['name']!r}", where, 1)) from None


def _check_keys(where: str, d: Mapping[str, Any], allowed: tuple[str, ...], strict: bool) -> None:
    if not strict:
        return
    for k in d:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), allowed, n=1)
            raise FactoryError(f"{where}: unknown key {k!r}; allowed: {', '.join(allowed)}"
                               + (f"; did you mean {near[0]!r}?" if near else ""))


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _is_num(v: Any) -> bool:
    """A real number (numpy scalars included), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _positive(what: str, v: Any, unit: str) -> None:
    if not (_is_num(v) and math.isfinite(v) and v > 0):
        raise FactoryError(f"{what} must be a finite number > 0 {unit}, got {_short(v)}")


def _nonneg(what: str, v: Any, unit: str) -> None:
    if not (_is_num(v) and math.isfinite(v) and v >= 0):
        raise FactoryError(f"{what} must be a finite number >= 0 {unit}, got {_short(v)}")


# ----------------------------------------------------------------------------- simulation

class _Rep:
    """One replication: SimPy processes for the machines plus the statistics they keep."""

    def __init__(self, line: Line, T: float, warmup: float, rngs: list[np.random.Generator],
                 n_samples: int) -> None:
        import simpy  # deferred: keeps `import twinline.factory` light

        self.line, self.T, self.w = line, T, warmup
        self.env = env = simpy.Environment()
        n = len(line.machines)
        self.stores = [simpy.Store(env, capacity=c) for c in line.buffers]
        self.acc = [[0.0] * 5 for _ in range(n)]  # time per state after warm-up [s]
        self.state = [_BUSY] * n
        self.since = [0.0] * n
        self.interruptions = [0] * n              # starved/blocked spells ending after warm-up
        self.finished = [0] * n
        self.scrapped = [0] * n
        self.hold_area = [0.0] * n                # unit-seconds a machine holds a unit
        self.hold_since: list[float | None] = [None] * n
        self.buf_area = [0.0] * (n - 1)
        self.buf_level = [0] * (n - 1)
        self.buf_since = [0.0] * (n - 1)
        self.flow_sum = 0.0
        self.flow_n = 0
        self.events = 0
        self.samples: list[tuple[int, ...]] = []
        self.sample_times: list[float] = []
        for k, m in enumerate(line.machines):
            env.process(self._machine(k, m, rngs[k]))
        if n > 1 and n_samples > 0:
            env.process(self._sampler(T / n_samples))

    # -- bookkeeping (every interval is clipped to the part after the warm-up)
    def _clip(self, t0: float, t1: float) -> float:
        return max(0.0, t1 - max(t0, self.w))

    def _set(self, k: int, s: int) -> None:
        old = self.state[k]
        if old == s:
            return
        now, t0, w = self.env.now, self.since[k], self.w
        if now > t0 and now > w:
            self.acc[k][old] += now - (t0 if t0 > w else w)
            if old >= _STARVED:                   # a starved/blocked spell ends
                self.interruptions[k] += 1
        self.state[k], self.since[k] = s, now

    def _buf(self, j: int) -> None:
        now, t0, w = self.env.now, self.buf_since[j], self.w
        if now > t0 and now > w:
            self.buf_area[j] += self.buf_level[j] * (now - (t0 if t0 > w else w))
        self.buf_level[j] = len(self.stores[j].items)
        self.buf_since[j] = now

    def _hold(self, k: int, start: bool) -> None:
        now = self.env.now
        if start:
            self.hold_since[k] = now
        else:
            t0 = self.hold_since[k]
            assert t0 is not None
            self.hold_area[k] += self._clip(t0, now)
            self.hold_since[k] = None

    def finish(self) -> None:
        """Close the intervals still open at the horizon."""
        T = self.T
        for k in range(len(self.line.machines)):
            self.acc[k][self.state[k]] += self._clip(self.since[k], T)
            if self.hold_since[k] is not None:
                self.hold_area[k] += self._clip(self.hold_since[k], T)  # type: ignore[arg-type]
        for j in range(len(self.stores)):
            self.buf_area[j] += self.buf_level[j] * self._clip(self.buf_since[j], T)

    # -- processes
    def _sampler(self, dt: float) -> Generator[Any, Any, None]:
        env = self.env
        while True:
            self.sample_times.append(env.now / HOUR)
            self.samples.append(tuple(len(s.items) for s in self.stores))
            yield env.timeout(dt)

    def _machine(self, k: int, m: Machine,
                 rng: np.random.Generator) -> Generator[Any, Any, None]:
        env, n = self.env, len(self.line.machines)
        up = self.stores[k - 1] if k > 0 else None
        down = self.stores[k] if k < n - 1 else None
        fails = not math.isinf(m.mtbf_h)
        mtbf, mttr = m.mtbf_h * HOUR, m.mttr_h * HOUR
        ttf = rng.exponential(mtbf) if fails else math.inf
        ct, expo = m.cycle_time_s, m.cycle_distribution == "exponential"
        every, setup, scrap = m.changeover_every, m.changeover_s, m.scrap
        count = 0
        while True:
            if up is None:
                item = None
            else:
                self._set(k, _STARVED)
                item = yield up.get()
                self.events += 1
                self._buf(k - 1)
                self._hold(k, True)
            if every and count >= every:
                count = 0
                if setup > 0:
                    self._set(k, _SETUP)
                    yield env.timeout(setup)
                    self.events += 1
            self._set(k, _BUSY)
            d = rng.exponential(ct) if expo else ct
            while ttf <= d:
                if ttf > 0:
                    yield env.timeout(ttf)
                    self.events += 1
                d -= ttf
                self._set(k, _DOWN)
                yield env.timeout(rng.exponential(mttr) if mttr > 0 else 0.0)
                self.events += 1
                self._set(k, _BUSY)
                ttf = rng.exponential(mtbf)
            yield env.timeout(d)
            self.events += 1
            ttf -= d
            count += 1
            after_w = env.now > self.w
            if after_w:
                self.finished[k] += 1
            if scrap and rng.random() < scrap:
                if after_w:
                    self.scrapped[k] += 1
                if up is not None:
                    self._hold(k, False)
                continue
            if down is None:
                if item is not None and after_w:
                    self.flow_sum += env.now - item[0]
                    self.flow_n += 1
                if up is not None:
                    self._hold(k, False)
                continue
            self._set(k, _BLOCKED)
            if item is None:                      # the unit enters the line: stamp it then
                item = [0.0]
                yield down.put(item)
                item[0] = env.now
            else:
                yield down.put(item)
            self.events += 1
            self._buf(k)
            if up is not None:
                self._hold(k, False)

    def run(self) -> None:
        self.env.run(until=self.T)
        self.finish()


def simulate_line(line: Line, *, seed: int, horizon_s: float = YEAR_S, replications: int = 1,
                  warmup_s: float = 0.0, operating_hours_per_week: float = WEEK_H,
                  samples: int = 200,
                  progress: Callable[[int, int], None] | None = None) -> ThroughputResult:
    """Simulate ``line`` over ``horizon_s`` of calendar time, ``replications`` times.

    Parameters
    ----------
    line : Line
        The machines and buffers (:func:`line_from_plant` builds one from a plain mapping).
    seed : int
        Seed of a :class:`numpy.random.SeedSequence`; replication *r*, machine *k* draws from
        its own spawned stream, so results are reproducible and scenarios that differ in one
        machine keep common random numbers elsewhere.
    horizon_s : float
        Calendar time [s], > 0 (default one year, 365 d); weeks to a year is the intended use.
    replications : int
        Independent replications, >= 1; >= 2 gives the 95 % confidence intervals.
    warmup_s : float
        Operating time [s] at the start that statistics ignore (the line fills), >= 0 and
        shorter than the operating time.
    operating_hours_per_week : float
        Planned operating time [h/week], in (0, 168] (168: 24/7; 3 shifts × 5 days: 120).
    samples : int
        Buffer-level samples per replication (evenly spaced in operating time), >= 0.
    progress : callable, optional
        ``progress(done, total)`` after each replication (the CLI wires it to Rich).

    Returns
    -------
    ThroughputResult

    Raises
    ------
    FactoryError
        A value out of its range (one line).
    """
    if not isinstance(line, Line):
        raise FactoryError(f"simulate_line needs a Line (see line_from_plant), "
                           f"got {type(line).__name__}")
    _positive("horizon_s", horizon_s, "s")
    if not (isinstance(replications, int) and not isinstance(replications, bool)
            and replications >= 1):
        raise FactoryError(f"replications must be an integer >= 1, got {_short(replications)}")
    if not (_is_num(operating_hours_per_week)
            and 0 < operating_hours_per_week <= WEEK_H):
        raise FactoryError("operating_hours_per_week must be in (0, 168] h, "
                           f"got {_short(operating_hours_per_week)}")
    T = float(horizon_s) * operating_hours_per_week / WEEK_H
    _nonneg("warmup_s", warmup_s, "s")
    if warmup_s >= T:
        raise FactoryError(f"warmup_s must be shorter than the operating time {T:g} s, "
                           f"got {warmup_s:g} s")
    if not (isinstance(samples, int) and samples >= 0):
        raise FactoryError(f"samples must be an integer >= 0, got {_short(samples)}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise FactoryError(f"seed must be an integer >= 0, got {_short(seed)}")

    import time

    t_wall = time.perf_counter()
    n = len(line.machines)
    tp = T - warmup_s
    per_year_factor = YEAR_S * operating_hours_per_week / WEEK_H
    children = np.random.SeedSequence(int(seed)).spawn(replications)
    reps: list[_Rep] = []
    for r, ss in enumerate(children):
        rngs = [np.random.default_rng(s) for s in ss.spawn(n)]
        rep = _Rep(line, T, float(warmup_s), rngs, samples if r == 0 else 0)
        rep.run()
        reps.append(rep)
        if progress is not None:
            progress(r + 1, replications)

    good = np.array([rep.finished[-1] - rep.scrapped[-1] for rep in reps], float)
    rate = good / tp                                            # per operating second
    wip = np.array([sum(rep.buf_area) + sum(rep.hold_area[1:]) for rep in reps]) / tp
    flow = np.array([rep.flow_sum / rep.flow_n / HOUR if rep.flow_n else math.nan
                     for rep in reps])
    frac = np.array([rep.acc for rep in reps]) / tp             # (R, n, 5)
    fin = np.array([rep.finished for rep in reps], float)       # (R, n)
    scr = np.array([rep.scrapped for rep in reps], float)
    avail = 1.0 - frac[:, :, _DOWN] - frac[:, :, _SETUP]
    cts = np.array([m.cycle_time_s for m in line.machines])
    with np.errstate(divide="ignore", invalid="ignore"):
        perf = np.where(avail > 0, np.minimum(1.0, cts * fin / (avail * tp)), 0.0)
        qual = np.where(fin > 0, (fin - scr) / np.maximum(fin, 1), 1.0)
    oee = avail * perf * qual
    active = 1.0 - frac[:, :, _STARVED] - frac[:, :, _BLOCKED]
    inter = np.array([rep.interruptions for rep in reps], float)
    map_h = active * tp / (inter + 1.0) / HOUR                  # mean active period [h]
    picks = np.argmax(active, axis=1)
    counts = np.bincount(picks, minlength=n)
    b = int(np.argmax(counts))

    machines = tuple(
        MachineStats(
            name=m.name,
            utilisation=float(frac[:, k, _BUSY].mean()), down=float(frac[:, k, _DOWN].mean()),
            changeover=float(frac[:, k, _SETUP].mean()),
            starved=float(frac[:, k, _STARVED].mean()),
            blocked=float(frac[:, k, _BLOCKED].mean()), active=float(active[:, k].mean()),
            availability=float(avail[:, k].mean()), performance=float(perf[:, k].mean()),
            quality=float(qual[:, k].mean()), oee=_estimate(oee[:, k]),
            mean_active_period_h=float(map_h[:, k].mean()),
            units_finished=float(fin[:, k].mean()), units_scrapped=float(scr[:, k].mean()))
        for k, m in enumerate(line.machines))
    first = reps[0]
    return ThroughputResult(
        unit=line.machines[-1].unit, horizon_s=float(horizon_s), operating_s=T,
        warmup_s=float(warmup_s), replications=replications, seed=int(seed),
        good_per_year=_estimate(rate * per_year_factor),
        good_per_operating_hour=_estimate(rate * HOUR),
        wip_mean=_estimate(wip),
        flow_time_h=_estimate(flow) if np.isfinite(flow).any() else None,
        machines=machines, bottleneck=line.machines[b].name,
        bottleneck_share=float(counts[b] / replications),
        bottleneck_method="largest active fraction (Roser et al. 2001)",
        buffer_names=tuple(f"after {m.name}" for m in line.machines[:-1]),
        buffer_capacity=tuple(None if math.isinf(c) else float(c) for c in line.buffers),
        buffer_mean_level=tuple(float(np.mean([rep.buf_area[j] for rep in reps]) / tp)
                                for j in range(n - 1)),
        buffer_times_h=tuple(first.sample_times), buffer_levels=tuple(first.samples),
        events=int(sum(rep.events for rep in reps)), wall_s=time.perf_counter() - t_wall)


def _estimate(values: np.ndarray) -> Estimate:
    """Mean and Student-t 95 % interval over replications (``None`` bounds for one value)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Estimate(math.nan, None, None)
    mean = float(v.mean())
    if v.size < 2:
        return Estimate(mean, None, None)
    from scipy.stats import t as student_t  # deferred: scipy is heavy

    half = float(student_t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Estimate(mean, mean - half, mean + half)
