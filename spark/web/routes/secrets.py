"""/v1/projects/{id}/secrets: write-only project secrets (Android signing), listed by name."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.secrets import AndroidSigningIn, SecretList, SecretOut
from spark.domain.secrets import SECRET_NAMES
from spark.errors import NotFound, SecretsUnavailable
from spark.projects import secrets
from spark.security.permissions import PROJECT_PERMISSIONS
from spark.security.sealing import Keyring, KeysInvalid
from spark.web.bodies import parse, read_json
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, require_any, services

_SECRET = "/v1/projects/{project_id:uuid}/secrets/{name}"


def _json(body: BaseModel, status: int = 200) -> Response:
    return Response(body.model_dump_json(), status, media_type="application/json")


def _known(name: str) -> str:
    """name if SPARK knows such a secret; 404 naming the ones it knows otherwise."""
    if name not in SECRET_NAMES:
        known = ", ".join(sorted(SECRET_NAMES))
        raise NotFound(f"no secret is called {name!r}; a project's secrets are: {known}")
    return name


def _keyring(request: Request) -> Keyring | None:
    """The server's SPARK_SECRETS_KEY keys; 503 when the setting cannot be read as keys."""
    try:
        return Keyring.parse(services(request).settings.secrets_key)
    except KeysInvalid as invalid:
        raise SecretsUnavailable(str(invalid), retry_after=60) from None


async def put_secret(request: Request) -> Response:
    """PUT /v1/projects/{id}/secrets/{name}: store the secret sealed; its name and update time,
    never its value."""
    principal = principal_of(request)
    require_any(principal, PROJECT_PERMISSIONS, "writing a project's secret")
    project_id: uuid.UUID = request.path_params["project_id"]
    _known(request.path_params["name"])
    body = parse(AndroidSigningIn, await read_json(request))
    ring = _keyring(request)
    stored = await run_in_threadpool(
        secrets.put_android_signing,
        services(request).db,
        ring,
        project_id,
        principal,
        body.to_signing(),
    )
    return _json(SecretOut.from_listing(stored))


async def list_secrets(request: Request) -> Response:
    """GET /v1/projects/{id}/secrets: the names and update times of the project's secrets."""
    principal = principal_of(request)
    project_id: uuid.UUID = request.path_params["project_id"]
    found = await run_in_threadpool(
        secrets.listing, services(request).db, project_id, principal.user
    )
    return _json(SecretList(secrets=[SecretOut.from_listing(item) for item in found]))


async def delete_secret(request: Request) -> Response:
    """DELETE /v1/projects/{id}/secrets/{name}: forget the secret; 204."""
    principal = principal_of(request)
    require_any(principal, PROJECT_PERMISSIONS, "deleting a project's secret")
    project_id: uuid.UUID = request.path_params["project_id"]
    name = _known(request.path_params["name"])
    await run_in_threadpool(secrets.delete, services(request).db, project_id, principal, name)
    return Response(status_code=204)


routes = [
    ApiRoute("/v1/projects/{project_id:uuid}/secrets", list_secrets, method="GET"),
    ApiRoute(_SECRET, put_secret, method="PUT"),
    ApiRoute(_SECRET, delete_secret, method="DELETE"),
]
