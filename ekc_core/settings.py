"""Settings from the environment (prefix `EKC_`) and `.env`; built by factories, not at import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # the clients load settings at start: the indicators only when asked
    from ekc_core.kpi import KpiParams

APP_NAME = "ekc122"


def default_data_dir() -> Path:
    """Per-user data folder, e.g. `~/.local/share/ekc122` on Linux."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    """Per-user config folder, e.g. `~/.config/ekc122` on Linux."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_reference_dir() -> Path:
    """The shipped `data/` folder: beside the packages in a checkout, `ekc_data` in a wheel."""
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / "reference").is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("ekc_data")))  # present only in an installed wheel


class ServerSettings(BaseSettings):
    """Settings of the backend (`ekc-server`)."""

    model_config = SettingsConfigDict(env_prefix="EKC_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Folder for the embedded SQLite database and other state of this machine."""

    database_url: str | None = None
    """SQLAlchemy URL; default is the SQLite file `ekc.db` in `data_dir`.
    Production: `postgresql+psycopg://user@host:5432/ekc`."""

    reference_dir: Path = Field(default_factory=default_reference_dir)
    """Folder with the shipped reference data (`reference/*.yaml`, `demo/`)."""

    host: str = "127.0.0.1"
    """Address `ekc-server run` listens on."""

    port: int = 8122
    """Port `ekc-server run` listens on."""

    session_ttl_hours: float = 12.0
    """Lifetime of a login token; a 12-hour shift plus margin."""

    gzip_minimum_size: int = 500
    """Responses larger than this many bytes are gzip-compressed for slow links."""

    db_pool_size: int = 10
    """Connections per server process; at most this many of its requests work with the
    database at once, the others wait `db_pool_timeout` (PostgreSQL `max_connections` ≥
    processes × this)."""

    db_pool_timeout: float = Field(default=2.0, gt=0)
    """Seconds a request waits for a database connection when all of this process's are
    busy; then it is answered 503 with `Retry-After` (load shedding, not a long stall)."""

    busy_retry_after: int = Field(default=2, ge=1)
    """Seconds a 503 (server busy) tells the client to wait before it tries again."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest request body of any request but a knowledge-base import (larger: 413)."""

    max_kb_import_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    """Largest body of `POST /api/v1/kb/imports` (a whole knowledge base in one request:
    50,000 articles of 100-500 words are ~230 MB of JSON)."""

    clock_skew_minutes: float = 5.0
    """How far ahead of the backend's clock a write's time (`X-Occurred-At`, a gateway's
    `queued_at`) may be after correction before it is refused as being in the future."""

    write_max_age_days: int = 14
    """The oldest write accepted (`X-Occurred-At`): what a console's outbox keeps."""

    stale_contact_hours: float = 4.0
    """Contacts left active or in after-call work longer than this are closed by the backend
    with a reason (an operator who lost the card, a console that died); 0 turns it off."""

    stale_queue_hours: float = 24.0
    """Calls (phone channel) still waiting in the queue this long after they came in are
    marked abandoned (the gateway never reported the hang-up); 0 turns it off."""

    stale_check_minutes: float = 5.0
    """How often the backend looks for such contacts (and logs silent consoles offline)."""

    # --- sign-in and tokens (see README, "Personal data and tokens") ---

    gateway_token_days: int = Field(default=365, ge=1, le=3650)
    """Default lifetime of a personal API token issued to a gateway service account."""

    admin_token_days: int = Field(default=30, ge=1, le=3650)
    """Lifetime (default and maximum) of a personal API token an admin issues to themselves."""

    login_max_failures: int = Field(default=8, ge=1)
    """Wrong passwords for one login within `login_window_minutes` before sign-in with that
    login answers 429 until the window ends."""

    login_address_max_failures: int = Field(default=50, ge=1)
    """Wrong passwords from one client address (an office behind NAT shares one) within
    `login_window_minutes` before sign-in from that address answers 429."""

    login_window_minutes: float = Field(default=15.0, gt=0)
    """The window of the wrong-password counters."""

    # --- indicators (ekc_core.kpi; a report may override the short-abandon threshold) ---

    kpi_sl_threshold_seconds: int = Field(default=20, ge=1, le=3600)
    """Service level: answered within this many seconds of queueing is in time (80/20)."""

    kpi_sl_target: float = Field(default=0.8, gt=0, le=1)
    """Service level target: the share of offered calls answered in time."""

    kpi_short_abandon_seconds: int = Field(default=5, ge=0, le=600)
    """Calls abandoned sooner than this after queueing are not counted as offered (0: all
    abandoned calls count)."""

    kpi_written_threshold_seconds: int = Field(default=600, ge=1, le=7 * 86400)
    """Written channels: taken within this many seconds of arrival is answered in time."""

    def kpi_params(self) -> KpiParams:
        """The indicator thresholds of this server."""
        from ekc_core.kpi import KpiParams

        return KpiParams(
            sl_threshold_seconds=self.kpi_sl_threshold_seconds,
            sl_target=self.kpi_sl_target,
            short_abandon_seconds=self.kpi_short_abandon_seconds,
            written_threshold_seconds=self.kpi_written_threshold_seconds,
        )

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ekc.db'}"


class ClientSettings(BaseSettings):
    """Settings of the clients (`ekc-admin`, the console)."""

    model_config = SettingsConfigDict(env_prefix="EKC_", env_file=".env", extra="ignore")

    server_url: str = "http://127.0.0.1:8122"
    """Backend base URL used when the user has not logged in to another one."""

    config_dir: Path = Field(default_factory=default_config_dir)
    """Folder for the credentials file (`credentials.json`, mode 0600)."""

    workstation: str | None = None
    """Name of this workstation for the audit log; default is the host name."""

    connect_timeout: float = 5.0
    """Seconds to open a connection; satellite links need ~3 round trips of 600 ms."""

    read_timeout: float = 20.0
    """Seconds to wait for a response."""

    retries: int = 3
    """Retries of safe requests (GET, or writes with an idempotency key) with backoff."""
