"""`apply_preset`: a game template's scripts and build settings, written into the project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.preset_params import ApplyPresetParams
from spark.engines.unity import presets
from spark.handlers.writing import write_files
from spark.jobs.runner import JobContext


def apply_preset(ctx: JobContext) -> Mapping[str, Any]:
    """Render the template, each file checked as C#; with a project, write every script and
    the settings file there as new versions."""
    result = presets.apply_preset(ApplyPresetParams.model_validate(ctx.job.params), ctx.report)
    if ctx.job.project_id is None:
        return result
    rendered = [*result["files"], result["settings_file"]]
    contents = [(file["path"], file["content"].encode()) for file in rendered]
    message = f"apply_preset {result['preset_id']} ({result['name']})"
    return {**result, **write_files(ctx, ctx.job.project_id, contents, message)}
