"""`apply_patch`: one edit of one project file, checked and written as its next version."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from spark.contracts.patch_params import ApplyPatchParams
from spark.domain.files import StoredFile
from spark.engines import patching
from spark.engines.unity.csharp import check_syntax
from spark.errors import JobFailure, PayloadTooLarge, VersionConflict
from spark.handlers.writing import to_editor
from spark.jobs.runner import JobContext
from spark.projects import files

#: how many syntax errors the failure message lists (details carry them all)
_LISTED_ERRORS = 5


def apply_patch(ctx: JobContext) -> Mapping[str, Any]:
    """Apply the patch to the file as it is now (or as it was at base_version) and write it."""
    params = ApplyPatchParams.model_validate(ctx.job.params)
    project_id = _project_of(ctx)
    patch = patch_of(params)
    ctx.report(10, f"patching {params.path}")

    def edit(current: StoredFile | None) -> bytes:
        content = _patched(patch, current, params.path)
        if params.validate_syntax and params.path.endswith(".cs"):
            check_csharp(params.path, content)
        return content

    try:
        written = files.update(
            ctx.need_tools().db,
            project_id,
            params.path,
            edit,
            ctx.author,
            f"apply_patch ({params.patch_type})",
            base_version=params.base_version,
        )
    except VersionConflict as exc:
        raise JobFailure("version_conflict", exc.message, exc.details) from None
    except PayloadTooLarge as exc:
        raise JobFailure("file_too_large", exc.message, {"path": params.path}) from None
    ctx.report(90, f"wrote {params.path} version {written.after.version}")
    before = written.before.content if written.before else None
    # The edit is pure: running it again on the same file gives the bytes just written.
    after = _patched(patch, written.before, params.path)
    return {
        "path": params.path,
        "version": written.after.version,
        "sha256": written.after.sha256,
        "diff": patching.unified_diff(params.path, before, after),
        **to_editor(ctx, project_id, [(written, after)]),
    }


def patch_of(params: ApplyPatchParams) -> patching.Patch:
    """The engine's patch for the job's params."""
    return patching.Patch(
        patch_type=params.patch_type,
        old=params.old,
        new=params.new,
        anchor=params.anchor,
        diff=params.diff,
        content=params.content,
    )


def _project_of(ctx: JobContext) -> uuid.UUID:
    if ctx.job.project_id is None:  # the API refuses such a submission (needs_project)
        raise JobFailure("invalid_params", "apply_patch needs the project to work on")
    return ctx.job.project_id


def _patched(patch: patching.Patch, current: StoredFile | None, path: str) -> bytes:
    try:
        return patching.apply(patch, current.content if current else None, path)
    except patching.PatchRejected as exc:
        raise JobFailure(exc.code, exc.message, exc.details) from None


def check_csharp(path: str, content: bytes) -> None:
    """Fail `invalid_code`, naming each syntax error's line and column, unless content parses."""
    problems = check_syntax(content.decode("utf-8", errors="replace"))
    if not problems:
        return
    listed = "; ".join(f"{p.line}:{p.column} {p.message}" for p in problems[:_LISTED_ERRORS])
    more = f" (and {len(problems) - _LISTED_ERRORS} more)" if len(problems) > _LISTED_ERRORS else ""
    raise JobFailure(
        "invalid_code",
        f"the patched {path} is not valid C# ({len(problems)} syntax error"
        f"{'s' if len(problems) > 1 else ''} at line:column {listed}{more}); nothing was written",
        {"path": path, "diagnostics": [asdict(p) for p in problems]},
    )
