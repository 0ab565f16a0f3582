"""Console settings: the client's (`EKC_SERVER_URL`, timeouts) plus the local store's."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ekc_core.settings import ClientSettings, default_data_dir, default_reference_dir


def _console_dir() -> Path:
    return default_data_dir() / "console"


class ConsoleSettings(ClientSettings):
    """`EKC_*` environment variables and `.env`, as for `ekc-admin`, and these."""

    console_dir: Path = Field(default_factory=_console_dir)
    """Local store of this console: `console.db` (cache and outbox) and `kb-index/`."""

    synonyms_path: Path = Field(
        default_factory=lambda: default_reference_dir() / "kb" / "synonyms.txt"
    )
    """Synonym groups for the local knowledge-base search."""

    offer_wait: float = 25.0
    """Seconds the backend holds a request for new contacts open (long poll)."""

    heartbeat_seconds: float = 15.0
    """How often a small request checks the link while nothing else is sent. A lost link
    usually shows sooner: the waiting long poll's socket fails through TCP keep-alive within
    ~7 s. Each heartbeat is ~1 KB on the wire (every 5 s would be ~12 KB a minute)."""

    kb_sync_seconds: float = 120.0
    """How often the local knowledge-base index asks the backend for changes."""

    outbox_retry_seconds: float = 5.0
    """Pause before sending the outbox again after the backend did not answer."""

    search_debounce: float = 0.04
    """Seconds of no typing before the knowledge base is searched."""

    presence_quit_wait: float = 2.0
    """Seconds Ctrl+Q waits for the "offline" state to reach the backend before the console
    closes (it goes with the next start when it could not: the wallboard then counts the
    console offline once it has been silent for two minutes)."""

    wallboard_wait: float = 25.0
    """Seconds the backend holds a wallboard request open when nothing changes (long poll):
    an idle wallboard costs one small 304 answer per this many seconds."""

    wallboard_wait_alert_seconds: int = 60
    """Wallboard alert: a call has waited longer than this many seconds on either line."""

    wallboard_written_alert_minutes: int = 10
    """Wallboard alert: a written message (social, ПОС, chats, e-mail) has waited longer than
    this many minutes (the centre's target answers them within 10)."""

    wallboard_sl_alert: bool = True
    """Wallboard alert: the service level of the last 30 minutes fell below its target
    (80/20); the tile turns red either way."""

    wallboard_overdue_callbacks_alert: bool = True
    """Wallboard alert: callbacks past their time (the tile turns red either way)."""

    wallboard_acw_warn_seconds: int = 180
    """Wallboard: after-call work longer than this many seconds is marked in the operators'
    table."""

    wallboard_away_warn_minutes: int = 20
    """Wallboard: an operator away longer than this many minutes is marked in the table."""
