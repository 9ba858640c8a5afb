"""`generate_asset`: a Unity YAML asset (prefab, material) with its .meta."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.asset_params import GenerateAssetParams
from spark.engines.unity import assets
from spark.jobs.runner import JobContext


def generate_asset(ctx: JobContext) -> Mapping[str, Any]:
    """Write the asset and its .meta."""
    return assets.generate_asset(GenerateAssetParams.model_validate(ctx.job.params), ctx.report)
