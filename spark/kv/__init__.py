"""Redis-backed state shared by every process: limits, breakers, leases, the preview cache."""
