"""`spark audit`: the audit log from a terminal (an admin key's)."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Annotated

import typer
from rich.table import Table

from spark.cli.jobs import JsonFlag, client_from_settings
from spark.cli.output import console, emit_json, err_console, fail
from spark.client import ApiError


def register(app: typer.Typer) -> None:
    """Add `spark audit` to app."""

    @app.command("audit")
    def audit(
        user: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
        action: Annotated[
            str | None, typer.Option(help="Only this action, e.g. permission.denied.")
        ] = None,
        since: Annotated[
            str | None, typer.Option(help="At or after this time (ISO 8601, UTC if no zone).")
        ] = None,
        limit: Annotated[int, typer.Option(help="Entries per page (1-500).")] = 50,
        cursor: Annotated[str | None, typer.Option(help="The page after this cursor.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Audit entries, newest first: keys created and revoked, refused requests."""
        with closing(client_from_settings()) as client:
            try:
                page = client.audit(
                    user=user, action=action, since=since, limit=limit, cursor=cursor
                )
            except ApiError as exc:
                fail(exc, as_json)
        if as_json:
            emit_json(page)
            return
        table = Table("at", "action", "user", "key", "target", "details")
        for column in table.columns[:2]:
            column.no_wrap = True  # what happened when stays readable in a narrow terminal
        for entry in page["items"]:
            details = json.dumps(entry["details"]) if entry["details"] else ""
            table.add_row(
                entry["at"][:19].replace("T", " "),
                entry["action"],
                entry["user"] or "",
                entry["key_id"] or "",
                entry["target"] or "",
                details,
            )
        console.print(table)
        if page["next_cursor"]:
            err_console.print(f"more: --cursor {page['next_cursor']}")
