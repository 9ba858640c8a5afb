"""`render_preview`: a frame from the Unity editor at exactly the asked size and format,
reused from the preview cache while nothing it depends on has changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark import metrics
from spark.contracts.patch_params import RenderPreviewParams
from spark.domain.events import EventType
from spark.domain.files import sha256_of
from spark.engines.unity import preview_image
from spark.engines.unity.bridge import Editor
from spark.errors import JobFailure
from spark.handlers.editors import editor_for
from spark.jobs.runner import JobContext
from spark.jobs.tools import Tools
from spark.kv.preview_cache import CachedPreview, PreviewRequest, files_digest
from spark.projects import files
from spark.storage.artifacts import Artifact


def render_preview(ctx: JobContext) -> Mapping[str, Any]:
    """Answer from the cache, else capture, fit and store a frame; announce it as `frame`."""
    params = RenderPreviewParams.model_validate(ctx.job.params)
    tools = ctx.need_tools()
    editor = editor_for(tools, ctx.job.project_id)
    request = _request(ctx, tools, params, editor)
    key = request.key()
    ctx.report(10, "looking up the preview cache")
    artifact = _from_cache(ctx, tools, key, params)
    cached = artifact is not None
    metrics.preview_cache_lookup(hit=cached)
    if artifact is None:
        artifact = _render(ctx, tools, editor, params)
        entry = CachedPreview(ctx.job.id, artifact.name, artifact.sha256, artifact.attempt)
        tools.previews.put(key, entry)
    ctx.emit(
        EventType.FRAME,
        {
            "artifact": artifact.name,
            "href": f"/v1/jobs/{ctx.job.id}/artifacts/{artifact.name}",
            "width": params.width,
            "height": params.height,
            "sha256": artifact.sha256,
        },
    )
    # `artifacts` is how the job's artifact routes find the file (GET …/artifacts[/{name}]).
    return {
        "artifact": artifact.name,
        "width": params.width,
        "height": params.height,
        "cached": cached,
        "artifacts": [artifact.as_dict()],
    }


def artifact_name(params: RenderPreviewParams) -> str:
    """The preview's artifact: preview.png or preview.jpg."""
    return f"preview.{params.format}"


def _request(
    ctx: JobContext, tools: Tools, params: RenderPreviewParams, editor: Editor
) -> PreviewRequest:
    """What this preview depends on; reading the file heads is what makes any write a miss."""
    project_id = ctx.job.project_id
    return PreviewRequest(
        editor_url=editor.url if editor.instance is None else f"{editor.url}#{editor.instance}",
        project_id=project_id,
        files=files_digest(files.heads(tools.db, project_id)) if project_id is not None else "",
        scene=params.scene,
        camera=params.camera,
        width=params.width,
        height=params.height,
        format=params.format,
    )


def _from_cache(
    ctx: JobContext, tools: Tools, key: str, params: RenderPreviewParams
) -> Artifact | None:
    """The cached frame copied into this job's artifacts, or None on a miss.

    The copy is checked against the cached SHA-256, so an artifact that changed or went
    away since it was cached is rendered again rather than served.
    """
    entry = tools.previews.get(key)
    if entry is None:
        return None
    source = tools.artifacts.open(entry.job_id, entry.attempt, entry.artifact)
    if source is None:
        return None
    with source:
        data = source.read()
    if sha256_of(data) != entry.sha256:
        return None
    return tools.artifacts.put(ctx.job.id, ctx.attempt, artifact_name(params), data)


def _render(ctx: JobContext, tools: Tools, editor: Editor, params: RenderPreviewParams) -> Artifact:
    """Open the scene, capture the game view, fit it to the asked size and store it."""
    ctx.report(15, f"connecting to the Unity editor at {editor.url}")
    with tools.editor.attach(editor) as session:
        if params.scene is not None:
            ctx.report(20, f"opening {params.scene} in {session.instance.id}")
            session.open_scene(params.scene)
        ctx.report(40, f"capturing the game view of {session.instance.id}")
        shot = session.screenshot(width=params.width, height=params.height, camera=params.camera)
    ctx.report(70, f"fitting {shot.width}x{shot.height} to {params.width}x{params.height}")
    try:
        fitted = preview_image.fit(shot.image, params.width, params.height, params.format)
    except preview_image.UnreadableImage as exc:
        raise JobFailure("editor_error", str(exc), {"url": editor.url}) from exc
    return tools.artifacts.put(ctx.job.id, ctx.attempt, artifact_name(params), fitted.data)
