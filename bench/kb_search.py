"""Knowledge-base numbers on synthetic corpora (5,000 and 50,000 articles by default).

For each size: import through the real backend (HTTP, one transaction) and index, query
latency with one open searcher (full queries and as-you-type prefixes of the labelled
queries), incremental apply of 100 changed articles, and the bytes of the change feed for
them against a full export (both gzip-compressed as on the wire).

    python bench/kb_search.py [SIZE ...]        # make bench runs it
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ekc_core.client import EkcClient
from ekc_core.schemas import KbArticleIn, KbImportRequest
from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import Staff
from ekc_server.security import hash_password
from ekc_server.services.reference import seed_reference
from kb_index import Article, KbIndex, Synonyms
from tests.localserver import running_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_corpus import make_corpus
from kb_relevance import load_queries

ROOT = Path(__file__).resolve().parent.parent


def pct(samples: list[float]) -> str:
    s = sorted(samples)
    return (
        f"p50 {statistics.median(s) * 1000:6.1f} ms  p95 {s[int(len(s) * 0.95) - 1] * 1000:6.1f}"
        f" ms  (n={len(s)})"
    )


def server_import(articles: list[Article], work: Path) -> tuple[float, float]:
    """Seconds to publish the corpus through the backend, and to index it there."""
    url = f"sqlite:///{work / 'ekc.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        session.add(
            Staff(
                username="bench",
                full_name="Bench",
                role="admin",
                skills=[],
                password_hash=hash_password("bench-password"),
            )
        )
    engine.dispose()
    request = KbImportRequest(
        source_name="bench",
        articles=[
            KbArticleIn(**{**a.to_dict(), "topic": a.topic, "agency": a.agency}) for a in articles
        ],
    )
    settings_read = 600.0
    with running_server(url, work) as base:
        from ekc_core.settings import ClientSettings

        with EkcClient(base, settings=ClientSettings(read_timeout=settings_read)) as client:
            client.login("bench", "bench-password")
            started = time.perf_counter()
            client.kb_import(request)
            published = time.perf_counter() - started
            started = time.perf_counter()
            client.kb_search("мусор")  # the backend catches its index up (a full build)
            indexed = time.perf_counter() - started
    return published, indexed


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [5000, 50000]
    queries = load_queries()
    synonyms = Synonyms.load(ROOT / "data" / "kb" / "synonyms.txt")
    for size in sizes:
        print(f"--- {size} articles")
        started = time.perf_counter()
        articles = make_corpus(size)
        print(f"generate corpus                 {time.perf_counter() - started:6.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            published, indexed = server_import(articles, work)
            print(
                f"import via API + index build    {published:6.1f} s  "
                "(one transaction; the backend indexes before it answers)"
            )
            print(f"first search after it           {indexed:6.1f} s")

            index = KbIndex(work / "local", synonyms=synonyms, source=lambda a=articles: a)
            full, prefix = [], []
            for q in queries:
                t = time.perf_counter()
                index.search(q.query, limit=10)
                full.append(time.perf_counter() - t)
                for i in range(3, len(q.query) + 1):
                    t = time.perf_counter()
                    index.search(q.query[:i], limit=10, as_you_type=True)
                    prefix.append(time.perf_counter() - t)
            print(f"search, full queries            {pct(full)}")
            print(f"search, as you type (prefixes)  {pct(prefix)}")

            changed = [
                Article(
                    **{**a.to_dict(), "tags": (*a.tags, "изменено"), "title": a.title + " (ред.)"}
                )
                for a in articles[:100]
            ]
            t = time.perf_counter()
            index.apply(changed)
            print(f"apply 100 changed articles      {time.perf_counter() - t:6.2f} s")
            feed = json.dumps(
                {"upserts": [a.to_dict() for a in changed], "deletions": []}, ensure_ascii=False
            ).encode()
            export = b"".join(
                json.dumps(a.to_dict(), ensure_ascii=False).encode() + b"\n" for a in articles
            )
            feed_gz, export_gz = len(gzip.compress(feed)), len(gzip.compress(export))
            print(
                f"change feed for 100 (gzip)      {feed_gz / 1024:8.1f} KiB vs full export "
                f"{export_gz / 1024:8.1f} KiB ({export_gz / feed_gz:.0f}x)"
            )
            index.close()


if __name__ == "__main__":
    main()
