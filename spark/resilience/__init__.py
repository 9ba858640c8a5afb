"""Resilience for external calls: retry policy (circuit breakers come next)."""
