"""Who may call what, in one place: each route's access and rate-limit family. The web layer
enforces this table; the permission each job kind needs is the kind registry's
(`spark/kinds.py`), enforced when a job is submitted."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from spark.domain.principals import Permission


class Family(enum.StrEnum):
    """Routes that share a rate limit (CONTRACT §6: per user and route family)."""

    SUBMIT = "submit"
    WRITE = "write"
    READ = "read"


class Open(enum.Enum):
    """Access that is not one permission."""

    #: anyone, no credentials (CONTRACT §4's public routes)
    PUBLIC = "public"
    #: any valid credential; the handler decides the rest (a job's kind, a project's use)
    AUTHENTICATED = "authenticated"


@dataclass(frozen=True)
class RouteRule:
    """What a route needs, and whose rate limit it counts against."""

    access: Permission | Open
    family: Family | None = None


_READ = RouteRule(Permission.READ, Family.READ)
_WRITE_FILES = RouteRule(Permission.GENERATE, Family.WRITE)
_WRITE_PROJECT = RouteRule(Open.AUTHENTICATED, Family.WRITE)

#: (method, Starlette path template) → rule; a route missing here needs spark:admin
ROUTES: Mapping[tuple[str, str], RouteRule] = {
    ("POST", "/v1/jobs"): RouteRule(Open.AUTHENTICATED, Family.SUBMIT),
    ("GET", "/v1/jobs"): _READ,
    ("GET", "/v1/jobs/{job_id:uuid}"): _READ,
    ("POST", "/v1/jobs/{job_id:uuid}/cancel"): RouteRule(Open.AUTHENTICATED, Family.WRITE),
    ("GET", "/v1/jobs/{job_id:uuid}/events"): _READ,
    ("GET", "/v1/events"): _READ,
    ("GET", "/v1/jobs/{job_id:uuid}/artifacts"): _READ,
    ("GET", "/v1/jobs/{job_id:uuid}/artifacts/{name}"): _READ,
    ("GET", "/v1/jobs/{job_id:uuid}/log"): _READ,
    ("GET", "/v1/presets"): _READ,
    ("GET", "/v1/presets/{preset_id}"): _READ,
    ("POST", "/v1/projects"): RouteRule(Open.AUTHENTICATED, Family.WRITE),
    ("GET", "/v1/projects"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}/deliveries"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}/files"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}/files/{path:path}"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}/files/{path:path}/history"): _READ,
    # writing a project's files is what apply_patch and generation into a project need
    ("POST", "/v1/projects/{project_id:uuid}/files/{path:path}/rollback"): _WRITE_FILES,
    ("DELETE", "/v1/projects/{project_id:uuid}/files/{path:path}"): _WRITE_FILES,
    ("GET", "/v1/projects/{project_id:uuid}/history/export"): _READ,
    ("GET", "/v1/projects/{project_id:uuid}/secrets"): _READ,
    # the handler asks for a project permission, as registering a project does
    ("PUT", "/v1/projects/{project_id:uuid}/secrets/{name}"): _WRITE_PROJECT,
    ("DELETE", "/v1/projects/{project_id:uuid}/secrets/{name}"): _WRITE_PROJECT,
    ("POST", "/v1/projects/{project_id:uuid}/history/import"): _WRITE_FILES,
    ("POST", "/v1/sessions"): RouteRule(Open.AUTHENTICATED, Family.WRITE),
    ("GET", "/v1/sessions"): _READ,
    ("GET", "/v1/sessions/{session_id}"): _READ,
    ("POST", "/v1/sessions/{session_id}/end"): RouteRule(Open.AUTHENTICATED, Family.WRITE),
    # a message queues an assist job: a submission, rate-limited as POST /v1/jobs is
    ("POST", "/v1/sessions/{session_id}/messages"): RouteRule(Open.AUTHENTICATED, Family.SUBMIT),
    ("GET", "/v1/usage"): _READ,
    ("GET", "/v1/farm"): _READ,
    ("GET", "/v1/audit"): RouteRule(Permission.ADMIN, Family.READ),
    ("GET", "/v1/admin/usage"): RouteRule(Permission.ADMIN, Family.READ),
    ("GET", "/v1/health"): RouteRule(Open.PUBLIC),
    ("GET", "/metrics"): RouteRule(Open.PUBLIC),
    ("GET", "/openapi.json"): RouteRule(Open.PUBLIC),
    ("GET", "/docs"): RouteRule(Open.PUBLIC),
    # the console's files hold no data: everything it shows comes through the API's routes,
    # with the key the person signed in with
    ("GET", "/console"): RouteRule(Open.PUBLIC),
    ("GET", "/console/{path:path}"): RouteRule(Open.PUBLIC),
    # MCP: any credential may talk to the server; each tool call is one request to a route
    # above, checked and metered by that route's own rule (spark/web/mcp/loopback.py)
    ("POST", "/mcp"): RouteRule(Open.AUTHENTICATED),
    ("GET", "/mcp"): RouteRule(Open.AUTHENTICATED),
    ("DELETE", "/mcp"): RouteRule(Open.AUTHENTICATED),
    ("GET", "/.well-known/oauth-protected-resource/mcp"): RouteRule(Open.PUBLIC),
}

#: a route nobody listed: closed to all but admins, so a forgotten entry never opens a route
UNLISTED = RouteRule(Permission.ADMIN, Family.WRITE)

#: projects are used by builds and by generation written into a project
PROJECT_PERMISSIONS = frozenset({Permission.GENERATE, Permission.BUILD})


def rule_for(method: str, template: str) -> RouteRule:
    """The rule of a route (HEAD counts as GET)."""
    return ROUTES.get(("GET" if method == "HEAD" else method, template), UNLISTED)
