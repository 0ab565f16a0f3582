"""Erlang B/C/A staffing formulas: published values, stability, limits and identities."""

from __future__ import annotations

import itertools
import math

import pytest

from ekc_roster.erlang import (
    erlang_a,
    erlang_a_distribution,
    erlang_b,
    erlang_c,
    erlang_c_wait_probability,
    offered_load,
    required_agents,
)

# the textbook example: 100 calls per half hour, AHT 3 minutes -> 10 Erlangs
CALLS, INTERVAL, AHT = 100, 1800, 180


def test_offered_load_in_erlangs():
    assert offered_load(CALLS, INTERVAL, AHT) == pytest.approx(10.0)
    assert offered_load(360, 3600, 240) == pytest.approx(24.0)


def test_erlang_b_matches_the_closed_form_for_small_systems():
    # B(n, A) = (A^n / n!) / sum_k A^k / k!
    for agents, load in ((1, 0.5), (5, 3.0), (12, 10.0)):
        terms = [load**k / math.factorial(k) for k in range(agents + 1)]
        assert erlang_b(agents, load) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_published_reference_for_14_agents():
    metrics = erlang_c(CALLS, INTERVAL, AHT, 14, answer_within_seconds=20)
    assert metrics.wait_probability == pytest.approx(0.174, abs=0.001)
    assert metrics.service_level == pytest.approx(0.888, abs=0.001)
    # ASA = C * AHT / (n - A); occupancy = A / n
    assert metrics.asa_seconds == pytest.approx(metrics.wait_probability * AHT / 4)
    assert metrics.asa_seconds == pytest.approx(7.84, abs=0.01)
    assert metrics.occupancy == pytest.approx(10 / 14)
    assert metrics.abandon_probability == 0.0


def test_required_agents_for_80_20_is_14_not_13():
    # 13 agents: C = 0.2853, SL = 1 - 0.2853 * exp(-3 * 20 / 180) = 0.7956 -> just misses 80 %
    thirteen = erlang_c(CALLS, INTERVAL, AHT, 13)
    assert thirteen.wait_probability == pytest.approx(0.2853, abs=1e-4)
    assert thirteen.service_level == pytest.approx(0.7956, abs=1e-4)
    assert thirteen.service_level < 0.8
    # 12 agents are far off: SL 0.640
    assert erlang_c(CALLS, INTERVAL, AHT, 12).service_level == pytest.approx(0.6402, abs=1e-4)
    assert erlang_c(CALLS, INTERVAL, AHT, 14).service_level >= 0.8
    assert required_agents(CALLS, INTERVAL, AHT, target_sl=0.8, answer_within_seconds=20) == 14
    # a softer target is met by 13
    assert required_agents(CALLS, INTERVAL, AHT, target_sl=0.79) == 13


def test_unstable_queue_when_agents_do_not_exceed_the_load():
    for agents in (0, 5, 10):
        metrics = erlang_c(CALLS, INTERVAL, AHT, agents)
        assert metrics.wait_probability == 1.0
        assert metrics.service_level == 0.0
        assert metrics.asa_seconds == math.inf


def test_service_level_grows_with_agents():
    levels_c = [erlang_c(CALLS, INTERVAL, AHT, n).service_level for n in range(11, 25)]
    levels_a = [
        erlang_a(CALLS, INTERVAL, AHT, n, patience_seconds=90).service_level for n in range(1, 25)
    ]
    for levels in (levels_c, levels_a):
        assert all(b > a for a, b in itertools.pairwise(levels))
    assert levels_c[-1] > 0.999
    assert levels_a[0] < 0.1 < 0.99 < levels_a[-1]


def test_large_systems_stay_finite():
    # 800 Erlangs on 850 agents: A^n / n! alone would overflow a double many times over
    calls = 800 * INTERVAL / AHT
    for metrics in (
        erlang_c(calls, INTERVAL, AHT, 850),
        erlang_a(calls, INTERVAL, AHT, 850, patience_seconds=120),
        erlang_a(calls, INTERVAL, AHT, 780, patience_seconds=120),
    ):
        for value in (
            metrics.wait_probability,
            metrics.service_level,
            metrics.occupancy,
            metrics.abandon_probability,
        ):
            assert math.isfinite(value)
            assert 0.0 <= value <= 1.0
        assert math.isfinite(metrics.asa_seconds)
    c_850 = erlang_c(calls, INTERVAL, AHT, 850)
    assert 0.01 < c_850.wait_probability < 0.2  # a busy but stable centre
    assert 0 < erlang_b(5000, 4800.0) < 0.05
    assert 0 < erlang_c_wait_probability(5000, 4800.0) < 1


def test_erlang_a_tends_to_erlang_c_with_infinite_patience():
    for agents in (12, 14, 18):
        c = erlang_c(CALLS, INTERVAL, AHT, agents)
        a = erlang_a(CALLS, INTERVAL, AHT, agents, patience_seconds=1e9)
        assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
        assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-4)
        assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-4)
        assert a.abandon_probability < 1e-6


def test_erlang_a_abandonment_obeys_littles_law():
    # P(abandon) = theta * E[queue] / lambda, the queue taken from the stationary distribution
    lam, mu = CALLS / INTERVAL, 1 / AHT
    for agents, patience in ((8, 60.0), (10, 120.0), (13, 300.0), (20, 30.0)):
        theta = 1 / patience
        weights, total = erlang_a_distribution(agents, lam, mu, theta)
        probs = [math.exp(w - total) for w in weights]
        assert sum(probs) == pytest.approx(1.0, abs=1e-12)
        queue = sum(k * p for k, p in enumerate(probs[agents:]))
        metrics = erlang_a(CALLS, INTERVAL, AHT, agents, patience_seconds=patience)
        assert metrics.abandon_probability == pytest.approx(theta * queue / lam, abs=1e-6)
        assert metrics.abandon_probability > 1e-4
        # every offered call is answered or abandons: carried load = A * (1 - P(abandon))
        busy = sum(min(i, agents) * p for i, p in enumerate(probs))
        assert metrics.occupancy == pytest.approx(busy / agents, abs=1e-9)


def _poisson_weights(rate_t: float, count: int) -> list[float]:
    weights = [math.exp(-rate_t)]
    for m in range(1, count):
        weights.append(weights[-1] * rate_t / m)
    return weights


def _answered_within_by_uniformization(agents, mu, theta, ahead, t):
    """P(answered within t) for a caller with `ahead` callers in front of it, by uniformization
    of its absorbing chain (states: callers ahead j = ahead..0, then answered / abandoned)."""
    rate = agents * mu + (ahead + 1) * theta  # the largest exit rate
    state = [0.0] * (ahead + 1)
    state[ahead] = 1.0
    answered = 0.0
    total = 0.0
    for weight in _poisson_weights(rate * t, 100):
        total += weight * answered
        nxt = [0.0] * (ahead + 1)
        new_answered = answered
        for j, p in enumerate(state):
            forward = agents * mu + j * theta
            if j == 0:
                new_answered += p * agents * mu / rate
            else:
                nxt[j - 1] += p * forward / rate
            nxt[j] += p * (1 - (forward + theta) / rate)
        state, answered = nxt, new_answered
    return total


def test_erlang_a_service_level_matches_uniformization():
    # an independent, brute-force computation of the waiting-time side for a small system
    calls, interval, aht, agents, patience, t = 30, 1800, 180, 4, 60.0, 30.0
    lam, mu, theta = calls / interval, 1 / aht, 1 / patience
    # stationary distribution by plain products (small numbers, no logs needed)
    weights = [(lam / mu) ** i / math.factorial(i) for i in range(agents + 1)]
    for k in range(1, 40):
        weights.append(weights[-1] * lam / (agents * mu + k * theta))
    norm = sum(weights)
    probs = [w / norm for w in weights]
    expected = sum(probs[:agents]) + sum(
        p * _answered_within_by_uniformization(agents, mu, theta, k, t)
        for k, p in enumerate(probs[agents:])
    )
    metrics = erlang_a(
        calls, interval, aht, agents, patience_seconds=patience, answer_within_seconds=t
    )
    assert metrics.service_level == pytest.approx(expected, abs=1e-9)
    assert metrics.wait_probability == pytest.approx(sum(probs[agents:]), abs=1e-12)


def test_erlang_a_needs_no_more_agents_than_erlang_c_at_80_20():
    for calls, aht in ((100, 180), (600, 297), (2500, 362)):
        plain = required_agents(calls, INTERVAL, aht)
        for patience in (30.0, 120.0, 600.0):
            with_patience = required_agents(calls, INTERVAL, aht, patience_seconds=patience)
            assert with_patience <= plain
            # and it is the smallest: one agent fewer misses the target
            below = erlang_a(calls, INTERVAL, aht, with_patience - 1, patience_seconds=patience)
            assert below.service_level < 0.8
        assert required_agents(calls, INTERVAL, aht, patience_seconds=30.0) < plain


def test_erlang_a_can_need_more_agents_when_the_answer_window_is_long():
    # callers who hang up after ~5 s are never answered within 10 minutes, while in Erlang C
    # almost everybody is: the search must be able to step up from the Erlang C answer
    plain = required_agents(CALLS, INTERVAL, AHT, target_sl=0.9, answer_within_seconds=600)
    impatient = required_agents(
        CALLS, INTERVAL, AHT, target_sl=0.9, answer_within_seconds=600, patience_seconds=5
    )
    assert impatient > plain
    reached = erlang_a(
        CALLS, INTERVAL, AHT, impatient, patience_seconds=5, answer_within_seconds=600
    )
    short = erlang_a(
        CALLS, INTERVAL, AHT, impatient - 1, patience_seconds=5, answer_within_seconds=600
    )
    assert reached.service_level >= 0.9 > short.service_level


def test_required_agents_for_a_large_centre():
    calls = 500 * INTERVAL / AHT  # 500 Erlangs
    agents = required_agents(calls, INTERVAL, AHT)
    assert erlang_c(calls, INTERVAL, AHT, agents).service_level >= 0.8
    assert erlang_c(calls, INTERVAL, AHT, agents - 1).service_level < 0.8
    assert 500 < agents < 530  # economies of scale: a few per cent above the load
    with_patience = required_agents(calls, INTERVAL, AHT, patience_seconds=120)
    assert with_patience <= agents


def test_max_occupancy_can_force_more_agents():
    # 80/20 needs 14 agents at 71 % occupancy; capping occupancy at 60 % needs 17
    assert required_agents(CALLS, INTERVAL, AHT, max_occupancy=0.6) == 17
    assert (
        erlang_c(CALLS, INTERVAL, AHT, 17).occupancy
        <= 0.6
        < erlang_c(CALLS, INTERVAL, AHT, 16).occupancy
    )


def test_zero_calls_need_zero_agents():
    assert required_agents(0, INTERVAL, AHT) == 0
    assert required_agents(0, INTERVAL, AHT, patience_seconds=60) == 0
    idle = erlang_c(0, INTERVAL, AHT, 3)
    assert (idle.wait_probability, idle.service_level, idle.occupancy) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": -1}, "calls"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"aht_seconds": -5}, "aht_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"target_sl": 0}, "target_sl"),
        ({"target_sl": 1}, "target_sl"),
        ({"target_sl": 1.2}, "target_sl"),
        ({"patience_seconds": 0}, "patience_seconds"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"answer_within_seconds": -1}, "answer_within_seconds"),
    ],
)
def test_invalid_input_is_refused(kwargs, message):
    args = {"calls": CALLS, "interval_seconds": INTERVAL, "aht_seconds": AHT} | kwargs
    with pytest.raises(ValueError, match=message):
        required_agents(
            args.pop("calls"), args.pop("interval_seconds"), args.pop("aht_seconds"), **args
        )


def test_invalid_agents_and_load_are_refused():
    with pytest.raises(ValueError, match="agents"):
        erlang_c(CALLS, INTERVAL, AHT, -1)
    with pytest.raises(ValueError, match="load"):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError, match="calls"):
        offered_load(-3, INTERVAL, AHT)
