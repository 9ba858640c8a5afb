"""Handlers writing into the job's project: each file a new version by the job, then pushed
into the project's Unity editor when it has one (spark.engines.unity.sync)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from spark.db import files as file_queries
from spark.domain.files import FileVersion
from spark.engines.unity import sync
from spark.handlers import editors
from spark.jobs.runner import JobContext
from spark.jobs.tools import Tools
from spark.projects import files

#: what the job reports while its files go into the editor
_PUSHING_PERCENT = 96


def version_ref(version: FileVersion) -> dict[str, Any]:
    """`{path, version, sha256}`: how results name a file version."""
    return {"path": version.path, "version": version.version, "sha256": version.sha256}


def write_files(
    ctx: JobContext, project_id: uuid.UUID, contents: Sequence[tuple[str, bytes]], message: str
) -> dict[str, Any]:
    """Write each (path, content) as its path's next version and push them to the editor:
    `{written: [version refs], editor?: …}` (see to_editor)."""
    db = ctx.need_tools().db
    written = [
        (files.write_for_job(db, project_id, path, content, ctx.author, message), content)
        for path, content in contents
    ]
    return {
        "written": [version_ref(each.after) for each, _ in written],
        **to_editor(ctx, project_id, written),
    }


def to_editor(
    ctx: JobContext, project_id: uuid.UUID, written: Sequence[tuple[files.Written, bytes]]
) -> dict[str, Any]:
    """Push the job's writes (each with its new content) into the project's editor:
    `{editor: {pushed, stale, diagnostics, error?}}`, or nothing when the project has none."""
    return push_written(ctx.need_tools(), project_id, written, ctx.report)


def push_written(
    tools: Tools,
    project_id: uuid.UUID,
    written: Sequence[tuple[files.Written, bytes]],
    report: Callable[[int, str], None] | None = None,
) -> dict[str, Any]:
    """to_editor's work, for a job or for a write made through the API (a rollback, a
    deletion). A tombstone `after` (content b"") deletes the editor's copy. Only the
    project's own editor gets its files: SPARK_UNITY_MCP_URL is one editor, and every
    project's files would land in it."""
    editor = editors.project_editor(tools, project_id) if written else None
    if editor is None:
        return {}
    if report is not None:
        report(_PUSHING_PERCENT, f"pushing {len(written)} file(s) to the editor")
    refused = editors.refusal(tools, editor)
    if refused is not None:
        # The files stay in SPARK; the worker sends nothing where it would send no webhook.
        return {"editor": sync.EditorSync(error=f"editor_unavailable: {refused}").as_result()}
    writes = [
        sync.FileWrite(
            path=each.after.path,
            content=content,
            sha256=each.after.sha256,
            previous_sha256=each.before.version.sha256 if each.before else None,
            deleted=each.after.deleted,
        )
        for each, content in written
    ]
    return {"editor": sync.push(tools.editor, editor, writes).as_result()}


def push_version(tools: Tools, project_id: uuid.UUID, path: str, version: int) -> dict[str, Any]:
    """Push one stored version of path over its previous one (a rollback or a deletion made
    through the API, which has no editor bridge of its own); a tombstone deletes the file."""
    stored = files.read(tools.db, project_id, path, version)
    if stored is not None:
        after, content = stored.version, stored.content
    else:
        # No file at that version: a tombstone (read as no file), or no such version.
        found = file_queries.get_version(tools.db, project_id, path, version)
        if found is None or not found.deleted:
            return {}
        after, content = found, b""
    before = files.read(tools.db, project_id, path, version - 1) if version > 1 else None
    return push_written(tools, project_id, [(files.Written(before, after), content)])
