"""Which Unity editor a job talks to: its project's, else the one SPARK is configured with."""

from __future__ import annotations

import uuid

from spark.db import projects as project_queries
from spark.engines.unity.bridge import Editor
from spark.errors import JobFailure
from spark.jobs.tools import Tools
from spark.security import destinations

_HINT = "set the project's unity_mcp_url or SPARK_UNITY_MCP_URL"


def editor_for(tools: Tools, project_id: uuid.UUID | None) -> Editor:
    """The project's editor (its URL checked like a webhook's), else the configured default.

    A project's URL is chosen by its owner, so without the check a job could make the worker
    call the cloud metadata service or an internal port; the operator's own URL is trusted.
    """
    url = _project_url(tools, project_id)
    if url is None:
        if tools.default_editor is None:
            raise JobFailure("editor_unavailable", f"no Unity editor is configured: {_HINT}")
        return tools.default_editor
    refused = None if tools.allow_private_editors else destinations.refusal(url)
    if refused is not None:
        raise JobFailure(
            "editor_unavailable",
            f"the project's editor {url} may not be called: {refused} "
            "(set SPARK_WEBHOOK_ALLOW_PRIVATE=true to allow private addresses)",
            {"url": url},
        )
    # The configured key goes with the configured URL only, never to a user-chosen host.
    default = tools.default_editor
    key = default.api_key if default is not None and default.url == url else None
    return Editor(url, key)


def _project_url(tools: Tools, project_id: uuid.UUID | None) -> str | None:
    if project_id is None:
        return None
    with tools.db.session() as s:
        project = project_queries.get_project_for_worker(s, project_id)
    return None if project is None else project.unity_mcp_url
