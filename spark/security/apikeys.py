"""API keys: `spk_<id>_<secret>`, minted, parsed and verified against a stored hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from spark.db import audit as audit_queries
from spark.db import keys as key_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.audit import AuditAction
from spark.domain.principals import ApiKeyRecord, Permission, Principal, Tier
from spark.errors import Unauthenticated
from spark.security.audit import new_entry

_KEY = re.compile(r"^spk_([a-f0-9]{16})_([A-Za-z0-9_-]{20,128})$")
#: a revoked key must stop working within this on every API process
MAX_KEY_CACHE_S = 5.0


@dataclass(frozen=True)
class MintedKey:
    """A freshly created key: the full token is shown once and never stored."""

    token: str
    record: ApiKeyRecord


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret; the secrets are 256-bit random, so a slow hash buys nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mint(user: str, tier: Tier, permissions: Iterable[Permission]) -> MintedKey:
    """A new random key for user."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKeyRecord(key_id, user, tier, frozenset(permissions), hash_secret(secret))
    return MintedKey(f"spk_{key_id}_{secret}", record)


def create_key(db: Database, user: str, tier: Tier, permissions: Iterable[Permission]) -> MintedKey:
    """Mint a key and store its hash, with an audit entry in the same transaction."""
    minted = mint(user, tier, permissions)
    details = {
        "tier": tier.value,
        "permissions": sorted(p.value for p in minted.record.permissions),
    }
    entry = new_entry(AuditAction.KEY_CREATED, user, key_id=minted.record.key_id, details=details)
    with db.transaction() as tx:
        key_queries.insert_key(tx, minted.record, utcnow())
        audit_queries.record(tx, entry)
    return minted


def revoke_key(db: Database, key_id: str) -> bool:
    """Revoke a live key (audited); False if there is no such live key."""
    with db.transaction() as tx:
        record = key_queries.get_key(tx, key_id)
        if record is None or not key_queries.revoke_key(tx, key_id, utcnow()):
            return False
        audit_queries.record(tx, new_entry(AuditAction.KEY_REVOKED, record.user, key_id=key_id))
    return True


class KeyVerifier:
    """Checks presented keys; remembers stored records briefly so a poll costs no query."""

    def __init__(self, db: Database, cache_ttl_s: float = 4.0) -> None:
        self._db = db
        # Revocation is only seen when the record is read again, so the TTL bounds its delay.
        self._ttl = max(0.0, min(cache_ttl_s, MAX_KEY_CACHE_S))
        self._cache: dict[str, tuple[float, ApiKeyRecord | None]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The principal for a valid, unrevoked key; Unauthenticated otherwise."""
        key_id, secret = self._parse(token)
        return self._check(key_id, secret, self._record(key_id))

    def verify_cached(self, token: str) -> Principal | None:
        """Like verify, but None instead of a database lookup when the key is not cached."""
        key_id, secret = self._parse(token)
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return self._check(key_id, secret, cached[1])

    @staticmethod
    def _parse(token: str) -> tuple[str, str]:
        match = _KEY.match(token)
        if match is None:
            raise Unauthenticated("the API key is malformed")
        return match.group(1), match.group(2)

    @staticmethod
    def _check(key_id: str, secret: str, record: ApiKeyRecord | None) -> Principal:
        # Hash and compare even for an unknown key, so timing says nothing about the secret.
        stored = record.secret_hash if record is not None else ""
        matches = hmac.compare_digest(stored.encode(), hash_secret(secret).encode())
        if record is None or record.revoked or not matches:
            raise Unauthenticated("the API key is unknown or revoked")
        return Principal(record.user, record.tier, record.permissions, key_id=key_id)

    def _record(self, key_id: str) -> ApiKeyRecord | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._db.read() as tx:
            record = key_queries.get_key(tx, key_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now + self._ttl, record)
        return record
