"""Named queries for projects, webhooks and webhook deliveries; rows leave as domain values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from spark.db.models import ProjectRow, WebhookRow
from spark.domain.projects import Project, Webhook, file_url
from spark.errors import Conflict


def _to_webhook(row: WebhookRow) -> Webhook:
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


def _webhooks_of(s: Session, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Webhook]]:
    """Each project's webhooks in the order they were registered, in one query."""
    found: dict[uuid.UUID, list[Webhook]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return found
    query = (
        select(WebhookRow)
        .where(WebhookRow.project_id.in_(project_ids))
        .order_by(WebhookRow.created_at, WebhookRow.id)
    )
    for row in s.scalars(query):
        found[row.project_id].append(_to_webhook(row))
    return found


def _with_webhooks(s: Session, row: Any) -> Project | None:
    if row is None:
        return None
    return _to_project(row, _webhooks_of(s, [row.id])[row.id])


def _insert_webhooks(s: Session, project: Project) -> None:
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
    s.execute(insert(WebhookRow), rows)


def insert_project(s: Session, project: Project) -> Project:
    """Store a new project with its webhooks; Conflict if the owner already has one by that name."""
    try:
        s.execute(
            insert(ProjectRow).values(
                id=project.id,
                owner=project.owner,
                name=project.name,
                source_dir=project.source_dir,
                git_url=project.git_url,
                default_ref=project.default_ref,
                unity_mcp_url=project.unity_mcp_url,
                unity_instance=project.unity_instance,
                created_at=project.created_at,
            )
        )
    except IntegrityError as exc:
        # The id is a fresh uuid4 and every column is set, so the one constraint this row
        # can break is (owner, name).
        raise Conflict(
            f"name: you already have a project named {project.name!r}",
            details={"field": "name"},
        ) from exc
    _insert_webhooks(s, project)
    return project


def source_claimed(s: Session, owner: str, path: PurePath) -> bool:
    """Whether another owner's project reads the resolved directory path, one inside it or
    one containing it (directory sources, and file:// repositories as SPARK stores them).

    Takes a lock held to the end of the transaction first, so two users registering one
    directory at once cannot both see it free; the insert belongs in the same transaction.
    """
    s.execute(text("SELECT pg_advisory_xact_lock(hashtext('spark'), hashtext('sources'))"))
    around = [path, *path.parents]
    inside = str(path).rstrip("/") + "/"
    claims = or_(
        ProjectRow.source_dir.in_([str(p) for p in around]),
        _starts_with(ProjectRow.source_dir, inside),
        ProjectRow.git_url.in_([file_url(p) for p in around]),
        _starts_with(ProjectRow.git_url, file_url(inside)),
    )
    found = s.scalars(select(ProjectRow.id).where(ProjectRow.owner != owner, claims).limit(1))
    return found.first() is not None


def _starts_with(column: InstrumentedAttribute[str | None], prefix: str) -> ColumnElement[bool]:
    """column LIKE prefix%, with LIKE's own characters in prefix taken literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


PROJECTS = cast(Table, ProjectRow.__table__)
_PROJECT_BY_ID = select(PROJECTS).where(PROJECTS.c.id == bindparam("id"))


def get_project(s: Session, project_id: uuid.UUID, owner: str) -> Project | None:
    """The owner's project with its webhooks, or None if there is none (or it is someone else's)."""
    row = s.execute(_PROJECT_BY_ID, {"id": project_id}).first()
    return _with_webhooks(s, row if row is not None and row.owner == owner else None)


def get_project_for_worker(s: Session, project_id: uuid.UUID) -> Project | None:
    """A project with its webhooks whoever owns it; for workers, which act for the job's owner."""
    return _with_webhooks(s, s.execute(_PROJECT_BY_ID, {"id": project_id}).first())


def find_project_by_name(s: Session, owner: str, name: str) -> Project | None:
    """The owner's project called name, with its webhooks."""
    row = s.scalars(
        select(ProjectRow).where(ProjectRow.owner == owner, ProjectRow.name == name)
    ).one_or_none()
    return _with_webhooks(s, row)


def list_projects(
    s: Session, owner: str, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> tuple[list[Project], bool]:
    """A page of the owner's projects, newest first, after (created_at, id); and whether more
    follow."""
    query = select(ProjectRow).where(ProjectRow.owner == owner)
    if after:
        created_at, last_id = after
        query = query.where(
            or_(
                ProjectRow.created_at < created_at,
                and_(ProjectRow.created_at == created_at, ProjectRow.id < last_id),
            )
        )
    query = query.order_by(ProjectRow.created_at.desc(), ProjectRow.id.desc()).limit(limit + 1)
    rows = list(s.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    hooks = _webhooks_of(s, [r.id for r in page])
    projects = [_to_project(r, hooks[r.id]) for r in page]
    return projects, more
