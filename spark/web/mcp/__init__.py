"""SPARK as an MCP tool server at /mcp (spark/web/mcp/server.py)."""
