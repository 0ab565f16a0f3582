"""`python -m kb_index build | search`: the index on its own, without the backend.

python -m kb_index build ARTICLES.jsonl --index DIR
python -m kb_index search --index DIR "запрос" [--limit N] [--json]
python -m kb_index search --index DIR --batch QUERIES.txt --json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from kb_index.analysis import DEFAULT_METHOD
from kb_index.index import KbIndex
from kb_index.models import Article
from kb_index.query import SearchFilters
from kb_index.synonyms import SynonymFileError, Synonyms

DEFAULT_SYNONYMS = Path(__file__).resolve().parent.parent / "data" / "kb" / "synonyms.txt"
REQUIRED = ("id", "title", "body")


class InputError(ValueError):
    """A line of the input that cannot be used; the message names file, line and field."""


def read_jsonl(path: Path) -> Iterator[Article]:
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: неверный JSON: {exc.msg}") from exc
            if not isinstance(data, dict):
                raise InputError(f"{path}:{number}: ожидался объект JSON")
            for key in REQUIRED:
                if not str(data.get(key) or "").strip():
                    raise InputError(f"{path}:{number}: {key}: поле обязательно")
            yield Article.from_dict(data)


def _synonyms(path: Path | None, method: str) -> Synonyms:
    if path is None:
        path = DEFAULT_SYNONYMS if DEFAULT_SYNONYMS.exists() else None
    return Synonyms.load(path, method=method) if path else Synonyms()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kb_index", description="Индекс базы знаний ЕКЦ 122 (Whoosh)."
    )
    parser.add_argument("--synonyms", type=Path, help="файл синонимов (по умолчанию data/kb)")
    parser.add_argument(
        "--method",
        choices=("snowball", "lemma"),
        default=DEFAULT_METHOD,
        help="стемминг (PyStemmer) или лемматизация (pymorphy3)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="построить индекс из JSONL")
    build.add_argument("articles", type=Path)
    build.add_argument("--index", type=Path, required=True)
    search = sub.add_parser("search", help="искать")
    search.add_argument("query", nargs="?")
    search.add_argument("--index", type=Path, required=True)
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", dest="as_json")
    search.add_argument("--batch", type=Path, help="файл: по запросу в строке")
    search.add_argument("--prefix", action="store_true", help="последнее слово — префикс")
    search.add_argument("--topic")
    search.add_argument("--agency")
    search.add_argument("--audience")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    try:
        synonyms = _synonyms(args.synonyms, args.method)
        if args.command == "build":
            started = time.perf_counter()
            articles = list(read_jsonl(args.articles))
            with KbIndex.build(
                args.index, articles, method=args.method, synonyms=synonyms
            ) as index:
                count = index.count()
            print(
                f"Проиндексировано статей: {count} за {time.perf_counter() - started:.1f} с",
                file=sys.stderr,
            )
            return 0
        if not args.index.exists():
            print(f"Ошибка: индекса нет в {args.index}; сначала build", file=sys.stderr)
            return 1
        filters = SearchFilters(topic=args.topic, agency=args.agency, audience=args.audience)
        with KbIndex(args.index, method=args.method, synonyms=synonyms) as index:
            if args.batch:
                for line in args.batch.read_text(encoding="utf-8").splitlines():
                    hits = index.search(
                        line, limit=args.limit, filters=filters, as_you_type=args.prefix
                    )
                    print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
                return 0
            if not args.query:
                parser.error("нужен запрос или --batch")
            hits = index.search(
                args.query, limit=args.limit, filters=filters, as_you_type=args.prefix
            )
            if args.as_json:
                print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
            elif not hits:
                print("Ничего не найдено.")
            else:
                for rank, hit in enumerate(hits, start=1):
                    print(f"{rank:2}. [{hit.id}] {hit.title}  ({hit.score:.1f})")
                    for fragment in hit.highlights:
                        print(f"    {fragment}")
            return 0
    except UnicodeDecodeError as exc:
        print(f"Ошибка: файл не в UTF-8 ({exc.reason}); сохраните JSONL в UTF-8", file=sys.stderr)
        return 1
    except (InputError, SynonymFileError, OSError) as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
