"""`export_package`: files packed into an importable .unitypackage artifact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.asset_params import ExportPackageParams
from spark.engines.unity import package
from spark.jobs.runner import JobContext


def export_package(ctx: JobContext) -> Mapping[str, Any]:
    """Pack the files and store the package as the job's artifact."""
    params = ExportPackageParams.model_validate(ctx.job.params)
    result, data = package.export_package(params, ctx.report)
    stored = ctx.need_tools().artifacts.put(ctx.job.id, str(result["artifact"]), data)
    return {**result, "artifacts": [stored.as_dict()]}
