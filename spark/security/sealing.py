"""Project secrets sealed at rest: AES-256-GCM under SPARK_SECRETS_KEY, bound to their place.

The first configured key seals; every configured key may open, chosen by the fingerprint
stored beside the sealed bytes, so a key is rotated by putting the new one first and the
old one after it until every secret has been written again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

#: bytes of a fresh nonce per sealing (GCM's standard 96 bits)
NONCE_BYTES = 12
KEY_BYTES = 32
#: hex characters of a key's fingerprint kept with what it sealed
KEY_ID_CHARS = 16


class KeysInvalid(ValueError):
    """SPARK_SECRETS_KEY is not a list of base64 32-byte keys."""


class CannotOpen(Exception):
    """No configured key opens the sealed bytes (another key sealed them, or they changed)."""


@dataclass(frozen=True)
class Sealed:
    """Sealed bytes and the fingerprint of the key that sealed them."""

    key_id: str
    data: bytes = field(repr=False)


def key_id(key: bytes) -> str:
    """A short fingerprint naming key without revealing it."""
    return hashlib.sha256(b"spark-secrets-key:" + key).hexdigest()[:KEY_ID_CHARS]


def new_key() -> str:
    """A fresh key as SPARK_SECRETS_KEY takes it (base64 of 32 random bytes)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


@dataclass(frozen=True)
class Keyring:
    """The configured keys, the sealing one first."""

    keys: tuple[bytes, ...] = field(repr=False)

    @classmethod
    def parse(cls, setting: SecretStr | str | None) -> Keyring | None:
        """The keys a SPARK_SECRETS_KEY value lists, or None when it is unset or blank."""
        text = setting.get_secret_value() if isinstance(setting, SecretStr) else setting
        parts = [part.strip() for part in (text or "").split(",") if part.strip()]
        if not parts:
            return None
        return cls(tuple(_decode_key(index, part) for index, part in enumerate(parts)))

    def seal(self, plaintext: bytes, project_id: uuid.UUID, name: str) -> Sealed:
        """plaintext sealed with the first key, bound to the project and the secret's name."""
        nonce = os.urandom(NONCE_BYTES)
        data = AESGCM(self.keys[0]).encrypt(nonce, plaintext, _aad(project_id, name))
        return Sealed(key_id(self.keys[0]), nonce + data)

    def open(self, sealed: Sealed, project_id: uuid.UUID, name: str) -> bytes:
        """The plaintext, opened with the configured key sealed names; CannotOpen otherwise."""
        for key in self.keys:
            if key_id(key) != sealed.key_id:
                continue
            nonce, data = sealed.data[:NONCE_BYTES], sealed.data[NONCE_BYTES:]
            try:
                return AESGCM(key).decrypt(nonce, data, _aad(project_id, name))
            except InvalidTag:
                raise CannotOpen(f"the key {sealed.key_id} does not open this secret") from None
        raise CannotOpen(
            f"no configured key has the id {sealed.key_id} this secret was sealed with"
        )


def _aad(project_id: uuid.UUID, name: str) -> bytes:
    """What the sealed bytes are bound to: a copy moved to another project or name won't open."""
    return f"{project_id}:{name}".encode()


def _decode_key(index: int, text: str) -> bytes:
    """One base64 key; KeysInvalid naming its position (never its value) otherwise."""
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeysInvalid(f"SPARK_SECRETS_KEY key {index + 1} is not base64") from None
    if len(key) != KEY_BYTES:
        raise KeysInvalid(
            f"SPARK_SECRETS_KEY key {index + 1} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
        )
    return key
