"""Resilience for external calls: the retry policy and circuit breakers."""
