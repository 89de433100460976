r"""A control chart judged point by point as its series grows (the twin loop's charts).

:func:`~twinline.twin.spc.chart_alarms` judges a whole series: the run rules, the EWMA
(Roberts 1959) and the two-sided tabular CUSUM (Page 1954) of :mod:`twinline.twin.spc`.
Each is causal, so the alarms of a longer series are those of the shorter one plus the
alarms at the new points; :func:`judge_chart` gives exactly those (the same indices,
values and messages, bit for bit), from

* the state after the last judged point (:class:`ChartState`: :math:`z_{t}` of the EWMA,
  :math:`C^+_t, C^-_t` of the CUSUM and whether each was beyond its limit — an alarm is
  raised where a chart *enters* the out-of-limit region), carried in a
  :class:`~twinline.twin.tails.SeriesTail`;
* the :data:`RULE_WIDTH` points before the first new point: a rule's pattern at point
  :math:`i` covers the points :math:`i-w+1 .. i`, and it signals at :math:`i` only when it
  did not hold at :math:`i-1`, whose pattern starts at :math:`i-w`.

The EWMA and CUSUM are recursions over the whole history (their states cannot be rebuilt
from a bounded tail exactly), so a loop that starts — or finds the series changed before
its kept tail — judges the whole series once, as :func:`~twinline.twin.spc.chart_alarms`
does.

References
----------
.. [1] S. W. Roberts, Technometrics 1 (1959) 239-250 (EWMA).
.. [2] E. S. Page, Biometrika 41 (1954) 100-115 (CUSUM).
.. [3] L. S. Nelson, J. Quality Technology 16 (1984) 237-239 (run rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from twinline.twin.spc import Alarm, run_rules
from twinline.twin.tails import SeriesTail, resume_index

#: Points of each Nelson rule's pattern (:func:`~twinline.twin.spc.run_rules`): rule 3's
#: six points are five differences, rule 4's fourteen points thirteen.
RULE_WIDTH: dict[int, int] = {1: 1, 2: 9, 3: 6, 4: 14, 5: 3, 6: 5, 7: 15, 8: 8}


@dataclass(frozen=True)
class ChartState:
    """A chart's state after one point: the EWMA statistic and whether it lay beyond its
    limits, the upper and lower CUSUM sums and whether each exceeded :math:`H`."""

    ewma: float
    ewma_out: bool
    up: float
    down: float
    up_over: bool
    down_over: bool


def look_back(rules: Sequence[int]) -> int:
    """Values needed before the first point judged anew: the widest pattern of ``rules``."""
    return max((RULE_WIDTH[r] for r in rules), default=1)


def judge_chart(
    values: Sequence[float],
    keys: list[tuple[Any, int, float]],
    first: int,
    total: int,
    tail: SeriesTail | None,
    *,
    centre: float,
    sigma: float,
    rules: Sequence[int],
    head: tuple[tuple[Any, int, float], ...] = (),
    lam: float = 0.2,
    k: float = 0.5,
    h: float = 5.0,
    width: float = 3.0,
) -> tuple[list[Alarm], SeriesTail] | None:
    """The alarms of :func:`~twinline.twin.spc.chart_alarms` at the points not judged
    before, and the tail to keep; None when the whole series must be judged (then call
    again with ``tail=None`` and every point, ``first=0``).

    ``values``, ``keys``: the values and keys ``(time, pk, value)`` of the series' points
    ``first .. total-1`` (the newest ones); ``tail``: what the last call kept; ``head``:
    the keys of the points that fixed ``centre`` and ``sigma`` (a changed head judges all
    again). Chart parameters as in :func:`~twinline.twin.spc.chart_alarms`."""
    back = look_back(rules)
    if tail is not None and tail.head != head:
        tail = None
    r = resume_index(tail, total, first, keys, states_back=1, look_back=back)
    if r is None:
        if first > 0:
            return None
        tail, r = None, 0
    if r >= total:
        return [], tail if tail is not None else SeriesTail(head=head)
    s = max(r - back, 0)
    a = np.asarray(values[s - first :], dtype=float)
    alarms = [
        replace(al, index=al.index + s)
        for al in run_rules(a, centre=centre, sigma=sigma, rules=rules)
        if al.index + s >= r
    ]
    st: ChartState | None = tail.state(r - 1) if tail is not None and r > 0 else None
    prev = float(centre) if st is None else st.ewma
    out_prev = False if st is None else st.ewma_out
    cu, cd = (0.0, 0.0) if st is None else (st.up, st.down)
    over = {
        "cusum-up": False if st is None else st.up_over,
        "cusum-down": False if st is None else st.down_over,
    }
    t = np.arange(r + 1, total + 1)
    half = width * sigma * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))
    big_k, big_h = k * sigma, h * sigma
    states = []
    for j, i in enumerate(range(r, total)):
        v = a[i - s]
        prev = lam * v + (1 - lam) * prev  # the recursions of spc.ewma and spc.cusum
        out = bool(np.abs(prev - centre) > half[j])
        if out and not out_prev:
            alarms.append(
                Alarm(i, "ewma", float(v), f"EWMA {prev:.4g} beyond {centre:.4g} ± {half[j]:.3g}")
            )
        out_prev = out
        cu = max(0.0, v - centre - big_k + cu)
        cd = max(0.0, centre - big_k - v + cd)
        for name, c in (("cusum-up", cu), ("cusum-down", cd)):
            c = np.float64(c)
            beyond = bool(c > big_h)
            if beyond and not over[name]:
                alarms.append(
                    Alarm(i, name, float(v), f"CUSUM {name[6:]} {c:.4g} > H = {big_h:.4g}")
                )
            over[name] = beyond
        states.append(
            ChartState(float(prev), out, float(cu), float(cd), over["cusum-up"], over["cusum-down"])
        )
    base = tail if tail is not None else SeriesTail()
    new_tail = base.extended(r, keys[r - first :], states, head)
    return sorted(alarms, key=lambda al: (al.index, al.rule)), new_tail
