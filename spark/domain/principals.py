"""Who is calling: the principal every request and job is scoped to."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Permission(enum.StrEnum):
    """What a credential may do (CONTRACT §6)."""

    READ = "spark:read"
    GENERATE = "spark:generate"
    BUILD = "spark:build"
    ADMIN = "spark:admin"


class Tier(enum.StrEnum):
    """Service tiers; limits and quotas hang off these."""

    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


DEFAULT_PERMISSIONS = frozenset({Permission.READ, Permission.GENERATE, Permission.BUILD})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `user` owns every job it submits."""

    user: str
    tier: Tier
    permissions: frozenset[Permission]
    key_id: str | None = None

    @property
    def subject(self) -> str:
        """Who acted for user: the API key's id, or `jwt:<sub>` for a bearer token."""
        return self.key_id or f"jwt:{self.user}"

    def can(self, permission: Permission) -> bool:
        """Whether the caller holds permission (admin holds them all)."""
        return permission in self.permissions or Permission.ADMIN in self.permissions


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: only the hash of its secret is kept."""

    key_id: str
    user: str
    tier: Tier
    permissions: frozenset[Permission]
    secret_hash: str
    revoked: bool = False
