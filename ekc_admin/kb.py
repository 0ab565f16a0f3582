"""`ekc-admin kb import | rollback | batches | history | export | search | reindex`."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import track
from rich.table import Table

from ekc_admin.context import api_client, err, fail, out, print_json
from ekc_core.client import EkcClient
from ekc_core.errors import ConflictError as ApiConflictError
from ekc_core.errors import EkcError, ValidationFailedError
from ekc_core.kb_files import FIELDS, KbFileError, KbRecord, read_path
from ekc_core.kb_refs import (
    agencies_catalogue,
    near_any,
    read_map,
    resolve_references,
    topics_catalogue,
)
from ekc_core.schemas import KbArticleIn, KbDiff, KbImportResult
from ekc_core.validation import russian_message

app = typer.Typer(
    help="База знаний: импорт, пакеты, откат, история, выгрузка, поиск.", no_args_is_help=True
)

#: show a progress bar (checking) and progress lines (sending) from this many articles on
PROGRESS_FROM = 1000
#: articles per request of a staged import (~10 MB of JSON at the bench's article sizes)
CHUNK = 2000


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


def _line_key(problem: str) -> tuple[str, int]:
    path, _, rest = problem.partition(":")
    number = rest.split(":", 1)[0]
    return path, int(number) if number.isdigit() else 0


def _report(problems: list[str]) -> None:
    problems = sorted(problems, key=_line_key)
    err.print(f"[bold red]Ошибки ({len(problems)}), ничего не записано:[/]")
    for problem in problems:
        # one problem per line, never wrapped: admins grep and sort these
        err.print(f"  {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _to_wire(records: list[KbRecord]) -> tuple[list[KbArticleIn], list[str]]:
    articles, problems = [], []
    items = (
        track(records, description="Проверка статей…", console=err)
        if len(records) >= PROGRESS_FROM
        else records
    )
    for record in items:
        try:
            articles.append(KbArticleIn(**record.to_dict()))
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"])
                problems.append(
                    f"{record.source}:{record.line}: {field}: {russian_message(dict(e))}"
                )
    return articles, problems


def _diff_table(diff: KbDiff, sync: bool) -> Table:
    table = Table("Изменение", "Статей", "Примеры", title="Что изменится")
    rows = [("добавлено", diff.added), ("изменено", diff.changed)]
    if sync:
        rows.append(("удалено", diff.removed))
    for label, ids in rows:
        sample = ", ".join(ids[:8]) + (" …" if len(ids) > 8 else "")
        table.add_row(label, str(len(ids)), sample)
    table.add_row("без изменений", str(diff.unchanged), "")
    return table


@app.command("import", help="Импорт статей: CSV, XLSX, JSON, JSONL или папка Markdown.")
def import_(
    path: Annotated[Path, typer.Argument(help="Файл или папка со статьями.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Только показать изменения.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Не спрашивать подтверждения удалений (--sync).")
    ] = False,
    sync: Annotated[
        bool,
        typer.Option("--sync", help="Удалить статьи, которых нет в файле (полная замена базы)."),
    ] = False,
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            help="Файл соответствий «их название;наш код» (CSV, YAML или JSON) "
            "для тематик и ведомств из другой системы.",
        ),
    ] = None,
) -> None:
    """Validate everything first (file:line: field: reason), send the articles in chunks to
    a staged batch, show the diff, then publish the batch in one transaction."""
    # imported here, not at the top: the index's Whoosh and Russian analysis cost ~0.3 s
    # that no other ekc-admin command needs
    from kb_index import AUDIENCES

    try:
        result = read_path(path, audiences=AUDIENCES)
    except KbFileError as exc:
        fail(str(exc))
    with api_client() as client:
        topics = topics_catalogue(client.topics())
        agencies = agencies_catalogue(client.agencies())
        if map_file is not None:
            try:
                mapped = read_map(
                    map_file,
                    codes=topics.codes | agencies.codes,
                    near=near_any([topics, agencies]),
                )
            except KbFileError as exc:
                fail(str(exc))
            result.problems.extend(mapped.problems)
            topics.mapping = agencies.mapping = mapped.mapping
        resolve_references(result, topics, agencies)
        articles, problems = _to_wire(result.records)
        problems = result.problems + problems
        if not result.rows and not problems:
            problems.append(f"{path}: нет ни одной статьи")
        if problems:
            _report(problems)
        published = _publish(client, path, result.records, articles, sync, dry_run, yes)
    if published is None:
        return
    out.print(
        f"Опубликован пакет №{published.batch_id}: добавлено "
        f"{len(published.diff.added)}, изменено {len(published.diff.changed)}, "
        f"удалено {len(published.diff.removed)}. Откат: ekc-admin kb rollback "
        f"{published.batch_id}"
    )


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _server_problems(
    exc: ValidationFailedError, path: Path, records: list[KbRecord], offset: int
) -> list[str]:
    """The server's refusals of a chunk as `file:line: field: reason` lines."""
    lines = []
    for p in exc.problems:
        parts = p.field.split(".")
        if len(parts) >= 3 and parts[0] == "articles" and parts[1].isdigit():
            record = records[offset + int(parts[1])]
            lines.append(f"{record.source}:{record.line}: {'.'.join(parts[2:])}: {p.message}")
        else:
            lines.append(f"{path}: {p.field}: {p.message}")
    return lines


def _stage(
    client: EkcClient,
    batch_id: int,
    path: Path,
    records: list[KbRecord],
    articles: list[KbArticleIn],
) -> list[str]:
    """Send every chunk (each refused chunk's problems are collected and the rest still
    checked, so one run reports them all); a progress line on stderr for big files."""
    problems: list[str] = []
    staged = 0
    total = len(articles)
    for start in range(0, total, CHUNK):
        part = articles[start : start + CHUNK]
        try:
            staged = client.kb_stage_append(batch_id, staged, part).staged
        except ValidationFailedError as exc:
            problems.extend(_server_problems(exc, path, records, start))
        if total >= PROGRESS_FROM:
            err.print(
                f"отправлено {_count(start + len(part))} из {_count(total)} статей",
                markup=False,
                highlight=False,
            )
    return problems


def _discard(client: EkcClient, batch_id: int, why: str | None) -> None:
    """Drop the stage; with `why`, say that nothing was published (or that it was, when the
    commit reached the server after all)."""
    try:
        client.kb_stage_discard(batch_id)
        gone = f"собранный пакет №{batch_id} удалён"
    except ApiConflictError:
        err.print(
            f"Пакет №{batch_id} уже опубликован сервером (ответ не дошёл): "
            "см. ekc-admin kb batches",
            markup=False,
        )
        return
    except EkcError:
        gone = f"неполный пакет №{batch_id} сервер удалит сам через сутки"
    if why:
        err.print(f"{why}: ничего не опубликовано ({gone}).", markup=False)


def _publish(
    client: EkcClient,
    path: Path,
    records: list[KbRecord],
    articles: list[KbArticleIn],
    sync: bool,
    dry_run: bool,
    yes: bool,
) -> KbImportResult | None:
    """Stage the articles in chunks, show the difference, publish them with one commit (all
    or nothing). Whatever stops it before the commit leaves nothing published."""
    batch_id = client.kb_stage_open(path.name).batch_id
    done = False
    why: str | None = "импорт прерван"
    try:
        problems = _stage(client, batch_id, path, records, articles)
        if problems:
            why = None
            _report(problems)
        with err.status("Сравнение с базой…"):
            planned = client.kb_stage_commit(batch_id, sync=sync, dry_run=True)
        out.print(_diff_table(planned.diff, sync))
        why = None
        if dry_run:
            out.print("Проверка без записи (--dry-run): ничего не изменено.")
            return None
        if not (planned.diff.added or planned.diff.changed or planned.diff.removed):
            out.print("Изменений нет: пакет не создан.")
            return None
        if (
            planned.diff.removed
            and not yes
            and not typer.confirm(f"Удалить статей: {len(planned.diff.removed)}?", default=False)
        ):
            fail("отменено: ничего не изменено")
        why = "публикация не удалась"
        with err.status("Публикация пакета…"):
            published = client.kb_stage_commit(batch_id, sync=sync)
        done = True
        return published
    finally:
        if not done:
            _discard(client, batch_id, why)


@app.command("rollback", help="Откатить пакет: вернуть прежние версии статей.")
def rollback(batch: Annotated[int, typer.Argument(help="Номер пакета из kb batches.")]) -> None:
    with api_client() as client:
        result = client.kb_rollback(batch)
    out.print(f"Пакет №{result.id} откатан ({result.rolled_back_at:%d.%m.%Y %H:%M}).")


@app.command("batches", help="Пакеты импорта: кто, когда, сколько статей.")
def batches(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    with api_client() as client:
        rows = client.kb_batches(limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table(
        "№", "Источник", "Статус", "Кто", "Когда", "+", "~", "−", title=f"Пакеты ({len(rows)})"
    )
    for b in rows:
        table.add_row(
            str(b.id),
            b.source_name,
            b.status,
            b.created_by or "поставка",
            f"{b.created_at.astimezone():%d.%m.%Y %H:%M}",
            str(b.added),
            str(b.changed),
            str(b.removed),
        )
    out.print(table)


@app.command("history", help="Версии статьи: кто, когда, из какого пакета.")
def history(
    article_id: Annotated[str, typer.Argument(help="id статьи.")],
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        versions = client.kb_history(article_id)
    if as_json:
        print_json(versions)
        return
    table = Table(
        "Версия", "Изменение", "Заголовок", "Пакет", "Кто", "Когда", title=f"История «{article_id}»"
    )
    for v in versions:
        table.add_row(
            str(v.version),
            v.change,
            v.title,
            str(v.batch_id or "—"),
            v.changed_by or "поставка",
            f"{v.changed_at.astimezone():%d.%m.%Y %H:%M}",
        )
    out.print(table)


@app.command("export", help="Выгрузить базу знаний: jsonl, csv (для Excel) или xlsx.")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Формат.")] = ExportFormat.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Файл (иначе — стандартный вывод).")
    ] = None,
) -> None:
    if fmt == ExportFormat.xlsx and output is None:
        fail("для xlsx укажите файл: --output kb.xlsx", 2)
    with api_client() as client:
        articles = client.kb_export()
    rows = [
        [a.id, a.title, a.body, a.topic or "", a.agency or "", ", ".join(a.tags), a.audience or ""]
        for a in articles
    ]
    if fmt == ExportFormat.xlsx:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.worksheets[0]
        sheet.append(list(FIELDS))
        for row in rows:
            sheet.append(row)
        assert output is not None
        book.save(output)
    else:
        buffer = io.StringIO()
        if fmt == ExportFormat.csv:  # what Russian Excel opens: BOM and semicolons
            writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
            writer.writerow(FIELDS)
            writer.writerows(rows)
            data = "\ufeff" + buffer.getvalue()
        else:
            data = "".join(  # the import format: the file can be imported again
                json.dumps(a.model_dump(mode="json", include=set(FIELDS)), ensure_ascii=False)
                + "\n"
                for a in articles
            )
        if output is None:
            sys.stdout.write(data)
        else:
            output.write_text(data, encoding="utf-8", newline="")
    if output is not None:
        out.print(f"Выгружено статей: {len(articles)} → {output}")


@app.command("search", help="Поиск по базе знаний на сервере.")
def search(
    query: Annotated[str, typer.Argument(help="Запрос.")],
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
    topic: Annotated[str | None, typer.Option(help="Код тематики (с подтемами).")] = None,
    agency: Annotated[str | None, typer.Option(help="Код ведомства.")] = None,
    audience: Annotated[str | None, typer.Option(help="Аудитория статьи.")] = None,
    prefix: Annotated[
        bool, typer.Option("--prefix", help="Последнее слово — начало слова (как при наборе).")
    ] = False,
) -> None:
    with api_client() as client:
        hits = client.kb_search(
            query, limit=limit, prefix=prefix, topic=topic, agency=agency, audience=audience
        )
    if as_json:
        print_json(hits)
        return
    if not hits:
        out.print("Ничего не найдено.")
    for rank, hit in enumerate(hits, start=1):
        out.print(f"{rank:2}. [{hit.id}] {hit.title}", markup=False)
        for fragment in hit.highlights:
            out.print(f"    {fragment}", markup=False)


@app.command("reindex", help="Перестроить индекс базы знаний на сервере.")
def reindex() -> None:
    with api_client() as client:
        count = client.kb_reindex()
    out.print(f"Индекс перестроен: {count} статей.")


from ekc_admin import kb_gaps  # noqa: E402, F401  (registers `kb gaps` and `kb synonyms`)
