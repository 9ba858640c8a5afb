"""One request to a unity-mcp server over an MCP session: a tool call and its answer, or the
list of connected Unity instances; and what an answer says about the instance behind it.

Facts about the server (mcpforunityserver, HTTP transport) these rely on:
- it holds a call while it waits for a Unity instance (20 s), for the command (30 s), and
  after a script write for the editor to be ready (30 s; `refresh_unity` 60 s), so a call's
  timeout is what the server may hold it plus SPARK's own margin;
- when no instance is connected, one dropped mid-command, or one is not ready, it answers
  `success: false` with `hint: "retry"` (`data.reason: "no_unity_session"` and the like);
  an instance named in a call that is not connected is refused with "not found";
- `mcpforunity://instances` lists the connected instances. It is read on a session of its
  own each time: the server remembers, per MCP session, the instance it picked for it, and
  waits for that one to come back before answering anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ImageContent, TextContent

from spark.engines.unity.bridge import EditorInstance

INSTANCES_URI = "mcpforunity://instances"
#: the longest the server itself may hold a call to each tool before it answers
SERVER_WAIT_S = {
    "manage_script": 20 + 30,
    "create_script": 20 + 30 + 30 + 30 + 30,
    "apply_text_edits": 20 + 30 + 30 + 30 + 30,
    "refresh_unity": 20 + 30 + 60,
    "read_console": 20 + 2 + 6,
    "manage_camera": 20 + 30,
    "manage_scene": 20 + 30,
    # its preflight waits up to 30 s for a compile to end before the command
    "manage_asset": 20 + 30 + 30,
}
DEFAULT_SERVER_WAIT_S = 50
#: the codes of answers the server made up itself when a tool failed in it, not the editor's
SERVER_FAILURES = ("tool_error", "mcp_error")
#: the server's words for an instance that is not (or no longer) there
_GONE = (
    "unity session not available",
    "no unity plugins are currently connected",
    "not found. available",
    "no running unity instance matches",
    "disconnected while awaiting",
    "superseded by",
)


def call_timeout(tool: str, margin_s: float) -> float:
    """How long SPARK waits for a call to tool: the server's own waits, then margin_s."""
    return SERVER_WAIT_S.get(tool, DEFAULT_SERVER_WAIT_S) + margin_s


@dataclass(frozen=True)
class Answer:
    """A tool's answer: unity-mcp's JSON ({success, message, data}, or {success: false,
    code, error, hint}) and any images that came with it."""

    payload: dict[str, Any]
    images: tuple[ImageContent, ...] = ()

    @property
    def failed(self) -> bool:
        return self.payload.get("success") is False

    @property
    def data(self) -> Any:
        return self.payload.get("data")

    @property
    def error(self) -> str:
        """What a failed answer says went wrong."""
        payload = self.payload
        return str(payload.get("error") or payload.get("message") or payload.get("code") or "")

    @property
    def instance_away(self) -> bool:
        """The instance was not there to answer (a reload, or the editor closed): asking
        again once it is back is safe, since the command did not run, or runs again the same."""
        if not self.failed:
            return False
        data = self.data if isinstance(self.data, dict) else {}
        if self.payload.get("hint") == "retry" or data.get("reason") in (
            "no_unity_session",
            "stale_connection",
        ):
            return True
        return any(words in self.error.lower() for words in _GONE)

    @property
    def retry_after_s(self) -> float:
        """The pause the server asks for before asking again."""
        data = self.data if isinstance(self.data, dict) else {}
        try:
            return min(max(float(data.get("retry_after_ms", 250)) / 1000.0, 0.05), 2.0)
        except (TypeError, ValueError):
            return 0.25


async def call_tool(
    session: ClientSession, tool: str, args: dict[str, Any], timeout: float
) -> Answer:
    """Call tool; a refusal by the server's middleware comes back as a failed Answer."""
    try:
        result = await session.call_tool(tool, args, read_timeout_seconds=timeout)
    except MCPError as exc:
        return Answer({"success": False, "code": "mcp_error", "error": str(exc)})
    if not isinstance(result, CallToolResult):
        return Answer({"success": False, "code": "unexpected", "error": type(result).__name__})
    return answer_of(result)


def answer_of(result: CallToolResult) -> Answer:
    """unity-mcp's JSON from a tool result, and its images."""
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    images = tuple(c for c in result.content if isinstance(c, ImageContent))
    if result.is_error:
        error = texts[0] if texts else "the tool failed"
        return Answer({"success": False, "code": "tool_error", "error": error}, images)
    if isinstance(result.structured_content, dict) and "success" in result.structured_content:
        return Answer(dict(result.structured_content), images)
    try:
        payload = json.loads(texts[0]) if texts else {"success": True}
    except ValueError:
        payload = {"success": True, "message": texts[0]}
    if not isinstance(payload, dict):
        payload = {"success": True, "data": payload}
    return Answer(payload, images)


async def read_instances(session: ClientSession) -> list[EditorInstance]:
    """The Unity instances the server lists as connected."""
    result = await session.read_resource(INSTANCES_URI)
    for content in result.contents:
        text = getattr(content, "text", None)
        if text is None:
            continue
        listing = json.loads(text)
        if isinstance(listing, dict) and listing.get("success") is False:
            raise RuntimeError(str(listing.get("error") or "the instance list failed"))
        items = listing.get("instances", []) if isinstance(listing, dict) else []
        return [_instance(item) for item in items if isinstance(item, dict) and item.get("id")]
    raise RuntimeError(f"{INSTANCES_URI} came back empty")


def _instance(item: dict[str, Any]) -> EditorInstance:
    ident = str(item["id"])
    name, _, hash_ = ident.rpartition("@")
    return EditorInstance(
        id=ident,
        name=str(item.get("name") or name),
        hash=str(item.get("hash") or hash_),
        unity_version=str(item.get("unity_version") or ""),
    )


def choose(named: str | None, connected: list[EditorInstance]) -> EditorInstance | str | None:
    """The instance to use: the one named (`Name@hash`, a hash or its prefix, or a project
    name that only one has), else the only one connected. None when it is not connected;
    a message when the choice is ambiguous."""
    if named is None:
        if len(connected) > 1:
            ids = ", ".join(sorted(i.id for i in connected))
            return f"several Unity instances are connected ({ids}): set unity_instance"
        return connected[0] if connected else None
    wanted = named.strip().lower()
    matches = [
        i
        for i in connected
        if i.id.lower() == wanted or i.hash.lower().startswith(wanted) or i.name.lower() == wanted
    ]
    exact = [i for i in matches if i.id.lower() == wanted]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if matches:
        ids = ", ".join(sorted(i.id for i in matches))
        return f"unity_instance {named!r} matches several instances ({ids}): use Name@hash"
    return None
