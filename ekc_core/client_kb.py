"""Typed methods of `EkcClient` for the knowledge base's learning loop: the gaps report and
the synonym groups (`ekc-admin kb gaps`, `ekc-admin kb synonyms`, the console's sync).

The console's search events go through its outbox (`ekc_tui.kb_log`), not through a method
here: the outbox sends each stored write with its idempotency key and desk time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ekc_core.client_admin import Requester, _one
from ekc_core.kb_gaps import KbGapReport, KbSynonymCreate, KbSynonymGroup, KbSynonymSet
from ekc_core.schemas import (
    KbArticleIn,
    KbImportResult,
    KbStageChunk,
    KbStageCommit,
    KbStageOpen,
    KbStagePublic,
)

SEARCH_EVENTS_PATH = "/kb/search-events"
STAGED_PATH = "/kb/imports/staged"
#: a commit publishes (and a dry run compares) every staged article: minutes at 50,000 on a
#: busy machine
COMMIT_TIMEOUT = 900.0


class KbImportApi:
    """Staged imports (`ekc-admin kb import`): open, append chunks, commit or discard."""

    def kb_stage_open(self: Requester, source_name: str) -> KbStagePublic:
        body = KbStageOpen(source_name=source_name).model_dump(mode="json")
        return _one(self.request("POST", STAGED_PATH, json_body=body), KbStagePublic)

    def kb_stage_append(
        self: Requester, batch_id: int, offset: int, articles: list[KbArticleIn]
    ) -> KbStagePublic:
        """One chunk; not retried by the client (the offset check refuses a resend)."""
        body = KbStageChunk(offset=offset, articles=articles).model_dump(mode="json")
        response = self.request(
            "POST", f"{STAGED_PATH}/{batch_id}/articles", json_body=body, timeout=COMMIT_TIMEOUT
        )
        return _one(response, KbStagePublic)

    def kb_stage_commit(
        self: Requester, batch_id: int, *, sync: bool = False, dry_run: bool = False
    ) -> KbImportResult:
        body = KbStageCommit(sync=sync, dry_run=dry_run).model_dump(mode="json")
        response = self.request(
            "POST", f"{STAGED_PATH}/{batch_id}/commit", json_body=body, timeout=COMMIT_TIMEOUT
        )
        return _one(response, KbImportResult)

    def kb_stage_discard(self: Requester, batch_id: int) -> None:
        self.request("DELETE", f"{STAGED_PATH}/{batch_id}")


class KbLearningApi:
    """The gaps report (leads, admins) and synonym groups (everyone reads, admins edit)."""

    def kb_gaps(
        self: Requester,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 100,
    ) -> KbGapReport:
        params = {"from": date_from, "to": date_to, "limit": limit}
        return _one(self.request("GET", "/kb/gaps", params=params), KbGapReport)

    def kb_synonyms(self: Requester, *, known: str | None = None) -> KbSynonymSet:
        """The groups and one-way rules; with `known` (the version the caller has) only
        `unchanged` when nothing changed, so a console's sync costs a few bytes."""
        params: dict[str, Any] = {"rules": "true"}
        if known:
            params["known"] = known
        return _one(self.request("GET", "/kb/synonyms", params=params), KbSynonymSet)

    def kb_add_synonyms(
        self: Requester, phrases: list[str], means: list[str] | None = None
    ) -> KbSynonymGroup:
        """Equal phrases, or with `means` a one-way rule (the phrases are a caller's)."""
        group = KbSynonymCreate(phrases=phrases, means=means or [])
        body = group.model_dump(mode="json", exclude_defaults=True)  # a backend before rules
        return _one(self.request("POST", "/kb/synonyms", json_body=body), KbSynonymGroup)

    def kb_remove_synonyms(self: Requester, group_id: int) -> KbSynonymGroup:
        return _one(self.request("DELETE", f"/kb/synonyms/{group_id}"), KbSynonymGroup)
