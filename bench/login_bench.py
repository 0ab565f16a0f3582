"""Sign-in answer times: a known login with a wrong password, an unknown login, an account
without a password, and a right password; then the same with the old shortcut (no dummy
argon2 check for an unknown login) for comparison.

Run: `PYTHONPATH=. python bench/login_bench.py` (SQLite in a temp folder; set
`EKC_BENCH_DATABASE_URL` for a scratch PostgreSQL database: its `public` schema is dropped).
In-process (TestClient), throttling switched off. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings, default_reference_dir
from ekc_server import migrate, security
from ekc_server.app import create_app
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import Staff
from ekc_server.services import auth
from ekc_server.services.reference import seed_reference

ROUNDS = 30
PASSWORD = "bench-password-122"
CASES = {
    "known login, wrong password": ("known", "wrong"),
    "unknown login": ("nobody", "wrong"),
    "account without password": ("gateway", "wrong"),
    "right password": ("known", PASSWORD),
}


@contextmanager
def old_shortcut() -> Iterator[None]:
    """verify_password as it was: no hash (unknown login, no password) → False at once."""
    real = auth.verify_password  # type: ignore[attr-defined]

    def shortcut(password_hash: str | None, password: str) -> bool:
        return bool(password_hash) and real(password_hash, password)

    setattr(auth, "verify_password", shortcut)  # noqa: B010 (a bench-only swap)
    try:
        yield
    finally:
        setattr(auth, "verify_password", real)  # noqa: B010


def measure(client: TestClient, username: str, password: str) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        samples.append(time.perf_counter() - start)
        assert r.status_code in (200, 401), r.text
    return samples


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ekc-login-bench-"))
    url = os.environ.get("EKC_BENCH_DATABASE_URL") or f"sqlite:///{data_dir / 'ekc.db'}"
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(url)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        session.add(
            Staff(
                username="known",
                full_name="Known",
                role=Role.operator.value,
                password_hash=security.hash_password(PASSWORD),
            )
        )
        session.add(Staff(username="gateway", full_name="Gateway", role=Role.gateway.value))
    settings = ServerSettings(
        data_dir=data_dir,
        database_url=url,
        login_max_failures=10**9,
        login_address_max_failures=10**9,
    )
    print(f"sign-in answer time, {engine.dialect.name}, {ROUNDS} requests each (p50 / p95)")
    with TestClient(create_app(settings, engine=engine)) as client:
        measure(client, "known", "warm-up")
        for label, shortcut in (("now", False), ("before (no dummy hash)", True)):
            print(f"  {label}:")
            with old_shortcut() if shortcut else nullcontext():
                for case, (username, password) in CASES.items():
                    ordered = sorted(measure(client, username, password))
                    p95 = ordered[int(len(ordered) * 0.95) - 1]
                    print(
                        f"    {case:30s} {statistics.median(ordered) * 1000:7.1f} ms"
                        f"  {p95 * 1000:7.1f} ms"
                    )
    engine.dispose()


if __name__ == "__main__":
    main()
