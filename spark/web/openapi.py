"""The OpenAPI document, assembled from the same pydantic models the routes validate with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from spark import __version__
from spark.contracts.jobs import ErrorBody, JobOut, JobPage, JobSubmission
from spark.contracts.projects import (
    CreatedProjectOut,
    DeliveryPage,
    ProjectIn,
    ProjectOut,
    ProjectPage,
)
from spark.kinds import available

_MODELS: list[type[BaseModel]] = [
    JobSubmission,
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
]
_REF = "#/components/schemas/{model}"


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template=_REF)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json("ErrorBody", "error") for c in codes}


_JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
_LIST_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": t}}
    for n, t in [
        ("kind", "string"),
        ("state", "string"),
        ("session_id", "string"),
        ("project_id", "string"),
        ("limit", "integer"),
        ("cursor", "string"),
    ]
]


def _submit_op() -> dict[str, Any]:
    return {
        "summary": "Submit a job",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("JobSubmission")}},
        },
        "responses": {
            "202": _json("JobOut", "accepted"),
            **_errors(400, 401, 403, 409, 413, 415, 422, 429, 503),
        },
    }


def _op(
    summary: str,
    *params: dict[str, Any],
    ok: str = "OK",
    public: bool = False,
    content: str = "application/json",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": list(params),
        # Every non-public route may also be refused by the security layer (403, 429, 503).
        "responses": {
            "200": {"description": ok, "content": {content: {}}},
            **(_errors(404) if public else _errors(401, 403, 404, 429, 503)),
        },
    }
    if public:
        op["security"] = []
    return op


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_PRESET = {"name": "preset_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _more_paths() -> dict[str, Any]:
    return {
        "/v1/jobs/{job_id}/events": {
            "get": _op("A job's events: JSON, or live with Accept: text/event-stream", _JOB_ID)
        },
        "/v1/jobs/{job_id}/log": {
            "get": _op(
                "A job's log as text from offset_lines; compact=true keeps errors and warnings;"
                " X-Next-Offset and X-Log-Complete tell a follower where to resume and stop",
                _JOB_ID,
                _query("offset_lines", "integer"),
                _query("compact", "boolean"),
                _query("limit", "integer"),
                content="text/plain",
            )
        },
        "/v1/jobs/{job_id}/artifacts": {"get": _op("A job's artifacts", _JOB_ID)},
        "/v1/jobs/{job_id}/artifacts/{name}": {
            "get": _op("Download an artifact", _JOB_ID, _NAME, content="application/octet-stream")
        },
        "/v1/presets": {"get": _op("Game templates")},
        "/v1/usage": {
            "get": _op("Your tier, its limits, requests today, tokens and jobs this month, builds")
        },
        "/v1/presets/{preset_id}": {"get": _op("One template with its files", _PRESET)},
        "/metrics": {"get": _op("Prometheus metrics", public=True, content="text/plain")},
    }


_PROJECT_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def _query(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


def _project_paths() -> dict[str, Any]:
    create_op = {
        "summary": "Register a project; the response is the only one that shows webhook secrets",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("ProjectIn")}},
        },
        "responses": {
            "201": _json("CreatedProjectOut", "created"),
            **_errors(400, 401, 403, 409, 413, 415, 422),
        },
    }
    list_op = {
        "summary": "List your projects",
        "parameters": [_query("limit", "integer"), _query("cursor", "string")],
        "responses": {"200": _json("ProjectPage", "a page"), **_errors(401, 403, 422)},
    }
    get_op = {
        "summary": "A project",
        "parameters": [_PROJECT_ID],
        "responses": {"200": _json("ProjectOut", "the project"), **_errors(401, 403, 404)},
    }
    deliveries_op = {
        "summary": "Webhook delivery attempts for the project's builds, newest first",
        "parameters": [_PROJECT_ID, _query("limit", "integer")],
        "responses": {"200": _json("DeliveryPage", "attempts"), **_errors(401, 403, 404, 422)},
    }
    return {
        "/v1/projects": {"post": create_op, "get": list_op},
        "/v1/projects/{project_id}": {"get": get_op},
        "/v1/projects/{project_id}/deliveries": {"get": deliveries_op},
    }


def _paths() -> dict[str, Any]:
    list_op = {
        "summary": "List your jobs",
        "parameters": _LIST_PARAMS,
        "responses": {"200": _json("JobPage", "a page"), **_errors(401, 422)},
    }
    get_op = {
        "summary": "A job",
        "parameters": [_JOB_ID],
        "responses": {"200": _json("JobOut", "the job"), **_errors(401, 404)},
    }
    cancel_op = {
        "summary": "Cancel a job",
        "parameters": [_JOB_ID],
        "responses": {
            "200": _json("JobOut", "canceled"),
            "202": _json("JobOut", "cancel requested"),
            **_errors(401, 404, 409),
        },
    }
    health_op = {
        "summary": "Service health",
        "security": [],
        "responses": {
            "200": {"description": "healthy or degraded"},
            "503": {"description": "unhealthy"},
        },
    }
    return {
        **_more_paths(),
        **_project_paths(),
        "/v1/jobs": {"post": _submit_op(), "get": list_op},
        "/v1/jobs/{job_id}": {"get": get_op},
        "/v1/jobs/{job_id}/cancel": {"post": cancel_op},
        "/v1/health": {"get": health_op},
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SPARK",
            "version": __version__,
            "description": "Jobs for AI-assisted Unity development.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
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
