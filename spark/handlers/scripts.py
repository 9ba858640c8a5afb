"""`generate_script`: an LLM (or the offline generator) writes a Unity C# script."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.params import GenerateScriptParams
from spark.engines.unity import scripts
from spark.jobs.runner import JobContext


def generate_script(ctx: JobContext) -> Mapping[str, Any]:
    """Write the script the prompt asks for, checked for syntax and declarations."""
    params = GenerateScriptParams.model_validate(ctx.job.params)
    return scripts.generate_script(params, ctx.report, ctx.need_tools().generator)
