"""`apply_preset`: a game template's scripts and build settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.preset_params import ApplyPresetParams
from spark.engines.unity import presets
from spark.jobs.runner import JobContext


def apply_preset(ctx: JobContext) -> Mapping[str, Any]:
    """Render the template, each file checked as C#."""
    return presets.apply_preset(ApplyPresetParams.model_validate(ctx.job.params), ctx.report)
