r"""Process capability and specification alarms of the line's measurements.

A recipe's ``spec_limits`` (:mod:`twinline.spec.spec_limits`) give the lower and upper
specification limits (LSL, USL, SI) of measured outputs. For the stored measurements of
each such parameter (one series per measurement conditions, in time order):

* **Capability** (Montgomery 2019, §8.2): with the short-term sigma of the moving range
  :math:`\hat\sigma = \overline{MR}/d_2` (:func:`twinline.twin.spc.moving_range_sigma`) and
  the mean :math:`\bar x`,

  .. math:: C_p = \frac{USL-LSL}{6\hat\sigma},\qquad
            C_{pk} = \min\left(\frac{USL-\bar x}{3\hat\sigma},
                               \frac{\bar x-LSL}{3\hat\sigma}\right)

  (:math:`C_p` needs both limits; a one-sided specification has :math:`C_{pk}` of its side
  only). :func:`capability_table` gives them with ``n`` and the limits.
* **Alarms** (stored with the SPC alarms, :meth:`~twinline.twin.store.Store.add_alarms`):
  ``spec:above-upper`` / ``spec:below-lower`` (series ``spec``) for every measurement outside
  its limits, and ``capability:cpk<1.33`` (series ``capability``) at the measurement where the
  running :math:`C_{pk}` of the series (over its last :data:`CAPABILITY_WINDOW` points, once
  it has :data:`MIN_CAPABILITY_POINTS`) falls below :data:`CPK_REQUIRED`, again only after it
  has recovered. 1.33 is the usual
  requirement for an existing process (Montgomery 2019, Table 8.2: 1.33 two-sided, 1.25
  one-sided; we use 1.33 for both). The running index at a point depends only on the points
  before it, so a longer series gives the same alarms at the old points and an alarm is not
  stored twice.

References
----------
.. [1] D. C. Montgomery, Introduction to Statistical Quality Control, 8th ed., Wiley (2019).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinline.twin.spc import D2, capability
from twinline.twin.tails import SeriesTail, resume_index

#: Minimum :math:`C_{pk}` of a capable process (Montgomery 2019, Table 8.2).
CPK_REQUIRED = 1.33
#: Points a series needs before its running :math:`C_{pk}` may raise an alarm.
MIN_CAPABILITY_POINTS = 20
#: The running :math:`C_{pk}` of the alarms is taken over the last this many points (the
#: current capability; over all points a late drift would be diluted by the early ones).
CAPABILITY_WINDOW = 30


def _limits(spec: Any) -> tuple[float | None, float | None]:
    if isinstance(spec, Mapping):
        return spec.get("lower"), spec.get("upper")
    return spec.lower, spec.upper


def _shown(parameter: str, x: float | None) -> str:
    """An SI value of ``parameter`` written in its catalogue unit (e.g. ``0.3 mg/cm^2``)."""
    from twinline.spec.errors import TwinlineError
    from twinline.spec.spec_limits import output_parameter

    if x is None:
        return "-"
    try:
        p = output_parameter(parameter)
        return f"{p.from_si(x):.4g}{' ' + p.unit if p.unit else ''}"
    except TwinlineError:  # a label only: an odd key is written in SI
        return f"{x:.4g} (SI)"


@dataclass(frozen=True)
class CapabilityRow:
    """Capability of one (parameter, conditions) series: ``n`` measurements, their ``mean``
    and moving-range ``sigma`` (SI), ``cp`` and ``cpk`` (``nan`` when not defined: fewer
    than two points, zero spread, or ``cp`` with one limit), the limits (SI) and the
    parameter's SI ``unit`` and display ``shown_unit``."""

    parameter: str
    conditions: str
    n: int
    mean: float
    sigma: float
    cp: float
    cpk: float
    lower: float | None
    upper: float | None
    unit: str
    shown_unit: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``nan`` written as None)."""

        def f(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "parameter": self.parameter,
            "conditions": self.conditions,
            "n": self.n,
            "mean": f(self.mean),
            "sigma": f(self.sigma),
            "cp": f(self.cp),
            "cpk": f(self.cpk),
            "lower": self.lower,
            "upper": self.upper,
            "unit": self.unit,
            "shown_unit": self.shown_unit,
        }


def _series(store: Any, parameter: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in store.measurements(parameter=parameter):
        out.setdefault(m["conditions"] or "", []).append(m)
    return out


def capability_table(store: Any, spec_limits: Mapping[str, Any]) -> list[CapabilityRow]:
    """:math:`C_p`, :math:`C_{pk}` of every stored series of a parameter with limits."""
    from twinline.spec.spec_limits import output_parameter

    rows = []
    for par in sorted(spec_limits):
        lo, hi = _limits(spec_limits[par])
        p = output_parameter(par)
        for cond, ms in sorted(_series(store, par).items()):
            x = np.array([m["value"] for m in ms], dtype=float)
            mean = float(np.mean(x))
            sigma = float(np.mean(np.abs(np.diff(x))) / D2) if x.size > 1 else math.nan
            cp = cpk = math.nan
            if sigma > 0:
                c = capability(x, lsl=lo, usl=hi, sigma=sigma)
                cp, cpk = c.cp, c.cpk
            rows.append(
                CapabilityRow(
                    par, cond, int(x.size), mean, sigma, cp, cpk, lo, hi, p.si_unit, p.unit
                )
            )
    return rows


def running_cpk(
    x: np.ndarray, lower: float | None, upper: float | None, window: int | None = None
) -> np.ndarray:
    r""":math:`C_{pk}` at every point ``i`` of the points ``x[:i+1]`` (``window``: only the
    last ``window`` of them), nan before two points or without spread; O(n) by cumulative
    sums."""
    x = np.asarray(x, dtype=float)
    idx = np.arange(x.size)
    w = x.size if window is None else int(window)
    if w < 2:
        raise ValueError(f"capability window = {w}: needs at least 2 points")
    start = np.maximum(idx - w + 1, 0)
    cs = np.concatenate([[0.0], np.cumsum(x)])
    mr = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(x)))])  # mr[k] = MR_1 + ... + MR_k
    return _cpk(cs[idx + 1], cs[start], mr[idx], mr[start], idx + 1 - start, lower, upper)


def _cpk(
    cs_hi: np.ndarray,
    cs_lo: np.ndarray,
    mr_hi: np.ndarray,
    mr_lo: np.ndarray,
    n: np.ndarray,
    lower: float | None,
    upper: float | None,
) -> np.ndarray:
    """:math:`C_{pk}` of windows of ``n`` points from the cumulative sums of the values
    (``cs_hi - cs_lo``) and of the moving ranges (``mr_hi - mr_lo``) at their ends."""
    mean = (cs_hi - cs_lo) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(n > 1, (mr_hi - mr_lo) / np.maximum(n - 1, 1) / D2, np.nan)
        sides = []
        if upper is not None:
            sides.append((upper - mean) / (3 * sigma))
        if lower is not None:
            sides.append((mean - lower) / (3 * sigma))
        cpk = np.minimum.reduce(sides) if sides else np.full(np.shape(n), np.nan)
    return np.where(sigma > 0, cpk, np.nan)


def _spec_row(
    par: str, label: str, m: Mapping[str, Any], v: float, rule: str, lim: float | None, word: str
) -> dict[str, Any]:
    return {
        "object": m["object"],
        "parameter": par,
        "series": "spec",
        "rule": rule,
        "time": m["time"],
        "value": v,
        "message": f"{label} = {_shown(par, v)} at {m['object']}: "
        f"{word} specification limit "
        f"{_shown(par, lim)}",
    }


def _spec_rows(
    par: str, label: str, m: Mapping[str, Any], lo: float | None, hi: float | None
) -> list[dict[str, Any]]:
    """The specification alarms of one measurement ``m`` (none when inside its limits)."""
    v = float(m["value"])
    return [
        _spec_row(par, label, m, v, rule, lim, word)
        for rule, out, lim, word in (
            ("spec:above-upper", hi is not None and v > hi, hi, "above the upper"),
            ("spec:below-lower", lo is not None and v < lo, lo, "below the lower"),
        )
        if out
    ]


def _capability_row(
    par: str,
    label: str,
    m: Mapping[str, Any],
    i: int,
    cpk: float,
    lo: float | None,
    hi: float | None,
) -> dict[str, Any]:
    return {
        "object": m["object"],
        "parameter": par,
        "series": "capability",
        "rule": f"capability:cpk<{CPK_REQUIRED:g}",
        "time": m["time"],
        "value": float(cpk),
        "message": f"{label}: Cpk = {cpk:.3g} < {CPK_REQUIRED:g} over "
        f"the last {min(i + 1, CAPABILITY_WINDOW)} measurements (limits "
        f"{_shown(par, lo)} .. {_shown(par, hi)}) at {m['object']}",
    }


def spec_alarms(
    store: Any, spec_limits: Mapping[str, Any], parameters: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The alarm rows (not stored) of the measurements of ``parameters`` (default: every
    parameter with limits) against ``spec_limits`` (see the module docstring): every stored
    point judged (a fresh :class:`SpecWatch`; a kept one judges only the new points)."""
    return SpecWatch().rows(store, spec_limits, parameters)


@dataclass(frozen=True)
class CapabilityState:
    """The running sums after one point of a series: ``cs`` the sum of the values up to it,
    ``mr`` of the moving ranges up to it, ``low`` its running :math:`C_{pk}` below
    :data:`CPK_REQUIRED` (an alarm is raised where it falls below)."""

    cs: float
    mr: float
    low: bool


def judge_capability(
    values: Sequence[float],
    keys: list[tuple[Any, int, float]],
    first: int,
    total: int,
    tail: SeriesTail | None,
    lower: float | None,
    upper: float | None,
) -> tuple[int, list[tuple[int, float]], SeriesTail] | None:
    r"""The capability alarms at the points of one series not judged before:
    ``(r, [(index, cpk)], tail)`` — judge the specification limits of the points ``r ..``
    and raise the capability alarms listed — or None when the whole series must be judged
    (call again with ``tail=None``, ``first=0`` and every point).

    The running :math:`C_{pk}` at point :math:`i` is that of :func:`running_cpk` over the
    window :math:`\max(i-W+1, 0) .. i` (:math:`W` = :data:`CAPABILITY_WINDOW`) from the
    running sums of the values and of the moving ranges, continued from the kept sums of
    the last judged points (:class:`CapabilityState`, the same additions in the same order:
    the same numbers to the last bit). ``values``, ``keys``: points ``first .. total-1``."""
    w = CAPABILITY_WINDOW
    r = resume_index(tail, total, first, keys, states_back=w, look_back=1)
    if r is None:
        if first > 0:
            return None
        tail, r = None, 0
    base = tail if tail is not None else SeriesTail()
    if r >= total:
        return r, [], base
    x = np.asarray(values[r - first :], dtype=float)
    if r == 0:
        cs0 = mr0 = 0.0
        ranges = np.abs(np.diff(x))
        low_prev = False
    else:
        st = base.state(r - 1)
        cs0, mr0, low_prev = st.cs, st.mr, st.low
        ranges = np.abs(np.diff(np.concatenate([[float(values[r - 1 - first])], x])))
    cs_new = np.cumsum(np.concatenate([[cs0], x]))[1:]  # cs[i + 1], i = r .. total-1
    mr_new = (
        np.cumsum(np.concatenate([[0.0], ranges]))
        if r == 0
        else np.cumsum(np.concatenate([[mr0], ranges]))[1:]
    )  # mr[i]

    def cs_at(k: int) -> float:  # sum of the values before point k
        return 0.0 if k == 0 else float(cs_new[k - 1 - r]) if k - 1 >= r else base.state(k - 1).cs

    def mr_at(k: int) -> float:
        return float(mr_new[k - r]) if k >= r else base.state(k).mr

    idx = np.arange(r, total)
    start = np.maximum(idx - w + 1, 0)
    cpk = _cpk(
        cs_new,
        np.array([cs_at(int(k)) for k in start]),
        mr_new,
        np.array([mr_at(int(k)) for k in start]),
        idx + 1 - start,
        lower,
        upper,
    )
    low = (cpk < CPK_REQUIRED) & (idx >= MIN_CAPABILITY_POINTS - 1)  # nan compares False
    alarms = []
    states = []
    for j, i in enumerate(idx):
        if low[j] and not low_prev:
            alarms.append((int(i), float(cpk[j])))
        low_prev = bool(low[j])
        states.append(CapabilityState(float(cs_new[j]), float(mr_new[j]), low_prev))
    return r, alarms, base.extended(r, keys[r - first :], states)


class SpecWatch:
    """The specification and capability alarms of a growing store, judged incrementally:
    each call judges only the measurements not judged by an earlier call of this object
    (:func:`judge_capability`, :mod:`twinline.twin.tails`), reads the newest points of
    each series only, and finds the new alarms from the rows the store inserted
    (:meth:`~twinline.twin.store.Store.insert_alarms`), never the whole alarm table. Its
    alarms are those of judging every series whole and storing them all, at every call
    (tests/twin/test_watch_incremental.py holds it to the whole-series algorithm)."""

    def __init__(self) -> None:
        self.tails: dict[tuple[str, str], SeriesTail] = {}

    def rows(
        self, store: Any, spec_limits: Mapping[str, Any], parameters: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """The alarm rows (not stored) at the points not judged before (series in the order
        of their first point)."""
        rows: list[dict[str, Any]] = []
        wanted = (
            sorted(spec_limits)
            if parameters is None
            else sorted(set(parameters) & set(spec_limits))
        )
        for par in wanted:
            lo, hi = _limits(spec_limits[par])
            series = []
            for cond in store.measurement_conditions(par):
                tail = self.tails.get((par, cond))
                count = store.series_count(par, "measurement", cond)
                want = None if tail is None else count - tail.n + len(tail.keys)
                total, head, last = store.measurement_window(par, cond, head=1, tail=want)
                if head:
                    series.append(((head[0]["time"], head[0]["pk"]), cond, total, last))
            for _, cond, total, ms in sorted(series, key=lambda s: s[0]):
                label = f"{par} [{cond}]" if cond else par
                first = total - len(ms)
                got = judge_capability(
                    [m["value"] for m in ms],
                    _keys(ms),
                    first,
                    total,
                    self.tails.get((par, cond)),
                    lo,
                    hi,
                )
                if got is None:
                    total, _, ms = store.measurement_window(par, cond, tail=None)
                    first = 0
                    got = judge_capability(
                        [m["value"] for m in ms], _keys(ms), 0, len(ms), None, lo, hi
                    )
                    total = len(ms)
                assert got is not None
                r, caps, self.tails[(par, cond)] = got
                for m in ms[r - first :]:
                    rows += _spec_rows(par, label, m, lo, hi)
                for i, cpk in caps:
                    rows.append(_capability_row(par, label, ms[i - first], i, cpk, lo, hi))
        return rows

    def watch(
        self, store: Any, spec_limits: Mapping[str, Any], parameters: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Store the new alarms of ``parameters``; returns those not stored before (as
        :meth:`~twinline.twin.store.Store.alarms` gives them, in time order)."""
        rows = self.rows(store, spec_limits, parameters)
        return store.insert_alarms(rows) if rows else []


def _keys(ms: Sequence[Mapping[str, Any]]) -> list[tuple[Any, int, float]]:
    return [(m["time"], m["pk"], float(m["value"])) for m in ms]


def watch_specs(
    store: Any, spec_limits: Mapping[str, Any], parameters: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Store the specification and capability alarms of ``parameters``; returns those not
    stored before (as :meth:`~twinline.twin.store.Store.alarms` gives them). Judges every
    stored point (a :class:`SpecWatch` judges only the new ones)."""
    return SpecWatch().watch(store, spec_limits, parameters)
