"""The OpenAPI document, built from the routes themselves and the models they validate with.

Each route's path and query parameters come from its ApiRoute (spark/web/routing.py), the
statuses it may answer from what it is (public or not, rate-limited, with path parameters,
a body or a query) plus the few its endpoint adds, and a job submission's body is a union
over the kind registry discriminated on `kind`, so a client can build a valid job of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.convertors import UUIDConvertor
from starlette.routing import BaseRoute

from spark import __version__
from spark.contracts.assist import MessageIn
from spark.contracts.audit import AuditEntryOut, AuditPage
from spark.contracts.farm import FarmOut
from spark.contracts.files import (
    FileOut,
    FilePage,
    FileVersionOut,
    HistoryDocument,
    HistoryImported,
    RollbackIn,
    VersionPage,
)
from spark.contracts.jobs import ErrorBody, JobOut, JobPage, JobSubmission
from spark.contracts.projects import (
    CreatedProjectOut,
    DeliveryPage,
    ProjectIn,
    ProjectOut,
    ProjectPage,
)
from spark.contracts.secrets import AndroidSigningIn, SecretList, SecretOut
from spark.contracts.sessions import SessionDetailOut, SessionIn, SessionOut, SessionPage
from spark.contracts.usage import AdminUsageOut, UsageOut
from spark.kinds import KindSpec, available
from spark.security.permissions import Open, rule_for
from spark.web.routing import ApiRoute

_MODELS: list[type[BaseModel]] = [
    JobOut,
    JobPage,
    ErrorBody,
    # each kind this server runs: its params and its result, as the registry declares them
    *(model for spec in available() for model in (spec.params, spec.result)),
    ProjectIn,
    ProjectOut,
    CreatedProjectOut,
    ProjectPage,
    DeliveryPage,
    FilePage,
    FileOut,
    FileVersionOut,
    VersionPage,
    RollbackIn,
    HistoryDocument,
    HistoryImported,
    AuditPage,
    AuditEntryOut,
    UsageOut,
    AdminUsageOut,
    FarmOut,
    AndroidSigningIn,
    SecretOut,
    SecretList,
    SessionIn,
    SessionOut,
    SessionPage,
    SessionDetailOut,
    MessageIn,
]
_REF = "#/components/schemas/{model}"

#: what every route may answer: an unknown query parameter, a body or headers over the limit
_ANY_ROUTE = frozenset({400, 413, 431})
#: what the security layer adds to a route that needs credentials (503: they are checked
#: against the database)
_SECURED = frozenset({401, 403, 503})


@dataclass(frozen=True)
class Operation:
    """What the routes cannot say about themselves: a summary, the success responses, the
    request body's schema and the statuses the endpoint adds."""

    summary: str
    ok: Mapping[str, Any]
    body: str | None = None
    statuses: frozenset[int] = frozenset()
    headers: tuple[dict[str, Any], ...] = field(default=())


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _ok(description: str, *media: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {m: {} for m in media}}}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "the ETag of bytes the caller has; 304 if they are still these bytes",
    "schema": {"type": "string"},
}
_JSON, _TEXT = "application/json", "text/plain"
_FILES = "/v1/projects/{project_id:uuid}/files"
_HISTORY = "/v1/projects/{project_id:uuid}/history"

#: (method, route path) → what its route cannot say; tests check every route has one
OPERATIONS: Mapping[tuple[str, str], Operation] = {
    ("POST", "/v1/jobs"): Operation(
        "Submit a job",
        {"202": _json("JobOut", "accepted")},
        body="JobSubmission",
        # idempotency-key reuse; quotas are 429s; a project the caller does not own is a 404
        statuses=frozenset({404, 409, 429}),
        headers=(_IDEMPOTENCY_KEY,),
    ),
    ("GET", "/v1/jobs"): Operation("List your jobs", {"200": _json("JobPage", "a page")}),
    ("GET", "/v1/jobs/{job_id:uuid}"): Operation("A job", {"200": _json("JobOut", "the job")}),
    ("POST", "/v1/jobs/{job_id:uuid}/cancel"): Operation(
        "Cancel a job",
        {"200": _json("JobOut", "canceled"), "202": _json("JobOut", "cancel requested")},
        statuses=frozenset({409}),
    ),
    ("GET", "/v1/jobs/{job_id:uuid}/events"): Operation(
        "A job's events: JSON, or live with Accept: text/event-stream",
        _ok("the events", _JSON, "text/event-stream"),
    ),
    ("GET", "/v1/events"): Operation(
        "Every event of your jobs: live from now with Accept: text/event-stream, else JSON"
        " from `since` (default the last hour)",
        _ok("the events", _JSON, "text/event-stream"),
    ),
    ("GET", "/v1/jobs/{job_id:uuid}/log"): Operation(
        "A job's log as text from offset_lines; compact=true keeps errors and warnings;"
        " X-Next-Offset and X-Log-Complete tell a follower where to resume and stop",
        _ok("log lines", _TEXT),
    ),
    ("GET", "/v1/jobs/{job_id:uuid}/artifacts"): Operation(
        "A job's artifacts", _ok("the artifacts", _JSON)
    ),
    ("GET", "/v1/jobs/{job_id:uuid}/artifacts/{name}"): Operation(
        "Download an artifact: whole, one byte range (Range: bytes=a-b, a- or -n), or a 302 to"
        " a presigned URL of the object store when SPARK_ARTIFACT_REDIRECT is on",
        {
            **_ok('its bytes, with ETag: "<sha256>"', "application/octet-stream"),
            **_ok("the range, with Content-Range", "application/octet-stream", status="206"),
            "302": {"description": "a presigned URL of the object store, valid for 5 minutes"},
            "304": {"description": "If-None-Match named its ETag"},
        },
        statuses=frozenset({416}),
    ),
    ("GET", "/v1/presets"): Operation("Game templates", _ok("the templates", _JSON)),
    ("GET", "/v1/presets/{preset_id}"): Operation(
        "One template with its files", _ok("the template", _JSON), statuses=frozenset({404})
    ),
    ("POST", "/v1/projects"): Operation(
        "Register a project; the response is the only one that shows webhook secrets",
        {"201": _json("CreatedProjectOut", "created")},
        body="ProjectIn",
        statuses=frozenset({409}),
    ),
    ("POST", "/v1/sessions"): Operation(
        "Open a session; 429 quota_exceeded while your open sessions fill your tier's"
        " concurrent sessions",
        {"201": _json("SessionOut", "opened")},
        body="SessionIn",
        statuses=frozenset({404}),
    ),
    ("GET", "/v1/sessions"): Operation(
        "List your sessions, newest first", {"200": _json("SessionPage", "a page")}
    ),
    ("GET", "/v1/sessions/{session_id}"): Operation(
        "A session: its messages, a page of its jobs (newest first) and what they used",
        {"200": _json("SessionDetailOut", "the session")},
    ),
    ("POST", "/v1/sessions/{session_id}/end"): Operation(
        "End a session; 409 session_ended if it already has",
        {"200": _json("SessionOut", "ended")},
        statuses=frozenset({409}),
    ),
    ("POST", "/v1/sessions/{session_id}/messages"): Operation(
        "Say something in a session: queues its next turn, an assist job on the session's"
        " project (202 + Location); 409 session_ended once the session has ended",
        {"202": _json("JobOut", "the turn, queued")},
        body="MessageIn",
        statuses=frozenset({404, 409}),
    ),
    ("GET", "/v1/projects"): Operation(
        "List your projects", {"200": _json("ProjectPage", "a page")}
    ),
    ("GET", "/v1/projects/{project_id:uuid}"): Operation(
        "A project", {"200": _json("ProjectOut", "the project")}
    ),
    ("GET", "/v1/projects/{project_id:uuid}/deliveries"): Operation(
        "Webhook delivery attempts for the project's builds, newest first",
        {"200": _json("DeliveryPage", "attempts")},
    ),
    ("GET", "/v1/projects/{project_id:uuid}/secrets"): Operation(
        "The project's secrets: names and update times, never values",
        {"200": _json("SecretList", "the secrets")},
    ),
    ("PUT", "/v1/projects/{project_id:uuid}/secrets/{name}"): Operation(
        "Write a project secret (`android_signing`), sealed at rest and never shown again;"
        " 503 when the server has no SPARK_SECRETS_KEY",
        {"200": _json("SecretOut", "stored")},
        body="AndroidSigningIn",
        statuses=frozenset({503}),
    ),
    ("DELETE", "/v1/projects/{project_id:uuid}/secrets/{name}"): Operation(
        "Delete a project secret", {"204": {"description": "deleted"}}
    ),
    ("GET", _FILES): Operation(
        "The project's files in path order (newest version of each); `prefix` filters",
        {"200": _json("FilePage", "a page")},
    ),
    ("GET", _FILES + "/{path:path}"): Operation(
        "A file version (the newest, or ?version=N) with its content as JSON (`content` for"
        " UTF-8 text, else `content_base64`); with Accept: application/octet-stream its raw"
        " bytes, with ETag and X-File-Version",
        {
            "200": {
                "description": "the version and its content, or its bytes",
                "content": {
                    _JSON: {"schema": _ref("FileOut")},
                    "application/octet-stream": {},
                },
            },
            "304": {"description": "If-None-Match names these bytes already"},
        },
        headers=(_IF_NONE_MATCH,),
    ),
    ("DELETE", _FILES + "/{path:path}"): Operation(
        "Delete a file: a tombstone version (`deleted: true`) that listing and content hide"
        " and history shows; `base_version` refuses a stale delete with 409",
        {"200": _json("FileVersionOut", "the tombstone version")},
        statuses=frozenset({409}),
    ),
    ("GET", _FILES + "/{path:path}/history"): Operation(
        "A file's versions, newest first", {"200": _json("VersionPage", "a page")}
    ),
    ("POST", _FILES + "/{path:path}/rollback"): Operation(
        "Write a file's old version's content as its newest version",
        {"201": _json("FileVersionOut", "the new version")},
        body="RollbackIn",
        statuses=frozenset({409}),
    ),
    ("GET", _HISTORY + "/export"): Operation(
        "Every version of every file with its content, as one JSON document (streamed)",
        {"200": _json("HistoryDocument", "the history")},
    ),
    ("POST", _HISTORY + "/import"): Operation(
        "Import a history document: validated whole, written all or nothing; 409 when the"
        " project has any of its paths already",
        {"201": _json("HistoryImported", "imported")},
        body="HistoryDocument",
        statuses=frozenset({409}),
    ),
    ("GET", "/v1/usage"): Operation(
        "Your tier, its limits, requests today, tokens, jobs and cost this month, builds; with"
        " `history_days`, your tokens and cost per hour and model from the hourly rollups",
        {"200": _json("UsageOut", "your usage")},
    ),
    ("GET", "/v1/admin/usage"): Operation(
        "Every user's LLM and tool calls, tokens in and out and cost in `month` (YYYY-MM,"
        " default this one), most tokens first (spark:admin)",
        {"200": _json("AdminUsageOut", "usage by user")},
    ),
    ("GET", "/v1/audit"): Operation(
        "The audit log, newest first (spark:admin): keys created and revoked, refusals;"
        " filters `user`, `action`, `since`",
        {"200": _json("AuditPage", "a page")},
    ),
    ("GET", "/v1/farm"): Operation(
        "The build farm: each live builder's host, OS, Unity versions, targets and state (the"
        " job it runs only when it is yours), and the targets no live builder declares",
        {"200": _json("FarmOut", "the farm")},
    ),
    ("GET", "/v1/health"): Operation(
        "Service health: 503 when unhealthy",
        {"200": {"description": "healthy or degraded"}, "503": {"description": "unhealthy"}},
    ),
    ("GET", "/metrics"): Operation("Prometheus metrics", _ok("the metrics", _TEXT)),
    ("GET", "/openapi.json"): Operation("This document", _ok("the document", _JSON)),
    ("GET", "/docs"): Operation("Human-readable API docs", _ok("the page", "text/html")),
    ("GET", "/.well-known/oauth-protected-resource/mcp"): Operation(
        "The /mcp resource's protected-resource metadata (RFC 9728): how an MCP client"
        " authenticates (a Bearer API key or JWT in the Authorization header)",
        _ok("the metadata", "application/json"),
    ),
}


def submission_variant(spec: KindSpec) -> dict[str, Any]:
    """The submission body of one kind: the common fields, `kind` fixed, its own params."""
    base = JobSubmission.model_json_schema(ref_template=_REF)
    required = ["kind", "params"] if spec.params.model_json_schema().get("required") else ["kind"]
    if spec.needs_project:
        required.append("project_id")
    return {
        "type": "object",
        "title": f"{spec.params.__name__.removesuffix('Params')}Submission",
        "properties": {
            **base["properties"],
            "kind": {"type": "string", "const": spec.kind.value},
            "params": _ref(spec.params.__name__),
        },
        "required": required,
        "additionalProperties": False,
    }


def _submission_schemas() -> dict[str, Any]:
    variants = {spec.kind.value: submission_variant(spec) for spec in available()}
    mapping = {kind: _REF.format(model=v["title"]) for kind, v in variants.items()}
    union = {
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "kind", "mapping": mapping},
    }
    return {**{v["title"]: v for v in variants.values()}, "JobSubmission": union}


def _schemas(routes: Iterable[ApiRoute]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template=_REF)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    # the enums and constrained types that query parameters and submissions refer to
    extra: list[type[BaseModel]] = [JobSubmission, *(route.query for route in routes)]
    for model in extra:
        out.update(model.model_json_schema(ref_template=_REF).get("$defs", {}))
    return {**out, **_submission_schemas()}


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value's schema: a query string has no null, so an optional parameter's null is
    the empty value, which the query models read as absent."""
    options = schema.get("anyOf")
    if options is None or {"type": "null"} not in options:
        return schema
    blank = {"type": "string", "maxLength": 0}
    rest = {k: v for k, v in schema.items() if k != "anyOf" and v is not None}
    return {**rest, "anyOf": [blank if o == {"type": "null"} else o for o in options]}


def _parameters(route: ApiRoute) -> list[dict[str, Any]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"}
            if isinstance(convertor, UUIDConvertor)
            else {"type": "string", "minLength": 1},
        }
        for name, convertor in route.param_convertors.items()
    ]
    query = route.query.model_json_schema(ref_template=_REF)
    for name, schema in query.get("properties", {}).items():
        required = name in query.get("required", [])
        params.append(
            {"name": name, "in": "query", "required": required, "schema": _query_schema(schema)}
        )
    return params


def _statuses(route: ApiRoute, op: Operation) -> frozenset[int]:
    """Every error status the route can answer."""
    rule = rule_for(route.method, route.path)
    codes = set(_ANY_ROUTE | op.statuses)
    if rule.access is not Open.PUBLIC:
        codes |= _SECURED
    if rule.family is not None:
        codes.add(429)
    if route.param_convertors:
        codes.add(404)
    if any(not isinstance(c, UUIDConvertor) for c in route.param_convertors.values()):
        codes.add(422)  # text a path parameter cannot hold (NUL)
    if route.query.model_fields or op.body is not None:
        codes.add(422)
    if op.body is not None:
        codes.add(415)
    return frozenset(codes - {int(s) for s in op.ok})


def _operation(route: ApiRoute) -> dict[str, Any]:
    op = OPERATIONS[(route.method, route.path)]
    errors = {str(c): _json("ErrorBody", "error") for c in sorted(_statuses(route, op))}
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{route.method.lower()}_{route.name}",
        "parameters": [*_parameters(route), *op.headers],
        "responses": {**op.ok, **errors},
    }
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {_JSON: {"schema": _ref(op.body)}}}
    if rule_for(route.method, route.path).access is Open.PUBLIC:
        out["security"] = []
    return out


def api_routes(routes: Iterable[BaseRoute]) -> list[ApiRoute]:
    """The routes the document describes: every ApiRoute."""
    return [route for route in routes if isinstance(route, ApiRoute)]


def openapi_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for routes."""
    described = api_routes(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in described:
        template = route.path_format
        paths.setdefault(template, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SPARK",
            "version": __version__,
            "description": "Jobs for AI-assisted Unity development.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(described),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


DOCS_HTML = """<!doctype html>
<html><head><title>SPARK API</title><meta charset="utf-8"/>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"/></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
<noscript>The API description is at <a href="/openapi.json">/openapi.json</a>.</noscript>
</body></html>"""
