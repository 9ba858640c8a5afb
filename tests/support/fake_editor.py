"""An in-process Unity editor for tests of code that pushes files: it keeps files by path and
answers like unity-mcp, writing (and deleting) only over the version named as precondition.
It is both the bridge and the session a job attaches to."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from spark.engines.unity.bridge import (
    Diagnostic,
    Editor,
    EditorInstance,
    EditorUnavailable,
    Pushed,
)

INSTANCE = EditorInstance("Game@0f1e2d3c", "Game", "0f1e2d3c")


def sha(content: bytes) -> str:
    """Content's SHA-256, as unity-mcp reports it."""
    return hashlib.sha256(content).hexdigest()


@dataclass
class FakeEditor:
    """An editor's files, its console, and every call made on it, in order."""

    files: dict[str, bytes] = field(default_factory=dict)
    console_entries: list[Diagnostic] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    #: the call name from which on the editor stops answering
    down_from: str | None = None
    url: str = "http://127.0.0.1:8080/mcp"

    def _answer(self, name: str, *args: str) -> None:
        self.calls.append((name, *args))
        if self.down_from == name:
            raise EditorUnavailable(f"{self.url} did not answer")

    @property
    def instance(self) -> EditorInstance:
        return INSTANCE

    def instances(self, editor: Editor) -> list[EditorInstance]:
        return [INSTANCE]

    @contextlib.contextmanager
    def attach(self, editor: Editor) -> Iterator[FakeEditor]:
        if self.down_from == "attach":
            raise EditorUnavailable(f"{self.url} has no instance connected")
        yield self

    def write_file(self, path: str, content: bytes, precondition_sha256: str | None) -> Pushed:
        self._answer("write_file", path, str(precondition_sha256))
        held = self.files.get(path)
        current = sha(held) if held is not None else None
        if current != precondition_sha256:
            return Pushed(path, current, True, precondition_sha256, current)
        self.files[path] = content
        return Pushed(path, sha(content))

    def delete_file(self, path: str, precondition_sha256: str) -> Pushed:
        self._answer("delete_file", path, precondition_sha256)
        held = self.files.get(path)
        if held is None:
            return Pushed(path, None)
        if sha(held) != precondition_sha256:
            return Pushed(path, sha(held), True, precondition_sha256, sha(held))
        del self.files[path]
        return Pushed(path, None)

    def refresh(self) -> None:
        self._answer("refresh")

    def console(self, types: Sequence[str] = ("error",)) -> list[Diagnostic]:
        self._answer("console", *types)
        return [entry for entry in self.console_entries if entry.severity in types]
