"""Routes that declare their query parameters, so the OpenAPI document and the check agree.

Each route names a pydantic model for its query string (NoQuery when it takes none). Before
the endpoint runs, a parameter the model does not declare is a 400 naming it, and text the
database cannot store (NUL, a lone surrogate) in a query value or a path parameter is a
422 naming it. The endpoint validates the values themselves with the same model;
spark/web/openapi.py lists each route's parameters from it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spark.errors import BadRequest
from spark.web.bodies import check_text

Endpoint = Callable[[Request], Awaitable[Response]]


class NoQuery(BaseModel):
    """The query string of a route that takes no parameters."""

    model_config = ConfigDict(extra="forbid")


class ApiRoute(Route):
    """One method on one path, with the query parameters it accepts."""

    def __init__(
        self, path: str, endpoint: Endpoint, *, method: str, query: type[BaseModel] = NoQuery
    ) -> None:
        self.query = query
        self.method = method
        super().__init__(path, _guarded(endpoint, frozenset(query.model_fields)), methods=[method])


def _guarded(endpoint: Endpoint, allowed: frozenset[str]) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        check_query(request, allowed)
        check_path_params(request.path_params)
        return await endpoint(request)

    return guarded


def check_query(request: Request, allowed: frozenset[str]) -> None:
    """400 for a query parameter the route does not take; 422 for text it cannot store."""
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) or "no query parameters"
            raise BadRequest(
                f"unknown query parameter {name!r}; this route takes {takes}",
                details={"field": name},
            )
        check_text(value, (name,))


def check_path_params(params: dict[str, Any]) -> None:
    """422 naming a path parameter whose text cannot be stored or looked up."""
    for name, value in params.items():
        if isinstance(value, str):
            check_text(value, (name,))
