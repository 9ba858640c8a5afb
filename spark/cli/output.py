"""Shared CLI output: JSON for scripts, rich for people."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from spark.client import ApiError

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    """Print data as one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(error: ApiError, as_json: bool) -> NoReturn:
    """Report an API error and exit 2."""
    if as_json:
        emit_json(
            {
                "error": {
                    "status": error.status,
                    "code": error.code,
                    "message": error.message,
                    "details": error.details,
                }
            }
        )
    else:
        err_console.print(f"[red]error[/red] {error.status} {error.code}: {error.message}")
    raise typer.Exit(2)
