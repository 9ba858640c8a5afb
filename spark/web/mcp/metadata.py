"""OAuth protected-resource metadata (RFC 9728) for /mcp, and the challenge a 401 carries,
so an MCP client learns how to authenticate: a Bearer API key or JWT, in a header."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from spark.domain.principals import Permission
from spark.web.routing import ApiRoute
from spark.web.services import services

#: where the metadata of the /mcp resource is (RFC 9728 §3: the well-known prefix + its path)
METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"


def base_url(request: Request) -> str:
    """Where clients reach the API: SPARK_PUBLIC_URL, else as this request names it."""
    configured = services(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def challenge(request: Request) -> str:
    """The WWW-Authenticate value of a 401: Bearer, and for /mcp the metadata's URL."""
    if request.url.path.rstrip("/") == "/mcp":
        return f'Bearer resource_metadata="{base_url(request)}{METADATA_PATH}"'
    return 'Bearer realm="spark"'


async def protected_resource(request: Request) -> Response:
    """The /mcp resource's metadata: what it is, the scopes (permissions) it knows, and that
    credentials go in the Authorization header (an API key, or a JWT from the issuer)."""
    settings = services(request).settings
    body = {
        "resource": f"{base_url(request)}/mcp",
        "resource_name": "SPARK",
        "authorization_servers": [settings.jwt_issuer] if settings.jwt_issuer else [],
        "scopes_supported": [p.value for p in Permission],
        "bearer_methods_supported": ["header"],
    }
    return Response(json.dumps(body), media_type="application/json")


routes = [ApiRoute(METADATA_PATH, protected_resource, method="GET")]
