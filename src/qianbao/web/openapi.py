"""The OpenAPI document says what errors really look like: every operation may answer an RFC 9457
problem (``application/problem+json``, the ``Problem`` schema) — validation failures (422) and
every coded refusal (401, 403, 404, 409, 429, 503 …) alike. Checked by schemathesis in the test
suite (tests/fuzz): every response matches its documented schema and media type."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from qianbao.web.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable (see the API docs).",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<code>"},
        "title": {"type": "string", "description": "In the caller's language"},
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["wallet.insufficient_funds"]},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "retry_after_s": {"type": "integer", "description": "With 429 and 503: when to retry"},
        "errors": {
            "type": "array",
            "description": "With 422: the fields that are not valid",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def install_problem_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", "content": _PROBLEM}
                responses["default"] = {
                    "description": "A problem (RFC 9457) with a stable `code`",
                    "content": _PROBLEM,
                }
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
