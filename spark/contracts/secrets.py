"""The project secrets API's bodies: write-only values in, names and update times out."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
)

from spark.domain.secrets import AndroidSigning, SecretListing

#: the largest keystore SPARK takes; a real one is a few KB
MAX_KEYSTORE_BYTES = 1 << 20
#: base64 of MAX_KEYSTORE_BYTES, plus slack for line breaks
_MAX_KEYSTORE_BASE64 = (MAX_KEYSTORE_BYTES + 2) // 3 * 4 + 4096

_Secret = Annotated[SecretStr, Field(min_length=1, max_length=1024)]
#: Unity's key alias: printable, so it can be written in the build method's settings
_Alias = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _decoded_keystore(value: SecretStr) -> SecretStr:
    """value if it is base64 of a non-empty keystore of at most 1 MiB, else ValueError."""
    try:
        keystore = base64.b64decode("".join(value.get_secret_value().split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    if not keystore:
        raise ValueError("must not be empty")
    if len(keystore) > MAX_KEYSTORE_BYTES:
        raise ValueError(f"must decode to at most {MAX_KEYSTORE_BYTES} bytes")
    return value


class AndroidSigningIn(BaseModel):
    """PUT /v1/projects/{id}/secrets/android_signing: the keystore that signs Android builds."""

    model_config = ConfigDict(extra="forbid")

    keystore_base64: Annotated[
        SecretStr,
        Field(min_length=1, max_length=_MAX_KEYSTORE_BASE64),
        AfterValidator(_decoded_keystore),
    ]
    keystore_password: _Secret
    key_alias: _Alias
    key_password: _Secret

    def to_signing(self) -> AndroidSigning:
        """The material as builders use it."""
        text = "".join(self.keystore_base64.get_secret_value().split())
        return AndroidSigning(
            keystore=base64.b64decode(text),
            keystore_password=self.keystore_password.get_secret_value(),
            key_alias=self.key_alias,
            key_password=self.key_password.get_secret_value(),
        )


class SecretOut(BaseModel):
    """A stored secret as the API shows it: its name and when it was last written, never its
    value."""

    name: str
    updated_at: datetime

    @classmethod
    def from_listing(cls, listing: SecretListing) -> SecretOut:
        """The API view of a stored secret."""
        return cls(name=listing.name, updated_at=listing.updated_at)


class SecretList(BaseModel):
    """GET /v1/projects/{id}/secrets."""

    secrets: list[SecretOut]
