"""The options of `ekc-admin simulate contacts` that need more than a range check: the rate
(`6/min`) and the topic streams (`--topic svo=45`, `--mix svo-surge`).

A topic stream is a weight per topic: a top-level topic (`svo`: all of its scenarios) or a
sub-topic (`svo.contract`: only its own). `--mix` starts from a named mix; `--topic` then
sets the weight of the topics it names (0 leaves a topic out); `--topic` alone gives a stream
of just the topics named. Every problem is a Russian message naming the option (exit 2).
"""

from __future__ import annotations

import math

from ekc_admin.simulate_mix import SCENARIOS, TOPIC_WEIGHTS

#: faster than this is a load test of the simulator itself, not of the centre
MAX_RATE_PER_SECOND = 100.0
RATE_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "с": 1.0,
    "сек": 1.0,
    "m": 60.0,
    "min": 60.0,
    "мин": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "ч": 3600.0,
}
#: a topic's weight is relative; more than this is a typo
MAX_TOPIC_WEIGHT = 10_000.0


def parse_rate(raw: str) -> float:
    """`6/min`, `6` (per minute), `0.5/s`, `120/h` → arrivals per second; ValueError says why."""
    text = raw.strip().lower().replace(",", ".")
    number, _, unit = text.partition("/")
    unit = unit.strip() or "min"
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"«{number.strip()}» не число") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError("интенсивность должна быть больше нуля")
    if unit not in RATE_UNITS:
        raise ValueError(f"неизвестная единица «{unit}» (s, min или h)")
    per_second = value / RATE_UNITS[unit]
    if per_second > MAX_RATE_PER_SECOND:
        raise ValueError(f"не больше {MAX_RATE_PER_SECOND:g} в секунду")
    return per_second


def _surge(top: str, share: float) -> dict[str, float]:
    """The centre's mix with `top` at `share` of all contacts, the rest in proportion."""
    rest = sum(w for code, w in TOPIC_WEIGHTS.items() if code != top)
    scale = (1 - share) * 100 / rest
    return {code: (share * 100 if code == top else w * scale) for code, w in TOPIC_WEIGHTS.items()}


#: named mixes: name → (what it is, in Russian; topic weights)
MIXES: dict[str, tuple[str, dict[str, float]]] = {
    "centre": ("обычный день центра (СВО 45 %)", dict(TOPIC_WEIGHTS)),
    "svo-surge": ("всплеск по СВО (70 %): новости о выплатах или наборе", _surge("svo", 0.70)),
    "housing-outage": ("авария ЖКХ (40 %): отключение тепла или воды", _surge("housing", 0.40)),
    "medicine-flu": ("эпидемия гриппа: здравоохранение 35 %", _surge("medicine", 0.35)),
}


def topic_codes() -> set[str]:
    """The codes a stream may name: top-level topics and the sub-topics with scenarios."""
    return set(SCENARIOS) | {code for items in SCENARIOS.values() for code, _ in items}


def parse_topic(raw: str) -> tuple[str, float]:
    """`svo=45`, `svo.contract=10`, `svo` (weight 1) → (code, weight); ValueError says why."""
    code, eq, number = raw.strip().partition("=")
    code = code.strip()
    if not code:
        raise ValueError("нужно «тематика=вес», например svo=45")
    if code not in topic_codes():
        tops = ", ".join(SCENARIOS)
        raise ValueError(f"нет тематики «{code}» (верхние тематики: {tops})")
    if not eq:
        return code, 1.0
    try:
        weight = float(number.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"вес «{number.strip()}» не число") from None
    if not math.isfinite(weight) or not 0 <= weight <= MAX_TOPIC_WEIGHT:
        raise ValueError(f"вес от 0 до {MAX_TOPIC_WEIGHT:g}")
    return code, weight


def topic_weights(mix: str | None, topics: list[str]) -> dict[str, float] | None:
    """The stream's weights from `--mix` and `--topic` values; None: the centre's usual mix.

    Raises ValueError(option, raw value, reason)."""
    if mix is not None and mix not in MIXES:
        names = ", ".join(MIXES)
        raise ValueError("--mix", mix, f"нет такой смеси (есть: {names})")
    if mix is None and not topics:
        return None
    weights = dict(MIXES[mix][1]) if mix is not None else {}
    named: set[str] = set()
    for raw in topics:
        try:
            code, weight = parse_topic(raw)
        except ValueError as exc:
            raise ValueError("--topic", raw, str(exc)) from None
        if code in named:
            raise ValueError("--topic", raw, f"тематика «{code}» указана дважды")
        named.add(code)
        weights[code] = weight
    weights = {code: w for code, w in weights.items() if w > 0}
    if not weights:
        raise ValueError("--topic", " ".join(topics), "у всех тематик вес 0: поток пуст")
    return weights


def describe(weights: dict[str, float], shown: int = 4) -> str:
    """`svo 64 %, housing 36 %`: the stream's largest shares, the rest as «прочие»."""
    total = sum(weights.values())
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > shown + 1:
        rest = sum(w for _, w in ranked[shown:])
        ranked = [*ranked[:shown], ("прочие", rest)]
    return ", ".join(f"{code} {w / total:.0%}".replace("%", " %") for code, w in ranked)
