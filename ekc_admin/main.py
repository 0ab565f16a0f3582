"""`ekc-admin <noun> <verb>`: one Typer sub-app per noun."""

from __future__ import annotations

import typer

from ekc_admin import (
    auth,
    kb,
    quality,
    reference,
    roster,
    routing,
    shifts,
    simulate,
    staff,
    staffing,
    tokens,
)
from ekc_admin.report import app as report_app

app = typer.Typer(
    help=(
        "Администрирование ЕКЦ 122: вход, справочники, база знаний, токены, сотрудники, "
        "шаблоны смен и отпуска, расчёт потребности в операторах, графики смен. "
        "Работает с сервером по HTTP.\n\n"
        "Коды выхода: 0 — успех, 1 — ошибка, 2 — неверные аргументы, 3 — нужен вход, "
        "4 — недостаточно прав, 5 — нет связи с сервером; roster check: 6 — найдены нарушения "
        "или нехватка."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.command(help="Войти: токен сохраняется в папке настроек пользователя (права 0600).")(auth.login)
app.command(help="Выйти: отозвать токен на сервере и удалить его здесь.")(auth.logout)
app.command(help="Кто вошёл, на каком сервере и до какого времени действует токен.")(auth.whoami)
app.add_typer(reference.topics_app, name="topics")
app.add_typer(reference.agencies_app, name="agencies")
app.add_typer(reference.offices_app, name="offices")
app.add_typer(tokens.app, name="tokens")
app.add_typer(kb.app, name="kb")
app.add_typer(simulate.app, name="simulate")
app.add_typer(staff.app, name="staff")
app.add_typer(shifts.app, name="shifts")
app.add_typer(staffing.app, name="staffing")
app.add_typer(roster.app, name="roster")
app.add_typer(report_app, name="report")
app.add_typer(quality.app, name="quality")
app.add_typer(routing.app, name="routing")


def main() -> None:
    app(prog_name="ekc-admin")
