"""Plain data of the index: what goes in (Article) and what comes out (SearchHit)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: who an article is written for: the codes the `audience` field and filter accept (one list
#: for the index, the server's import check and the admin CLI's file check)
AUDIENCES = (
    "citizens",
    "svo_families",
    "pensioners",
    "families_with_children",
    "disabled",
    "business",
    "operators",
)


@dataclass(frozen=True)
class Article:
    """One knowledge-base article as the index sees it (the JSONL line format)."""

    id: str
    title: str
    body: str
    topic: str | None = None
    agency: str | None = None
    tags: tuple[str, ...] = ()
    audience: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        tags = data.get("tags") or ()
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            body=str(data.get("body") or ""),
            topic=data.get("topic") or None,
            agency=data.get("agency") or None,
            tags=tuple(str(t) for t in tags),
            audience=data.get("audience") or None,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    def digest(self) -> str:
        """Content hash: an article whose digest is unchanged needs no reindexing."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class SearchHit:
    id: str
    title: str
    score: float
    highlights: list[str] = field(default_factory=list)
    """Fragments of the text with the matched words wrapped in `**`."""
    topic: str | None = None
    agency: str | None = None
    audience: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "highlights": self.highlights,
            "topic": self.topic,
            "agency": self.agency,
            "audience": self.audience,
        }
