"""What a Whoosh index of articles holds: its schema, an article's document, the analysis
version a generation was built with, and how a generation is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from kb_index.analysis import russian_analyzer
from kb_index.models import Article

#: inside a generation: the analysis version it was built with (`analysis.ANALYSIS_VERSION`)
ANALYSIS = "ANALYSIS"


def build_schema(method: str) -> Schema:
    analyzer = russian_analyzer(method)
    return Schema(
        id=ID(stored=True, unique=True),
        digest=STORED(),
        # term frequencies only (no positions: no phrase query is ever made, and positions
        # cost 15 % of the build); no Whoosh spelling graph (typos: kb_index.vocabulary)
        title=TEXT(analyzer=analyzer, stored=True, phrase=False),
        tags=TEXT(analyzer=analyzer, stored=True, phrase=False),
        body=TEXT(analyzer=analyzer, stored=True, phrase=False),
        topic=ID(stored=True),
        topic_path=KEYWORD(commas=False, lowercase=False),
        agency=ID(stored=True),
        audience=ID(stored=True),
    )


def open_generation(gen: Path) -> Any:
    """Open a generation without copying its segments into memory.

    With memory mapping, Whoosh wraps each mapped part of the compound segment file in
    `BytesIO(memoryview)`, which copies it: at 50,000 articles that was 150 MB of the 560 MB
    resident. Plain file reads leave the data to the page cache.
    """
    return FileStorage(str(gen), supports_mmap=False).open_index()


def analysis_version(gen: Path) -> int:
    try:
        return int((gen / ANALYSIS).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return 0


def document(article: Article) -> dict[str, Any]:
    path = []
    if article.topic:
        parts = article.topic.split(".")
        path = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return {
        "id": article.id,
        "digest": article.digest(),
        "title": article.title,
        "tags": ", ".join(article.tags),
        "body": article.body,
        "topic": article.topic or "",
        "topic_path": " ".join(path),
        "agency": article.agency or "",
        "audience": article.audience or "",
    }
