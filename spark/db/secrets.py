"""Named queries for project secrets: sealed bytes in, sealed bytes out, names listed."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert

from spark.db.executor import Executor, compiled
from spark.db.models import ProjectSecretRow
from spark.domain.secrets import SealedSecret, SecretListing

SECRETS = cast(Table, ProjectSecretRow.__table__)
_COLUMNS = ("project_id", "name", "key_id", "sealed", "updated_at")

_upsert = insert(SECRETS).values({column: bindparam(column) for column in _COLUMNS})
_PUT = compiled(
    _upsert.on_conflict_do_update(
        index_elements=[SECRETS.c.project_id, SECRETS.c.name],
        set_={c: _upsert.excluded[c] for c in ("key_id", "sealed", "updated_at")},
    )
)


def put_secret(q: Executor, secret: SealedSecret) -> None:
    """Store the sealed secret, replacing the project's secret of that name."""
    q.run(_PUT, {column: getattr(secret, column) for column in _COLUMNS})


_GET = compiled(
    select(SECRETS).where(
        SECRETS.c.project_id == bindparam("project_id"), SECRETS.c.name == bindparam("name")
    )
)


def get_secret(q: Executor, project_id: uuid.UUID, name: str) -> SealedSecret | None:
    """The project's sealed secret of that name, or None."""
    row = q.one(_GET, {"project_id": project_id, "name": name})
    return None if row is None else _to_sealed(row)


def _to_sealed(row: Any) -> SealedSecret:
    return SealedSecret(row.project_id, row.name, row.key_id, bytes(row.sealed), row.updated_at)


_LIST = compiled(
    select(SECRETS.c.name, SECRETS.c.updated_at)
    .where(SECRETS.c.project_id == bindparam("project_id"))
    .order_by(SECRETS.c.name)
)


def list_secrets(q: Executor, project_id: uuid.UUID) -> list[SecretListing]:
    """The names and update times of the project's secrets, by name."""
    return [
        SecretListing(row.name, row.updated_at) for row in q.all(_LIST, {"project_id": project_id})
    ]


_DELETE = compiled(
    delete(SECRETS).where(
        SECRETS.c.project_id == bindparam("project_id"), SECRETS.c.name == bindparam("name")
    )
)


def delete_secret(q: Executor, project_id: uuid.UUID, name: str) -> bool:
    """Remove the project's secret of that name; whether there was one."""
    return q.run(_DELETE, {"project_id": project_id, "name": name}) > 0
