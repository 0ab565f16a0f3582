"""Queueing formulas for staffing: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M).

Notation used throughout: calls arrive as a Poisson stream of rate λ = calls / interval; the
handle time is exponential with mean AHT (service rate μ = 1 / AHT per agent); the offered load
is A = λ · AHT Erlangs; `n` agents serve one first-come-first-served queue. In Erlang A every
waiting caller also hangs up after an exponential patience of mean `patience_seconds`
(abandonment rate θ = 1 / patience per waiting caller).

Everything is computed without factorials or powers of A, so it stays finite and accurate for
thousands of agents:

* Erlang B by the recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)), every value in [0, 1];
* Erlang C from it: C = n·B / (n − A·(1 − B)) for n > A, and 1 when n ≤ A (the queue is unstable
  and every caller waits);
* Erlang A from the stationary distribution of the birth–death chain on the number of callers in
  the system (birth rate λ; death rate i·μ for i ≤ n, n·μ + k·θ for n + k), kept in log space and
  truncated where the remaining tail is below 1e-12 of the total; the waiting time of an arriving
  caller follows from PASTA and an exact formula for the phase-type chain it then goes through
  (see `erlang_a`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: relative size of the stationary tail dropped when truncating the Erlang A chain
TAIL_TOLERANCE = 1e-12

#: the Erlang A chain may not grow past this many queue states (an overloaded queue with an
#: almost infinite patience: the queue would hold millions of callers)
MAX_QUEUE_STATES = 1_000_000


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """Steady-state performance of one staffing level over one interval.

    * `wait_probability` - the share of calls that find all agents busy and have to queue;
    * `service_level` - the share of all offered calls answered within `answer_within_seconds`
      (calls answered at once count as answered within it; in Erlang A abandoned calls count
      as not answered);
    * `asa_seconds` - average speed of answer: the mean waiting time of answered calls, zero
      waits included (`math.inf` when the queue is unstable);
    * `occupancy` - the share of the agents' time spent handling calls;
    * `abandon_probability` - the share of offered calls that hang up while waiting (always 0
      in Erlang C).
    """

    agents: int
    load_erlangs: float
    answer_within_seconds: float
    wait_probability: float
    service_level: float
    asa_seconds: float
    occupancy: float
    abandon_probability: float = 0.0


# -- validation -------------------------------------------------------------------------------


def _check_traffic(calls: float, interval_seconds: float, aht_seconds: float) -> None:
    if not math.isfinite(calls) or calls < 0:
        raise ValueError(f"calls must be a non-negative number, got {calls!r}")
    if not math.isfinite(interval_seconds) or interval_seconds <= 0:
        raise ValueError(f"interval_seconds must be positive, got {interval_seconds!r}")
    if not math.isfinite(aht_seconds) or aht_seconds <= 0:
        raise ValueError(f"aht_seconds (average handle time) must be positive, got {aht_seconds!r}")


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be a non-negative integer, got {agents!r}")


def _check_answer_within(answer_within_seconds: float) -> None:
    if not math.isfinite(answer_within_seconds) or answer_within_seconds < 0:
        raise ValueError(
            f"answer_within_seconds must be a non-negative number, got {answer_within_seconds!r}"
        )


def _check_patience(patience_seconds: float) -> None:
    if not math.isfinite(patience_seconds) or patience_seconds <= 0:
        raise ValueError(f"patience_seconds must be positive, got {patience_seconds!r}")


def _check_load(load: float) -> None:
    if not math.isfinite(load) or load < 0:
        raise ValueError(f"load (Erlangs) must be a non-negative number, got {load!r}")


# -- Erlang B and C ---------------------------------------------------------------------------


def offered_load(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: calls · AHT / interval (the mean number of busy agents needed)."""
    _check_traffic(calls, interval_seconds, aht_seconds)
    return calls * aht_seconds / interval_seconds


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/n/n (Erlang B) by the stable recursion."""
    _check_agents(agents)
    _check_load(load)
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def _c_from_b(agents: int, load: float, blocking: float) -> float:
    if agents <= load:
        return 1.0
    return agents * blocking / (agents - load * (1.0 - blocking))


def erlang_c_wait_probability(agents: int, load: float) -> float:
    """Erlang C: the probability that a call has to wait, C(n, A); 1 when n ≤ A."""
    if load == 0:
        _check_agents(agents)
        return 0.0
    return _c_from_b(agents, load, erlang_b(agents, load))


def _erlang_c_metrics(
    agents: int, load: float, aht_seconds: float, answer_within_seconds: float, wait: float
) -> QueueMetrics:
    if load == 0:
        return QueueMetrics(agents, 0.0, answer_within_seconds, 0.0, 1.0, 0.0, 0.0)
    if agents <= load:
        return QueueMetrics(agents, load, answer_within_seconds, 1.0, 0.0, math.inf, 1.0)
    spare = agents - load
    service_level = 1.0 - wait * math.exp(-spare * answer_within_seconds / aht_seconds)
    return QueueMetrics(
        agents=agents,
        load_erlangs=load,
        answer_within_seconds=answer_within_seconds,
        wait_probability=wait,
        service_level=min(max(service_level, 0.0), 1.0),
        asa_seconds=wait * aht_seconds / spare,
        occupancy=load / agents,
    )


def erlang_c(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    agents: int,
    *,
    answer_within_seconds: float = 20.0,
) -> QueueMetrics:
    """Erlang C (M/M/n, nobody hangs up) for `calls` offered over `interval_seconds`.

    P(wait) = C(n, A); service level P(wait ≤ t) = 1 − C·exp(−(n − A)·t / AHT);
    ASA = C·AHT / (n − A); occupancy = A / n. With n ≤ A the queue grows without bound:
    P(wait) = 1, service level 0, ASA infinite, occupancy 1.
    """
    _check_traffic(calls, interval_seconds, aht_seconds)
    _check_agents(agents)
    _check_answer_within(answer_within_seconds)
    load = offered_load(calls, interval_seconds, aht_seconds)
    wait = erlang_c_wait_probability(agents, load)
    return _erlang_c_metrics(agents, load, aht_seconds, answer_within_seconds, wait)


# -- Erlang A ---------------------------------------------------------------------------------


def _logsumexp_add(total: float, term: float) -> float:
    """log(exp(total) + exp(term)) without overflow."""
    if total == -math.inf:
        return term
    if term > total:
        total, term = term, total
    return total + math.log1p(math.exp(term - total))


def _too_many_states(agents: int) -> ValueError:
    return ValueError(
        f"the Erlang A queue needs more than {MAX_QUEUE_STATES} states: the patience is too "
        f"long for {agents} agents at this load (use Erlang C or more agents)"
    )


def erlang_a_distribution(
    agents: int, arrival_rate: float, service_rate: float, abandon_rate: float
) -> tuple[list[float], float]:
    """Stationary distribution of the M/M/n+M chain, as natural logs.

    Returns (log_weights, log_total): the unnormalised log-probabilities of the states
    0 .. n + K (state i = i callers in the system) and the log of their sum, so that
    P(i) = exp(log_weights[i] − log_total). K is where the tail past the last state is below
    `TAIL_TOLERANCE` of the total. Birth rate λ everywhere; death rate i·μ in state i ≤ n and
    n·μ + k·θ in state n + k.
    """
    _check_agents(agents)
    for name, rate in (
        ("arrival_rate", arrival_rate),
        ("service_rate", service_rate),
        ("abandon_rate", abandon_rate),
    ):
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"{name} must be positive, got {rate!r}")
    load = arrival_rate / service_rate
    log_load = math.log(load)
    log_lambda = math.log(arrival_rate)
    # states 0..n: A^i / i!
    weights = [i * log_load - math.lgamma(i + 1) for i in range(agents + 1)]
    total = -math.inf
    for weight in weights:
        total = _logsumexp_add(total, weight)
    # states n + k: each step multiplies by λ / (nμ + kθ)
    weight = weights[-1]
    base = agents * service_rate
    if (arrival_rate - base) / abandon_rate > MAX_QUEUE_STATES:  # the queue's mode alone
        raise _too_many_states(agents)
    k = 0
    while True:
        k += 1
        if k > MAX_QUEUE_STATES:
            raise _too_many_states(agents)
        weight += log_lambda - math.log(base + k * abandon_rate)
        weights.append(weight)
        total = _logsumexp_add(total, weight)
        # past the mode every later term shrinks at least by the ratio r = λ / (nμ + (k+1)θ),
        # so the whole remaining tail is at most term · r / (1 − r)
        ratio = arrival_rate / (base + (k + 1) * abandon_rate)
        if ratio < 1 and weight + math.log(ratio / (1 - ratio)) < total + math.log(TAIL_TOLERANCE):
            return weights, total


def erlang_a(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    agents: int,
    *,
    patience_seconds: float,
    answer_within_seconds: float = 20.0,
) -> QueueMetrics:
    """Erlang A (M/M/n+M): Erlang C where waiting callers abandon after Exp(patience).

    By PASTA an arriving caller sees the stationary state. In state i < n it is answered at
    once. In state n + k it queues with k callers ahead; while j callers are ahead it moves up
    at rate r_j = nμ + jθ (an agent frees up, or somebody ahead hangs up) and hangs up itself at
    rate θ; with nobody ahead (j = 0) it is answered at rate nμ. Hence:

    * it is eventually answered with probability Π_j r_j / (r_j + θ) = nμ / (nμ + (k+1)θ);
    * given that, its wait is a sum of independent Exp(q_j), q_j = nμ + (j+1)θ, j = 0..k,
      whose distribution is exact and positive-term: with x = exp(−θt) and α = q_0 / θ,
      P(wait > t) = P(N ≤ k) for N ~ NegativeBinomial(α, x) (because exp(−θ·wait) is
      Beta(α, k+1) distributed); its mean is Σ_j 1 / q_j.

    Reported: P(wait) = P(all agents busy on arrival); P(abandon) = Σ_k P(n+k) · (k+1)θ /
    (nμ + (k+1)θ) (= θ·E[queue] / λ); service level = the share of ALL offered calls answered
    within t (abandoned calls count as failures); ASA = mean wait of answered calls; occupancy
    = carried load A·(1 − P(abandon)) / n.
    """
    _check_traffic(calls, interval_seconds, aht_seconds)
    _check_agents(agents)
    _check_answer_within(answer_within_seconds)
    _check_patience(patience_seconds)
    load = offered_load(calls, interval_seconds, aht_seconds)
    if load == 0:
        return QueueMetrics(agents, 0.0, answer_within_seconds, 0.0, 1.0, 0.0, 0.0)

    lam = calls / interval_seconds
    mu = 1.0 / aht_seconds
    theta = 1.0 / patience_seconds
    t = answer_within_seconds
    weights, total = erlang_a_distribution(agents, lam, mu, theta)

    def prob(state: int) -> float:
        return math.exp(weights[state] - total)

    answered_at_once = sum(prob(i) for i in range(agents))
    base = agents * mu
    # log P(N = j) for N ~ NB(α, x): log x^α = −(nμ + θ)·t, log(1 − x) = log(−expm1(−θt))
    alpha = (base + theta) / theta
    log_one_minus_x = math.log(-math.expm1(-theta * t)) if t > 0 else -math.inf
    log_pmf = -(base + theta) * t
    log_cdf = -math.inf

    wait_probability = 0.0
    abandon = 0.0
    answered_within = 0.0
    answered_after_wait = 0.0
    wait_sum = 0.0  # Σ P(state) · P(answered | state) · E[wait | answered, state]
    mean_wait_given_k = 0.0
    for k in range(len(weights) - agents):
        p_state = prob(agents + k)
        wait_probability += p_state
        q_k = base + (k + 1) * theta
        p_answered = base / q_k
        abandon += p_state * (1.0 - p_answered)
        answered_after_wait += p_state * p_answered
        mean_wait_given_k += 1.0 / q_k
        wait_sum += p_state * p_answered * mean_wait_given_k
        if t > 0:
            if k > 0:
                log_pmf += math.log((alpha + k - 1) / k) + log_one_minus_x
            log_cdf = _logsumexp_add(log_cdf, log_pmf)
            p_wait_over_t = min(math.exp(log_cdf), 1.0)
            answered_within += p_state * p_answered * (1.0 - p_wait_over_t)

    answered = answered_at_once + answered_after_wait
    service_level = answered_at_once + answered_within
    return QueueMetrics(
        agents=agents,
        load_erlangs=load,
        answer_within_seconds=t,
        wait_probability=min(wait_probability, 1.0),
        service_level=min(max(service_level, 0.0), 1.0),
        asa_seconds=wait_sum / answered if answered > 0 else math.inf,
        occupancy=min(load * (1.0 - abandon) / agents, 1.0) if agents else 0.0,
        abandon_probability=min(max(abandon, 0.0), 1.0),
    )


# -- staffing -----------------------------------------------------------------------------------


def _meets(metrics: QueueMetrics, target_sl: float, max_occupancy: float | None) -> bool:
    if metrics.service_level < target_sl:
        return False
    return max_occupancy is None or metrics.occupancy <= max_occupancy


def required_agents(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    *,
    target_sl: float = 0.8,
    answer_within_seconds: float = 20,
    patience_seconds: float | None = None,
    max_occupancy: float | None = None,
) -> int:
    """The smallest number of agents whose service level reaches `target_sl` (and whose
    occupancy stays at or below `max_occupancy`, when given); 0 when no calls are offered.

    Erlang C when `patience_seconds` is None, Erlang A otherwise. Erlang C steps up from
    just above A, updating Erlang B incrementally (one O(A) pass in all). Erlang A starts from
    the Erlang C answer, usually within a few agents of its own, and steps down (or up) to the
    boundary: its service level grows with the number of agents.
    """
    _check_traffic(calls, interval_seconds, aht_seconds)
    _check_answer_within(answer_within_seconds)
    if not 0 < target_sl < 1:
        raise ValueError(f"target_sl must be strictly between 0 and 1, got {target_sl!r}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if patience_seconds is not None:
        _check_patience(patience_seconds)
    if calls == 0:
        return 0
    load = offered_load(calls, interval_seconds, aht_seconds)

    # Erlang C: the first n > A meeting the target
    agents = math.floor(load) + 1
    if max_occupancy is not None:
        agents = max(agents, math.ceil(load / max_occupancy - 1e-12))
    blocking = erlang_b(agents, load)
    while True:
        wait = _c_from_b(agents, load, blocking)
        metrics = _erlang_c_metrics(agents, load, aht_seconds, answer_within_seconds, wait)
        if _meets(metrics, target_sl, max_occupancy):
            break
        agents += 1
        blocking = load * blocking / (agents + load * blocking)
    if patience_seconds is None:
        return agents
    patience = patience_seconds

    # Erlang A: its service level also grows with n, but it may need fewer agents (impatient
    # callers leave the queue) or more (a caller who hangs up is never answered in time) than
    # Erlang C; start from the Erlang C answer and walk to the boundary
    def erlang_a_meets(level: int) -> bool:
        metrics = erlang_a(
            calls,
            interval_seconds,
            aht_seconds,
            level,
            patience_seconds=patience,
            answer_within_seconds=answer_within_seconds,
        )
        return _meets(metrics, target_sl, max_occupancy)

    if erlang_a_meets(agents):
        while agents > 1 and erlang_a_meets(agents - 1):
            agents -= 1
        return agents
    while not erlang_a_meets(agents + 1):
        agents += 1
    return agents + 1
