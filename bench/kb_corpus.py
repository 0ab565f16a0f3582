"""Synthetic knowledge-base corpora for the benchmarks.

`make_corpus(n)` returns n articles of 100–500 words: the shipped articles first, then
synthetic ones whose words follow a Zipf-like law over the vocabulary of the shipped
articles (so common words are common and topic words are rare, not every article is full of
them), with a long tail of rare made-up words as real corpora have. Deterministic per seed.

    python bench/kb_corpus.py 50000 /tmp/kb50k.jsonl
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

from ekc_core.kb_files import read_path
from kb_index import AUDIENCES, Article

ROOT = Path(__file__).resolve().parent.parent
_SYLLABLES = [
    "ка",
    "ро",
    "ми",
    "ста",
    "ле",
    "ну",
    "ви",
    "ор",
    "пе",
    "за",
    "ти",
    "на",
    "ско",
    "бра",
    "ге",
    "лю",
    "да",
    "ши",
    "тре",
    "вел",
]
_ENDINGS = ["ов", "ами", "ая", "ого", "ение", "ость", "ный", "ка", "ции", "ить", ""]


def shipped_articles() -> list[Article]:
    result = read_path(ROOT / "data" / "kb" / "articles")
    return [Article.from_dict(r.to_dict()) for r in result.records]


def make_corpus(n: int, *, seed: int = 122) -> list[Article]:
    rng = random.Random(seed)
    base = shipped_articles()
    counts: Counter[str] = Counter()
    for article in base:
        counts.update(
            w.lower()
            for w in re.findall(r"[а-яё]+", article.body + " " + article.title, re.IGNORECASE)
        )
    vocabulary = [w for w, _ in counts.most_common()]
    rare = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) + rng.choice(_ENDINGS)
        for _ in range(max(2000, n // 2))
    ]
    words = vocabulary + rare
    # Zipf: weight of rank r is 1 / (r + 2.7); cumulative once, not per draw
    weights = [1.0 / (rank + 2.7) for rank in range(len(words))]
    cumulative = list(itertools.accumulate(weights))
    title_cumulative = list(itertools.accumulate(weights[50:]))
    topics = sorted({a.topic for a in base if a.topic})
    agencies = sorted({a.agency for a in base if a.agency})
    articles = list(base[:n])
    for i in range(len(articles), n):
        length = rng.randint(100, 500)
        body_words = rng.choices(words, cum_weights=cumulative, k=length)
        sentences = []
        for start in range(0, length, 12):
            chunk = body_words[start : start + 12]
            sentences.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
        title_words = rng.choices(words[50:], cum_weights=title_cumulative, k=rng.randint(4, 9))
        articles.append(
            Article(
                id=f"syn-{i:06d}",
                title=" ".join(title_words).capitalize(),
                body=" ".join(sentences),
                topic=rng.choice(topics),
                agency=rng.choice(agencies) if rng.random() < 0.7 else None,
                tags=tuple(rng.sample(words[30:3000], k=rng.randint(2, 6))),
                audience=rng.choice(AUDIENCES),
            )
        )
    return articles


def main() -> None:
    n = int(sys.argv[1])
    out = Path(sys.argv[2])
    with out.open("w", encoding="utf-8") as fh:
        for article in make_corpus(n):
            fh.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
    print(f"{n} articles → {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
