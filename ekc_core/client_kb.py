"""Typed methods of `EkcClient` for the knowledge base's learning loop: the gaps report and
the synonym groups (`ekc-admin kb gaps`, `ekc-admin kb synonyms`, the console's sync).

The console's search events go through its outbox (`ekc_tui.kb_log`), not through a method
here: the outbox sends each stored write with its idempotency key and desk time.
"""

from __future__ import annotations

from datetime import date

from ekc_core.client_admin import Requester, _one
from ekc_core.kb_gaps import KbGapReport, KbSynonymCreate, KbSynonymGroup, KbSynonymSet

SEARCH_EVENTS_PATH = "/kb/search-events"


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
        """The groups; with `known` (the version the caller has) only `unchanged` when
        nothing changed, so a console's sync costs a few bytes."""
        params = {"known": known} if known else None
        return _one(self.request("GET", "/kb/synonyms", params=params), KbSynonymSet)

    def kb_add_synonyms(self: Requester, phrases: list[str]) -> KbSynonymGroup:
        body = KbSynonymCreate(phrases=phrases).model_dump(mode="json")
        return _one(self.request("POST", "/kb/synonyms", json_body=body), KbSynonymGroup)

    def kb_remove_synonyms(self: Requester, group_id: int) -> KbSynonymGroup:
        return _one(self.request("DELETE", f"/kb/synonyms/{group_id}"), KbSynonymGroup)
