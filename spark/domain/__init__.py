"""Frozen domain values: jobs, kinds, states, principals."""
