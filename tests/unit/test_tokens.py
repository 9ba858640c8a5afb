"""JWT verification: claims → Principal, algorithm pinning, leeway, and telling keys from JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from fakes.jwks import AUDIENCE, HS_SECRET, ISSUER, JwksServer, SigningKey, claims
from fakes.jwks import hs256 as mint_hs256
from fakes.jwks import rs256 as mint_rs256
from spark.config import Settings
from spark.domain.principals import Permission, Tier
from spark.errors import ServiceUnavailable, Unauthenticated
from spark.security.apikeys import MAX_KEY_CACHE_S, KeyVerifier
from spark.security.credentials import Authenticator
from spark.security.tokens import (
    DEFAULT_JWT_PERMISSIONS,
    JwtVerifier,
    VerifiedTokens,
    principal_from_claims,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token built by hand, as an attacker would: HMAC-signed with hmac_key, or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    digest = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


@pytest.fixture(scope="module")
def key(signing_key: SigningKey) -> SigningKey:
    """The RSA key the shared JWKS server publishes (tests/conftest.py)."""
    return signing_key


def _settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "jwt_secret": HS_SECRET,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwt_leeway_s": 30,
    }
    return Settings(**{**base, **overrides})


@pytest.fixture
def hs_only() -> JwtVerifier:
    return JwtVerifier(_settings())


@pytest.fixture
def rs_only(jwks: JwksServer) -> JwtVerifier:
    return JwtVerifier(_settings(jwt_secret=None, jwt_jwks_url=jwks.url))


# --- claims → Principal


def test_sub_becomes_the_user_with_free_tier_and_read_only_by_default() -> None:
    """No spark_tier, no scope: a free reader."""
    p = principal_from_claims({"sub": "ana"})
    assert (p.user, p.tier, p.permissions, p.key_id) == (
        "ana",
        Tier.FREE,
        DEFAULT_JWT_PERMISSIONS,
        None,
    )
    assert {Permission.READ} == DEFAULT_JWT_PERMISSIONS


def test_scope_and_permissions_keep_only_spark_values() -> None:
    """Space-separated scope and a permissions list both grant; openid, profile and spark:bogus do not."""
    p = principal_from_claims(
        {
            "sub": "ana",
            "spark_tier": "pro",
            "scope": "openid spark:generate profile spark:bogus",
            "permissions": ["spark:build", "admin", 7],
        }
    )
    assert p.tier is Tier.PRO and p.permissions == {Permission.GENERATE, Permission.BUILD}
    assert principal_from_claims({"sub": "a", "scope": "openid email"}).permissions == {
        Permission.READ
    }
    assert principal_from_claims({"sub": "a", "permissions": ["spark:admin"]}).can(Permission.BUILD)


@pytest.mark.parametrize(
    "bad",
    [{}, {"sub": ""}, {"sub": "   "}, {"sub": 42}, {"sub": "x" * 129}, {"sub": "a\nb"},
     {"sub": "a", "spark_tier": "platinum"}, {"sub": "a", "spark_tier": ["pro"]}],
)  # fmt: skip
def test_bad_sub_or_tier_is_unauthenticated(bad: dict[str, Any]) -> None:
    """sub is required, 1 to 128 printable characters; spark_tier is one of ours."""
    with pytest.raises(Unauthenticated):
        principal_from_claims(bad)
    assert principal_from_claims({"sub": "x" * 128}).user == "x" * 128


# --- HS256


def test_valid_hs256_token_is_accepted_without_io(hs_only: JwtVerifier) -> None:
    """HS256 needs nothing but the secret, so verify_cached answers straight away."""
    p = hs_only.verify_cached(
        mint_hs256(claims("bob", spark_tier="enterprise", scope="spark:build"))
    )
    assert p is not None and p.user == "bob" and p.tier is Tier.ENTERPRISE
    assert p.permissions == {Permission.BUILD}


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: mint_hs256(claims(ttl_s=-120)), "expired"),
        (lambda: mint_hs256(claims(aud="someone-else")), "not meant for this service"),
        (lambda: mint_hs256(claims(iss="https://evil.test/")), "issuer"),
        (lambda: mint_hs256(secret="another-secret-that-is-long-enough-0123456789"), "signature"),
        (lambda: mint_hs256({k: v for k, v in claims().items() if k != "exp"}), "'exp'"),
        (lambda: mint_hs256({k: v for k, v in claims().items() if k != "aud"}), "'aud'"),
        (lambda: mint_hs256(claims(nbf=claims()["iat"] + 600)), "not valid yet"),
        (lambda: "bm90LWpzb24.e30.sig", "malformed"),
    ],
)
def test_invalid_hs256_tokens_say_why_briefly(
    hs_only: JwtVerifier, token: Any, reason: str
) -> None:
    """Each failure is a 401 with a short reason that names no key or secret."""
    with pytest.raises(Unauthenticated) as caught:
        hs_only.verify(token())
    assert reason in caught.value.message and HS_SECRET not in caught.value.message


def test_leeway_tolerates_small_clock_skew_only(hs_only: JwtVerifier) -> None:
    """30 s of leeway: expired 10 s ago or valid in 10 s is fine; 60 s is not."""
    now = claims()["iat"]
    assert hs_only.verify(mint_hs256(claims(exp=now - 10)))
    assert hs_only.verify(mint_hs256(claims(nbf=now + 10)))
    for late in (claims(exp=now - 60), claims(nbf=now + 60)):
        with pytest.raises(Unauthenticated):
            hs_only.verify(mint_hs256(late))


def test_short_secrets_are_refused_at_start() -> None:
    """An HS256 secret under 32 bytes is a configuration error, not a weak key in production."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtVerifier(_settings(jwt_secret="short"))


def test_issuer_and_audience_are_only_checked_when_configured() -> None:
    """Without jwt_issuer / jwt_audience any iss and aud are accepted."""
    open_verifier = JwtVerifier(_settings(jwt_issuer=None, jwt_audience=None))
    assert open_verifier.verify(mint_hs256(claims(iss="anyone", aud="anything"))).user == "jwt-user"


# --- algorithm pinning


def test_alg_none_is_rejected(hs_only: JwtVerifier, rs_only: JwtVerifier) -> None:
    """An unsigned token never verifies, whatever is configured."""
    for header in (
        {"alg": "none", "typ": "JWT"},
        {"alg": "None"},
        {"alg": "none", "kid": "unit-key"},
    ):
        forged = _forge(header, claims(), None)
        for verifier in (hs_only, rs_only):
            with pytest.raises(Unauthenticated, match="algorithm is not accepted"):
                verifier.verify(forged)


def test_hs256_signed_with_the_rsa_public_key_is_rejected(
    key: SigningKey, jwks: JwksServer
) -> None:
    """Key confusion: the public key is public, so an HMAC made with it must never verify."""
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _forge({"alg": "HS256", "kid": key.kid}, claims("attacker"), pem)
    rs_only = JwtVerifier(_settings(jwt_secret=None, jwt_jwks_url=jwks.url))
    with pytest.raises(Unauthenticated, match="HS256 tokens are not accepted"):
        rs_only.verify(forged)
    both = JwtVerifier(_settings(jwt_jwks_url=jwks.url))
    with pytest.raises(Unauthenticated, match="signature"):
        both.verify(forged)


def test_rs256_token_is_not_accepted_with_only_a_secret(
    key: SigningKey, hs_only: JwtVerifier
) -> None:
    """Without a JWKS there is no RSA key to trust."""
    with pytest.raises(Unauthenticated, match="RS256 tokens are not accepted"):
        hs_only.verify(mint_rs256(key))


def test_other_algorithms_are_rejected(hs_only: JwtVerifier) -> None:
    """HS384/HS512 (and anything else) are outside the pinned set even with the right secret."""
    import jwt

    for alg in ("HS384", "HS512"):
        token = jwt.encode(claims(), HS_SECRET + "x" * 40, algorithm=alg)
        with pytest.raises(Unauthenticated, match="algorithm is not accepted"):
            hs_only.verify(token)


# --- RS256 via JWKS


def test_rs256_token_needs_one_fetch_then_verifies_from_cache(
    key: SigningKey, jwks: JwksServer
) -> None:
    """verify_cached says "need I/O" until verify has fetched the JWKS, then answers alone."""
    verifier = JwtVerifier(_settings(jwt_secret=None, jwt_jwks_url=jwks.url))
    token = mint_rs256(key, claims("carol", scope="spark:generate"))
    assert verifier.verify_cached(token) is None
    before = jwks.fetches
    assert verifier.verify(token).user == "carol"
    again = verifier.verify_cached(token)
    assert again is not None and again.permissions == {Permission.GENERATE}
    assert jwks.fetches == before + 1


def test_rs256_without_kid_or_signed_by_another_key_is_rejected(
    key: SigningKey, rs_only: JwtVerifier
) -> None:
    """The kid picks the key; a token signed by a different key under our kid fails."""
    import jwt

    no_kid = jwt.encode(claims(), key.private, algorithm="RS256")
    with pytest.raises(Unauthenticated, match="no kid"):
        rs_only.verify(no_kid)
    impostor = SigningKey.generate(key.kid)
    with pytest.raises(Unauthenticated, match="signature"):
        rs_only.verify(mint_rs256(impostor))


def test_a_concurrent_flood_of_unknown_kids_fetches_the_jwks_once(jwks: JwksServer) -> None:
    """Made-up kids share one refetch; afterwards they are refused without any I/O."""
    verifier = JwtVerifier(_settings(jwt_secret=None, jwt_jwks_url=jwks.url))
    attacker = SigningKey.generate()
    tokens = [mint_rs256(attacker, kid=f"made-up-{i}") for i in range(64)]
    before = jwks.fetches

    def attempt(token: str) -> str:
        try:
            verifier.verify(token)
        except Unauthenticated as exc:
            return exc.message
        return "accepted"

    with ThreadPoolExecutor(16) as pool:
        reasons = set(pool.map(attempt, tokens))
    assert reasons == {"the token's signing key is unknown"}
    assert jwks.fetches == before + 1
    with pytest.raises(Unauthenticated):
        verifier.verify_cached(mint_rs256(attacker, kid="one-more"))


def test_unreachable_jwks_is_a_503_not_a_401(key: SigningKey) -> None:
    """The identity provider being down is our dependency failing, not the caller's fault."""
    server = JwksServer([key]).start()
    url = server.url
    server.stop()
    verifier = JwtVerifier(_settings(jwt_secret=None, jwt_jwks_url=url))
    with pytest.raises(ServiceUnavailable):
        verifier.verify(mint_rs256(key))


def test_known_keys_outlive_their_lifespan_while_the_jwks_is_down(key: SigningKey) -> None:
    """Past the cache lifespan a failed refetch keeps the key we had; a new kid gets a 503."""
    server = JwksServer([key]).start()
    verifier = JwtVerifier(
        _settings(jwt_secret=None, jwt_jwks_url=server.url, jwt_jwks_cache_s=0.2)
    )
    token = mint_rs256(key)
    assert verifier.verify(token).user == "jwt-user"
    server.stop()
    time.sleep(0.3)
    # A token not seen before (a seen one is remembered verified, whatever the JWKS does).
    fresh = mint_rs256(key, claims(nonce=2))
    assert verifier.verify_cached(fresh) is None  # stale: worth one fetch attempt
    assert verifier.verify(fresh).user == "jwt-user"
    other = mint_rs256(key, claims(nonce=3))
    assert verifier.verify_cached(other) is not None  # the failure is remembered, no retry storm
    with pytest.raises(ServiceUnavailable):
        verifier.verify(mint_rs256(key, kid="brand-new"))


# --- one front door


def test_authenticator_tells_keys_from_jwts() -> None:
    """spk_… goes to the key verifier, a.b.c to JWTs (401 when none are configured), anything else is malformed."""
    keys = KeyVerifier(db=None)  # type: ignore[arg-type]
    without_jwts = Authenticator(keys, None)
    with pytest.raises(Unauthenticated, match="JWTs are not accepted"):
        without_jwts.verify(mint_hs256())
    with_jwts = Authenticator(keys, JwtVerifier(_settings()))
    assert with_jwts.verify_cached(mint_hs256(claims("dan"))).user == "dan"  # type: ignore[union-attr]
    for junk in ("", "hello", "a.b", "a.b.c.d", "x" * 9000, "spk_nothex_short"):
        with pytest.raises(Unauthenticated):
            with_jwts.verify(junk)


def test_key_cache_never_outlives_five_seconds() -> None:
    """A revoked key must stop working within 5 s, whatever the configured TTL."""
    assert KeyVerifier(db=None, cache_ttl_s=60)._ttl == MAX_KEY_CACHE_S  # type: ignore[arg-type]
    assert KeyVerifier(db=None)._ttl == 4.0  # type: ignore[arg-type]


def test_a_verified_token_is_remembered_only_until_it_expires() -> None:
    """A second presentation is answered from memory; past exp the full check runs again."""
    verifier = JwtVerifier(_settings(jwt_leeway_s=0))
    token = mint_hs256(claims("poller", ttl_s=1))
    assert verifier.verify_cached(token) is not None
    assert verifier.verify_cached(token) is not None
    time.sleep(1.1)
    with pytest.raises(Unauthenticated):
        verifier.verify_cached(token)


def test_remembered_tokens_are_bounded() -> None:
    """The oldest token is forgotten first once the cache is full."""
    remembered = VerifiedTokens()
    principal = principal_from_claims(claims("many"))
    for n in range(VerifiedTokens.SIZE + 5):
        remembered.put(f"token-{n}", principal, time.time() + 60)
    assert remembered.get("token-0") is None
    assert remembered.get(f"token-{VerifiedTokens.SIZE + 4}") == principal
