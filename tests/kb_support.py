"""The shipped KB articles and their sentences, for tests that make corpora of them."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ekc_core.kb_files import read_path
from kb_index import Article

KB = Path(__file__).resolve().parent.parent / "data" / "kb"


@lru_cache(maxsize=1)
def shipped_articles() -> tuple[Article, ...]:
    return tuple(Article.from_dict(r.to_dict()) for r in read_path(KB / "articles").records)


def sentences(articles: tuple[Article, ...]) -> list[str]:
    """Every sentence of the articles' bodies, in order."""
    return [s for a in articles for s in re.split(r"(?<=[.!?])\s+", a.body) if s.strip()]
