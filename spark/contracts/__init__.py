"""Pydantic models at the edges: request bodies, per-kind params, responses."""
