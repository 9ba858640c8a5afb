"""Credentials end to end: API keys and JWTs (HS256, RS256 via JWKS) on every route the API serves."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from fakes.jwks import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    JwksServer,
    SigningKey,
    claims,
    hs256,
    rs256,
    unsigned,
)
from spark.config import Settings, TierLimits
from spark.db.executor import Database
from spark.db.keys import revoke_key
from spark.db.models import Base
from spark.db.types import utcnow
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import KeyVerifier, create_key, mint
from spark.security.credentials import Authenticator
from spark.security.permissions import ROUTES, Open, rule_for
from spark.security.tokens import JwtVerifier
from spark.web.app import create_app
from spark.web.services import build_services
from tests.support.jobs import TURRET, auth

#: CONTRACT §4's public routes, and /mcp's protected-resource metadata (RFC 9728), which a
#: client reads before it has a credential, to learn how to get one
PUBLIC = {
    "/v1/health",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/.well-known/oauth-protected-resource/mcp",
    # the console's files: its data comes through the API, with the key signed in with
    "/console",
    "/console/{path:path}",
}
#: every tier's limits out of reach: these tests are about credentials, not refusals
UNLIMITED = {
    tier: dict.fromkeys(TierLimits.model_fields, 10**9) for tier in ("free", "pro", "enterprise")
}
OTHER_SECRET = "not-the-configured-secret-but-just-as-long-0123456789"


def jwt_settings(settings: Settings, jwks_url: str) -> Settings:
    """The suite's settings plus both JWT sources, our issuer and audience; limits out of reach."""
    return settings.model_copy(
        update={
            "jwt_secret": SecretStr(HS_SECRET),
            "jwt_jwks_url": jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "tier_limits": UNLIMITED,
        }
    )


def make_app(settings: Settings, *, min_refetch_s: float = 10.0) -> Starlette:
    """The production wiring, with the JWKS refetch interval shortened where a test needs it."""
    svc = build_services(settings)
    keys = KeyVerifier(svc.db, settings.key_cache_s)
    jwts = JwtVerifier(settings, min_refetch_s=min_refetch_s)
    return create_app(services=dataclasses.replace(svc, authenticator=Authenticator(keys, jwts)))


@pytest.fixture
def jwt_client(settings: Settings, jwks: JwksServer, db: Database) -> Iterator[TestClient]:
    """The API accepting keys, HS256 and RS256 JWTs."""
    with TestClient(
        create_app(jwt_settings(settings, jwks.url)), raise_server_exceptions=False
    ) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def served(app: Starlette) -> list[tuple[str, str]]:
    """Every (method, path template) the app routes."""
    pairs = []
    for route in app.routes:
        assert isinstance(route, Route), f"walk {route!r} too"
        pairs += [(method, route.path) for method in sorted(route.methods or ())]
    return pairs


def concrete(template: str) -> str:
    """A path for template: a fresh uuid for uuid parameters, `x` for the rest."""
    return re.sub(
        r"\{\w+(?::(\w+))?\}",
        lambda m: str(uuid.uuid4()) if m.group(1) == "uuid" else "x",
        template,
    )


def bad_credentials(db: Database, key: SigningKey) -> dict[str, dict[str, str]]:
    """Headers that must each be refused with 401, by name."""
    revoked = create_key(db, "revoked-user", Tier.PRO, DEFAULT_PERMISSIONS)
    with db.transaction() as tx:
        assert revoke_key(tx, revoked.record.key_id, utcnow())
    impostor = SigningKey.generate(key.kid)  # our kid, someone else's key
    return {
        "no credentials": {},
        "another scheme": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        "malformed key": bearer("spk_not-a-key"),
        "malformed X-API-Key": {"X-API-Key": "hello"},
        "unknown key": bearer(mint("ghost", Tier.PRO, DEFAULT_PERMISSIONS).token),
        "revoked key": bearer(revoked.token),
        "revoked X-API-Key": {"X-API-Key": revoked.token},
        "HS256 expired": bearer(hs256(claims(ttl_s=-3600))),
        "HS256 wrong audience": bearer(hs256(claims(aud="another-api"))),
        "HS256 wrong issuer": bearer(hs256(claims(iss="https://evil.test/"))),
        "HS256 wrong key": bearer(hs256(secret=OTHER_SECRET)),
        "RS256 expired": bearer(rs256(key, claims(ttl_s=-3600))),
        "RS256 wrong audience": bearer(rs256(key, claims(aud="another-api"))),
        "RS256 wrong issuer": bearer(rs256(key, claims(iss="https://evil.test/"))),
        "RS256 wrong key": bearer(rs256(impostor)),
        "RS256 unknown kid": bearer(rs256(impostor, kid="never-published")),
        "alg none": bearer(unsigned()),
    }


def test_every_non_public_route_refuses_every_bad_credential_with_401(
    jwt_client: TestClient, db: Database, signing_key: SigningKey
) -> None:
    """Walk the app's routes: each method of each non-public one answers 401 + JSON error."""
    app = jwt_client.app
    assert isinstance(app, Starlette)
    credentials = bad_credentials(db, signing_key)
    checked = 0
    for method, template in served(app):
        if rule_for(method, template).access is Open.PUBLIC:
            continue
        for name, headers in credentials.items():
            resp = jwt_client.request(method, concrete(template), headers=headers)
            where = f"{name}: {method} {template} -> {resp.status_code} {resp.text}"
            assert resp.status_code == 401, where
            assert resp.headers["www-authenticate"].startswith("Bearer"), where
            assert resp.headers["content-type"].startswith("application/json"), where
            if method != "HEAD":
                error = resp.json()["error"]
                assert error["code"] == "unauthenticated" and error["message"], where
            for value in headers.values():
                assert value.split()[-1] not in resp.text, f"{where} echoes the credential"
            checked += 1
    assert checked >= 10 * len(credentials)


def test_the_public_routes_are_exactly_health_metrics_the_docs_mcp_metadata_and_the_console(
    jwt_client: TestClient,
) -> None:
    """The route table, the app and CONTRACT §4 agree; public routes answer without credentials."""
    app = jwt_client.app
    assert isinstance(app, Starlette)
    table = {path for (_, path), rule in ROUTES.items() if rule.access is Open.PUBLIC}
    in_app = {path for method, path in served(app) if rule_for(method, path).access is Open.PUBLIC}
    assert table == in_app == PUBLIC
    for path in PUBLIC:
        assert jwt_client.get(path).status_code in (200, 503), path


def _job_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    resp = client.get("/v1/jobs", headers=headers)
    assert resp.status_code == 200, resp.text
    return [job["id"] for job in resp.json()["items"]]


def test_valid_hs256_and_rs256_tokens_are_accepted_and_scoped_to_their_sub(
    jwt_client: TestClient, api_key: str, signing_key: SigningKey
) -> None:
    """A JWT for alice sees alice's jobs; one for bob sees none of them; scope grants writes."""
    resp = jwt_client.post("/v1/jobs", json=TURRET, headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    minters = {"hs": hs256, "rs": lambda c: rs256(signing_key, c)}
    for name, mint_for in minters.items():
        assert _job_ids(jwt_client, bearer(mint_for(claims("alice")))) == [job_id]
        bob = bearer(mint_for(claims(f"bob-{name}")))
        assert _job_ids(jwt_client, bob) == []
        assert jwt_client.get(f"/v1/jobs/{job_id}", headers=bob).status_code == 404
        # No scope means read-only: submitting is forbidden, not unauthenticated.
        assert jwt_client.post("/v1/jobs", json=TURRET, headers=bob).status_code == 403
        writer = bearer(mint_for(claims(f"bob-{name}", scope="openid spark:generate")))
        created = jwt_client.post("/v1/jobs", json=TURRET, headers=writer)
        assert created.status_code == 202, created.text
        assert _job_ids(jwt_client, bob) == [created.json()["id"]]
    assert _job_ids(jwt_client, auth(api_key)) == [job_id]


def test_rotated_jwks_key_is_fetched_while_unknown_kids_cannot_force_refetches(
    settings: Settings, db: Database
) -> None:
    """A new kid refetches the JWKS once; a flood of made-up kids refetches at most once more."""
    old, new, attacker = (SigningKey.generate() for _ in range(3))
    server = JwksServer([old]).start()
    interval = 2.0
    try:
        app = make_app(jwt_settings(settings, server.url), min_refetch_s=interval)
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.get("/v1/jobs", headers=bearer(rs256(old))).status_code == 200
            assert server.fetches == 1
            server.rotate(new)
            time.sleep(interval + 0.1)  # providers rotate long after our last fetch
            assert c.get("/v1/jobs", headers=bearer(rs256(new))).status_code == 200
            assert server.fetches == 2
            time.sleep(interval + 0.1)
            started = time.monotonic()
            for i in range(100):
                forged = bearer(rs256(attacker, kid=f"forged-{i}"))
                assert c.get("/v1/jobs", headers=forged).status_code == 401
            elapsed = time.monotonic() - started
            assert server.fetches <= 3 + int(elapsed / interval), (server.fetches, elapsed)
            assert c.get("/v1/jobs", headers=bearer(rs256(old))).status_code == 200
            assert c.get("/v1/jobs", headers=bearer(rs256(new))).status_code == 200
    finally:
        server.stop()


def test_an_unreachable_jwks_is_a_503_for_an_uncached_kid(
    settings: Settings, db: Database, signing_key: SigningKey
) -> None:
    """The identity provider down is a dependency failure (503 + Retry-After); cached keys still work."""
    server = JwksServer([signing_key]).start()
    app = make_app(jwt_settings(settings, server.url), min_refetch_s=0.5)
    with TestClient(app, raise_server_exceptions=False) as c:
        known = bearer(rs256(signing_key))
        assert c.get("/v1/jobs", headers=known).status_code == 200
        server.stop()
        assert c.get("/v1/jobs", headers=known).status_code == 200
        time.sleep(0.6)
        resp = c.get("/v1/jobs", headers=bearer(rs256(signing_key, kid="rotated-in-meanwhile")))
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "service_unavailable" and resp.headers["retry-after"]
        assert c.get("/v1/jobs", headers=known).status_code == 200
    with TestClient(
        make_app(jwt_settings(settings, server.url)), raise_server_exceptions=False
    ) as c:
        assert c.get("/v1/jobs", headers=bearer(rs256(signing_key))).status_code == 503


def test_a_revoked_key_stops_working_within_5s_on_every_api_process(
    settings: Settings, db: Database
) -> None:
    """Two app instances on one database, both with the key cached, refuse it within 5 s of revocation."""
    minted = create_key(db, "rita", Tier.PRO, DEFAULT_PERMISSIONS)
    quiet = settings.model_copy(update={"tier_limits": UNLIMITED})
    with (
        TestClient(create_app(quiet), raise_server_exceptions=False) as one,
        TestClient(create_app(quiet), raise_server_exceptions=False) as two,
    ):
        for c in (one, two):
            assert c.get("/v1/jobs", headers=auth(minted.token)).status_code == 200
        with db.transaction() as tx:
            assert revoke_key(tx, minted.record.key_id, utcnow())
        revoked_at = time.monotonic()
        stopped: dict[int, float] = {}
        while len(stopped) < 2 and time.monotonic() - revoked_at < 8:
            for i, c in enumerate((one, two)):
                if (
                    i not in stopped
                    and c.get("/v1/jobs", headers=auth(minted.token)).status_code == 401
                ):
                    stopped[i] = time.monotonic() - revoked_at
            time.sleep(0.1)
        assert len(stopped) == 2 and max(stopped.values()) <= 5.0, stopped


def _every_stored_value(db: Database) -> str:
    """Every row of every table the models declare, as one string."""
    tables = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    present = {row.tablename for row in db.all(tables)}
    assert {"api_keys", "jobs"} <= present
    rows: list[Any] = []
    with db.transaction() as tx:
        for table in Base.metadata.sorted_tables:
            if table.name in present:
                rows += [r._asdict() for r in tx.all(text(f'SELECT * FROM "{table.name}"'))]
    return json.dumps(rows, default=str)


def test_the_database_holds_no_api_key_and_no_jwt_or_jwt_secret_in_clear(
    jwt_client: TestClient, db: Database, api_key: str, other_key: str, signing_key: SigningKey
) -> None:
    """After keys and JWTs were used (and refused), no table holds a key, its secret, a JWT or the JWT secret."""
    keys = [api_key, other_key, create_key(db, "carol", Tier.FREE, DEFAULT_PERMISSIONS).token]
    jwts = [
        hs256(claims("dora", scope="spark:read spark:generate")),
        rs256(signing_key, claims("erin", scope="spark:read spark:generate")),
        hs256(claims("dora", scope="spark:read spark:generate"), secret=OTHER_SECRET),
    ]
    wrong_secret = "_".join(keys[0].split("_", 2)[:2]) + "_" + "W" * 43
    for token in [*keys, *jwts, wrong_secret]:
        for headers in (bearer(token), {"X-API-Key": token}):
            jwt_client.get("/v1/jobs", headers=headers)
            jwt_client.post("/v1/jobs", json=TURRET, headers={**headers, "Idempotency-Key": "k1"})
    assert len(_job_ids(jwt_client, bearer(jwts[0]))) == 1
    stored = _every_stored_value(db)
    assert "dora" in stored and "carol" in stored  # the dump does see what was written
    secrets = [HS_SECRET, wrong_secret, "W" * 43]
    secrets += [part for key in keys for part in (key, key.split("_", 2)[2])]
    secrets += [part for token in jwts for part in (token, token.rsplit(".", 1)[1])]
    for secret in secrets:
        assert secret not in stored, f"{secret[:12]}… is stored in clear"
