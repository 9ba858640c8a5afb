"""GET /v1/farm: the live builders, what each builds and runs, and the targets none builds."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.farm import BuilderOut, FarmOut
from spark.domain.farm import Builder, Farm
from spark.domain.principals import Permission, Principal
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services


def _shown_job(builder: Builder, principal: Principal) -> str | None:
    """The job the caller may see the builder run: its own, or any to spark:admin."""
    admin = principal.can(Permission.ADMIN)
    visible = sorted(str(j.job_id) for j in builder.jobs if admin or j.owner == principal.user)
    return visible[0] if visible else None


def farm_view(farm: Farm, principal: Principal) -> FarmOut:
    """The farm as principal may see it: another user's job id never shows."""
    builders = [
        BuilderOut(
            node=b.beat.node,
            host=b.beat.host,
            os=b.beat.os,
            unity_versions=list(b.beat.unity_versions),
            targets=list(b.beat.targets),
            state=b.state,
            job_id=_shown_job(b, principal),
            last_seen=b.beat.last_seen.isoformat(),
        )
        for b in sorted(farm.builders, key=lambda b: (b.beat.host, b.beat.node))
    ]
    return FarmOut(builders=builders, targets_without_builder=farm.without_builder())


async def farm(request: Request) -> Response:
    """Every live builder (host, OS, Unity versions, targets, idle or busy) and the targets
    no live builder declares."""
    principal = principal_of(request)
    found = await run_in_threadpool(services(request).farm.read)
    body = farm_view(found, principal)
    # exclude_none: `job_id` is absent, not null, when none is shown
    return Response(body.model_dump_json(exclude_none=True), media_type="application/json")


routes = [ApiRoute("/v1/farm", farm, method="GET")]
