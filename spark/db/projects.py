"""Named queries for projects and their webhooks; rows leave as domain values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    insert,
    or_,
    select,
    text,
)

from spark.db.errors import UniqueViolation
from spark.db.executor import Executor, Transaction, compiled
from spark.db.models import ProjectRow, WebhookRow
from spark.domain.projects import Project, Webhook, file_url
from spark.errors import Conflict

PROJECTS = cast(Table, ProjectRow.__table__)
WEBHOOKS = cast(Table, WebhookRow.__table__)


def _to_webhook(row: Any) -> Webhook:
    return Webhook(id=row.id, project_id=row.project_id, url=row.url, secret=row.secret)


def _to_project(row: Any, webhooks: Sequence[Webhook] = ()) -> Project:
    return Project(
        id=row.id,
        owner=row.owner,
        name=row.name,
        created_at=row.created_at,
        source_dir=row.source_dir,
        git_url=row.git_url,
        default_ref=row.default_ref,
        unity_mcp_url=row.unity_mcp_url,
        unity_instance=row.unity_instance,
        webhooks=tuple(webhooks),
    )


_WEBHOOKS_OF = compiled(
    select(WEBHOOKS)
    .where(WEBHOOKS.c.project_id == any_(bindparam("ids", type_=ARRAY(Uuid()))))
    .order_by(WEBHOOKS.c.created_at, WEBHOOKS.c.id)
)


def _webhooks_of(q: Executor, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Webhook]]:
    """Each project's webhooks in the order they were registered, in one query."""
    found: dict[uuid.UUID, list[Webhook]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return found
    for row in q.all(_WEBHOOKS_OF, {"ids": list(project_ids)}):
        found[row.project_id].append(_to_webhook(row))
    return found


def _with_webhooks(q: Executor, row: Any) -> Project | None:
    if row is None:
        return None
    return _to_project(row, _webhooks_of(q, [row.id])[row.id])


def _insert_webhooks(tx: Transaction, project: Project) -> None:
    if not project.webhooks:
        return
    rows = [
        {
            "id": w.id,
            "project_id": project.id,
            "url": w.url,
            "secret": w.secret,
            # a microsecond apart, so listing keeps the order they were given in
            "created_at": project.created_at + timedelta(microseconds=i),
        }
        for i, w in enumerate(project.webhooks)
    ]
    tx.run(insert(WEBHOOKS).values(rows))


_STORED = ("id", "owner", "name", "source_dir", "git_url", "default_ref", "unity_mcp_url")
_INSERT_PROJECT = compiled(
    insert(PROJECTS).values(
        {column: bindparam(column) for column in (*_STORED, "unity_instance", "created_at")}
    )
)


def insert_project(tx: Transaction, project: Project) -> Project:
    """Store a new project with its webhooks; Conflict if the owner already has one by that name."""
    values = {column: getattr(project, column) for column in _INSERT_PROJECT.defaults}
    try:
        tx.run(_INSERT_PROJECT, values)
    except UniqueViolation as exc:
        # The id is a fresh uuid4 and every column is set, so the one constraint this row
        # can break is (owner, name).
        raise Conflict(
            f"name: you already have a project named {project.name!r}",
            details={"field": "name"},
        ) from exc
    _insert_webhooks(tx, project)
    return project


_LOCK_SOURCES = compiled(
    text("SELECT pg_advisory_xact_lock(hashtext('spark'), hashtext('sources'))")
)


def source_claimed(tx: Transaction, owner: str, path: PurePath) -> bool:
    """Whether another owner's project reads the resolved directory path, one inside it or
    one containing it (directory sources, and file:// repositories as SPARK stores them).

    Takes a lock held to the end of the transaction first, so two users registering one
    directory at once cannot both see it free; the insert belongs in the same transaction.
    """
    tx.run(_LOCK_SOURCES)
    around = [path, *path.parents]
    inside = str(path).rstrip("/") + "/"
    c = PROJECTS.c
    claims = or_(
        c.source_dir.in_([str(p) for p in around]),
        _starts_with(c.source_dir, inside),
        c.git_url.in_([file_url(p) for p in around]),
        _starts_with(c.git_url, file_url(inside)),
    )
    return tx.one(select(c.id).where(c.owner != owner, claims).limit(1)) is not None


def _starts_with(column: Column[Any], prefix: str) -> ColumnElement[bool]:
    """column LIKE prefix%, with LIKE's own characters in prefix taken literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


_PROJECT_BY_ID = compiled(select(PROJECTS).where(PROJECTS.c.id == bindparam("id")))


def get_project(q: Executor, project_id: uuid.UUID, owner: str) -> Project | None:
    """The owner's project with its webhooks, or None if there is none (or it is someone else's)."""
    row = q.one(_PROJECT_BY_ID, {"id": project_id})
    return _with_webhooks(q, row if row is not None and row.owner == owner else None)


def get_project_for_worker(q: Executor, project_id: uuid.UUID) -> Project | None:
    """A project with its webhooks whoever owns it; for workers, which act for the job's owner."""
    return _with_webhooks(q, q.one(_PROJECT_BY_ID, {"id": project_id}))


def list_projects(
    q: Executor, owner: str, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> tuple[list[Project], bool]:
    """A page of the owner's projects, newest first, after (created_at, id); and whether more
    follow."""
    c = PROJECTS.c
    query = select(PROJECTS).where(c.owner == owner)
    if after:
        created_at, last_id = after
        query = query.where(
            or_(c.created_at < created_at, and_(c.created_at == created_at, c.id < last_id))
        )
    rows = q.all(query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1))
    page, more = rows[:limit], len(rows) > limit
    hooks = _webhooks_of(q, [r.id for r in page])
    projects = [_to_project(r, hooks[r.id]) for r in page]
    return projects, more
