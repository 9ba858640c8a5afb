"""JWTs: HS256 with the shared secret, RS256/ES256 with keys from a JWKS URL, as a Principal."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any

import jwt

from spark.config import Settings
from spark.domain.principals import Permission, Principal, Tier
from spark.errors import ServiceUnavailable, Unauthenticated
from spark.lru import ExpiringLru

# Each key source verifies only its own algorithms, so an RSA public key can never be used as
# an HMAC secret and `alg: none` matches nothing (RFC 8725 §2.1).
SECRET_ALGORITHMS = frozenset({"HS256"})
JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_SUBJECT = 128
#: what a token that grants no spark:* permission may do
DEFAULT_JWT_PERMISSIONS = frozenset({Permission.READ})
#: RFC 7518 §3.2: an HS256 key must be at least as long as the hash
MIN_SECRET_BYTES = 32

_KNOWN_PERMISSIONS = {p.value: p for p in Permission}
_UNKNOWN_KID = "the token's signing key is unknown"

# Most specific first: InvalidSignatureError is a DecodeError, the rest are InvalidTokenErrors.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is not meant for this service"),
    (jwt.InvalidIssuerError, "the token's issuer is not trusted"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.DecodeError, "the token is malformed"),
)


def _reason(exc: jwt.PyJWTError) -> str:
    """A short reason for a rejected token that says nothing about keys or secrets."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the {exc.claim!r} claim"
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "the token is invalid"


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The caller a verified token's claims describe: sub, spark_tier, scope/permissions."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUBJECT:
        raise Unauthenticated(f"the token's sub claim must be 1 to {MAX_SUBJECT} characters")
    if not sub.isprintable():
        raise Unauthenticated("the token's sub claim must be printable")
    tier = claims.get("spark_tier", Tier.FREE.value)
    if not isinstance(tier, str) or tier not in {t.value for t in Tier}:
        raise Unauthenticated("the token's spark_tier claim must be free, pro or enterprise")
    return Principal(sub, Tier(tier), _permissions(claims))


def _permissions(claims: Mapping[str, Any]) -> frozenset[Permission]:
    """spark:* values from `scope` (space-separated) and `permissions` (a list); others ignored."""
    raw: list[Any] = []
    scope, listed = claims.get("scope"), claims.get("permissions")
    if isinstance(scope, str):
        raw.extend(scope.split())
    if isinstance(listed, list):
        raw.extend(listed)
    granted = frozenset(
        _KNOWN_PERMISSIONS[p] for p in raw if isinstance(p, str) and p in _KNOWN_PERMISSIONS
    )
    return granted or DEFAULT_JWT_PERMISSIONS


class JwksKeys:
    """Signing keys from a JWKS URL: cached for a lifespan, refetched at most once per
    `min_refetch_s` for an unknown kid, so a flood of made-up kids cannot hammer the JWKS."""

    def __init__(
        self,
        url: str,
        lifespan_s: float,
        *,
        timeout_s: float = 5.0,
        min_refetch_s: float = 10.0,
        failure_backoff_s: float = 5.0,
    ) -> None:
        # The client only fetches; the caching is ours so a look-up can promise no I/O.
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout_s)
        self._lifespan = lifespan_s
        self._min_refetch = min_refetch_s
        self._backoff = failure_backoff_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._failed_at = -math.inf
        self._state = threading.Lock()  # guards the fields; never held during I/O
        self._fetching = threading.Lock()  # one fetch at a time; the others wait for its keys

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key for kid without I/O; None when only a fetch can tell."""
        with self._state:
            now = time.monotonic()
            age, key = now - self._fetched_at, self._keys.get(kid)
            failing = now - self._failed_at < self._backoff
        # While the JWKS is failing, a key we already had stays good: keys rotate slowly.
        if key is not None and (age < self._lifespan or failing):
            return key
        if age < min(self._lifespan, self._min_refetch):
            # Fetched moments ago and kid was not there: asking again would not help.
            raise Unauthenticated(_UNKNOWN_KID)
        return None

    def get(self, kid: str) -> jwt.PyJWK:
        """The key for kid, fetching the JWKS when the cache is stale or lacks kid."""
        key = self.cached(kid)
        if key is not None:
            return key
        with self._state:
            stale = self._keys.get(kid)
        # A kid we never saw waits for the one fetch under way; a known one need not.
        if not self._fetching.acquire(blocking=stale is None):
            assert stale is not None
            return stale
        try:
            key = self.cached(kid) or self._refresh(kid)
        finally:
            self._fetching.release()
        if key is None:
            raise Unauthenticated(_UNKNOWN_KID)
        return key

    def _refresh(self, kid: str) -> jwt.PyJWK | None:
        """Fetch the JWKS; if it cannot be reached, a key we already had is still good."""
        with self._state:
            stale = self._keys.get(kid)
            backing_off = time.monotonic() - self._failed_at < self._backoff
        try:
            if backing_off:
                raise jwt.PyJWKClientConnectionError("recently unreachable")
            fetched = self._client.get_signing_keys(refresh=True)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as exc:
            if not backing_off:
                with self._state:
                    self._failed_at = time.monotonic()
            if stale is not None:
                return stale
            raise ServiceUnavailable("the JWT signing keys cannot be fetched right now") from exc
        keys = {k.key_id: k for k in fetched if k.key_id and k.algorithm_name in JWKS_ALGORITHMS}
        with self._state:
            self._keys, self._fetched_at = keys, time.monotonic()
        return keys.get(kid)


class VerifiedTokens:
    """Tokens whose signature and claims were checked, until they expire (bounded, LRU)."""

    #: the most tokens remembered; the oldest is forgotten first
    SIZE = 10_000
    #: a verified token is checked in full again after this long, even if still valid
    MAX_AGE_S = 60.0

    def __init__(self) -> None:
        # Wall-clock time: a token's expiry is a Unix time.
        self._entries: ExpiringLru[str, Principal] = ExpiringLru(self.SIZE, time.time)

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired."""
        return self._entries.get(token)

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        """Remember a verified token until expires_at (a Unix time) or MAX_AGE_S."""
        self._entries.put(token, principal, min(expires_at, time.time() + self.MAX_AGE_S))


class JwtVerifier:
    """Verifies JWTs against SPARK_JWT_SECRET and/or SPARK_JWT_JWKS_URL and maps their claims."""

    def __init__(self, settings: Settings, *, min_refetch_s: float = 10.0) -> None:
        secret = settings.jwt_secret.get_secret_value().encode() if settings.jwt_secret else None
        if secret is not None and len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"SPARK_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if secret is None and not settings.jwt_jwks_url:
            raise ValueError("JWTs need SPARK_JWT_SECRET or SPARK_JWT_JWKS_URL")
        self._secret = secret
        self._jwks = (
            JwksKeys(
                settings.jwt_jwks_url,
                settings.jwt_jwks_cache_s,
                min_refetch_s=min_refetch_s,
            )
            if settings.jwt_jwks_url
            else None
        )
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_s
        self._verified = VerifiedTokens()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; may fetch the JWKS (blocking)."""
        principal = self._verify(token, fetch=True)
        assert principal is not None  # fetch=True never answers "need I/O"
        return principal

    def verify_cached(self, token: str) -> Principal | None:
        """Like verify, but None instead of fetching the JWKS."""
        return self._verify(token, fetch=False)

    def _verify(self, token: str, *, fetch: bool) -> Principal | None:
        # A client polling a job presents the same token many times a second: checking its
        # signature once, then only its expiry, takes ~130 µs off every later request.
        known = self._verified.get(token)
        if known is not None:
            return known
        alg, kid = _header(token)
        key: Any
        if alg in SECRET_ALGORITHMS:
            if self._secret is None:
                raise Unauthenticated(f"{alg} tokens are not accepted here")
            key = self._secret
        else:
            key = self._jwks_key(alg, kid, fetch=fetch)
            if key is None:
                return None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(_reason(exc)) from None
        principal = principal_from_claims(claims)
        self._verified.put(token, principal, float(claims["exp"]) + self._leeway)
        return principal

    def _jwks_key(self, alg: str, kid: str | None, *, fetch: bool) -> Any:
        """The public key for kid from the JWKS, pinned to the algorithm it was published for."""
        if self._jwks is None:
            raise Unauthenticated(f"{alg} tokens are not accepted here")
        if not kid:
            raise Unauthenticated("the token has no kid header")
        jwk = self._jwks.get(kid) if fetch else self._jwks.cached(kid)
        if jwk is None:
            return None
        if jwk.algorithm_name != alg:
            raise Unauthenticated("the token's algorithm does not match its key")
        return jwk.key


def _header(token: str) -> tuple[str, str | None]:
    """The token's alg (one we accept) and kid, read before anything is verified."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the token is malformed") from None
    alg, kid = header.get("alg"), header.get("kid")
    # jku/x5u/jwk headers are ignored: keys come only from our own configuration.
    if not isinstance(alg, str) or alg not in SECRET_ALGORITHMS | JWKS_ALGORITHMS:
        raise Unauthenticated("the token's algorithm is not accepted")
    if kid is not None and (not isinstance(kid, str) or len(kid) > 256):
        raise Unauthenticated("the token's kid header is malformed")
    return alg, kid
