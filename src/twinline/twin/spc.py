r"""Statistical process control: control charts, run rules and capability indices.

For a series :math:`x_1 \dots x_n` of one measured parameter (or of the residuals between
measurement and the twin's prediction) with centre :math:`\mu_0` and process standard deviation
:math:`\sigma`:

* **Individuals / moving-range chart** (Montgomery 2019, §6.4): :math:`\hat\sigma =
  \overline{MR}/d_2` with :math:`MR_t = |x_t - x_{t-1}|` and :math:`d_2 = 1.128`; limits
  :math:`\mu_0 \pm 3\hat\sigma`; the MR chart's upper limit :math:`D_4\,\overline{MR}`,
  :math:`D_4 = 3.267`.
* **EWMA** (Roberts 1959; Montgomery §9.2): :math:`z_t = \lambda x_t + (1-\lambda) z_{t-1}`,
  :math:`z_0 = \mu_0`, limits :math:`\mu_0 \pm L\sigma\sqrt{\tfrac{\lambda}{2-\lambda}
  [1-(1-\lambda)^{2t}]}` (defaults :math:`\lambda = 0.2`, :math:`L = 3`).
* **Tabular CUSUM** (Page 1954; Montgomery §9.1): :math:`C^+_t = \max(0, x_t - \mu_0 - K +
  C^+_{t-1})`, :math:`C^-_t = \max(0, \mu_0 - K - x_t + C^-_{t-1})`, signal when either
  exceeds :math:`H` (defaults :math:`K = 0.5\sigma`, :math:`H = 5\sigma`).
* **Run rules** (Nelson 1984; the first, fifth and sixth are the Western Electric rules,
  Western Electric 1956): 1 one point beyond 3σ; 2 nine in a row on one side of the centre;
  3 six in a row steadily increasing or decreasing; 4 fourteen in a row alternating up and
  down; 5 two of three beyond 2σ on the same side; 6 four of five beyond 1σ on the same side;
  7 fifteen in a row within 1σ; 8 eight in a row beyond 1σ on either side.
* **Capability** against specification limits (Montgomery §8.2):
  :math:`C_p = (USL-LSL)/6\sigma`, :math:`C_{pk} = \min(USL-\bar x, \bar x-LSL)/3\sigma`.

Alarms carry the index of the point that completes the pattern.

**The line's alarm policy** (:class:`AlarmPolicy`, used by the live loop ``twinline twin
run`` and its benchmark). The goal (issue 15): every injected defect alarms within 20 objects,
at most 1 false alarm per 1 000 objects. Design:

* *Series*: the residuals' z-scores (measured − twin prediction over the combined
  uncertainty) of each measured (parameter, conditions) — not the raw values, which move
  whenever an operator changes a setting on purpose (the twin predicts that move), and not
  the settings. One *point* per object and series: the mean z of the object's measurements
  (a rational subgroup; any number of samples per object).
* *Baseline*: centre :math:`\bar x` and sample standard deviation :math:`\hat\sigma` of the
  first :data:`POLICY_PHASE_ONE` points (phase I: no signal before), refined with every
  later point once :data:`EVENT_QUIET` points have followed it without a signal (a signal
  discards the points waiting; nothing is learnt while an event is open), so that the
  first points of a shift, before its CUSUM signals, do not pull the centre towards it;
  in control only a rare signal's neighbourhood is left out (leaving out every point with
  a raised CUSUM truncates the tails: :math:`\hat\sigma` too small, fifteen times the
  false alarms in a test). Beyond :data:`POLICY_MEMORY` learnt points the centre and
  variance are exponentially weighted (weight 1/50): a slow drift is followed with a lag
  of about 50 objects times its rate. The predictive sd is not the scale: it contains the
  model's shared structural error, which does not vary from object to object; the
  object-to-object scatter is estimated instead. Estimated limits shorten a CUSUM's
  in-control run length badly (Jones, Champ & Rigdon 2004): with :math:`k = 0.5, h = 9`
  and a baseline frozen at 100 points a simulation gave 71 signals per
  :math:`2\cdot10^5` points instead of 7.7; a baseline that keeps learning gave 3.
* *Rules*: a two-sided tabular CUSUM on :math:`u_t = (x_t - \bar x)/\hat\sigma`, clipped to
  :math:`\pm` :data:`POLICY_CLIP` (one outlier of a heavy-tailed series cannot signal alone,
  a real shift signals in :math:`\lceil h/(c-k)\rceil = 3` points), :math:`k = 0.75`,
  :math:`h = 7`, reset after a signal; and one Shewhart limit far out, :math:`|u_t| >`
  :data:`POLICY_JUMP` = 8 (normal tail :math:`10^{-15}`): the twin learns from every
  residual, so a gross step is partly explained away (as a batch offset) after its first
  object, and the CUSUM alone took 11 objects to find the simulated gap step. No 3σ limit
  and no run rules: with ten series each adds false alarms at a rate of order 1/370 per
  point and series, hundreds of times the budget. :math:`k = 0.75` rather than the usual
  0.5 because the twin does not follow the simulated calender-roll wear (0.5 %/h) in full:
  it shifts part of it onto the coating constants, and the coating residuals drift by about
  1.7 sigma in 340 objects; with :math:`k = 0.5, h = 9` that drift, lagging the baseline's
  memory, raised one false alarm in 330 defect-free objects, with :math:`k = 0.75, h = 7`
  none.
* *ARL arithmetic* (Siegmund's approximation, :func:`cusum_arl`, Montgomery 2019 §9.1):
  :math:`b = h + 1.166 = 8.166`; in control (:math:`\Delta = -k`) one side's
  :math:`ARL_0 = (e^{2kb} - 2kb - 1)/(2k^2) \approx 1.86\cdot10^5` points, the two sides
  together :math:`9.3\cdot10^4`; over :math:`m = 10` series (the simulated line's gauges),
  independent, :math:`ARL_0 \approx 9\,300` objects (:func:`policy_arl0`): 0.11 false
  alarms per 1 000 objects (correlated series, merged into one event, give fewer; drift
  and estimated limits give more, hence the margin). Out of control, a shift of
  :math:`\delta` sigma gives :math:`\Delta = \delta - k` and :math:`ARL_1 = (e^{-2\Delta b}
  + 2\Delta b - 1)/(2\Delta^2)`: 24.8 objects for :math:`\delta = 1`, 14.3 for 1.25, 10.0
  for 1.5, 3.5 for 3 (3 at least through the clip; 1 beyond 8 sigma) — a shift of 1.25
  sigma of the object means or more is found within 20 objects on average; the simulated
  defects move their first gauge by 12 to 21 sigma (benchmarks/README.md).
* *Events*: the signals of all series are merged: an event opens with the first signal
  while none is open (that signal is the one alarm stored, series ``event``) and closes
  once every series has been quiet (no signal, both CUSUMs below :math:`h/2`) for
  :data:`EVENT_QUIET` of its objects — a gap step that moves the loading, the wet film, the
  dry weight and the thickness together is one alarm, and so is a shift that persists (its
  CUSUM, reset after each signal, signals again before it is quiet for long).

References
----------
.. [1] D. C. Montgomery, Introduction to Statistical Quality Control, 8th ed., Wiley (2019).
.. [2] L. S. Nelson, J. Quality Technology 16 (1984) 237-239 (the Shewhart control chart —
       tests for special causes).
.. [3] Western Electric Co., Statistical Quality Control Handbook (1956).
.. [4] S. W. Roberts, Technometrics 1 (1959) 239-250 (EWMA).
.. [5] E. S. Page, Biometrika 41 (1954) 100-115 (CUSUM).
.. [6] D. Siegmund, Sequential Analysis, Springer (1985) (the CUSUM's ARL approximation).
.. [7] L. A. Jones, C. W. Champ, S. E. Rigdon, Technometrics 46 (2004) 87-94 (the CUSUM
       with estimated parameters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinline.twin.errors import TwinError

#: Bias-correction constants of the moving range of two (Montgomery 2019, App. VI).
D2 = 1.128
D4 = 3.267
#: Nelson's rules by number, with their one-line description.
RULES: dict[int, str] = {
    1: "one point beyond 3 sigma",
    2: "nine points in a row on one side of the centre line",
    3: "six points in a row steadily increasing or decreasing",
    4: "fourteen points in a row alternating up and down",
    5: "two of three points beyond 2 sigma on the same side",
    6: "four of five points beyond 1 sigma on the same side",
    7: "fifteen points in a row within 1 sigma",
    8: "eight points in a row beyond 1 sigma on either side",
}


@dataclass(frozen=True)
class Alarm:
    """A signal of a chart or rule at point ``index`` (0-based) with its ``value``."""

    index: int
    rule: str
    value: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "rule": self.rule, "value": self.value,
                "message": self.message}


def _series(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size == 0:
        raise TwinError("SPC needs at least one value")
    if not np.all(np.isfinite(a)):
        raise TwinError("SPC values must be finite numbers")
    return a


def moving_range_sigma(x: Sequence[float] | np.ndarray) -> float:
    r"""Short-term standard deviation :math:`\overline{MR}/d_2` (needs two or more points)."""
    a = _series(x)
    if a.size < 2:
        raise TwinError("the moving-range sigma needs at least two values")
    return float(np.mean(np.abs(np.diff(a))) / D2)


@dataclass(frozen=True)
class IndividualsChart:
    """Centre line, 3-sigma limits of the individuals and the moving-range chart limit."""

    centre: float
    sigma: float
    lcl: float
    ucl: float
    mr_mean: float
    mr_ucl: float


def individuals_chart(x: Sequence[float] | np.ndarray, *, centre: float | None = None,
                      sigma: float | None = None) -> IndividualsChart:
    """Limits of an individuals / moving-range chart (phase I estimates unless given)."""
    a = _series(x)
    mu = float(np.mean(a)) if centre is None else float(centre)
    mr = float(np.mean(np.abs(np.diff(a)))) if a.size > 1 else 0.0
    s = mr / D2 if sigma is None else float(sigma)
    return IndividualsChart(mu, s, mu - 3 * s, mu + 3 * s, mr, D4 * mr)


def ewma(x: Sequence[float] | np.ndarray, *, centre: float, sigma: float, lam: float = 0.2,
         width: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """EWMA statistic :math:`z_t` and its control-limit half width at each point."""
    a = _series(x)
    if not 0 < lam <= 1:
        raise TwinError(f"EWMA lambda = {lam:g} must lie in (0, 1]")
    z = np.empty_like(a)
    prev = float(centre)
    for i, v in enumerate(a):
        prev = lam * v + (1 - lam) * prev
        z[i] = prev
    t = np.arange(1, a.size + 1)
    half = width * sigma * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))
    return z, half


def cusum(x: Sequence[float] | np.ndarray, *, centre: float, sigma: float, k: float = 0.5,
          h: float = 5.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Tabular CUSUM: upper and lower sums and the decision interval ``H = h·sigma``."""
    a = _series(x)
    big_k = k * sigma
    up = np.empty_like(a)
    down = np.empty_like(a)
    cu = cd = 0.0
    for i, v in enumerate(a):
        cu = max(0.0, v - centre - big_k + cu)
        cd = max(0.0, centre - big_k - v + cd)
        up[i], down[i] = cu, cd
    return up, down, h * sigma


def run_rules(x: Sequence[float] | np.ndarray, *, centre: float, sigma: float,
              rules: Sequence[int] = tuple(RULES)) -> list[Alarm]:
    """The Nelson / Western Electric rules over the series (see the module docstring).

    A rule signals once at the point that completes its pattern, and again only after the
    pattern has been broken.
    """
    a = _series(x)
    if not sigma > 0:
        raise TwinError(f"SPC sigma = {sigma:g} must be > 0")
    u = (a - centre) / sigma
    n = u.size
    side = np.sign(u)
    d = np.sign(np.diff(a))
    alarms: list[Alarm] = []

    def window_hits(rule: int, width: int, test) -> None:
        active = False
        for i in range(width - 1, n):
            hit = bool(test(i - width + 1, i + 1))
            if hit and not active:
                alarms.append(Alarm(i, f"nelson-{rule}", float(a[i]),
                                    f"rule {rule}: {RULES[rule]}"))
            active = hit

    if 1 in rules:
        window_hits(1, 1, lambda s, e: abs(u[s]) > 3)
    if 2 in rules:
        window_hits(2, 9, lambda s, e: abs(side[s:e].sum()) == 9)
    if 3 in rules:  # six points: five successive differences of one sign
        window_hits(3, 6, lambda s, e: abs(d[s:e - 1].sum()) == 5 and np.all(d[s:e - 1] != 0))
    if 4 in rules:  # fourteen points: thirteen differences alternating in sign
        window_hits(4, 14, lambda s, e: np.all(d[s:e - 1] != 0)
                    and np.all(d[s:e - 2] * d[s + 1:e - 1] < 0))
    if 5 in rules:
        window_hits(5, 3, lambda s, e: (u[s:e] > 2).sum() >= 2 or (u[s:e] < -2).sum() >= 2)
    if 6 in rules:
        window_hits(6, 5, lambda s, e: (u[s:e] > 1).sum() >= 4 or (u[s:e] < -1).sum() >= 4)
    if 7 in rules:
        window_hits(7, 15, lambda s, e: np.all(np.abs(u[s:e]) < 1))
    if 8 in rules:
        window_hits(8, 8, lambda s, e: np.all(np.abs(u[s:e]) > 1))
    return sorted(alarms, key=lambda al: (al.index, al.rule))


def chart_alarms(x: Sequence[float] | np.ndarray, *, centre: float, sigma: float,
                 rules: Sequence[int] = tuple(RULES), lam: float = 0.2, k: float = 0.5,
                 h: float = 5.0) -> list[Alarm]:
    """Run rules, EWMA and CUSUM signals of one series, in order of the points."""
    a = _series(x)
    alarms = run_rules(a, centre=centre, sigma=sigma, rules=rules)
    z, half = ewma(a, centre=centre, sigma=sigma, lam=lam)
    out = np.abs(z - centre) > half
    for i in np.flatnonzero(out & ~np.concatenate([[False], out[:-1]])):
        alarms.append(Alarm(int(i), "ewma", float(a[i]),
                            f"EWMA {z[i]:.4g} beyond {centre:.4g} ± {half[i]:.3g}"))
    up, down, big_h = cusum(a, centre=centre, sigma=sigma, k=k, h=h)
    for name, c in (("cusum-up", up), ("cusum-down", down)):
        over = c > big_h
        for i in np.flatnonzero(over & ~np.concatenate([[False], over[:-1]])):
            alarms.append(Alarm(int(i), name, float(a[i]),
                                f"CUSUM {name[6:]} {c[i]:.4g} > H = {big_h:.4g}"))
    return sorted(alarms, key=lambda al: (al.index, al.rule))


@dataclass(frozen=True)
class Capability:
    """Process capability against specification limits (``nan`` for a missing side)."""

    mean: float
    sigma: float
    cp: float
    cpk: float
    lsl: float | None
    usl: float | None


def capability(x: Sequence[float] | np.ndarray, *, lsl: float | None = None,
               usl: float | None = None, sigma: float | None = None) -> Capability:
    """:math:`C_p` and :math:`C_{pk}` of the series (sigma: moving range unless given)."""
    a = _series(x)
    if lsl is None and usl is None:
        raise TwinError("capability needs at least one specification limit")
    if lsl is not None and usl is not None and not lsl < usl:
        raise TwinError(f"specification limits: LSL {lsl:g} must be below USL {usl:g}")
    s = moving_range_sigma(a) if sigma is None else float(sigma)
    if not s > 0:
        raise TwinError("capability needs a process sigma > 0")
    mu = float(np.mean(a))
    cp = (usl - lsl) / (6 * s) if lsl is not None and usl is not None else float("nan")
    sides = [(usl - mu) / (3 * s)] if usl is not None else []
    sides += [(mu - lsl) / (3 * s)] if lsl is not None else []
    return Capability(mu, s, float(cp), float(min(sides)), lsl, usl)


# ----------------------------------------------------------------------------- alarm policy
#: Objects whose points fix a series' centre and sigma (phase I); the baseline keeps
#: learning from every later in-control point.
POLICY_PHASE_ONE = 20
#: CUSUM reference value and decision interval, in sigma of the object means, and the
#: clip of each standardised point before it enters the CUSUM (module docstring, "The
#: line's alarm policy").
POLICY_K = 0.75
POLICY_H = 7.0
POLICY_CLIP = 4.0
#: A single point this many sigma from the centre signals at once (a gross jump that the
#: learning twin would otherwise explain away within a few objects).
POLICY_JUMP = 8.0
#: Memory of the baseline, in learnt points: its centre and variance are running means
#: over all points up to this many, then exponentially weighted with weight 1/POLICY_MEMORY
#: (a slow drift of the line — the calender roll's wear — is followed, a step is not).
POLICY_MEMORY = 50
#: An event ends when every series has been quiet (no signal, both CUSUMs below h/2) for
#: this many of its objects.
EVENT_QUIET = 10
#: The policy's rules with their one-line description.
RULES_POLICY: dict[str, str] = {
    "jump": f"an object's mean beyond {POLICY_JUMP:g} sigma",
    "cusum-up": f"CUSUM up beyond h = {POLICY_H:g} sigma (k = {POLICY_K:g})",
    "cusum-down": f"CUSUM down beyond h = {POLICY_H:g} sigma (k = {POLICY_K:g})",
}


def cusum_arl(k: float, h: float, shift: float = 0.0) -> float:
    r"""Siegmund's approximation of a one-sided tabular CUSUM's average run length (in
    points) for a mean shift of ``shift`` sigma: :math:`\Delta = \delta - k`,
    :math:`b = h + 1.166`, :math:`ARL = (e^{-2\Delta b} + 2\Delta b - 1)/(2\Delta^2)`
    (:math:`b^2` for :math:`\Delta = 0`; Montgomery 2019, eq. 9.7)."""
    delta = shift - k
    b = h + 1.166
    if abs(delta) < 1e-12:
        return b * b
    return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta * delta)


def policy_arl0(n_series: int, *, k: float = POLICY_K, h: float = POLICY_H) -> float:
    """In-control average run length, in objects, of the alarm policy over ``n_series``
    independent series, each a two-sided CUSUM (the two sides' signal rates add; clipping
    the points only lengthens it)."""
    return 1.0 / (n_series * 2.0 / cusum_arl(k, h))


@dataclass
class _SeriesState:
    """One residual series of the policy: baseline sums, CUSUMs, the open object."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    up: float = 0.0
    down: float = 0.0
    quiet: int = 0
    pending: list[float] = field(default_factory=list)
    object_id: str | None = None
    object_sum: float = 0.0
    object_n: int = 0
    object_last: Any = None

    def baseline(self) -> tuple[float, float] | None:
        """Centre and sample standard deviation of the in-control points (None in phase I)."""
        if self.n < POLICY_PHASE_ONE:
            return None
        return self.mean, math.sqrt(self.m2 / (self.n - 1))

    def learn(self, x: float) -> None:
        """Add an in-control point to the baseline: Welford's running mean and variance,
        exponentially weighted once :data:`POLICY_MEMORY` points are learnt."""
        self.n += 1
        w = 1.0 / min(self.n, POLICY_MEMORY)
        d = x - self.mean
        self.mean += w * d
        if self.n <= POLICY_MEMORY:
            self.m2 += d * (x - self.mean)
        else:  # keep m2 / (n - 1) the exponentially weighted variance
            var = self.m2 / (self.n - 2)
            self.m2 = ((1 - w) * var + w * (1 - w) * d * d) * (self.n - 1)


@dataclass(frozen=True)
class PolicySignal:
    """An alarm of the policy: the series ``(parameter, conditions)``, the ``object`` whose
    point completed it, ``rule`` (``cusum-up``, ``cusum-down``), the CUSUM's
    ``value`` (sigma), the ``time`` and the residual's ``last`` record (caller data),
    ``event`` (its number) and ``opens`` (True: the first signal of a new event, the one
    stored; False: a correlated series of an open event)."""

    parameter: str
    conditions: str
    object: str
    rule: str
    value: float
    time: Any
    last: Any
    event: int
    opens: bool


class AlarmPolicy:
    """The line's alarm policy over residual z-scores (module docstring, "The line's alarm
    policy"): per ``(parameter, conditions)`` series, the mean z of each object is one point;
    a two-sided CUSUM (:data:`POLICY_K`, :data:`POLICY_H`) on the points standardised by
    the series' baseline and clipped at :data:`POLICY_CLIP`; signals of all series merged
    into events. Feed residuals in time order with :meth:`add`; call
    :meth:`close` at the end of a stream to judge the last objects."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], _SeriesState] = {}
        self.events = 0
        self.open = False
        self.points = 0

    def add(self, parameter: str, conditions: str, object_id: str, z: float, time: Any,
            last: Any = None) -> list[PolicySignal]:
        """One residual z-score of ``object_id`` in the series; returns the signals of the
        point of the series' previous object, if this residual completed it."""
        key = (parameter, conditions)
        st = self.series.get(key) or self.series.setdefault(key, _SeriesState())
        out: list[PolicySignal] = []
        if st.object_id is not None and st.object_id != object_id:
            out = self._point(key, st)
        if st.object_id != object_id:
            st.object_id, st.object_sum, st.object_n = object_id, 0.0, 0
        z = max(min(float(z), 1e6), -1e6) if math.isfinite(z) else math.copysign(1e6, z)
        st.object_sum += z
        st.object_n += 1
        st.object_last = (time, last)
        return out

    def close(self) -> list[PolicySignal]:
        """Judge every series' open object (the end of a stream)."""
        out: list[PolicySignal] = []
        for key, st in self.series.items():
            if st.object_id is not None and st.object_n:
                out += self._point(key, st)
                st.object_id = None
        return out

    def _point(self, key: tuple[str, str], st: _SeriesState) -> list[PolicySignal]:
        x = st.object_sum / st.object_n
        self.points += 1
        base = st.baseline()
        rules: list[tuple[str, float]] = []
        if base is not None and base[1] > 0:
            centre, sigma = base
            raw = (x - centre) / sigma
            if abs(raw) > POLICY_JUMP:
                rules.append(("jump", raw))
            u = max(min(raw, POLICY_CLIP), -POLICY_CLIP)
            st.up = max(0.0, st.up + u - POLICY_K)
            st.down = max(0.0, st.down - u - POLICY_K)
            if st.up > POLICY_H:
                rules.append(("cusum-up", st.up))
                st.up = 0.0
            if st.down > POLICY_H:
                rules.append(("cusum-down", -st.down))
                st.down = 0.0
        quiet = not rules and max(st.up, st.down) < POLICY_H / 2
        st.quiet = st.quiet + 1 if quiet else 0
        if base is None:  # phase I
            st.learn(x)
        elif rules or self.open:  # the points just before a signal may be the shift's
            st.pending.clear()    # first; nothing is learnt during an event
        else:             # a point is learnt once EVENT_QUIET points follow it unsignalled
            st.pending.append(x)
            if len(st.pending) > EVENT_QUIET:
                st.learn(st.pending.pop(0))
        out: list[PolicySignal] = []
        if rules:
            opens = not self.open
            if opens:
                self.events += 1
                self.open = True
            time, last = st.object_last
            for i, (rule, value) in enumerate(rules):
                out.append(PolicySignal(key[0], key[1], st.object_id or "", rule, value, time,
                                        last, self.events, opens and i == 0))
        elif self.open and all(s.quiet >= EVENT_QUIET or s.baseline() is None
                               for s in self.series.values()):
            self.open = False
        return out
