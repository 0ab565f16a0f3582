"""Knowledge-base numbers on synthetic corpora (5,000 and 50,000 articles by default).

For each size (the import through the backend is `bench/kb_import.py`): query
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

from kb_index import Article, KbIndex, Synonyms

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
