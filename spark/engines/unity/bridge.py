"""The Unity editor bridge port: what SPARK asks of a running editor (through unity-mcp),
and the plain values it gets back. Handlers depend on this; the adapter on the `mcp` SDK
(spark/engines/unity/mcp_bridge.py) implements it.

Every call is synchronous: handlers run in prefork pool processes. An editor that cannot be
reached, answers past its timeout, or keeps reloading raises EditorUnavailable, which ends
the job `editor_unavailable` with a message naming the editor's URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from spark.errors import DependencyUnavailable, JobFailure


class EditorUnavailable(DependencyUnavailable):
    """The Unity editor could not be reached, or did not answer in time."""

    code = "editor_unavailable"


class EditorRefused(JobFailure):
    """The editor answered, but could not do what was asked (unity-mcp's `success: false`)."""

    def __init__(self, url: str, tool: str, code: str, error: str) -> None:
        message = f"{tool} on the Unity editor at {url} failed: {error}"
        super().__init__("editor_error", message, {"tool": tool, "code": code})


@dataclass(frozen=True)
class Editor:
    """Where an editor's unity-mcp server listens, and the key it wants (remote-hosted mode)."""

    url: str
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Screenshot:
    """An image the editor captured, as it sent it (a PNG, at most max_resolution)."""

    image: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Diagnostic:
    """One console entry about a file: a compiler error or warning."""

    file: str
    line: int
    message: str
    severity: str = "error"


@dataclass(frozen=True)
class Pushed:
    """How writing a file into the editor went. `stale` means the editor's copy was not the
    version SPARK last knew (someone edited it there): nothing was overwritten."""

    path: str
    sha256: str | None
    stale: bool = False
    expected_sha256: str | None = None
    current_sha256: str | None = None


class EditorBridge(Protocol):
    """The calls SPARK makes on a Unity editor."""

    def ping(self, editor: Editor) -> None:
        """Raise EditorUnavailable unless the editor answers."""
        ...

    def open_scene(self, editor: Editor, scene: str) -> None:
        """Open the scene at its `Assets/…` path."""
        ...

    def screenshot(
        self, editor: Editor, *, max_resolution: int, camera: str | None = None
    ) -> Screenshot:
        """Capture the game view (through camera, when named), at most max_resolution wide."""
        ...

    def write_file(
        self, editor: Editor, path: str, content: bytes, precondition_sha256: str | None
    ) -> Pushed:
        """Write content at path, only if the editor's copy hashes to precondition_sha256
        (None: the file must be new)."""
        ...

    def refresh(self, editor: Editor) -> None:
        """Import changed assets and compile scripts, waiting until the editor is ready."""
        ...

    def console(self, editor: Editor, types: Sequence[str] = ("error",)) -> list[Diagnostic]:
        """The console's current entries of those types."""
        ...
