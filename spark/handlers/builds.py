"""`unity_build`: a headless Unity build of the job's project on a build-farm worker."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from spark.config import load_settings
from spark.contracts.build_params import BuildTarget, UnityBuildParams
from spark.db import projects as project_queries
from spark.db.executor import Database
from spark.domain.files import StoredFile
from spark.domain.projects import Project
from spark.domain.secrets import AndroidSigning
from spark.engines.unity import builds
from spark.errors import JobFailure
from spark.jobs.runner import JobContext
from spark.projects import files, secrets
from spark.security.sealing import Keyring, KeysInvalid


def unity_build(ctx: JobContext) -> Mapping[str, Any]:
    """Build the project, with SPARK's newest version of each of its files laid over its
    source, for the target; the runner streams Unity's log and parses it."""
    params = UnityBuildParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    project = farm_project(ctx, "build")
    request = builds.BuildRequest(
        ctx.job.id,
        ctx.attempt,
        project,
        params,
        files=current_files(ctx, project),
        signing=_android_signing(tools.db, params, project.id),
    )
    return builds.run_build(request, tools.builds, ctx.report)


def current_files(ctx: JobContext, project: Project) -> Callable[[], Iterator[StoredFile]]:
    """SPARK's newest version of each of the project's files, read when the engine calls:
    once it holds the workspace they are laid over."""
    db = ctx.need_tools().db
    return lambda: files.each_current_file(db, project.id)


def farm_project(ctx: JobContext, what: str) -> Project:
    """The project a farm job (a `what`: build, test run, compile check) works on, read on
    the builder; project_not_found when it names none or it was deleted since."""
    if ctx.job.project_id is None:
        raise JobFailure("project_not_found", f"the {what} names no project")
    project = project_queries.get_project_for_worker(ctx.need_tools().db, ctx.job.project_id)
    if project is None:
        raise JobFailure("project_not_found", f"the {what}'s project no longer exists")
    return project


def _android_signing(
    db: Database, params: UnityBuildParams, project_id: uuid.UUID
) -> AndroidSigning | None:
    """The project's keystore for an Android build (None: Unity's debug key signs it)."""
    if params.target is not BuildTarget.ANDROID:
        return None
    return secrets.open_android_signing(db, _keyring(), project_id)


@functools.cache
def _keyring() -> Keyring | None:
    """This builder's SPARK_SECRETS_KEY, read once; secrets_unreadable when it is not keys."""
    try:
        return Keyring.parse(load_settings(embedded=False).secrets_key)
    except KeysInvalid as invalid:
        raise JobFailure("secrets_unreadable", str(invalid)) from None
