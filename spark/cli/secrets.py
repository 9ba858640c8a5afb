"""`spark projects secret-set|secrets|secret-delete`: a project's write-only secrets.

Passwords never go on the command line, where `ps` and shell history would keep them: they
come from ANDROID_KEYSTORE_PASSWORD and ANDROID_KEY_PASSWORD, else from a hidden prompt.
"""

from __future__ import annotations

import base64
import os
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spark.cli.jobs import client_from_settings
from spark.cli.output import console, emit_json, fail
from spark.client import ApiError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
KEYSTORE_PASSWORD_ENV = "ANDROID_KEYSTORE_PASSWORD"
KEY_PASSWORD_ENV = "ANDROID_KEY_PASSWORD"


def _password(env_name: str, prompt: str) -> str:
    """The password from env_name, else asked for without echo."""
    found = os.environ.get(env_name)
    if found:
        return found
    asked: str = typer.prompt(prompt, hide_input=True)
    return asked


def secret_set(
    project: Annotated[str, typer.Argument(help="The project's id or name.")],
    name: Annotated[str, typer.Argument(help="The secret: android_signing.")],
    keystore: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="The keystore (.jks or .keystore).")
    ],
    alias: Annotated[str, typer.Option(help="The key's alias in the keystore.")],
    as_json: JsonFlag = False,
) -> None:
    """Store the project's Android signing keystore; SPARK never shows it again."""
    body = {
        "keystore_base64": base64.b64encode(keystore.read_bytes()).decode(),
        "keystore_password": _password(KEYSTORE_PASSWORD_ENV, "Keystore password"),
        "key_alias": alias,
        "key_password": _password(KEY_PASSWORD_ENV, "Key password"),
    }
    try:
        with closing(client_from_settings()) as client:
            stored = client.put_secret(client.find_project(project)["id"], name, body)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(stored)
        return
    console.print(f"stored {stored['name']} at {stored['updated_at']}", markup=False)


def secrets_list(
    project: Annotated[str, typer.Argument(help="The project's id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """List the project's secrets: names and update times, never values."""
    try:
        with closing(client_from_settings()) as client:
            listed = client.secrets(client.find_project(project)["id"])
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(listed)
        return
    table = Table("name", "updated")
    for item in listed["secrets"]:
        table.add_row(item["name"], item["updated_at"])
    console.print(table)


def secret_delete(
    project: Annotated[str, typer.Argument(help="The project's id or name.")],
    name: Annotated[str, typer.Argument(help="The secret: android_signing.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete one of the project's secrets."""
    try:
        with closing(client_from_settings()) as client:
            client.delete_secret(client.find_project(project)["id"], name)
    except ApiError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json({"deleted": name})
        return
    console.print(f"deleted {name}", markup=False)


def register(projects: typer.Typer) -> None:
    """Add the secret commands to `spark projects`."""
    projects.command("secret-set")(secret_set)
    projects.command("secrets")(secrets_list)
    projects.command("secret-delete")(secret_delete)
