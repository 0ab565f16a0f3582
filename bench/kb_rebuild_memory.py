"""Memory of a full KB rebuild, as a console's first sync or the backend's catch-up runs it.

The articles stream into `KbIndex.rebuild` from a JSONL file (the console reads them from
its spool, the backend from the database a page at a time: neither holds them all), in a
fresh process per size, so its peak is the rebuild's own (the backend's page of 2,000 rows
and its models come on top). Prints wall and CPU seconds, the peak resident
memory, the resident memory after the rebuild and after `ekc_core.memory.release_memory`.

    python bench/kb_rebuild_memory.py [--sizes 5000,50000] [--cache /tmp/ekc-kb-rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(source: Path) -> None:
    """One rebuild in this process (run by `main` in a fresh interpreter)."""
    from ekc_core.memory import release_memory
    from kb_index import KbIndex
    from kb_index.__main__ import read_jsonl

    with tempfile.TemporaryDirectory(prefix="ekc-kb-rebuild-") as tmp:
        index = KbIndex.build(Path(tmp) / "kb", [])
        before = _rss_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        count = index.rebuild(read_jsonl(source))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = _rss_mb()
        release_memory()
        released = _rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        index.close()
    print(
        f"{count:>6} articles: rebuild {wall:5.1f} s wall, {cpu:5.1f} s CPU; RSS {before:.0f} MB"
        f" before, peak {peak:.0f} MB, {after:.0f} MB after, {released:.0f} MB after"
        " release_memory"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ekc-kb-rebuild"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    from bench.kb_corpus import make_corpus

    args.cache.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        source = args.cache / f"corpus-{size}.jsonl"
        if not source.exists():
            tmp = source.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as out:
                for article in make_corpus(size):
                    out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
            tmp.replace(source)
        subprocess.run([sys.executable, __file__, "--child", str(source)], check=True)


if __name__ == "__main__":
    main()
