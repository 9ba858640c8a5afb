"""`generate_asset`: a Unity YAML asset (prefab, material) with its .meta, written into the
project when the job names one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.contracts.asset_params import GenerateAssetParams
from spark.domain.files import StoredFile
from spark.engines.unity import assets
from spark.engines.unity.unity_yaml import meta_guid
from spark.handlers.writing import write_files
from spark.jobs.runner import JobContext
from spark.projects import files


def generate_asset(ctx: JobContext) -> Mapping[str, Any]:
    """Write the asset and its .meta; in a project, keeping the GUID its stored .meta has."""
    params = GenerateAssetParams.model_validate(ctx.job.params)
    project_id = ctx.job.project_id
    if project_id is None:
        return assets.generate_asset(params, ctx.report)
    # Prefabs and scenes name the asset by this GUID: a new one would break every reference.
    stored = files.read(ctx.need_tools().db, project_id, f"{params.path}.meta")
    result = assets.generate_asset(params, ctx.report, guid=stored_guid(stored))
    contents = [(file["path"], file["content"].encode()) for file in result["files"]]
    message = f"generate_asset {params.asset_type} {params.name}"
    return {**result, **write_files(ctx, project_id, contents, message)}


def stored_guid(meta: StoredFile | None) -> str | None:
    """The GUID a stored .meta declares; None without one (or a .meta too broken to say)."""
    if meta is None:
        return None
    try:
        return meta_guid(meta.content.decode("utf-8", errors="replace"))
    except ValueError:
        return None
