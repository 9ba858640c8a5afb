"""Android signing material for tests: a keystore and passwords distinctive enough to be
searched for wherever SPARK might leak them."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Material:
    """A keystore (random bytes, so no other text holds them by chance) and what opens it."""

    keystore: bytes = field(repr=False)
    keystore_password: str = field(repr=False)
    key_password: str = field(repr=False)
    key_alias: str = "release"

    @property
    def keystore_base64(self) -> str:
        """The keystore as the API takes it."""
        return base64.b64encode(self.keystore).decode()

    @property
    def sha256(self) -> str:
        """The keystore's SHA-256, which the stand-in names its signature by."""
        return hashlib.sha256(self.keystore).hexdigest()

    def body(self, **changes: Any) -> dict[str, Any]:
        """The PUT …/secrets/android_signing body, with changes."""
        return {
            "keystore_base64": self.keystore_base64,
            "keystore_password": self.keystore_password,
            "key_alias": self.key_alias,
            "key_password": self.key_password,
            **changes,
        }

    def needles(self) -> dict[str, str]:
        """What must never show anywhere outside the builder's workspace, by what it is."""
        encoded = self.keystore_base64
        return {
            "keystore base64": encoded,
            # a stretch from its middle, in case something stored it cut or wrapped
            "keystore base64 excerpt": encoded[len(encoded) // 2 : len(encoded) // 2 + 24],
            "keystore hex": self.keystore.hex()[:48],
            "keystore password": self.keystore_password,
            "key password": self.key_password,
        }


def material(alias: str = "release") -> Material:
    """Fresh signing material: a 2 KB keystore and two passwords nobody else uses."""
    return Material(
        keystore=b"\xfe\xed\xfe\xed" + os.urandom(2044),
        keystore_password="ks-" + os.urandom(12).hex(),
        key_password="key-" + os.urandom(12).hex(),
        key_alias=alias,
    )
