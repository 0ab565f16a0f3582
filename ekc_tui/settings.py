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
