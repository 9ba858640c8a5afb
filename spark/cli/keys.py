"""`spark keys create|list|revoke`: API keys, straight against the database."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from spark.cli.output import console, emit_json, err_console
from spark.config import load_settings
from spark.db import keys as key_queries
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key, revoke_key

app = typer.Typer(no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _db() -> Database:
    settings = load_settings()
    return Database(settings.require("database_url"))


def _permissions(raw: str | None) -> frozenset[Permission]:
    if not raw:
        return DEFAULT_PERMISSIONS
    try:
        return frozenset(Permission(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        valid = ", ".join(p.value for p in Permission)
        raise typer.BadParameter(f"{exc}; valid permissions: {valid}") from None


@app.command("create")
def create(
    user: Annotated[str, typer.Option(help="Who the key belongs to; owns the jobs it submits.")],
    tier: Annotated[Tier, typer.Option(help="Service tier.")] = Tier.FREE,
    permissions: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. spark:read,spark:generate.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a key; the full key is printed once and never stored."""
    minted = create_key(_db(), user, tier, _permissions(permissions))
    perms = sorted(p.value for p in minted.record.permissions)
    if as_json:
        emit_json(
            {
                "key": minted.token,
                "key_id": minted.record.key_id,
                "user": user,
                "tier": tier.value,
                "permissions": perms,
            }
        )
        return
    console.print(f"[bold]{minted.token}[/bold]")
    err_console.print(f"user {user}, tier {tier.value}, permissions {', '.join(perms)}")


@app.command("list")
def list_(
    user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List keys (ids only; secrets are never stored)."""
    records = key_queries.list_keys(_db(), user)
    rows: list[dict[str, Any]] = [
        {
            "key_id": r.key_id,
            "user": r.user,
            "tier": r.tier.value,
            "permissions": sorted(p.value for p in r.permissions),
            "revoked": r.revoked,
        }
        for r in records
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("key id", "user", "tier", "permissions", "revoked")
    for r in rows:
        table.add_row(
            str(r["key_id"]),
            str(r["user"]),
            str(r["tier"]),
            ", ".join(r["permissions"]),
            "yes" if r["revoked"] else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(key_id: str, as_json: JsonFlag = False) -> None:
    """Revoke a key by its id (the part after `spk_`)."""
    done = revoke_key(_db(), key_id)
    if as_json:
        emit_json({"key_id": key_id, "revoked": done})
    elif done:
        console.print(f"revoked {key_id}")
    else:
        err_console.print(f"no live key {key_id}")
    if not done:
        raise typer.Exit(1)
