"""A JWKS server on 127.0.0.1 serving RSA public keys, and helpers that mint tokens for it.

The server counts its fetches, can rotate to a new key and can be stopped mid-test to play an
identity provider that is down.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://id.example.test/"
AUDIENCE = "spark-api"
#: 48 bytes: above HS256's 32-byte minimum
HS_SECRET = "test-hs256-secret-0123456789-abcdefghijklmnopqrstu"


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with its kid."""

    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @staticmethod
    def generate(kid: str | None = None) -> SigningKey:
        """A fresh 2048-bit key."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return SigningKey(kid or f"kid-{uuid.uuid4().hex[:8]}", private)

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


def claims(sub: str = "jwt-user", ttl_s: float = 300, **extra: Any) -> dict[str, Any]:
    """Valid claims for sub: our issuer and audience, expiring in ttl_s (negative: expired)."""
    now = int(time.time())
    return {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_s, **extra}


def rs256(key: SigningKey, payload: Mapping[str, Any] | None = None, kid: str | None = None) -> str:
    """An RS256 token signed with key, its kid in the header (or another kid)."""
    body = dict(payload) if payload is not None else claims()
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": kid or key.kid})


def hs256(payload: Mapping[str, Any] | None = None, secret: str = HS_SECRET) -> str:
    """An HS256 token signed with secret."""
    return jwt.encode(dict(payload) if payload is not None else claims(), secret, algorithm="HS256")


def unsigned(payload: Mapping[str, Any] | None = None) -> str:
    """An `alg: none` token with an empty signature, as an attacker would send it."""
    parts = [{"alg": "none", "typ": "JWT"}, dict(payload) if payload is not None else claims()]
    encoded = [
        base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode() for p in parts
    ]
    return ".".join(encoded) + "."


class JwksServer:
    """Serves `{"keys": [...]}` at /jwks.json; `fetches` counts the requests it answered."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering; the port is closed, so fetches fail fast."""
        self._server.shutdown()
        self._server.server_close()

    def rotate(self, key: SigningKey) -> None:
        """Publish key alongside the current ones, as providers do when rotating."""
        with self._lock:
            self.keys.append(key)

    def _document(self) -> bytes:
        with self._lock:
            self.fetches += 1
            return json.dumps({"keys": [k.jwk() for k in self.keys]}).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                body = server._document()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
