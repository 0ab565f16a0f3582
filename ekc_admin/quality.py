"""`ekc-admin quality form import | list | show | deactivate`, `quality review CONTACT_ID`,
`quality reviews`: the checklists admins define and the reviews shift leads make."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ekc_admin.context import (
    api_client,
    date_or_none,
    err,
    fail,
    natural_key,
    out,
    print_json,
    read_utf8,
)
from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.errors import ValidationFailedError
from ekc_core.quality import (
    FormsFile,
    QualityFileError,
    QualityFormPublic,
    QualityItem,
    QualityReviewCreate,
    QualityReviewPublic,
    answer_text,
    parse_answer,
    read_forms,
)
from ekc_core.schemas import ContactPublic

EXIT_USAGE = 2

app = typer.Typer(
    help="Качество обслуживания: формы оценки (чек-листы) и оценки контактов старшими смены.",
    no_args_is_help=True,
)
form_app = typer.Typer(
    help="Формы оценки: импорт из YAML, список, просмотр, отключение.", no_args_is_help=True
)
app.add_typer(form_app, name="form")

_CHANGES = {
    "created": "новая форма",
    "updated": "новая версия",
    "unchanged": "без изменений",
    "reactivated": "снова действует",
}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _report(problems: list[str]) -> None:
    err.print(f"[bold red]Ошибки ({len(problems)}), ничего не записано:[/]")
    for problem in problems:
        err.print(f"  {problem}", markup=False)
    raise typer.Exit(1)


def _server_problems(exc: ValidationFailedError, read: FormsFile, source: str) -> list[str]:
    lines = []
    for p in exc.problems:
        loc: list[str | int] = [int(x) if x.isdigit() else x for x in p.field.split(".") if x]
        lines.append(f"{source}:{read.locate(loc)}: {p.field}: {p.message}")
    return lines or [f"{source}: {exc.message}"]


# --- forms ----------------------------------------------------------------------------------


@form_app.command("import", help="Импорт форм из YAML: изменённая форма — новая версия.")
def form_import(
    path: Annotated[Path, typer.Argument(help="Файл YAML (forms: [...]).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Только показать изменения.")] = False,
) -> None:
    """Check the whole file first (file:line: field: reason), then write all forms or none."""
    text = read_utf8(path)
    try:
        read = read_forms(text, str(path))
    except QualityFileError as exc:
        _report([str(exc)])
    if read.problems or read.forms is None:
        _report(read.problems)
    assert read.forms is not None
    with api_client() as client:
        try:
            planned = client.import_quality_forms(read.forms, dry_run=True)
            changing = [f for f in planned.forms if f.change != "unchanged"]
            result = (
                planned
                if dry_run or not changing
                else client.import_quality_forms(read.forms, dry_run=False)
            )
        except ValidationFailedError as exc:
            _report(_server_problems(exc, read, str(path)))
    table = Table("Форма", "Версия", "Изменение", title="Формы оценки")
    for change in result.forms:
        table.add_row(change.code, str(change.version), _CHANGES.get(change.change, change.change))
    out.print(table)
    if dry_run:
        out.print("Проверка без записи (--dry-run): ничего не изменено.")
    elif not changing:
        out.print("Изменений нет.")
    else:
        out.print(f"Записано форм: {len(changing)}.")


@form_app.command("list", help="Формы оценки (последние версии).")
def form_list(
    include_inactive: Annotated[bool, typer.Option("--all", help="И отключённые формы.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        forms = client.quality_forms(include_inactive=include_inactive)
    if as_json:
        print_json(forms)
        return
    if not forms:
        out.print("Форм оценки нет. Импорт: ekc-admin quality form import FILE.yaml")
        return
    table = Table(
        "Код",
        "Версия",
        "Название",
        "Пунктов",
        "Критичных",
        "Действует",
        "Создана",
        title=f"Формы оценки ({len(forms)})",
    )
    for f in forms:
        table.add_row(
            f.code,
            str(f.version),
            f.name,
            str(len(f.items)),
            str(sum(1 for i in f.items if i.critical)),
            "да" if f.active else "нет",
            f"{f.created_at.astimezone():%d.%m.%Y} {f.created_by or 'поставка'}",
        )
    out.print(table)


def _items_table(form: QualityFormPublic) -> Table:
    table = Table(
        "№",
        "Код",
        "Пункт",
        "Вес",
        "Критичный",
        title=f"«{form.name}» ({form.code}, версия {form.version}"
        + ("" if form.active else ", отключена")
        + ")",
    )
    for n, item in enumerate(form.items, start=1):
        table.add_row(
            str(n), item.code, item.text, f"{item.weight:g}", "да" if item.critical else ""
        )
    return table


@form_app.command("show", help="Пункты формы оценки.")
def form_show(
    code: Annotated[str, typer.Argument(help="Код формы.")],
    version: Annotated[
        int | None, typer.Option(help="Версия (по умолчанию последняя).", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        form = client.quality_form(code, version=version)
    if as_json:
        print_json(form)
        return
    out.print(_items_table(form))
    out.print(
        "Оценка: взвешенная доля выполненных применимых пунктов; невыполненный критичный "
        "пункт — 0.",
        style="dim",
    )


@form_app.command("deactivate", help="Отключить форму: по ней больше не оценивают.")
def form_deactivate(code: Annotated[str, typer.Argument(help="Код формы.")]) -> None:
    with api_client() as client:
        form = client.deactivate_quality_form(code)
    out.print(
        f"Форма «{form.code}» (версия {form.version}) отключена; её оценки сохранены. "
        "Включить снова: импортируйте её ещё раз."
    )


# --- reviews --------------------------------------------------------------------------------


def _pick_form(client: EkcClient, code: str | None) -> QualityFormPublic:
    if code is not None:
        form = client.quality_form(code)
        if not form.active:
            fail(f"форма «{code}» отключена: по ней не оценивают")
        return form
    forms = client.quality_forms()
    if len(forms) == 1:
        return forms[0]
    if not forms:
        fail("нет действующей формы оценки; импорт: ekc-admin quality form import FILE.yaml")
    return fail("укажите форму: --form " + " | ".join(f.code for f in forms), EXIT_USAGE)


def _parse_pairs(text: str) -> tuple[dict[str, bool | None], list[str]]:
    answers: dict[str, bool | None] = {}
    problems = []
    for part in text.split(","):
        if not part.strip():
            continue
        code, sep, value = part.partition("=")
        if not sep:
            problems.append(f"«{part.strip()}»: ожидается пункт=да|нет|н/п")
            continue
        try:
            answers[code.strip()] = parse_answer(value)
        except ValueError as exc:
            problems.append(f"{code.strip()}: {exc}")
    return answers, problems


def _read_answers_file(path: Path) -> tuple[dict[str, bool | None], str | None, list[str]]:
    """A YAML/JSON mapping item → yes/no/na (true/false/null), or {answers: {…}, comment}."""
    import yaml

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        fail(f"{path}: не прочитать файл ответов: {exc}", EXIT_USAGE)
    comment = None
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        comment = data.get("comment")
        data = data["answers"]
    if not isinstance(data, dict):
        fail(f"{path}: ожидается отображение пункт: да|нет|н/п", EXIT_USAGE)
    answers: dict[str, bool | None] = {}
    problems = []
    for code, value in data.items():
        if value is None or isinstance(value, bool):
            answers[str(code)] = value
            continue
        try:
            answers[str(code)] = parse_answer(str(value))
        except ValueError as exc:
            problems.append(f"{path}: {code}: {exc}")
    return answers, str(comment) if comment is not None else None, problems


def _check_answers(form: QualityFormPublic, answers: dict[str, bool | None]) -> list[str]:
    codes = {i.code for i in form.items}
    problems = [f"{c}: нет такого пункта в форме «{form.code}»" for c in answers if c not in codes]
    problems += [f"{i.code}: нет ответа («{i.text}»)" for i in form.items if i.code not in answers]
    return problems


def _ask(n: int, item: QualityItem) -> bool | None:
    mark = " [критичный]" if item.critical else ""
    while True:
        reply = typer.prompt(f"{n}. {item.text}{mark} (да/нет/н/п)", err=True)
        try:
            return parse_answer(reply)
        except ValueError as exc:
            err.print(str(exc), markup=False)


def _summary(contact: ContactPublic, operator: str | None) -> None:
    lines = [
        f"Контакт №{contact.id}: {contact.channel.value}, "
        f"{'входящий' if contact.direction.value == 'in' else 'исходящий'}"
        + (f", линия {contact.line.value}" if contact.line else "")
        + f", статус {contact.status.value}",
    ]
    if contact.answered_at:
        talk = ""
        if contact.ended_at:
            talk = f", разговор {int((contact.ended_at - contact.answered_at).total_seconds())} с"
        lines.append(f"Принят {contact.answered_at.astimezone():%d.%m.%Y %H:%M}{talk}")
    lines.append(
        f"Оператор: {operator or '—'}; тематика: {contact.topic_code or '—'}; "
        f"итог: {contact.outcome.value if contact.outcome else '—'}"
    )
    if contact.summary:
        lines.append(f"Суть: {contact.summary}")
    for line in lines:
        err.print(line, markup=False)


def _print_review(review: QualityReviewPublic, form: QualityFormPublic) -> None:
    out.print(
        f"Оценка №{review.id}: контакт №{review.contact_id}, оператор {review.operator or '—'}, "
        f"форма {review.form_code} v{review.form_version}: {percent(review.score)}"
    )
    for item in form.items:
        answer = review.answers.get(item.code)
        flag = " — критичный, оценка 0" if item.critical and answer is False else ""
        out.print(f"  {answer_text(answer):4} {item.code}: {item.text}{flag}", markup=False)
    if review.comment:
        out.print(f"  Комментарий: {review.comment}", markup=False)


@app.command("review", help="Оценить контакт по форме: интерактивно или --answers.")
def review(
    contact_id: Annotated[int, typer.Argument(help="Номер контакта.", min=1)],
    form_code: Annotated[
        str | None, typer.Option("--form", help="Код формы (если действующих несколько).")
    ] = None,
    answers_text: Annotated[
        str | None,
        typer.Option("--answers", help="Ответы: пункт=да|нет|н/п через запятую (yes/no/na)."),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option("--answers-file", help="Файл YAML/JSON: пункт: да|нет|н/п."),
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Комментарий.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    """Without --answers or --answers-file it shows the contact and asks each item."""
    if answers_text is not None and answers_file is not None:
        fail("укажите что-то одно: --answers или --answers-file", EXIT_USAGE)
    with api_client() as client:
        form = _pick_form(client, form_code)
        answers: dict[str, bool | None] = {}
        if answers_text is not None:
            answers, problems = _parse_pairs(answers_text)
        elif answers_file is not None:
            answers, file_comment, problems = _read_answers_file(answers_file)
            comment = comment if comment is not None else file_comment
        else:
            contact = client.contact(contact_id)
            staff = {s.id: s for s in client.staff_list()} if contact.operator_id else {}
            who = staff.get(contact.operator_id or 0)
            _summary(contact, f"{who.username} ({who.full_name})" if who else None)
            err.print(f"Форма «{form.name}» ({form.code} v{form.version}):", markup=False)
            answers = {i.code: _ask(n, i) for n, i in enumerate(form.items, start=1)}
            if comment is None:
                comment = typer.prompt("Комментарий", default="", show_default=False, err=True)
            problems = []
        problems += _check_answers(form, answers)
        if problems:
            err.print("[bold red]Ответы не приняты, ничего не записано:[/]")
            for problem in problems:
                err.print(f"  {problem}", markup=False)
            raise typer.Exit(EXIT_USAGE)
        data = QualityReviewCreate(form_code=form.code, answers=answers, comment=comment or "")
        saved = client.review_contact(contact_id, data, idempotency_key=new_idempotency_key())
    if as_json:
        print_json(saved)
        return
    _print_review(saved, form)


@app.command(
    "reviews",
    help="Оценки контактов за период (по дате контакта) и качество по операторам и по центру.",
)
def reviews(
    operator: Annotated[str | None, typer.Option(help="Логин оператора.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="С даты (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ).")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="По дату включительно.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Сколько оценок показать.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    days: list[date | None] = []
    for option, text in (("--from", date_from), ("--to", date_to)):
        day = date_or_none(text) if text is not None else None
        if text is not None and day is None:
            fail(f"{option}: неверная дата «{text}» (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)", EXIT_USAGE)
        days.append(day)
    with api_client() as client:
        listing = client.quality_reviews(
            operator=operator, date_from=days[0], date_to=days[1], limit=limit
        )
    if as_json:
        print_json(listing)
        return
    shown = (
        f"{len(listing.items)} из {listing.total}"
        if listing.total > len(listing.items)
        else str(listing.total)
    )
    table = Table(
        "№",
        "Контакт",
        "Дата контакта",
        "Оператор",
        "Проверил",
        "Форма",
        "Оценка",
        "Комментарий",
        title=f"Оценки контактов ({shown})",
    )
    for r in listing.items:
        table.add_row(
            str(r.id),
            str(r.contact_id),
            f"{r.contact_at.astimezone():%d.%m.%Y}",
            r.operator or "—",
            r.reviewer or "—",
            f"{r.form_code} v{r.form_version}",
            percent(r.score),
            r.comment[:40],
        )
    out.print(table)
    scores = Table("Оператор", "ФИО", "Оценок", "Качество", title="Качество контактов")
    for s in sorted(listing.operators, key=lambda s: natural_key(s.operator or "")):
        scores.add_row(s.operator or "—", s.full_name or "", str(s.reviews), percent(s.score))
    scores.add_row(
        "Центр", "", str(listing.centre.reviews), percent(listing.centre.score), style="bold"
    )
    out.print(scores)


__all__ = ["app"]
