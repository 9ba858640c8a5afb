"""Reading request bodies: JSON only, depth-limited, text the database can store,
and validation errors that name the field."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from spark.errors import BadRequest, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)

#: no SPARK body nests deeper than a few levels; far below Python's recursion limit, so
#: nothing downstream (validation, hashing, JSON columns) can recurse itself to death
MAX_DEPTH = 32


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


async def read_json(request: Request) -> Any:
    """The parsed JSON body; 415 if not JSON, 400 if malformed.

    Its size is already bounded by BodyLimitMiddleware (spark/web/guards.py), for every route.
    """
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType()
    body = await request.body()
    try:
        parsed = json.loads(body)
    except RecursionError:
        raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    check_tree(parsed)
    return parsed


def check_tree(data: Any) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (400), and text the database cannot store —
    NUL, or a lone surrogate from a `\\ud800` escape — with a 422 naming the field.

    Iterative on purpose: the input is exactly what would overflow a recursive walk.
    """
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                check_text(key, (*path, key))
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in enumerate(node))
        elif isinstance(node, str):
            check_text(node, path)


def check_text(text: str, path: tuple[int | str, ...]) -> None:
    """A 422 naming the field at path if text holds NUL or a lone surrogate."""
    if "\x00" in text:
        problem = "must not contain NUL characters"
    else:
        try:
            text.encode("utf-8")
            return
        except UnicodeEncodeError:
            problem = "must be valid Unicode (no lone surrogates)"
    field = field_name(path)
    raise ValidationFailed(f"{field}: {problem}", details={"field": field})


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
