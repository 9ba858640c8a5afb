"""`/mcp`: SPARK as an MCP tool server (streamable HTTP, the official SDK's low-level server).

Stateless by default (SPARK_MCP_STATELESS): each POST is served on its own, so every API
process answers every call and a balancer needs no session affinity; nothing about a caller
lives in the process between calls. The tools' state is SPARK's own (jobs, files), in
Postgres. What a stateless server cannot do — call back into the client (sampling,
elicitation) or resume a broken stream — SPARK's tools never need: progress notifications
ride the POST's own event stream.

The SDK's DNS-rebinding check is kept, with the hosts and origins from settings, so the
server works behind a proxy that forwards its public host name.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.routing import Route

from spark import __version__
from spark.config import Settings
from spark.web.mcp import file_tools, job_tools
from spark.web.mcp.answers import refused
from spark.web.mcp.catalog import ArgumentsInvalid, Call, ToolSpec, kind_specs
from spark.web.mcp.loopback import Loopback
from spark.web.mcp.transport import SplitTransport

log = logging.getLogger(__name__)

#: where the server answers
PATH = "/mcp"
_INSTRUCTIONS = (
    "SPARK runs game-development jobs for your Unity projects: generate and patch C# "
    "scripts, presets and assets (versioned, with history and rollback), previews, builds "
    "and tests on a build farm. Job tools return the job; pass wait=true to follow it to "
    "its end with progress. Files are resources at spark://projects/{id}/files/{path}."
)


@dataclass(frozen=True)
class McpEndpoint:
    """The mounted server: its route, and the lifespan its session managers need."""

    route: Route
    transport: SplitTransport | StreamableHTTPSessionManager

    def running(self) -> AbstractAsyncContextManager[None]:
        """Enter in the app's lifespan: the transport serves only while it runs."""
        if isinstance(self.transport, SplitTransport):
            return self.transport.running()
        manager = self.transport
        return manager.run()


def catalog() -> dict[str, ToolSpec]:
    """Every tool by name: one per job kind this server runs, then the fixed ones."""
    tools = [
        *job_tools.kind_tools(kind_specs()),
        *job_tools.job_tools(),
        *file_tools.file_tools(),
    ]
    return {tool.name: tool for tool in tools}


class _Handlers:
    """The server's request handlers over one catalog of tools."""

    def __init__(self, tools: dict[str, ToolSpec], wait_s: float) -> None:
        self.tools = tools
        self.definitions = [tool.definition() for tool in tools.values()]
        #: each tool's input schema, for the SDK's check of a call's Mcp-Param headers; without
        #: it the SDK runs list_tools and serialises the whole catalog on every call
        self.input_schemas = {d.name: d.input_schema for d in self.definitions}
        self.wait_s = wait_s

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.definitions)

    async def call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """Run the named tool as the caller of this request; every failure a tool error."""
        tool = self.tools.get(params.name)
        if tool is None:
            return refused("unknown_tool", f"no tool named {params.name!r}; see tools/list")
        try:
            args = tool.parse(params.arguments)
        except ArgumentsInvalid as exc:
            return refused("invalid_params", str(exc), {"field": exc.field})
        request = ctx.request
        if not isinstance(request, Request):  # only HTTP serves SPARK's tools
            return refused("unauthenticated", "SPARK's tools are served over HTTP only")

        async def report(done: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(done, total, message)

        return await tool.perform(Call(Loopback.of(request), args, report, self.wait_s))

    async def list_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        templates = file_tools.resource_templates()
        return types.ListResourceTemplatesResult(resource_templates=templates)

    async def read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        request = ctx.request
        if not isinstance(request, Request):
            raise MCPError(file_tools.INVALID_PARAMS, "SPARK's resources are served over HTTP only")
        return await file_tools.read_resource(Loopback.of(request), str(params.uri))


def build(settings: Settings) -> McpEndpoint:
    """The MCP server for settings, ready to mount at PATH."""
    handlers = _Handlers(catalog(), settings.mcp_wait_s)
    server: Server[Any] = Server(
        "spark",
        version=__version__,
        title="SPARK",
        instructions=_INSTRUCTIONS,
        get_tool_input_schema=handlers.input_schemas.get,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_list_resource_templates=handlers.list_templates,
        on_read_resource=handlers.read_resource,
    )

    def manager(json_response: bool) -> StreamableHTTPSessionManager:
        return StreamableHTTPSessionManager(
            app=server,
            stateless=settings.mcp_stateless,
            json_response=json_response,
            security_settings=_host_check(settings),
        )

    methods = ["GET", "POST", "DELETE"]
    if not settings.mcp_stateless:
        # One manager holds the sessions; every answer is an event stream.
        streaming = manager(json_response=False)
        return McpEndpoint(
            Route(PATH, StreamableHTTPASGIApp(streaming), methods=methods), streaming
        )
    split = SplitTransport(
        streaming=manager(json_response=False), plain=manager(json_response=True)
    )
    return McpEndpoint(Route(PATH, split, methods=methods), split)


def _host_check(settings: Settings) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding check with SPARK's hosts and origins; `*` turns it off."""
    if settings.mcp_allowed_hosts == ["*"]:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(settings.mcp_allowed_hosts),
        allowed_origins=list(settings.mcp_allowed_origins),
    )
