"""The small key-value port behind breakers (and, later, limits and caches)."""
