"""Files SPARK wrote, pushed into the project's running Unity editor: each new version written
only over the version SPARK wrote before it (a deletion deletes only that version), then one
import and compile, then the console's errors about those files.

An editor's copy that differs from SPARK's previous version was edited there: it is reported
stale and left as it is, never overwritten or deleted. An editor that cannot be reached is
reported too, without failing anything: the files are safe in SPARK, and the next push (or the
user) brings the editor up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spark.engines.unity.bridge import (
    Diagnostic,
    Editor,
    EditorBridge,
    EditorSession,
    EditorUnavailable,
    Pushed,
)
from spark.errors import AppError, JobFailure


@dataclass(frozen=True)
class FileWrite:
    """One file SPARK wrote: its new content, and the SHA-256 of the version it replaced
    (None for a new file), which the editor's copy must still have to be overwritten; or,
    `deleted`, a deletion (content empty), made only over that version too."""

    path: str
    content: bytes
    sha256: str
    previous_sha256: str | None
    deleted: bool = False


@dataclass(frozen=True)
class StaleFile:
    """A file the editor holds in a version SPARK did not write: it was left alone."""

    path: str
    expected_sha256: str | None
    current_sha256: str | None


@dataclass(frozen=True)
class RefusedFile:
    """A file the editor would not take (a path or type it does not accept): left out."""

    path: str
    error: str


@dataclass(frozen=True)
class EditorSync:
    """How pushing a job's files into the editor went."""

    pushed: tuple[str, ...] = ()
    stale: tuple[StaleFile, ...] = ()
    #: the console's errors about pushed files, after the editor imported and compiled them
    diagnostics: tuple[Diagnostic, ...] = ()
    #: `editor_unavailable: …` when the editor stopped answering (what came before stands)
    error: str | None = None
    refused: tuple[RefusedFile, ...] = ()

    def as_result(self) -> dict[str, Any]:
        """The `editor` field of a job's result."""
        found: dict[str, Any] = {
            "pushed": list(self.pushed),
            "stale": [
                {
                    "path": s.path,
                    "expected_sha256": s.expected_sha256,
                    "current_sha256": s.current_sha256,
                }
                for s in self.stale
            ],
            "diagnostics": [
                {"file": d.file, "line": d.line, "message": d.message} for d in self.diagnostics
            ],
        }
        if self.refused:
            found["refused"] = [{"path": r.path, "error": r.error} for r in self.refused]
        if self.error is not None:
            found["error"] = self.error
        return found


def push(bridge: EditorBridge, editor: Editor, writes: Sequence[FileWrite]) -> EditorSync:
    """Write (or delete) each file in the editor over its previous version, then refresh once and
    collect the console's errors about the files that went in; the editor's instance is held
    for the whole push, so another job's push never lands in between."""
    pushed: list[str] = []
    stale: list[StaleFile] = []
    refused: list[RefusedFile] = []
    try:
        with bridge.attach(editor) as session:
            for write in writes:
                outcome = _push_one(session, write)
                if isinstance(outcome, StaleFile):
                    stale.append(outcome)
                elif isinstance(outcome, RefusedFile):
                    refused.append(outcome)
                else:
                    pushed.append(write.path)
            if not pushed:
                return EditorSync(stale=tuple(stale), refused=tuple(refused))
            session.refresh()
            console = session.console(("error",))
    except AppError as exc:  # EditorUnavailable, or an editor failing the refresh itself
        error = named(exc)
        return EditorSync(tuple(pushed), tuple(stale), error=error, refused=tuple(refused))
    return EditorSync(tuple(pushed), tuple(stale), about(console, pushed), refused=tuple(refused))


def _push_one(session: EditorSession, write: FileWrite) -> StaleFile | RefusedFile | None:
    """Write (or delete) one file: None when the editor has SPARK's version now (or no file,
    for a deletion); why not otherwise."""
    try:
        answer = _send(session, write)
    except EditorUnavailable:
        raise  # the editor is gone: no other file will go in either
    except AppError as exc:
        return RefusedFile(write.path, named(exc))
    # A job run again after its worker died finds its own version already there (its
    # deletion finds no file, which delete_file answers as done, not stale).
    if answer.stale and (write.deleted or answer.current_sha256 != write.sha256):
        return StaleFile(write.path, answer.expected_sha256, answer.current_sha256)
    return None


def _send(session: EditorSession, write: FileWrite) -> Pushed:
    if not write.deleted:
        return session.write_file(write.path, write.content, write.previous_sha256)
    if write.previous_sha256 is None:
        # Nothing was there before the tombstone, so nothing of SPARK's is in the editor.
        return Pushed(write.path, None)
    return session.delete_file(write.path, write.previous_sha256)


def named(exc: AppError) -> str:
    """`code: message`, the code being a failure's own (`editor_error`), not `job_failed`."""
    code = exc.failure_code if isinstance(exc, JobFailure) else exc.code
    return f"{code}: {exc.message}"


def about(console: Sequence[Diagnostic], paths: Sequence[str]) -> tuple[Diagnostic, ...]:
    """The console's errors about one of paths; the editor may name a file by its absolute
    path or with Windows separators, so a file matches when it ends with the project path."""
    wanted = set(paths)
    found: list[Diagnostic] = []
    for entry in console:
        if entry.severity != "error":
            continue
        name = entry.file.replace("\\", "/")
        if name in wanted or any(name.endswith(f"/{path}") for path in wanted):
            found.append(entry)
    return tuple(found)
