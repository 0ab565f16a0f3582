"""Knowledge-base search speed and memory on synthetic corpora (5,000 and 50,000 articles).

For each size: the index (built once and kept in `--cache`, rebuilt when its analysis
version changed), the time to open it (the arrays of new segments are built then), search
latency with one open searcher — full labelled queries and every as-you-type prefix of them
from the first letter, as the console searches — as wall time and as CPU time of the
searching thread (`time.thread_time`: the machine may be shared), resident memory after
opening and after the batch, an incremental apply of 100 changed articles, and the change
feed a console downloads for them against a full export (both gzip-compressed as on the
wire). Targets of issue 13 are printed next to the numbers (at 5,000 half of each latency).

    python bench/kb_latency.py [--sizes 5000,50000] [--cache /tmp/ekc-kb-bench]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import resource
import statistics
import sys
import time
import zlib
from pathlib import Path

from kb_index import Article, KbIndex, Synonyms
from kb_index.analysis import ANALYSIS_VERSION
from kb_index.evaluation import load_labelled

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_corpus import make_corpus

ROOT = Path(__file__).resolve().parent.parent
#: issue 13 targets at 50,000 articles (ms); at 5,000 half of each
TARGET_FULL_P95 = 100.0
TARGET_TYPING_P95 = 50.0
TARGET_RSS_MB = 150.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[max(0, int(len(s) * 0.95) - 1)] * 1000


def line(name: str, wall: list[float], cpu: list[float], target: float) -> str:
    return (
        f"{name:<30} wall p50 {statistics.median(wall) * 1000:6.1f} p95 {p95(wall):6.1f} ms"
        f"   cpu p50 {statistics.median(cpu) * 1000:6.1f} p95 {p95(cpu):6.1f} ms"
        f"   (n={len(wall)}, target p95 <= {target:.0f} ms)"
    )


def corpus(size: int, cache: Path, first: int | None = None) -> list[Article]:
    """The synthetic corpus (cached as JSONL), or its `first` articles."""
    path = cache / f"corpus-{size}.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            rows = fh if first is None else (row for _n, row in zip(range(first), fh, strict=False))
            return [Article.from_dict(json.loads(row)) for row in rows]
    articles = make_corpus(size)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for a in articles:
            fh.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return articles if first is None else articles[:first]


def index_dir(size: int, cache: Path, synonyms: Synonyms) -> Path:
    directory = cache / f"index-{size}-v{ANALYSIS_VERSION}"
    if (directory / "CURRENT").exists():
        return directory
    articles = corpus(size, cache)
    started, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    KbIndex.build(directory, articles, synonyms=synonyms).close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    print(
        f"index build (Whoosh + arrays)   {time.perf_counter() - started:6.1f} s wall, "
        f"{time.process_time() - cpu + child_cpu:6.1f} s CPU (cached in {directory})"
    )
    return directory


def run(size: int, cache: Path, synonyms: Synonyms) -> None:
    print(f"--- {size} articles")
    directory = index_dir(size, cache, synonyms)
    articles = corpus(size, cache, first=100)  # for the incremental apply
    gc.collect()
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    index = KbIndex(directory, synonyms=synonyms)
    print(
        f"open (arrays read or built)     {time.perf_counter() - started:6.2f} s wall, "
        f"{time.process_time() - cpu:6.2f} s CPU; RSS {before:.0f} → {rss_mb():.0f} MB"
    )
    queries = load_labelled(ROOT / "data" / "kb" / "queries")
    half = 0.5 if size <= 5000 else 1.0
    for rounds in (1, 2):  # the first round warms the caches (lemmas, idf) as a shift would
        full_wall: list[float] = []
        full_cpu: list[float] = []
        typing_wall: list[float] = []
        typing_cpu: list[float] = []
        for q in queries:
            t, c = time.perf_counter(), time.thread_time()
            index.search(q.query, limit=10)
            full_wall.append(time.perf_counter() - t)
            full_cpu.append(time.thread_time() - c)
            for i in range(1, len(q.query) + 1):  # from the first letter, as the console
                t, c = time.perf_counter(), time.thread_time()
                index.search(q.query[:i], limit=10, as_you_type=True)
                typing_wall.append(time.perf_counter() - t)
                typing_cpu.append(time.thread_time() - c)
        label = "first round" if rounds == 1 else "second round"
        print(f"  {label}")
        print(line("search, full queries", full_wall, full_cpu, TARGET_FULL_P95 * half))
        print(line("search, as you type", typing_wall, typing_cpu, TARGET_TYPING_P95 * half))
    print(
        f"RSS after the searches          {rss_mb():6.0f} MB (the whole bench process; "
        f"the console's own is in bench/console_bench.py, target <= {TARGET_RSS_MB:.0f})"
    )
    changed = [
        Article(**{**a.to_dict(), "tags": (*a.tags, "изменено"), "title": a.title + " (ред.)"})
        for a in articles[:100]
    ]
    t, c = time.perf_counter(), time.process_time()
    index.apply(changed)
    print(
        f"apply 100 changed articles      {time.perf_counter() - t:6.2f} s wall, "
        f"{time.process_time() - c:6.2f} s CPU (commit + arrays of the new segment)"
    )
    index.apply(articles[:100])  # the cached index back as it was
    index.close()
    feed = json.dumps(
        {"upserts": [a.to_dict() for a in changed], "deletions": []}, ensure_ascii=False
    ).encode()
    export_gz = 0
    with (cache / f"corpus-{size}.jsonl").open("rb") as fh:  # the whole corpus, as exported
        compressor = zlib.compressobj(wbits=31)  # gzip
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            export_gz += len(compressor.compress(chunk))
        export_gz += len(compressor.flush())
    feed_gz = len(gzip.compress(feed))
    print(
        f"change feed for 100 (gzip)      {feed_gz / 1024:8.1f} KiB vs full export "
        f"{export_gz / 1024:8.1f} KiB ({export_gz / feed_gz:.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ekc-kb-bench"))
    args = parser.parse_args()
    synonyms = Synonyms.load(ROOT / "data" / "kb" / "synonyms.txt")
    print(f"pid {os.getpid()}, {os.cpu_count()} cores")
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        run(size, args.cache, synonyms)


if __name__ == "__main__":
    main()
