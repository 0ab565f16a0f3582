"""The topic classifier of citizens' texts (issue 14, point 2) on the labelled sets.

Trains `topic_model` the way the backend's `retrain` does — from the shipped knowledge-base
articles with their topics, the names of the topic tree and of the agencies, the KB's
colloquial rules (their caller phrases, labelled through their article wording), and the demo's
contacts (the operators' summaries of `data/demo/summaries.yaml` and the citizens' own words
of `data/demo/messages.yaml`, as written texts and as the voice assistant's transcripts, with
the demo's topic shares), or from a seeded database
(`--database-url`) — chooses its threshold on the dev set (the temperature stays the
out-of-fold one), and prints, for the hold-out, the dev set and the dev2 set
(`data/routing/dev2/texts.yaml`, a second writer: it confirms what dev chose): top-1
group, top-1 and top-3 top-level topic and recall per topic, for the most frequent topic,
plain TF-IDF with the same linear model, and the model; then the training time and the
prediction latency per text (p50/p95, wall and thread CPU time).

The hold-out (`data/routing/holdout/texts.yaml`) is never tuned on: only its aggregate
scores are printed, no texts. `--no-holdout` scores the dev sets alone (while tuning).

Run: `python bench/topic_classifier.py [--dev PATH] [--dev2 PATH] [--holdout PATH]
[--no-holdout]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from ekc_core.kb_files import read_path
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS, load_reference_data
from ekc_core.routing import RoutingTable, read_routing
from topic_model import Sample, Scores, evaluate, labelled_texts, read_labelled, train
from topic_model.data import article_samples, read_rules, reference_samples
from topic_model.evaluate import Classifier, MostFrequent, PlainTfidf
from topic_model.model import TopicModel, choose_threshold

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TARGETS = {"group_top1": 0.85, "topic_top1": 0.70}


def routing_table(data: Path) -> RoutingTable:
    ref = load_reference_data(data)
    path = data / "reference" / "routing.yaml"
    return read_routing(
        path.read_text(encoding="utf-8"),
        path.name,
        tree_groups={t.code: t.group for t in ref.topics},
        lines_known=["122", "117"],
    )


def shipped_training(data: Path, *, parts: bool) -> tuple[list[Sample], dict[str, float]]:
    """KB articles + the demo's contacts' texts, and the demo's topic shares."""
    result = read_path(data / "kb" / "articles")
    if result.problems:
        sys.exit("\n".join(result.problems))
    samples: list[Sample] = []
    for a in result.records:
        if a.topic:
            samples.extend(article_samples(a.title, a.body, a.tags, a.topic, parts=parts))
    ref = load_reference_data(data)
    agencies = {a.code: a.name for a in ref.agencies}
    samples.extend(
        reference_samples(((t.code, t.name, t.default_agency) for t in ref.topics), agencies)
    )
    summaries = yaml.safe_load((data / "demo" / "summaries.yaml").read_text(encoding="utf-8"))
    rows = [(t, top, 1) for top, texts in summaries["summaries"].items() for t in texts]
    # citizens' own words of the demo's written contacts and call transcripts
    messages = yaml.safe_load((data / "demo" / "messages.yaml").read_text(encoding="utf-8"))
    rows += [(t, top, 1) for top, texts in messages["messages"].items() for t in texts]
    rows += [(f"Гражданин: {t}. Ассистент: соединяю с оператором.", top, n) for t, top, n in rows]
    return samples + labelled_texts(rows), dict(INBOUND_TOPIC_WEIGHTS)


def database_training(url: str) -> tuple[list[Sample], dict[str, float]]:
    from sqlmodel import Session

    from ekc_server.db import create_db_engine
    from ekc_server.services.topic_models import training_data

    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            data = training_data(session)
    finally:
        engine.dispose()
    return data.samples, data.shares


def whole(samples: Sequence[Sample]) -> list[Sample]:
    """What plain TF-IDF learns from: whole articles and contacts, no parts."""
    return [s for s in samples if not s.part]


def print_scores(title: str, rows: list[tuple[str, Scores]]) -> None:
    n = rows[0][1].n
    print(f"\n{title} ({n} texts)")
    print(f"  {'':<14} {'group@1':>8} {'topic@1':>8} {'topic@3':>8}")
    for name, s in rows:
        print(f"  {name:<14} {s.group_top1:>8.3f} {s.topic_top1:>8.3f} {s.topic_top3:>8.3f}")
    topics = sorted({t for _, s in rows for t in s.per_topic})
    print("  recall per topic:")
    print(f"  {'':<14} " + " ".join(f"{t[:6]:>6}" for t in topics))
    for name, s in rows:
        print(f"  {name:<14} " + " ".join(f"{s.per_topic.get(t, 0):>6.2f}" for t in topics))


def routed(
    model: TopicModel, samples: Sequence[Sample], group_of: Callable[[str], str], general: str
) -> float:
    """Share of texts routed to their group with the threshold (below it: the general one)."""
    right = 0
    for s in samples:
        g = model.guess(s.text, group_of)
        right += (g.group if g.confident else general) == group_of(s.topic)
    return right / len(samples) if samples else 0.0


def latency(model: TopicModel, texts: Sequence[str], group_of: Callable[[str], str]) -> None:
    wall: list[float] = []
    cpu: list[float] = []
    for text in texts:
        w0, c0 = time.perf_counter(), time.thread_time()
        model.guess(text, group_of)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]

    print(
        f"\nguess latency over {len(texts)} texts: wall p50 {p(wall, 50):.2f} ms, "
        f"p95 {p(wall, 95):.2f} ms; thread CPU p50 {p(cpu, 50):.2f} ms, p95 {p(cpu, 95):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shipped data folder")
    parser.add_argument("--dev", type=Path, default=DATA / "routing" / "dev" / "texts.yaml")
    parser.add_argument("--dev2", type=Path, default=DATA / "routing" / "dev2" / "texts.yaml")
    parser.add_argument("--holdout", type=Path, default=DATA / "routing" / "holdout" / "texts.yaml")
    parser.add_argument("--no-holdout", action="store_true", help="score the dev sets only")
    parser.add_argument("--database-url", help="train from this (seeded) database instead")
    args = parser.parse_args()

    table = routing_table(args.data)
    group_of, general = table.group_for_topic, table.general
    if args.database_url:
        samples, shares = database_training(args.database_url)
        source = args.database_url
    else:
        samples, shares = shipped_training(args.data, parts=True)
        source = "shipped KB articles + demo summaries and citizens' messages"
    rules = read_rules(args.data / "kb" / "colloquial.txt")
    print(f"training: {len(samples)} samples ({source}), {len(rules)} colloquial rules")

    w0, c0 = time.perf_counter(), time.thread_time()
    model = train(samples, shares=shares, rules=rules)
    dev = read_labelled(args.dev) if args.dev.is_file() else []
    if dev:
        model.threshold = choose_threshold(model, dev, group_of, general)
    train_wall, train_cpu = time.perf_counter() - w0, time.thread_time() - c0
    print(
        f"model: trained in {train_wall:.1f} s wall ({train_cpu:.1f} s thread CPU), "
        f"{len(model.dumps()) / 1e6:.1f} MB serialized, temperature {model.temperature:.3f}, "
        f"threshold {model.threshold:.3f} (chosen on {'the dev set' if dev else 'nothing'})"
    )
    baselines: list[tuple[str, Classifier]] = [
        ("most frequent", MostFrequent(whole(samples))),
        ("plain TF-IDF", PlainTfidf(whole(samples))),
    ]
    sets: list[tuple[str, list[Sample]]] = [("dev set", dev)]
    if args.dev2.is_file():
        sets.append(("dev2 set", read_labelled(args.dev2)))
    else:
        print(f"no dev2 set at {args.dev2}")
    if not args.no_holdout:
        if args.holdout.is_file():
            sets.append(("HOLD-OUT", read_labelled(args.holdout)))
        else:
            print(f"no hold-out at {args.holdout}")
    for title, labelled in sets:
        if not labelled:
            print(f"\n{title}: none")
            continue
        rows = [
            (name, evaluate(b, labelled, group_of, group_by_sum=False)) for name, b in baselines
        ]
        rows.append(("model", evaluate(model, labelled, group_of)))
        print_scores(title, rows)
        print(
            f"  model, routed with the threshold (below it: {general}): "
            f"group {routed(model, labelled, group_of, general):.3f}"
        )
        if title == "HOLD-OUT":
            met = all(getattr(rows[-1][1], k) >= v for k, v in TARGETS.items())
            print(f"  targets group@1 ≥ 0.85, topic@1 ≥ 0.70: {'met' if met else 'NOT met'}")
    texts = [s.text for s in dev] or [s.text for s in samples[:300]]
    latency(model, texts, group_of)


if __name__ == "__main__":
    main()
