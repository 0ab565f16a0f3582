"""The console's local store: one SQLite file in the data folder.

It keeps what the operator reads often (reference data, recently seen citizens and their
histories) so the console works through an outage, and the outbox: every write the operator
makes is stored here first (durably, `synchronous=FULL`) and sent by `ekc_tui.outbox`.

Personal data at rest is bounded: citizens not opened for `CITIZEN_TTL_DAYS` are purged, and
so are outbox items sent (or discarded) that long ago; `ekc_tui.desk.Desk` purges on start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ekc_core.phones import mask_phone
from ekc_core.schemas import CitizenHistory, CitizenListItem, CitizenPublic

CITIZEN_TTL_DAYS = 14
CITIZEN_LIMIT = 500
#: the store's schema version (SQLite `user_version`); `_migrate` brings older files up
SCHEMA_VERSION = 1
#: before version 1, background items were told apart by this key prefix alone
LEGACY_BACKGROUND_PREFIX = "presence-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS citizens (
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    history TEXT,
    search_text TEXT NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS citizen_phones (
    e164 TEXT NOT NULL,
    citizen_id INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    PRIMARY KEY (e164, citizen_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    steps TEXT NOT NULL,
    results TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL,
    card TEXT,
    problems TEXT,
    background INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state, id);
"""

#: columns added after the first release: a store made before gets them on open
_ADDED_COLUMNS = {
    "card": "TEXT",  # the card the item was made from (to reopen it for correction)
    "problems": "TEXT",  # the server's refusal field by field (JSON list)
    "background": "INTEGER NOT NULL DEFAULT 0",  # see OutboxItem.background
}


@dataclass
class OutboxItem:
    """One unit of the operator's work to send, as ordered steps (see `ekc_tui.outbox`)."""

    id: int
    key: str
    title: str
    steps: list[dict[str, Any]]
    results: dict[str, Any] = field(default_factory=dict)
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    created_at: float = 0.0
    sent_at: float | None = None
    card: dict[str, Any] | None = None
    """The card as it was when the item was made (`Card.dump()`), to reopen it."""
    problems: list[dict[str, str]] = field(default_factory=list)
    """Why the server refused it: `{"step", "field", "message"}` per problem."""
    background: bool = False
    """Sent like any item but not the operator's work (ready / away changes, the KB search
    log): not counted in «не отправлено» / «отклонено» (`LocalStore.counts`), set by the
    sender when it enqueues."""


_ITEM_COLUMNS = (
    "id, key, title, steps, results, state, attempts, last_error, created_at, sent_at, card, "
    "problems, background"
)


def _item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        key=row[1],
        title=row[2],
        steps=json.loads(row[3]),
        results=json.loads(row[4]),
        state=row[5],
        attempts=row[6],
        last_error=row[7],
        created_at=row[8],
        sent_at=row[9],
        card=json.loads(row[10]) if row[10] else None,
        problems=json.loads(row[11]) if row[11] else [],
        background=bool(row[12]),
    )


#: kv keys of the bodies kept with their ETags (reference data), by request path
ETAG_PREFIX = "etag:"


class LocalStore:
    """Thread-safe access to the console's SQLite file (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._migrate()
        path.chmod(0o600)

    def _migrate(self) -> None:
        """Bring a store written by an older console up to SCHEMA_VERSION, in one
        transaction (a crash in between leaves the old version, tried again next start)."""
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version >= SCHEMA_VERSION:
                return
            have = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
            if version < 1:
                # items queued by an older console keep their keys (the server's
                # idempotency records are keyed by them); only the flag is set
                db.execute(
                    "UPDATE outbox SET background = 1 WHERE key LIKE ? ESCAPE '\\'",
                    (_like(LEGACY_BACKGROUND_PREFIX) + "%",),
                )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- key/value (reference data, sync positions) -------------------------------------

    def put(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO kv(key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (key, json.dumps(value, ensure_ascii=False), time.time()),
            )

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # --- revalidated GET bodies with their ETags (`ekc_core.client.EtagStore`) ----------

    def etag_get(self, path: str) -> tuple[str, Any] | None:
        kept = self.get(ETAG_PREFIX + path)
        if not isinstance(kept, dict) or not kept.get("etag"):
            return None
        return str(kept["etag"]), kept.get("body")

    def etag_put(self, path: str, etag: str, body: Any) -> None:
        self.put(ETAG_PREFIX + path, {"etag": etag, "body": body})

    # --- citizens seen recently ---------------------------------------------------------

    def remember_citizen(self, citizen: CitizenPublic, history: CitizenHistory | None) -> None:
        search = " ".join([citizen.full_name.lower(), *citizen.phones])
        with self._tx() as db:
            db.execute(
                "INSERT INTO citizens(id, data, history, search_text, seen_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data, "
                "history = COALESCE(excluded.history, citizens.history), "
                "search_text = excluded.search_text, seen_at = excluded.seen_at",
                (
                    citizen.id,
                    citizen.model_dump_json(),
                    history.model_dump_json() if history else None,
                    search,
                    time.time(),
                ),
            )
            db.execute("DELETE FROM citizen_phones WHERE citizen_id = ?", (citizen.id,))
            db.executemany(
                "INSERT OR IGNORE INTO citizen_phones(e164, citizen_id) VALUES (?, ?)",
                [(p, citizen.id) for p in citizen.phones],
            )

    def citizen(self, citizen_id: int) -> tuple[CitizenPublic, CitizenHistory | None] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data, history FROM citizens WHERE id = ?", (citizen_id,)
            ).fetchone()
        if row is None:
            return None
        history = CitizenHistory.model_validate_json(row[1]) if row[1] else None
        return CitizenPublic.model_validate_json(row[0]), history

    def find_citizens(
        self, *, phone: str | None = None, name: str | None = None, limit: int = 20
    ) -> list[CitizenListItem]:
        """Cached citizens by E.164 number or by words of the name (offline lookup)."""
        with self._lock:
            if phone:
                rows = self._db.execute(
                    "SELECT c.data, c.history FROM citizens c JOIN citizen_phones p "
                    "ON p.citizen_id = c.id WHERE p.e164 = ? ORDER BY c.seen_at DESC LIMIT ?",
                    (phone, limit),
                ).fetchall()
            else:
                words = [w for w in (name or "").lower().split() if w]
                where = " AND ".join("search_text LIKE ? ESCAPE '\\'" for _ in words) or "1"
                rows = self._db.execute(
                    f"SELECT data, history FROM citizens WHERE {where} "
                    "ORDER BY seen_at DESC LIMIT ?",
                    (*[f"%{_like(w)}%" for w in words], limit),
                ).fetchall()
        items = []
        for data, history in rows:
            c = CitizenPublic.model_validate_json(data)
            h = CitizenHistory.model_validate_json(history) if history else None
            items.append(
                CitizenListItem(
                    id=c.id,
                    full_name=c.full_name,
                    phones_masked=[mask_phone(p) for p in c.phones],
                    settlement=c.settlement,
                    merged_into_id=c.merged_into_id,
                    open_appeals=h.open_appeals if h else 0,
                )
            )
        return items

    def purge_citizens(self, *, ttl_days: float = CITIZEN_TTL_DAYS) -> int:
        """Forget citizens not opened for `ttl_days` and keep at most CITIZEN_LIMIT."""
        cutoff = time.time() - ttl_days * 86400
        with self._tx() as db:
            n = db.execute("DELETE FROM citizens WHERE seen_at < ?", (cutoff,)).rowcount
            n += db.execute(
                "DELETE FROM citizens WHERE id NOT IN "
                "(SELECT id FROM citizens ORDER BY seen_at DESC LIMIT ?)",
                (CITIZEN_LIMIT,),
            ).rowcount
        return int(n)

    # --- outbox -------------------------------------------------------------------------

    def purge_outbox(self, *, ttl_days: float = CITIZEN_TTL_DAYS) -> int:
        """Forget sent and discarded items older than `ttl_days`: their steps hold personal
        data too. An item that a pending or failed one still refers to is kept."""
        cutoff = time.time() - ttl_days * 86400
        with self._tx() as db:
            n = db.execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'discarded') "
                "AND COALESCE(sent_at, created_at) < ? AND NOT EXISTS ("
                "SELECT 1 FROM outbox o WHERE o.state IN ('pending', 'failed') "
                "AND instr(o.steps, '\"' || outbox.key || '/') > 0)",
                (cutoff,),
            ).rowcount
        return int(n)

    def enqueue(
        self,
        *,
        key: str,
        title: str,
        steps: list[dict[str, Any]],
        card: dict[str, Any] | None = None,
        results: dict[str, Any] | None = None,
        replaces: tuple[int, ...] = (),
        background: bool = False,
    ) -> OutboxItem:
        """Store a unit of work durably before anything is sent (returns it).
        `background`: see `OutboxItem.background`.

        `results` are answers already known (steps of a refused item that the server took
        before refusing, carried into the item that corrects it); the items `replaces` names
        are marked discarded in the same transaction, so the corrected work and the refused
        one are never both waiting."""
        now = time.time()
        results = dict(results or {})
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox(key, title, steps, results, created_at, card, background) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    title,
                    json.dumps(steps, ensure_ascii=False),
                    json.dumps(results, ensure_ascii=False),
                    now,
                    json.dumps(card, ensure_ascii=False) if card is not None else None,
                    int(background),
                ),
            )
            item_id = int(cur.lastrowid or 0)
            for old in replaces:
                db.execute(
                    "UPDATE outbox SET state = 'discarded', last_error = ? "
                    "WHERE id = ? AND state IN ('failed', 'pending')",
                    (f"заменено исправленной записью «{title}»", old),
                )
        return OutboxItem(
            id=item_id,
            key=key,
            title=title,
            steps=steps,
            results=results,
            created_at=now,
            card=card,
            background=background,
        )

    def record_step(self, item_id: int, step: str, result: Any) -> None:
        """Keep one step's answer at once: a restart resumes after it."""
        with self._tx() as db:
            row = db.execute("SELECT results FROM outbox WHERE id = ?", (item_id,)).fetchone()
            results = json.loads(row[0])
            results[step] = result
            db.execute(
                "UPDATE outbox SET results = ? WHERE id = ?",
                (json.dumps(results, ensure_ascii=False), item_id),
            )

    def finish(
        self,
        item_id: int,
        *,
        state: str,
        error: str | None = None,
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + 1, "
                "problems = ?, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (
                    state,
                    error,
                    json.dumps(problems, ensure_ascii=False) if problems else None,
                    state,
                    time.time(),
                    item_id,
                ),
            )

    def note_attempt(self, item_id: int, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, item_id),
            )

    def outbox(self, *, states: tuple[str, ...] = ("pending",)) -> list[OutboxItem]:
        marks = ",".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id",
                states,
            ).fetchall()
        return [_item(r) for r in rows]

    def item(self, key: str) -> OutboxItem | None:
        """One item by its key, in any state (a reference to an earlier item reads it)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE key = ?", (key,)
            ).fetchone()
        return _item(row) if row else None

    def item_by_id(self, item_id: int) -> OutboxItem | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE id = ?", (item_id,)
            ).fetchone()
        return _item(row) if row else None

    def counts(self) -> dict[str, int]:
        """Items of the operator's work by state. Background items (ready / away changes,
        the KB search log) are sent like any item but not counted: the status bar shows the
        state itself, and "не отправлено" stays about cards."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, count(*) FROM outbox WHERE background = 0 GROUP BY state"
            ).fetchall()
        return dict(rows)

    def background_pending(self) -> int:
        """Background items (`OutboxItem.background`) not yet sent."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM outbox WHERE state = 'pending' AND background = 1"
            ).fetchone()
        return int(row[0])

    def retry(self, item_id: int) -> None:
        """Put a failed item back in the queue (after the cause was fixed)."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'pending' WHERE id = ? AND state = 'failed'", (item_id,)
            )

    def discard(self, item_id: int) -> None:
        """Give up a failed item (the operator confirmed); it stays listed as discarded."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = 'discarded' WHERE id = ? AND state = 'failed'",
                (item_id,),
            )


def _like(word: str) -> str:
    """A typed word as a LIKE pattern part: % and _ mean themselves."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
