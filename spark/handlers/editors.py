"""Which Unity editor a job talks to: its project's, else the one SPARK is configured with."""

from __future__ import annotations

import uuid

from spark.db import projects as project_queries
from spark.engines.unity.bridge import Editor
from spark.errors import JobFailure
from spark.jobs.tools import Tools
from spark.security.destinations import ALLOW_HINT

_HINT = "set the project's unity_mcp_url or SPARK_UNITY_MCP_URL"


def editor_for(tools: Tools, project_id: uuid.UUID | None) -> Editor:
    """The project's editor (its URL checked like a webhook's), else the configured default."""
    editor = project_editor(tools, project_id) if project_id is not None else None
    if editor is None:
        if tools.default_editor is None:
            raise JobFailure("editor_unavailable", f"no Unity editor is configured: {_HINT}")
        return tools.default_editor
    refused = refusal(tools, editor)
    if refused is not None:
        raise JobFailure("editor_unavailable", refused, {"url": editor.url})
    return editor


def project_editor(tools: Tools, project_id: uuid.UUID) -> Editor | None:
    """The project's own editor, if it names one (not yet checked: see refusal): its server,
    or the configured one with the project's instance. The configured API key goes with the
    configured URL only, never to a user-chosen host."""
    project = project_queries.get_project_for_worker(tools.db, project_id)
    if project is None:
        return None
    default = tools.default_editor
    url = project.unity_mcp_url or (default.url if default is not None else None)
    if not url or not (project.unity_mcp_url or project.unity_instance):
        return None
    key = default.api_key if default is not None and default.url == url else None
    return Editor(url, key, project.unity_instance)


def refusal(tools: Tools, editor: Editor) -> str | None:
    """Why a project's editor may not be called, or None. Its URL is chosen by the project's
    owner, so without this a job could make the worker call the cloud metadata service or an
    internal port with the owner's files. The operator's own server (SPARK_UNITY_MCP_URL) is
    trusted; any other is checked at each use, as when it was registered."""
    default = tools.default_editor
    if default is not None and editor.url == default.url:
        return None
    refused = tools.destinations.refusal(editor.url)
    if refused is None:
        return None
    return f"the project's editor {editor.url} may not be called: {refused} ({ALLOW_HINT})"
