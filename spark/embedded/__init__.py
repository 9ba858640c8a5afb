"""Embedded servers: PostgreSQL, Redis (Valkey) and NATS from wheels, as child processes."""
