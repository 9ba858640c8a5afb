"""Putting back what a job wrote: each path gets a new version with the content it held
before the job, or a deletion when the job created it, authored by SPARK's verify and
pushed into the project's editor like any write.

Putting back is safe to repeat (a continuation run again after its worker died): a path
whose newest version is this job's own restore counts as restored, and a path someone wrote
after the job is left as it is and reported, never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from spark.db import files as file_queries
from spark.domain.files import Author
from spark.errors import NotFound, VersionConflict
from spark.handlers.writing import push_written
from spark.jobs.tools import Tools
from spark.projects import files

#: the author of a restore: SPARK itself, acting as verify (CONTRACT §5)
VERIFY_USER = "spark"
VERIFY_SUBJECT = "verify"
#: how often a restore reads the path again when another write lands meanwhile
_ROUNDS = 3


def put_back(
    tools: Tools,
    project_id: uuid.UUID,
    job_id: uuid.UUID,
    written: Sequence[Mapping[str, Any]],
    message: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Restore each version the job wrote: ([what became of each path], {"editor": …} when
    the restores went to the project's editor)."""
    author = Author(VERIFY_USER, VERIFY_SUBJECT, job_id)
    outcomes, pushes = [], []
    for ref in written:
        outcome, push = _put_back_one(tools, project_id, ref, author, message)
        outcomes.append(outcome)
        if push is not None:
            pushes.append(push)
    return outcomes, push_written(tools, project_id, pushes)


def _put_back_one(
    tools: Tools, project_id: uuid.UUID, ref: Mapping[str, Any], author: Author, message: str
) -> tuple[dict[str, Any], tuple[files.Written, bytes] | None]:
    path, version = str(ref["path"]), int(ref["version"])
    for _ in range(_ROUNDS):
        head = file_queries.get_version(tools.db, project_id, path)
        if head is None:
            return _outcome(path, reason="the file is gone"), None
        if head.author.job_id == author.job_id and head.author.subject == VERIFY_SUBJECT:
            return _outcome(path, head.version, head.deleted), None
        if head.version != version:
            reason = f"written again since (now version {head.version}): left as it is"
            return _outcome(path, reason=reason), None
        try:
            return _restore(tools, project_id, path, version, author, message)
        except VersionConflict:
            continue  # another write landed: look again
    return _outcome(path, reason="written too often to restore"), None


def _restore(
    tools: Tools, project_id: uuid.UUID, path: str, version: int, author: Author, message: str
) -> tuple[dict[str, Any], tuple[files.Written, bytes] | None]:
    """The path's version `version` is the job's: write what came before it over it."""
    before = files.read(tools.db, project_id, path, version - 1) if version > 1 else None
    try:
        if before is None:
            # The job created the path (or the path was deleted before it): delete it.
            written = files.delete(
                tools.db, project_id, path, author, message, base_version=version
            )
            return _outcome(path, written.after.version, True), (written, b"")
        content = before.content
        written = files.update(
            tools.db, project_id, path, lambda _: content, author, message, base_version=version
        )
    except NotFound:
        return _outcome(path, reason="the file is gone"), None
    return _outcome(path, written.after.version), (written, content)


def _outcome(
    path: str, version: int | None = None, deleted: bool = False, reason: str | None = None
) -> dict[str, Any]:
    """What became of one path (`Restored` in spark/contracts/results.py)."""
    return {"path": path, "version": version, "deleted": deleted, "reason": reason}
