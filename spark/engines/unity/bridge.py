"""The Unity editor bridge port: what SPARK asks of a running editor (through unity-mcp),
and the plain values it gets back. Handlers depend on this; the adapter on the `mcp` SDK
(spark/engines/unity/mcp_bridge.py) implements it.

A job attaches to one editor instance (a Unity Editor connected to the unity-mcp server) and
makes its calls through the attachment; while attached, no other job's calls reach that
instance, so two jobs never interleave their edits in one editor.

Every call is synchronous: handlers run in prefork pool processes. An editor that cannot be
reached, has no instance connected, answers past its timeout, or stays away longer than a
reload takes raises EditorUnavailable, which ends the job `editor_unavailable` with a message
naming the editor's URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from spark.errors import DependencyUnavailable, JobFailure


class EditorUnavailable(DependencyUnavailable):
    """The Unity editor could not be reached, or did not answer in time."""

    code = "editor_unavailable"


class EditorRefused(JobFailure):
    """The editor answered, but could not do what was asked (unity-mcp's `success: false`)."""

    def __init__(
        self,
        url: str,
        tool: str,
        code: str,
        error: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        message = f"{tool} on the Unity editor at {url} failed: {error}"
        super().__init__("editor_error", message, {"tool": tool, "code": code, **(details or {})})


@dataclass(frozen=True)
class Editor:
    """Where an editor's unity-mcp server listens, the key it wants (remote-hosted mode), and
    which of its connected Unity instances to use (`Name@hash` or a hash prefix; None: the
    only one connected)."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    instance: str | None = None


@dataclass(frozen=True)
class EditorInstance:
    """A Unity Editor connected to the unity-mcp server."""

    id: str
    name: str
    hash: str
    unity_version: str = ""


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
    """How writing (or deleting) a file in the editor went: sha256 is what the editor holds
    now (None: no file). `stale` means the editor's copy was not the version SPARK last knew
    (someone edited it there): nothing was overwritten or deleted."""

    path: str
    sha256: str | None
    stale: bool = False
    expected_sha256: str | None = None
    current_sha256: str | None = None


class EditorSession(Protocol):
    """One job's calls on the editor instance it attached to."""

    @property
    def instance(self) -> EditorInstance:
        """The instance the calls go to."""
        ...

    def open_scene(self, scene: str) -> None:
        """Open the scene at its `Assets/…` path."""
        ...

    def screenshot(self, *, width: int, height: int, camera: str | None = None) -> Screenshot:
        """Capture the game view (through camera, when named) at least large enough to fit
        width x height without enlarging it, and at most max(width, height) on its long side."""
        ...

    def write_file(self, path: str, content: bytes, precondition_sha256: str | None) -> Pushed:
        """Write content at path, only if the editor's copy hashes to precondition_sha256
        (None: the file must be new); EditorRefused when the editor ends up holding anything
        but content."""
        ...

    def delete_file(self, path: str, precondition_sha256: str) -> Pushed:
        """Delete path, only if the editor's copy hashes to precondition_sha256: stale (and
        left alone) when it holds another version; a file the editor does not have is gone
        already (sha256 None). EditorRefused when the editor cannot delete it, or cannot show
        its copy to compare."""
        ...

    def refresh(self) -> None:
        """Import changed assets and compile scripts, waiting until the editor is ready."""
        ...

    def console(self, types: Sequence[str] = ("error",)) -> list[Diagnostic]:
        """The console's current entries of those types."""
        ...


class EditorBridge(Protocol):
    """How SPARK reaches Unity editors."""

    def attach(self, editor: Editor) -> AbstractContextManager[EditorSession]:
        """The editor's instance, held for this job's calls until the block ends.

        EditorUnavailable when no instance is connected (within seconds) or the one named is
        not; EditorRefused (`editor_error`) when several are connected and none is named."""
        ...

    def instances(self, editor: Editor) -> list[EditorInstance]:
        """The Unity instances connected to the editor's server now."""
        ...
