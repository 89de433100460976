r"""Where to resume judging a stored series: the kept tail of the points already judged.

The twin loop's judges (the control charts of :mod:`twinline.twin.spc`, the specification
and capability alarms of :mod:`twinline.twin.capability`) are *causal*: what they say at
point :math:`i` of a series (time, then record order) depends on the points up to
:math:`i` only (and, for a raw measurement chart, on its phase-I head). A loop that judged
a series of :math:`n` points before therefore needs to judge only what follows, given its
state after point :math:`n-1` — the EWMA value, the CUSUM sums, the running sums of the
capability index — and a bounded look-back of values (the widest run rule, the capability
window).

:class:`SeriesTail` keeps the keys ``(time, record pk, value)`` and states of the last
:data:`KEEP` judged points; :func:`resume_index` compares them with the newest points read
from the store and says from which point on the series has to be judged again:

* the points read start at index :math:`g` (the store's count minus the points read); the
  kept tail at index :math:`b = n - K`; the first kept key that differs from the point
  read at its index (a point stored since, with an earlier time — a late delivery — or a
  changed value) is at :math:`r`, else :math:`r = n` (only appended points);
* everything before :math:`r` is unchanged (no point can be inserted before :math:`b`
  without shifting the read window, which shows as a difference at :math:`b` itself), so
  judging from :math:`r` with the kept state after :math:`r-1` gives what judging the
  whole series gives at points :math:`\ge r`, and the alarms before :math:`r` were
  stored when they were judged;
* when the kept states or the read look-back do not reach back far enough (an insert deep
  in the history, no tail kept — a restarted loop), the answer is None: judge the whole
  series once (it is read whole, as before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Judged points whose keys and states are kept per series (more than the longest
#: look-back: the capability window, 30, and the widest run rule, 15).
KEEP = 64


@dataclass
class SeriesTail:
    """The last judged points of one series: ``n`` points judged, the ``keys`` and
    ``states`` of the last :data:`KEEP` of them (global indices ``base .. n-1``) and
    ``head``: the keys of the series' phase-I points its judgement used (if any)."""

    n: int = 0
    keys: list[tuple[Any, int, float]] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)
    head: tuple[tuple[Any, int, float], ...] = ()

    @property
    def base(self) -> int:
        """Global index of the first kept point."""
        return self.n - len(self.keys)

    def state(self, index: int) -> Any:
        """The kept state after global point ``index``."""
        return self.states[index - self.base]

    def extended(
        self,
        r: int,
        keys: list[tuple[Any, int, float]],
        states: list[Any],
        head: tuple[tuple[Any, int, float], ...] = (),
    ) -> SeriesTail:
        """This tail judged again from point ``r`` on, with the ``keys`` and ``states`` of
        points ``r, r+1, ...``; keeps the last :data:`KEEP`."""
        keep = r - self.base
        if keep < 0:
            raise ValueError(f"resume point {r} lies before the kept tail ({self.base})")
        k = (self.keys[:keep] + keys)[-KEEP:]
        s = (self.states[:keep] + states)[-KEEP:]
        return SeriesTail(r + len(keys), k, s, head)


def resume_index(
    tail: SeriesTail | None,
    total: int,
    first: int,
    read: list[tuple[Any, int, float]],
    *,
    states_back: int,
    look_back: int,
) -> int | None:
    """The first point to judge again (see the module docstring), or None: judge all.

    ``total``: points of the series now; ``read``: the keys of its points ``first ..
    total-1``; ``states_back``: kept states needed before the resumed point;
    ``look_back``: values needed before it (they must lie in ``read``)."""
    if tail is None or total < tail.n or first > tail.base:
        return None
    off = tail.base - first
    p = 0
    while p < len(tail.keys) and off + p < len(read) and read[off + p] == tail.keys[p]:
        p += 1
    r = tail.base + p
    if max(r - states_back, 0) < tail.base or max(r - look_back, 0) < first:
        return None
    return r
