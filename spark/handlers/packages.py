"""`export_package`: files packed into an importable .unitypackage artifact, given inline or
named (exactly or by glob) among the project's current files."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from spark.contracts.asset_params import ExportPackageParams
from spark.db.executor import Database
from spark.domain.files import FileHead, StoredFile
from spark.domain.globs import is_glob
from spark.engines.unity import package
from spark.errors import JobFailure
from spark.handlers.writing import version_ref
from spark.jobs.runner import JobContext
from spark.projects import files

#: the most project files one package takes, and their total size
MAX_PACKED_FILES = 5000
MAX_PACKED_BYTES = 64 * 1024 * 1024


def export_package(ctx: JobContext) -> Mapping[str, Any]:
    """Pack the files and store the package as the job's artifact."""
    params = ExportPackageParams.model_validate(ctx.job.params)
    stored = _from_project(ctx, params)
    inline = package.selected_files(params)
    packed = [*inline, *((f.version.path, f.content) for f in stored)]
    packed.sort(key=lambda file: file[0])
    result, data = package.export_package(params, ctx.report, packed)
    artifact = ctx.need_tools().artifacts.put(
        ctx.job.id, ctx.attempt, str(result["artifact"]), data
    )
    versions = [version_ref(f.version) for f in stored]
    return {**result, "versions": versions, "artifacts": [artifact.as_dict()]}


def _from_project(ctx: JobContext, params: ExportPackageParams) -> list[StoredFile]:
    """The project files the params name, each asset with its stored .meta unless the params
    give one inline; none when every path has its content inline."""
    wanted = params.from_project()
    if not wanted:
        return []
    if ctx.job.project_id is None:
        raise JobFailure(
            "file_not_found",
            f"{wanted[0]} has no content in files, and the job names no project to read it from",
            {"path": wanted[0]},
        )
    db = ctx.need_tools().db
    inline = {f.path for f in params.files}
    chosen = [path for path in _chosen(db, ctx.job.project_id, wanted) if path not in inline]
    # Each asset travels with its .meta: the GUID in it is what other assets refer to.
    metas = [f"{path}.meta" for path in chosen if f"{path}.meta" not in inline]
    return files.current_files(db, ctx.job.project_id, [*chosen, *metas])


def _chosen(db: Database, project_id: uuid.UUID, patterns: list[str]) -> list[str]:
    """The paths of the project's files the patterns name; JobFailure for one naming none."""
    chosen: dict[str, FileHead] = {}
    for pattern in patterns:
        found = files.matching(db, project_id, pattern)
        if is_glob(pattern):
            # A .meta goes with its asset, never on its own: a glob picks assets only.
            found = [head for head in found if not head.path.endswith(".meta")]
        if not found:
            raise JobFailure(
                "file_not_found",
                f"{pattern} matches no file of the project"
                if is_glob(pattern)
                else f"the project has no file {pattern}",
                {"path": pattern},
            )
        chosen.update((head.path, head) for head in found)
    if len(chosen) > MAX_PACKED_FILES or sum(h.size for h in chosen.values()) > MAX_PACKED_BYTES:
        raise JobFailure(
            "package_too_large",
            f"the paths name {len(chosen)} files; a package takes at most {MAX_PACKED_FILES} "
            f"files and {MAX_PACKED_BYTES // (1024 * 1024)} MB",
        )
    return sorted(chosen)
