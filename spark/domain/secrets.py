"""Project secrets: the names SPARK knows and the Android signing material one holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

#: the secret that signs a project's Android builds
ANDROID_SIGNING = "android_signing"
#: every secret name a project may hold
SECRET_NAMES = frozenset({ANDROID_SIGNING})


@dataclass(frozen=True)
class SecretListing:
    """What anyone may know of a stored secret: its name and when it was last written."""

    name: str
    updated_at: datetime


@dataclass(frozen=True)
class SealedSecret:
    """A secret as stored: sealed bytes and the fingerprint of the key that sealed them."""

    project_id: uuid.UUID
    name: str
    key_id: str
    sealed: bytes = field(repr=False)
    updated_at: datetime


@dataclass(frozen=True)
class AndroidSigning:
    """A keystore and what opens it; no field shows in a repr, a log line or a traceback."""

    keystore: bytes = field(repr=False)
    keystore_password: str = field(repr=False)
    key_alias: str = field(repr=False)
    key_password: str = field(repr=False)
