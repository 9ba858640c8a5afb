"""`compile_check`: the job's project imported and compiled by a batch-mode editor on the farm."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from spark.config import load_settings
from spark.contracts.compile_params import CompileCheckParams
from spark.domain.targets import BuildTarget, default_targets
from spark.engines.unity import compile as compile_engine
from spark.handlers.builds import current_files, farm_project
from spark.jobs.runner import JobContext


def compile_check(ctx: JobContext) -> Mapping[str, Any]:
    """Compile the project, with SPARK's newest version of each of its files laid over its
    source; compile_failed with the parsed compiler errors when a script does not compile."""
    params = CompileCheckParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    project = farm_project(ctx, "compile check")
    request = compile_engine.CompileRequest(
        ctx.job.id,
        ctx.attempt,
        project,
        params.ref,
        files=current_files(ctx, project),
        target=_compile_target(),
    )
    return compile_engine.run_compile_check(request, tools.builds, ctx.report)


@functools.cache
def _compile_target() -> BuildTarget | None:
    """This builder's first declared target: the editor compiles for a platform it has, and
    the import it leaves is the one that target's builds start from."""
    declared = load_settings(embedded=False).build_targets or default_targets()
    return declared[0] if declared else None
