"""Engines and sessions, built from settings by factories (nothing at import time)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session


def ensure_sqlite_file(url: str) -> None:
    """Create a new SQLite database file 0600 in a folder created 0700 (personal data,
    152-FZ): SQLite and Alembic would create them readable by every local user. Existing
    files and folders are left as they are; other databases are not touched."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(str(parsed.database))
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is masked by the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it first
        return
    path.chmod(0o600)


def create_db_engine(
    url: str, *, pool_size: int = 10, pool_timeout: float = 30.0, echo: bool = False
) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    A process opens at most `pool_size` connections and keeps them (no overflow: under
    load, connections opened past the pool and closed again cost the database a process
    each). The API admits as many requests at once (`Admission`); a statement that finds
    every connection busy waits `pool_timeout` seconds, then `sqlalchemy.exc.TimeoutError`
    is raised (the API answers 503, see `middleware.py`).
    """
    parsed = make_url(url)
    pool_args: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_timeout": pool_timeout,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            ensure_sqlite_file(url)
        else:
            pool_args = {}  # one in-memory database: SQLAlchemy's own single-connection pool
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pool_args,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    else:
        engine = create_engine(url, echo=echo, **pool_args)
        _ping_when_idle(engine)
    if pool_args:
        _ADMISSIONS[engine] = Admission(pool_size)
    return engine


#: a pooled connection unused this long is checked (one round trip) before it is handed out
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for connections that sat idle: under load a connection
    comes back to the pool and goes out again within milliseconds, and a ping on every
    checkout would add a round trip to every request. One that breaks between two busy
    uses fails its request (answered 503, see `middleware.py`) and is replaced."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["ekc_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("ekc_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


class PoolBusyError(PoolTimeoutError):
    """No database capacity came free within the wait (answered 503 by `middleware.py`)."""


class Admission:
    """At most `capacity` requests of a process do database work at once (the pool's size).

    The rest wait on the event loop, holding no thread, up to a time limit, and are then
    refused. Without it a burst of requests takes every worker thread, each thread blocks
    on the pool, and the requests that hold connections wait for a thread to finish: the
    pool times out in rounds (the 30-second stalls this replaces). `release` may be called
    from any thread.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free = capacity
        self._lock = threading.Lock()
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def acquire(self, timeout: float) -> None:
        """A slot, first come first served; `PoolBusyError` after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            waiter = (loop, loop.create_future())
            self._waiting.append(waiter)
        try:
            await asyncio.wait_for(waiter[1], timeout)
        except BaseException as exc:
            with self._lock:
                granted = waiter not in self._waiting
                if not granted:
                    self._waiting.remove(waiter)
            if granted and isinstance(exc, TimeoutError):
                return  # the slot came just as the time ran out: keep it
            if granted:
                self.release()
            if isinstance(exc, TimeoutError):
                raise PoolBusyError(f"no database capacity within {timeout} s") from None
            raise

    def release(self) -> None:
        with self._lock:
            if not self._waiting:
                self._free += 1
                return
            loop, future = self._waiting.popleft()  # the slot is theirs from now on
        loop.call_soon_threadsafe(_wake, future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter that timed out meanwhile owns the slot all the same
        future.set_result(None)


class AdmittedSession(Session):
    """A session holding an `Admission` slot, given back when the session is closed."""

    def __init__(self, engine: Engine, admission: Admission) -> None:
        super().__init__(engine, expire_on_commit=False)
        self._admission: Admission | None = admission

    def close(self) -> None:
        try:
            super().close()
        finally:
            admission, self._admission = self._admission, None
            if admission is not None:
                admission.release()


_ADMISSIONS: weakref.WeakKeyDictionary[Engine, Admission] = weakref.WeakKeyDictionary()


def admission_for(engine: Engine) -> Admission | None:
    """The admission of an engine made by `create_db_engine` (None for one without a
    sized pool: SQLite in memory, or an engine made elsewhere)."""
    return _ADMISSIONS.get(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
