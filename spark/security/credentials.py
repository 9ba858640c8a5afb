"""One front door for credentials: API keys (`spk_…`) and JWTs, each to its verifier."""

from __future__ import annotations

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import Principal
from spark.errors import Unauthenticated
from spark.security.apikeys import KeyVerifier
from spark.security.tokens import JwtVerifier

#: longer than any key or JWT we issue or accept; refused before any parsing
MAX_TOKEN_CHARS = 8192


class Authenticator:
    """Tells API keys from JWTs and verifies each; `verify_cached` never does I/O."""

    def __init__(self, keys: KeyVerifier, jwts: JwtVerifier | None) -> None:
        self._keys = keys
        self._jwts = jwts

    def verify_cached(self, token: str) -> Principal | None:
        """The principal, or None when telling needs the database or the JWKS."""
        if _is_api_key(token):
            return self._keys.verify_cached(token)
        return self._jwt_verifier().verify_cached(token)

    def verify(self, token: str) -> Principal:
        """The principal of a valid credential; blocking (database, JWKS), so run it in a thread."""
        if _is_api_key(token):
            return self._keys.verify(token)
        return self._jwt_verifier().verify(token)

    def _jwt_verifier(self) -> JwtVerifier:
        if self._jwts is None:
            raise Unauthenticated("JWTs are not accepted here; use an API key")
        return self._jwts


def _is_api_key(token: str) -> bool:
    """True for an API key, False for a JWT; Unauthenticated for anything else."""
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the credential is malformed")
    if token.startswith("spk_"):
        return True
    if token.count(".") == 2:
        return False
    raise Unauthenticated("the credential is malformed: expected an API key or a JWT")


def build_authenticator(settings: Settings, db: Database) -> Authenticator:
    """API keys from db, and JWTs when a secret or a JWKS URL is configured."""
    jwts = JwtVerifier(settings) if settings.jwt_secret or settings.jwt_jwks_url else None
    return Authenticator(KeyVerifier(db, settings.key_cache_s), jwts)
