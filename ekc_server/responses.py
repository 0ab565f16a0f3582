"""Pre-serialised JSON responses for the hot read routes.

A sync route that returns a model has FastAPI validate it against `response_model` again
(in the thread pool: one more thread hop) and then serialise it. A route that builds its
model from validated data can hand FastAPI the JSON bytes instead; `response_model` stays
on the route for the OpenAPI schema. The bytes are those FastAPI would send.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import Response
from pydantic import BaseModel


class JsonBytes(Response):
    media_type = "application/json"


def json_response(content: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    """`content` (a model, or a list of models) as a JSON response."""
    if isinstance(content, BaseModel):
        body = content.__pydantic_serializer__.to_json(content)
    else:
        body = b"[" + b",".join(m.__pydantic_serializer__.to_json(m) for m in content) + b"]"
    return JsonBytes(body, status_code=status_code)
