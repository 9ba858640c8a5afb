"""Reading request bodies: JSON only, size-limited, and validation errors that name the field."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from spark.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


async def read_json(request: Request, limit: int) -> Any:
    """The parsed JSON body; 413 over limit, 415 if not JSON, 400 if malformed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is over {limit} bytes")
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def field_name(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """A dotted field path from a pydantic error location."""
    parts = [prefix] if prefix else []
    parts += [str(p) for p in loc]
    return ".".join(parts) or "body"


def validation_failed(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    """A 422 whose details name each bad field."""
    errors = [
        {"field": field_name(e["loc"], prefix), "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = errors[0]
    return ValidationFailed(
        f"{first['field']}: {first['message']}",
        details={"field": first["field"], "errors": errors},
    )


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate data as model, or raise a 422 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc, prefix) from None
