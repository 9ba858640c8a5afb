"""Generators writing into the job's project: each file a new version by the job."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from spark import files
from spark.domain.files import FileVersion
from spark.jobs.runner import JobContext


def version_ref(version: FileVersion) -> dict[str, Any]:
    """`{path, version, sha256}`: how results name a file version."""
    return {"path": version.path, "version": version.version, "sha256": version.sha256}


def write_files(
    ctx: JobContext, project_id: uuid.UUID, written: Sequence[tuple[str, bytes]], message: str
) -> list[dict[str, Any]]:
    """Write each (path, content) as its path's next version; the versions written."""
    db = ctx.need_tools().db
    return [
        version_ref(files.write_for_job(db, project_id, path, content, ctx.author, message))
        for path, content in written
    ]
