"""`ekc-server`: run the backend, migrate and seed the database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ekc_core.reference_data import ReferenceDataError
from ekc_core.settings import ServerSettings

app = typer.Typer(
    help="Центральный сервер ЕКЦ 122: запуск и база данных.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="База данных: миграции и загрузка данных.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings() -> ServerSettings:
    return ServerSettings()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command(help="Запустить REST-сервер (uvicorn).")
def run(
    host: Annotated[str | None, typer.Option(help="Адрес (по умолчанию EKC_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Порт (по умолчанию EKC_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Число процессов (сервер без состояния).")] = 1,
    upgrade: Annotated[bool, typer.Option(help="Применить миграции перед запуском.")] = True,
) -> None:
    """Start the REST backend (uvicorn)."""
    import uvicorn

    from ekc_server import migrate

    settings = _settings()
    url = settings.effective_database_url()
    if upgrade:
        migrate.upgrade(url)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"ЕКЦ 122: сервер http://{host}:{port}  (API /api/v1, документация /docs)")
    typer.echo(f"База данных: {_safe_url(url)}")
    uvicorn.run(
        "ekc_server.asgi:app",
        host=host,
        port=port,
        workers=workers,
        factory=False,
        log_level="info",
        proxy_headers=True,
        # longer than the clients' keep-alive (60 s) and the console's long poll (25 s):
        # a reopened connection costs remote offices a round trip or more
        timeout_keep_alive=75,
    )


@db_app.command("upgrade", help="Применить миграции (создаёт файл SQLite при необходимости).")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Целевая ревизия.")] = "head",
) -> None:
    """Apply Alembic migrations (creates the SQLite file if needed)."""
    from ekc_server import migrate

    url = _settings().effective_database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"Схема обновлена до {revision}: {_safe_url(url)}")


@db_app.command("seed", help="Загрузить справочники (по коду), с --demo — и демо-данные.")
def db_seed(
    demo: Annotated[bool, typer.Option("--demo", help="Добавить демонстрационные данные.")] = False,
    citizens: Annotated[int, typer.Option(help="Демо: число граждан.")] = 12000,
    contacts: Annotated[
        int, typer.Option(help="Демо: число контактов (по умолчанию — год работы центра).")
    ] = 128000,
    days: Annotated[int, typer.Option(help="Демо: за сколько последних дней.")] = 365,
    seed: Annotated[int, typer.Option(help="Демо: зерно генератора.")] = 122,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Демо: пропустить, если данные уже есть (для make run)."),
    ] = False,
) -> None:
    """Load the shipped reference data (upsert by code); with --demo, demo data too."""
    from ekc_server import migrate
    from ekc_server.db import create_db_engine, session_scope
    from ekc_server.demo import DEMO_LOGINS, DEMO_PASSWORDS, has_demo_data, seed_demo
    from ekc_server.services.kb import seed_shipped
    from ekc_server.services.quality import seed_forms
    from ekc_server.services.reference import seed_reference

    settings = _settings()
    url = settings.effective_database_url()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    started = time.perf_counter()
    try:
        with session_scope(engine) as session:
            ref = seed_reference(session=session, data_dir=settings.reference_dir)
        typer.echo("Справочники: " + ", ".join(f"{k} {v}" for k, v in ref.items()))
        with session_scope(engine) as session:
            kb_diff = seed_shipped(session=session, data_dir=settings.reference_dir)
        typer.echo(
            f"База знаний: добавлено статей из поставки {len(kb_diff.added)}, без изменений "
            f"{kb_diff.unchanged}"
            + (
                f"; правки администраторов сохранены ({len(kb_diff.changed)} изменённых, "
                f"{len(kb_diff.removed)} удалённых; поставку можно применить: "
                f"ekc-admin kb import data/kb/articles)"
                if kb_diff.changed or kb_diff.removed
                else ""
            )
        )
        with session_scope(engine) as session:
            forms = seed_forms(session=session, data_dir=settings.reference_dir)
        typer.echo(f"Формы оценки качества в поставке: {forms} (новые добавлены, правки сохранены)")
        if demo:
            with session_scope(engine) as session:
                if if_empty and has_demo_data(session=session):
                    typer.echo("Демо-данные уже загружены.")
                    seeded = False
                else:
                    counts = seed_demo(
                        session=session,
                        data_dir=settings.reference_dir,
                        citizens=citizens,
                        contacts=contacts,
                        days=days,
                        seed=seed,
                    )
                    typer.echo(
                        f"Демо-данные: сотрудников {counts.staff}, граждан {counts.citizens}, "
                        f"контактов {counts.contacts}, обращений {counts.appeals} "
                        f"(событий {counts.events}), обратных звонков {counts.callbacks}; "
                        f"опубликованных графиков {counts.rosters} ({counts.shifts} смен), "
                        f"событий присутствия операторов {counts.presence_events}, "
                        f"опросов {counts.surveys}, оценок качества {counts.quality_reviews}"
                    )
                    seeded = True
            if seeded:  # the demo's contacts are committed: learn from them
                _train_topic_model(engine, settings.reference_dir)
            typer.echo(
                "Шлюз телефонии: telephony (без пароля; токен выдаёт администратор: "
                "ekc-admin tokens create --user telephony --name АТС)"
            )
            typer.echo(
                "Демо-логины: "
                + ", ".join(f"{u} / {DEMO_PASSWORDS[r]} ({r.value})" for u, r in DEMO_LOGINS)
            )
    except ReferenceDataError as exc:
        typer.echo("Ошибки в справочных данных, ничего не записано:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        typer.echo(f"Ошибка: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"Готово за {time.perf_counter() - started:.1f} с: {_safe_url(url)}")


def _train_topic_model(engine: Any, data_dir: Path) -> None:
    """The demo's first topic classifier, so written contacts are routed from the start."""
    from ekc_server.db import session_scope
    from ekc_server.services.topic_models import retrain

    with session_scope(engine) as session:
        result = retrain(session=session, actor=None, data_dir=data_dir)
    m = result.model
    scores = (
        f"; на отложенной выборке: группа {m.holdout.group_top1:.2f}, "
        f"тематика {m.holdout.topic_top1:.2f}"
        if m.holdout
        else ""
    )
    typer.echo(
        f"Модель тематик: версия {m.version} ({m.samples} образцов, "
        f"{m.train_seconds:.1f} с{scores}), {'действует' if result.activated else result.reason}"
    )


staff_app = typer.Typer(
    help="Учётные записи (первый администратор, служебные).", no_args_is_help=True
)
app.add_typer(staff_app, name="staff")


def _add_staff(username: str, full_name: str, role: str, password: str | None) -> str:
    """Create one account directly in the database; exits 1 when the login is taken.

    Returns the database URL (safe to print)."""
    from sqlmodel import select

    from ekc_server import migrate
    from ekc_server.db import create_db_engine, session_scope
    from ekc_server.models import Staff
    from ekc_server.security import hash_password

    url = _settings().effective_database_url()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    try:
        with session_scope(engine) as session:
            if session.exec(select(Staff).where(Staff.username == username)).first():
                typer.echo(f"Ошибка: учётная запись «{username}» уже есть.", err=True)
                raise typer.Exit(1)
            session.add(
                Staff(
                    username=username,
                    full_name=full_name,
                    role=role,
                    skills=[],
                    password_hash=hash_password(password) if password else None,
                )
            )
    finally:
        engine.dispose()
    return _safe_url(url)


@staff_app.command("add-admin", help="Создать администратора (первый вход в новую базу).")
def staff_add_admin(
    username: Annotated[str, typer.Argument(help="Логин.")],
    full_name: Annotated[str, typer.Option("--full-name", help="ФИО.")] = "Администратор",
    password: Annotated[
        str | None,
        typer.Option(
            "--password", envvar="EKC_ADMIN_PASSWORD", help="Пароль (иначе будет запрошен)."
        ),
    ] = None,
) -> None:
    """Bootstrap an admin account directly in the database (no API access needed)."""
    from ekc_core.enums import Role

    if password is None:
        password = typer.prompt("Пароль", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("Ошибка: пароль короче 8 знаков.", err=True)
        raise typer.Exit(1)
    url = _add_staff(username, full_name, Role.admin.value, password)
    typer.echo(f"Администратор {username} создан: {url}")


@staff_app.command("add-gateway", help="Создать служебную учётную запись шлюза (телефония).")
def staff_add_gateway(
    username: Annotated[str, typer.Argument(help="Логин, например telephony.")],
    full_name: Annotated[str, typer.Option("--full-name", help="Название.")] = "Шлюз",
) -> None:
    """A gateway account has no password: issue it a token with `ekc-admin tokens create`."""
    from ekc_core.enums import Role

    _add_staff(username, full_name, Role.gateway.value, None)
    typer.echo(
        f"Служебная учётная запись {username} создана; токен: "
        f"ekc-admin tokens create --user {username} --name «{full_name}»"
    )


contacts_app = typer.Typer(help="Контакты: обслуживание журнала.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")


@contacts_app.command(
    "close-stale",
    help="Закрыть контакты, брошенные незавершёнными (то же делает работающий сервер "
    "каждые EKC_STALE_CHECK_MINUTES минут).",
)
def contacts_close_stale(
    hours: Annotated[
        float | None,
        typer.Option(help="Сколько часов без завершения (по умолчанию EKC_STALE_CONTACT_HOURS)."),
    ] = None,
    queue_hours: Annotated[
        float | None,
        typer.Option(
            help="Сколько часов звонок может ждать в очереди (по умолчанию EKC_STALE_QUEUE_HOURS)."
        ),
    ] = None,
) -> None:
    from ekc_server import migrate
    from ekc_server.db import create_db_engine
    from ekc_server.services.housekeeping import close_stale_now

    settings = _settings()
    if hours is not None:
        settings.stale_contact_hours = hours
    if queue_hours is not None:
        settings.stale_queue_hours = queue_hours
    url = settings.effective_database_url()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    try:
        closed = close_stale_now(engine, settings)
    finally:
        engine.dispose()
    if closed:
        typer.echo(f"Закрыто контактов: {len(closed)} ({', '.join(map(str, closed))})")
    else:
        typer.echo("Незавершённых контактов старше предела нет.")


def main() -> None:
    app(prog_name="ekc-server")


if __name__ == "__main__":
    main()
