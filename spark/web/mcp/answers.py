"""What an MCP tool sends back: a route's JSON answer as structured content, its refusal as
a tool error carrying the API's own error body."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from spark.web.mcp.loopback import Answer


def structured(value: Any) -> types.CallToolResult:
    """A successful result: the value as structured content, and as JSON text for clients
    that read only text."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=value
    )


def refused(code: str, message: str, details: Any = None) -> types.CallToolResult:
    """A tool error in the API's error shape, so an agent reads the same code and message a
    client of the HTTP API would."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    text = json.dumps({"error": error}, separators=(",", ":"), ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def from_answer(answer: Answer) -> types.CallToolResult:
    """The route's answer as a tool result: JSON as structured content, a refusal as an
    error (with Retry-After as details.retry_after_s, where the API says when to retry)."""
    if answer.ok:
        return structured(answer.json())
    return refusal(answer)


def refusal(answer: Answer) -> types.CallToolResult:
    """A route's non-2xx answer as a tool error."""
    return refused(*error_of(answer))


def error_of(answer: Answer) -> tuple[str, str, Any]:
    """(code, message, details) of a route's non-2xx answer; Retry-After, where the API says
    when to retry, as details.retry_after_s."""
    try:
        error = answer.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", f"the API answered {answer.status}", None
    retry = answer.headers.get("retry-after")
    if retry is not None:
        details = {**(details or {}), "retry_after_s": int(retry) if retry.isdigit() else retry}
    return code, message, details
