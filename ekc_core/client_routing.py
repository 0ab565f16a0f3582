"""Typed methods of `EkcClient` for the routing table (`ekc-admin routing`)."""

from __future__ import annotations

from ekc_core.client_admin import Requester, _many, _one
from ekc_core.routing_wire import (
    RoutingChange,
    RoutingImport,
    RoutingPublic,
    RoutingVersionPublic,
)
from ekc_core.topic_wire import GuessRequest, RetrainResult, TopicGuessPublic, TopicModelPublic

#: seconds a retrain may take on the backend (training is ~5–15 s on the demo's data)
RETRAIN_TIMEOUT = 300.0


class RoutingApi:
    def routing(self: Requester, *, version: int | None = None) -> RoutingPublic:
        params = {"version": version} if version is not None else None
        return _one(self.request("GET", "/routing", params=params), RoutingPublic)

    def routing_versions(self: Requester) -> list[RoutingVersionPublic]:
        return _many(self.request("GET", "/routing/versions"), RoutingVersionPublic)

    def import_routing(
        self: Requester, text: str, source_name: str, *, dry_run: bool = False
    ) -> RoutingPublic:
        body = RoutingImport(text=text, source_name=source_name, dry_run=dry_run)
        response = self.request("POST", "/routing", json_body=body.model_dump(mode="json"))
        return _one(response, RoutingPublic)

    def change_routing(self: Requester, change: RoutingChange) -> RoutingPublic:
        response = self.request("PATCH", "/routing", json_body=change.model_dump(mode="json"))
        return _one(response, RoutingPublic)

    # --- the topic classifier (issue 14, point 2) ---

    def retrain_topic_model(self: Requester) -> RetrainResult:
        """Trains on the backend (seconds to a minute): a long read, never repeated."""
        response = self.request("POST", "/routing/retrain", timeout=RETRAIN_TIMEOUT, retries=0)
        return _one(response, RetrainResult)

    def topic_models(self: Requester) -> list[TopicModelPublic]:
        return _many(self.request("GET", "/routing/models"), TopicModelPublic)

    def guess_topic(self: Requester, text: str) -> TopicGuessPublic:
        body = GuessRequest(text=text).model_dump(mode="json")
        return _one(self.request("POST", "/routing/guess", json_body=body), TopicGuessPublic)
