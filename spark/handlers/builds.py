"""`unity_build`: a headless Unity build of the job's project on a build-farm worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.build_params import UnityBuildParams
from spark.db import projects as project_queries
from spark.engines.unity import builds
from spark.errors import JobFailure
from spark.jobs.runner import JobContext
from spark.projects import files


def unity_build(ctx: JobContext) -> Mapping[str, Any]:
    """Build the project, with SPARK's newest version of each of its files laid over its
    source, for the target; the runner streams Unity's log and parses it."""
    params = UnityBuildParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    if ctx.job.project_id is None:
        raise JobFailure("project_not_found", "the build names no project")
    project = project_queries.get_project_for_worker(tools.db, ctx.job.project_id)
    if project is None:
        raise JobFailure("project_not_found", "the build's project no longer exists")
    project_id = project.id
    # Handed over as a function: the engine reads the files once it holds the workspace.
    request = builds.BuildRequest(
        ctx.job.id,
        ctx.attempt,
        project,
        params,
        files=lambda: files.each_current_file(tools.db, project_id),
    )
    return builds.run_build(request, tools.builds, ctx.report)
