"""Knowledge-base search: Whoosh with Russian analysis behind a small facade.

    from kb_index import KbIndex, Article, SearchFilters
    index = KbIndex(Path("kb"), synonyms=Synonyms.load(path))
    index.rebuild(articles)                       # temp generation + atomic swap
    index.apply(upserts=[...], deletions=["id"])  # one writer, lock timeout
    index.search("не вывозят мусор", as_you_type=True)
    index.more_like_this(transcript)

Imports no textual, typer or fastapi, and no package of ours; usable alone
(`python -m kb_index`).
"""

from kb_index.index import ChangeStats, IndexBusyError, KbIndex, SearchCancelled, Tuning
from kb_index.models import AUDIENCES, Article, SearchHit
from kb_index.query import SearchFilters
from kb_index.synonyms import SynonymFileError, Synonyms

__all__ = [
    "AUDIENCES",
    "Article",
    "ChangeStats",
    "IndexBusyError",
    "KbIndex",
    "SearchCancelled",
    "SearchFilters",
    "SearchHit",
    "SynonymFileError",
    "Synonyms",
    "Tuning",
]
