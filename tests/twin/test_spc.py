"""SPC: each run rule fires on its textbook pattern at the point that completes it, and white
noise raises them at the rate theory gives; EWMA and CUSUM catch a small sustained shift that
the 3-sigma rule misses; capability indices against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinline.twin.errors import TwinError
from twinline.twin.spc import (
    D2,
    capability,
    chart_alarms,
    cusum,
    ewma,
    individuals_chart,
    moving_range_sigma,
    run_rules,
)

BASE = [0.0] * 5  # on the centre line: no side, no trend, no alternation


def _fires(series, rule):
    return [a.index for a in run_rules(series, centre=0.0, sigma=1.0, rules=[rule])]


@pytest.mark.parametrize(("rule", "pattern", "at"), [
    (1, [3.5], 0),
    (2, [0.5] * 9, 8),
    (3, [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0], 5),
    (4, [0.0] + [0.4, -0.4] * 6 + [0.4], 13),
    (5, [2.5, 0.0, 2.2], 2),
    (6, [1.5, 1.2, 0.0, 1.8, 1.1], 4),
    (7, [0.1, -0.1, 0.2, -0.2, 0.1, 0.05, -0.05, 0.0, 0.15, -0.15, 0.1, -0.1, 0.2, 0.1,
         -0.2], 14),
    (8, [1.5, -1.5, 1.2, -1.8, 1.3, -1.1, 1.4, -1.6], 7),
])
def test_each_rule_fires_where_its_pattern_completes(rule, pattern, at):
    base = [1.5, -1.5] * 3 if rule == 7 else BASE  # rule 7 counts points near the centre
    series = base + list(pattern) + base
    fired = _fires(series, rule)
    assert fired == [len(base) + at], fired  # once, where the pattern completes


def test_on_white_noise_the_3_sigma_rule_fires_at_its_theoretical_rate():
    x = np.random.default_rng(7).standard_normal(100_000)
    rate = len(_fires(x, 1)) / x.size
    assert rate == pytest.approx(math.erfc(3 / math.sqrt(2)), rel=0.1)  # 0.27 %


def test_on_white_noise_every_rule_is_rare():
    x = np.random.default_rng(5).standard_normal(50_000)
    for rule in range(2, 9):
        rate = len(_fires(x, rule)) / x.size
        assert 0 < rate < 0.006, (rule, rate)
    # rule 2: a run of nine on one side starts with probability about 2 * 0.5**9 / 2
    assert len(_fires(x, 2)) / x.size == pytest.approx(0.5 ** 9, rel=0.25)


def test_moving_range_sigma_estimates_sigma_of_white_noise():
    x = np.random.default_rng(1).normal(10.0, 2.0, 50_000)
    assert moving_range_sigma(x) == pytest.approx(2.0, rel=0.02)
    chart = individuals_chart(x)
    assert chart.ucl - chart.centre == pytest.approx(3 * chart.sigma)
    assert chart.mr_ucl == pytest.approx(3.267 * chart.sigma * D2)


def test_ewma_and_cusum_catch_a_one_sigma_shift_that_the_3_sigma_rule_misses():
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.standard_normal(50), 1.0 + rng.standard_normal(50)])
    kinds = {a.rule: a.index for a in reversed(chart_alarms(x, centre=0.0, sigma=1.0,
                                                            rules=[1]))}
    assert "ewma" in kinds and kinds["ewma"] >= 50
    assert "cusum-up" in kinds and 50 <= kinds["cusum-up"] < 75
    assert "nelson-1" not in kinds or kinds["nelson-1"] >= 50


def test_ewma_limits_grow_to_their_asymptote():
    z, half = ewma(np.zeros(200), centre=0.0, sigma=1.0, lam=0.2)
    assert np.all(z == 0)
    assert half[0] == pytest.approx(3 * 0.2)  # sqrt(lam/(2-lam) (1-(1-lam)^2)) = lam
    assert half[-1] == pytest.approx(3 * math.sqrt(0.2 / 1.8))


def test_cusum_by_hand():
    up, down, h = cusum([0.0, 1.0, 2.0, -3.0], centre=0.0, sigma=1.0, k=0.5, h=5.0)
    assert up.tolist() == [0.0, 0.5, 2.0, 0.0]
    assert down.tolist() == [0.0, 0.0, 0.0, 2.5]
    assert h == 5.0


def test_capability_by_hand():
    c = capability([9.0, 10.0, 11.0, 10.0], lsl=7.0, usl=14.0, sigma=1.0)
    assert c.mean == 10.0
    assert c.cp == pytest.approx(7 / 6)
    assert c.cpk == pytest.approx(1.0)  # the lower side is nearer
    one = capability([10.0, 10.5], usl=13.0, sigma=1.0)
    assert math.isnan(one.cp) and one.cpk == pytest.approx((13 - 10.25) / 3)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(TwinError, match="finite"):
        run_rules([1.0, float("nan")], centre=0.0, sigma=1.0)
    with pytest.raises(TwinError, match="sigma"):
        run_rules([1.0], centre=0.0, sigma=0.0)
    with pytest.raises(TwinError, match="LSL"):
        capability([1.0, 2.0], lsl=3.0, usl=2.0)


# ----------------------------------------------------------------------------- alarm policy
def test_cusum_arl_matches_the_textbook_table():
    """Montgomery (2019) Table 9.3, k = 0.5: two-sided ARL0 168 (h = 4) and 465 (h = 5),
    ARL1 10.4 for a one-sigma shift at h = 5 (Siegmund's approximation, one side)."""
    from twinline.twin.spc import cusum_arl, policy_arl0

    assert cusum_arl(0.5, 4.0) / 2 == pytest.approx(168, rel=0.02)
    assert cusum_arl(0.5, 5.0) / 2 == pytest.approx(465, rel=0.02)
    assert cusum_arl(0.5, 5.0, 1.0) == pytest.approx(10.4, rel=0.02)
    assert policy_arl0(10) > 5000          # the policy: < 0.2 false alarms per 1000 objects


def test_cusum_arl_against_a_monte_carlo_of_the_chart():
    """The approximation against the chart itself (h = 4, k = 0.5, one side, 3000 runs)."""
    from twinline.twin.spc import cusum_arl

    rng = np.random.default_rng(5)
    lengths = []
    for _ in range(3000):
        c, n = 0.0, 0
        while c <= 4.0:
            c = max(0.0, c + rng.normal() - 0.5)
            n += 1
        lengths.append(n)
    assert np.mean(lengths) == pytest.approx(cusum_arl(0.5, 4.0), rel=0.08)


def _feed(policy, x, *, series=("a",), start=0):
    signals = []
    for i, row in enumerate(x):
        for name, v in zip(series, np.atleast_1d(row), strict=True):
            signals += policy.add(name, "", f"O{start + i:05d}", float(v), start + i)
    return signals


def test_policy_white_noise_stays_quiet_and_a_step_is_one_event_within_20_objects():
    from twinline.twin.spc import AlarmPolicy, policy_arl0

    rng = np.random.default_rng(3)
    policy = AlarmPolicy()
    n = 20000
    quiet = [s for s in _feed(policy, rng.normal(0.0, 0.1, (n, 4)),
                              series=("a", "b", "c", "d")) if s.opens]
    expected = n / policy_arl0(4)                   # 0.9 false alarms in 20 000 objects
    assert len(quiet) <= 6, (len(quiet), expected)   # P(Poisson(0.9) > 6) < 0.01 %
    assert 1000 * len(quiet) / n < 1.0              # the goal's budget per 1000 objects
    # a 1.5-sigma step in two correlated series: one event each time, found within 20
    # objects (ARL1 of one CUSUM: 10.0 objects)
    policy = AlarmPolicy()
    _feed(policy, rng.normal(0.0, 0.1, (200, 4)), series=("a", "b", "c", "d"))
    delays = []
    for rep in range(20):
        start = 1000 * (rep + 1)
        step = rng.normal(0.0, 0.1, (60, 4)) + np.array([0.15, 0.15, 0.0, 0.0])
        signals = _feed(policy, step, series=("a", "b", "c", "d"), start=start)
        opens = [s for s in signals if s.opens]
        assert len(opens) == 1 and {s.parameter for s in signals} <= {"a", "b"}, rep
        delays.append(opens[0].time - start + 1)
        _feed(policy, rng.normal(0.0, 0.1, (100, 4)), series=("a", "b", "c", "d"),
              start=start + 60)                     # back in control: the event closes
        assert not policy.open
    assert np.mean(delays) <= 15 and max(delays) <= 40, delays


def test_policy_ignores_a_single_outlier_and_objects_are_means():
    from twinline.twin.spc import AlarmPolicy

    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, 200)
    x[100] = 6.5                                   # one outlier: clipped at 4, no alarm
    policy = AlarmPolicy()
    assert [s for s in _feed(policy, x) if s.opens] == []
    x[150] = 50.0                                  # a gross jump: at once
    policy = AlarmPolicy()
    opens = [s for s in _feed(policy, x) if s.opens]
    assert [(s.rule, s.time) for s in opens] == [("jump", 150)]
    # five samples of one object form one point: 5 residuals, one object
    p2 = AlarmPolicy()
    for i in range(5):
        p2.add("a", "", "O1", 1.0, i)
    assert p2.close() == [] and p2.points == 1
