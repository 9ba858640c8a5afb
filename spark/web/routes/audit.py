"""GET /v1/audit: the audit log, for admins (the route table gives it spark:admin)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.audit import AuditEntryOut, AuditPage, AuditQuery
from spark.db import audit as audit_queries
from spark.security import audit
from spark.web.bodies import parse
from spark.web.cursors import after_stamp, decode_after_stamp
from spark.web.routing import ApiRoute
from spark.web.services import services


async def list_audit(request: Request) -> Response:
    """Entries newest first, filtered by user, action and since, one page at a time."""
    query = parse(AuditQuery, dict(request.query_params))
    after = decode_after_stamp(query.cursor) if query.cursor else None
    filters = audit_queries.AuditFilters(query.user, query.action, query.since)
    db = services(request).db
    found = await run_in_threadpool(audit.entries, db, filters, query.limit + 1, after)
    page, more = found[: query.limit], len(found) > query.limit
    body = AuditPage(
        items=[AuditEntryOut.from_entry(e) for e in page],
        next_cursor=after_stamp(page[-1].at, page[-1].id) if more else None,
    )
    return Response(body.model_dump_json(), media_type="application/json")


routes = [ApiRoute("/v1/audit", list_audit, method="GET", query=AuditQuery)]
