"""The EditorBridge on unity-mcp: its tools called through the `mcp` SDK's streamable-HTTP
client, one session per editor URL, a timeout per call, polling while the editor reloads or
answers "pending", and a circuit breaker per editor shared by every process (through Redis).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

from mcp.client.session import ClientSession
from mcp_types import CallToolResult, ImageContent, TextContent
from PIL import Image

from spark.config import Settings
from spark.domain.files import sha256_of
from spark.engines.unity.bridge import (
    Diagnostic,
    Editor,
    EditorRefused,
    EditorUnavailable,
    Pushed,
    Screenshot,
)
from spark.engines.unity.mcp_session import Loop, Sessions, round_trip
from spark.kv.base import BreakerStore
from spark.resilience.breaker import BreakerOpen, BreakerPolicy, CircuitBreaker, breaker_policy

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the one loop thread every bridge in this process shares
LOOP = Loop()
#: unity-mcp's answer while a domain reload is under way (its hint is "retry")
RELOADING = "Unity is reloading"


@dataclass(frozen=True)
class Answer:
    """A tool's answer: unity-mcp's JSON ({success, message, data} or {success: false, code,
    error} or a pending status) and any images that came with it."""

    payload: dict[str, Any]
    images: tuple[ImageContent, ...] = ()

    @property
    def failed(self) -> bool:
        return self.payload.get("success") is False

    @property
    def data(self) -> Any:
        return self.payload.get("data")


def breaker_name(url: str) -> str:
    """The breaker guarding one editor: `unity_mcp:<host:port>`."""
    return f"unity_mcp:{urlparse(url).netloc}"


def _headers(editor: Editor) -> dict[str, str]:
    return {"X-API-Key": editor.api_key} if editor.api_key else {}


class McpBridge:
    """EditorBridge on unity-mcp. Constructing it contacts nothing; sessions open on use."""

    def __init__(
        self,
        store: BreakerStore,
        policy: BreakerPolicy,
        *,
        timeout_s: float = 30.0,
        wait_s: float = 60.0,
        reload_poll_s: float = 0.5,
    ) -> None:
        self._store, self._policy = store, policy
        self._timeout, self._wait, self._reload_poll = timeout_s, wait_s, reload_poll_s
        self._pid, self._sessions = -1, Sessions(timeout_s)

    # -- the port -------------------------------------------------------------------------

    def ping(self, editor: Editor) -> None:
        """Raise EditorUnavailable unless the editor answers an MCP ping."""
        self._guarded(editor, lambda: self._run(editor, "ping", _send_ping))

    def open_scene(self, editor: Editor, scene: str) -> None:
        """Open the scene at its `Assets/…` path."""
        self._ok(
            editor, "manage_scene", self._call(editor, "manage_scene", action="load", path=scene)
        )

    def screenshot(
        self, editor: Editor, *, max_resolution: int, camera: str | None = None
    ) -> Screenshot:
        """Capture the game view as a PNG at most max_resolution on its long side."""
        args: dict[str, Any] = {"action": "screenshot", "include_image": True}
        args |= {"max_resolution": max_resolution, "capture_source": "game_view"}
        if camera:
            args["camera"] = camera
        answer = self._ok(editor, "manage_camera", self._call(editor, "manage_camera", **args))
        if not answer.images:
            raise EditorRefused(editor.url, "manage_camera", "no_image", "no image came back")
        return _screenshot(editor, answer)

    def write_file(
        self, editor: Editor, path: str, content: bytes, precondition_sha256: str | None
    ) -> Pushed:
        """Write a C# script: create_script when new, else one whole-file apply_text_edits
        guarded by its sha256 (unity-mcp has no plain overwrite)."""
        folder, _, filename = path.rpartition("/")
        if not filename.endswith(".cs") or not folder:
            raise EditorRefused(editor.url, "write_file", "bad_extension", f"{path} is no script")
        current_text = self._read_script(editor, folder, filename.removesuffix(".cs"))
        current = sha256_of(current_text.encode()) if current_text is not None else None
        wanted = sha256_of(content)
        if current == wanted:
            return Pushed(path, wanted)
        if current_text is None and precondition_sha256 is None:
            return self._create(editor, path, content)
        if current_text is None or precondition_sha256 is None or current != precondition_sha256:
            return Pushed(path, current, True, precondition_sha256, current)
        return self._replace(editor, path, current_text, content, precondition_sha256)

    def refresh(self, editor: Editor) -> None:
        """Import changed assets and compile scripts, waiting until the editor is ready."""
        args = {"mode": "if_dirty", "scope": "all", "compile": "request", "wait_for_ready": True}
        self._ok(editor, "refresh_unity", self._call(editor, "refresh_unity", **args))

    def console(self, editor: Editor, types: Sequence[str] = ("error",)) -> list[Diagnostic]:
        """The console's current entries of those types."""
        args = {"action": "get", "types": list(types), "format": "json", "count": 500}
        answer = self._ok(editor, "read_console", self._call(editor, "read_console", **args))
        data = answer.data
        items = data.get("items", []) if isinstance(data, dict) else data or []
        return [_diagnostic(item) for item in items if isinstance(item, dict)]

    # -- writing --------------------------------------------------------------------------

    def _read_script(self, editor: Editor, folder: str, name: str) -> str | None:
        answer = self._call(editor, "manage_script", action="read", name=name, path=folder)
        if answer.failed:
            if "not found" in str(answer.payload.get("error", "")).lower():
                return None
            self._ok(editor, "manage_script", answer)
        data = answer.data if isinstance(answer.data, dict) else {}
        if data.get("contentsEncoded") and data.get("encodedContents"):
            return base64.b64decode(data["encodedContents"]).decode()
        return str(data.get("contents", ""))

    def _create(self, editor: Editor, path: str, content: bytes) -> Pushed:
        answer = self._call(editor, "create_script", path=path, contents=content.decode())
        self._ok(editor, "create_script", answer)
        return Pushed(path, sha256_of(content))

    def _replace(
        self, editor: Editor, path: str, old: str, content: bytes, precondition: str
    ) -> Pushed:
        lines = old.split("\n")
        edit: dict[str, Any] = {"startLine": 1, "startCol": 1, "endLine": len(lines)}
        edit |= {"endCol": len(lines[-1]) + 1, "newText": content.decode()}
        args = {"uri": f"mcpforunity://path/{path}", "edits": [edit]}
        answer = self._call(editor, "apply_text_edits", **args, precondition_sha256=precondition)
        if answer.failed and answer.payload.get("code") == "stale_file":
            data = answer.data if isinstance(answer.data, dict) else {}
            expected = data.get("expected_sha256", precondition)
            return Pushed(
                path, data.get("current_sha256"), True, expected, data.get("current_sha256")
            )
        sha = self._ok(editor, "apply_text_edits", answer).data or {}
        return Pushed(path, sha.get("sha256") or sha256_of(content))

    # -- calling --------------------------------------------------------------------------

    def _call(self, editor: Editor, tool: str, **args: Any) -> Answer:
        """Call tool through the editor's breaker, polling while it reloads or is pending."""
        return self._guarded(editor, lambda: self._polled(editor, tool, args))

    def _guarded(self, editor: Editor, fn: Callable[[], T]) -> T:
        breaker = CircuitBreaker(breaker_name(editor.url), self._store, self._policy)
        try:
            return breaker.call(fn, lambda exc: isinstance(exc, EditorUnavailable))
        except BreakerOpen as exc:
            wait = int(exc.headers.get("Retry-After", "5"))
            message = f"the Unity editor at {editor.url} is failing; retry in {wait}s"
            raise EditorUnavailable(message, retry_after=wait) from None

    def _polled(self, editor: Editor, tool: str, args: dict[str, Any]) -> Answer:
        deadline = time.monotonic() + self._wait
        while True:
            answer = self._run(editor, tool, lambda s: _call_tool(s, tool, args, self._timeout))
            delay = self._poll_delay(answer)
            if delay is None:
                return answer
            if time.monotonic() + delay > deadline:
                state = "reloading" if answer.failed else "busy"
                message = (
                    f"the Unity editor at {editor.url} was still {state} after {self._wait:g}s"
                )
                raise EditorUnavailable(message)
            log.info("unity-mcp %s: %s; polling in %.2fs", tool, state_of(answer), delay)
            time.sleep(delay)

    def _poll_delay(self, answer: Answer) -> float | None:
        """How long to wait before asking again, or None when the answer is final."""
        payload = answer.payload
        if payload.get("_mcp_status") == "pending":
            return min(max(float(payload.get("_mcp_poll_interval") or 1.0), 0.05), 5.0)
        if answer.failed and (
            payload.get("hint") == "retry" or RELOADING in str(payload.get("error", ""))
        ):
            return self._reload_poll
        return None

    def _run(self, editor: Editor, what: str, then: Callable[[ClientSession], Awaitable[T]]) -> T:
        """One request on the editor's session; any failure to get an answer is
        EditorUnavailable, and drops the session so the next call opens a new one."""
        sessions = self._process_sessions()

        async def attempt() -> T:
            try:
                session = await sessions.get(editor.url, _headers(editor))
                return await then(session)
            except BaseException:
                await sessions.discard(editor.url)
                raise

        try:
            return LOOP.run(_within(attempt(), self._timeout), self._timeout + 5.0)
        except (EditorRefused, EditorUnavailable):
            raise
        except Exception as exc:
            message = f"the Unity editor at {editor.url} did not answer {what}: {_why(exc)}"
            raise EditorUnavailable(message) from None

    def _ok(self, editor: Editor, tool: str, answer: Answer) -> Answer:
        if answer.failed:
            payload = answer.payload
            code = str(payload.get("code") or "error")
            raise EditorRefused(editor.url, tool, code, str(payload.get("error") or code))
        return answer

    def _process_sessions(self) -> Sessions:
        # A forked child gets a new loop; sessions (and their asyncio locks) go with it.
        if self._pid != os.getpid():
            self._pid, self._sessions = os.getpid(), Sessions(self._timeout)
        return self._sessions


async def _within(coro: Awaitable[T], timeout: float) -> T:
    return await asyncio.wait_for(coro, timeout)


async def _send_ping(session: ClientSession) -> None:
    await session.send_ping()


async def _call_tool(
    session: ClientSession, tool: str, args: dict[str, Any], timeout: float
) -> Answer:
    result = await session.call_tool(tool, args, read_timeout_seconds=timeout)
    if not isinstance(result, CallToolResult):
        return Answer({"success": False, "code": "unexpected", "error": type(result).__name__})
    return _answer(result)


def _answer(result: CallToolResult) -> Answer:
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


def _screenshot(editor: Editor, answer: Answer) -> Screenshot:
    image = answer.images[0]
    try:
        png = base64.b64decode(image.data, validate=True)
        with Image.open(io.BytesIO(png)) as decoded:
            width, height = decoded.size
    except (binascii.Error, OSError) as exc:
        raise EditorRefused(editor.url, "manage_camera", "bad_image", str(exc)) from None
    return Screenshot(png, image.mime_type, width, height)


def _diagnostic(item: dict[str, Any]) -> Diagnostic:
    line = item.get("line")
    return Diagnostic(
        file=str(item.get("file") or ""),
        line=int(line) if isinstance(line, int | str) and str(line).isdigit() else 0,
        message=str(item.get("message", "")),
        severity=str(item.get("type") or "error").lower(),
    )


def state_of(answer: Answer) -> str:
    """A short description of a polling answer, for the log."""
    return str(answer.payload.get("error") or answer.payload.get("message") or "pending")


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _why(exc.exceptions[0])
    return str(exc) or type(exc).__name__


def probe(editor: Editor, timeout_s: float) -> None:
    """A fresh MCP initialize + ping round trip, outside any breaker (the health check)."""

    async def check() -> None:
        await round_trip(Sessions(timeout_s), editor.url, _headers(editor), _send_ping)

    try:
        LOOP.run(check(), timeout_s + 1.0)
    except Exception as exc:
        raise EditorUnavailable(f"the Unity editor at {editor.url}: {_why(exc)}") from None


def make_editor_bridge(settings: Settings, store: BreakerStore) -> McpBridge:
    """The bridge for these settings (contacts no editor)."""
    return McpBridge(
        store,
        breaker_policy(settings),
        timeout_s=settings.unity_mcp_timeout_s,
        wait_s=settings.unity_mcp_wait_s,
    )


def default_editor(settings: Settings) -> Editor | None:
    """The editor SPARK_UNITY_MCP_URL names, with its key, or None."""
    if not settings.unity_mcp_url:
        return None
    key = settings.unity_mcp_api_key
    return Editor(settings.unity_mcp_url, key.get_secret_value() if key else None)
