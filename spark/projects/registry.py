"""Registered projects: stored once their directory is known to be free, and found or
listed only for their owner (another user's project is as unknown as none)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from spark.db import projects as project_queries
from spark.db.executor import Database
from spark.domain.projects import Project
from spark.errors import NotFound, ValidationFailed


def register(db: Database, project: Project, directory: Path | None) -> Project:
    """Store the project; 422 if another user's project reads its directory, one inside it
    or one containing it (either would build the other's files)."""
    with db.transaction() as tx:
        if directory is not None and project_queries.source_claimed(tx, project.owner, directory):
            field = "source_dir" if project.source_dir else "git_url"
            raise ValidationFailed(
                f"{field}: another user's project reads this directory, one inside it or one "
                "containing it",
                details={"field": field},
            )
        return project_queries.insert_project(tx, project)


def find(db: Database, project_id: uuid.UUID, owner: str) -> Project | None:
    """owner's project, read from the replica when it has it, else from the primary."""
    with db.read() as tx:
        found = project_queries.get_project(tx, project_id, owner)
    if found is None and db.replica_url is not None:
        # The replica may lag a fresh registration: fall back to the primary.
        found = project_queries.get_project(db, project_id, owner)
    return found


def owned(db: Database, project_id: uuid.UUID, owner: str) -> Project:
    """owner's project, read from the primary (the caller is about to change its files);
    NotFound when owner has none with this id."""
    project = project_queries.get_project(db, project_id, owner)
    if project is None:
        raise NotFound("no such project")
    return project


def page(
    db: Database, owner: str, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> tuple[list[Project], bool]:
    """Up to limit of owner's projects, newest first, after (created_at, id); and whether
    more follow."""
    with db.read() as tx:
        return project_queries.list_projects(tx, owner, limit, after)
