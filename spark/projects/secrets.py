"""Project secrets: written by the project's owner, sealed at rest, listed by name only, and
opened only on a builder, for the build that needs them."""

from __future__ import annotations

import base64
import json
import uuid

from spark.db import audit as audit_queries
from spark.db import projects as project_queries
from spark.db import secrets as secret_queries
from spark.db.executor import Database, Executor
from spark.db.types import utcnow
from spark.domain.audit import AuditAction
from spark.domain.principals import Principal
from spark.domain.secrets import ANDROID_SIGNING, AndroidSigning, SealedSecret, SecretListing
from spark.errors import JobFailure, NotFound, SecretsUnavailable
from spark.security import audit
from spark.security.sealing import CannotOpen, Keyring, Sealed

_NO_KEY = (
    "SPARK_SECRETS_KEY is not set on this server, so project secrets cannot be stored; "
    "set it to a base64 32-byte key (spark up makes one)"
)


def put_android_signing(
    db: Database,
    ring: Keyring | None,
    project_id: uuid.UUID,
    who: Principal,
    signing: AndroidSigning,
) -> SecretListing:
    """Seal and store the project's Android signing material; its name and update time."""
    if ring is None:
        raise SecretsUnavailable(_NO_KEY, retry_after=60)
    sealed = ring.seal(_android_plaintext(signing), project_id, ANDROID_SIGNING)
    secret = SealedSecret(project_id, ANDROID_SIGNING, sealed.key_id, sealed.data, utcnow())
    with db.transaction() as tx:
        _owned(tx, project_id, who.user)
        secret_queries.put_secret(tx, secret)
        _audit(tx, AuditAction.SECRET_SET, who, project_id, ANDROID_SIGNING)
    return SecretListing(secret.name, secret.updated_at)


def listing(db: Database, project_id: uuid.UUID, owner: str) -> list[SecretListing]:
    """The names and update times of owner's project's secrets; NotFound for another's."""
    with db.transaction() as tx:
        _owned(tx, project_id, owner)
        return secret_queries.list_secrets(tx, project_id)


def delete(db: Database, project_id: uuid.UUID, who: Principal, name: str) -> None:
    """Remove owner's project's secret; NotFound when the project or the secret is not there."""
    with db.transaction() as tx:
        _owned(tx, project_id, who.user)
        if not secret_queries.delete_secret(tx, project_id, name):
            raise NotFound(f"the project has no secret {name!r}")
        _audit(tx, AuditAction.SECRET_DELETED, who, project_id, name)


def open_android_signing(
    db: Database, ring: Keyring | None, project_id: uuid.UUID
) -> AndroidSigning | None:
    """The project's Android signing material for a build, or None when it has none; the
    job fails secrets_unreadable when the builder's keys cannot open it."""
    stored = secret_queries.get_secret(db, project_id, ANDROID_SIGNING)
    if stored is None:
        return None
    if ring is None:
        raise JobFailure(
            "secrets_unreadable",
            "the project has an Android signing secret but SPARK_SECRETS_KEY is not set on "
            "this builder",
            {"secret": ANDROID_SIGNING, "key_id": stored.key_id},
        )
    try:
        plaintext = ring.open(Sealed(stored.key_id, stored.sealed), project_id, ANDROID_SIGNING)
    except CannotOpen as refused:
        raise JobFailure(
            "secrets_unreadable",
            f"the project's Android signing secret cannot be opened on this builder: {refused}; "
            "its SPARK_SECRETS_KEY must list the key that sealed it",
            {"secret": ANDROID_SIGNING, "key_id": stored.key_id},
        ) from None
    return _android_signing(plaintext)


def _owned(tx: Executor, project_id: uuid.UUID, owner: str) -> None:
    """NotFound unless owner has a project with this id (another user's is as unknown)."""
    if project_queries.get_project(tx, project_id, owner) is None:
        raise NotFound("no such project")


def _audit(
    tx: Executor, action: AuditAction, who: Principal, project_id: uuid.UUID, name: str
) -> None:
    """An audit entry, in the write's own transaction, naming the project and the secret,
    never its value."""
    entry = audit.new_entry(
        action, who.user, key_id=who.key_id, target=f"project:{project_id}", details={"name": name}
    )
    audit_queries.record(tx, entry)


def _android_plaintext(signing: AndroidSigning) -> bytes:
    """The bytes sealed for an Android signing secret."""
    return json.dumps(
        {
            "keystore_base64": base64.b64encode(signing.keystore).decode(),
            "keystore_password": signing.keystore_password,
            "key_alias": signing.key_alias,
            "key_password": signing.key_password,
        }
    ).encode()


def _android_signing(plaintext: bytes) -> AndroidSigning:
    """The Android signing material opened plaintext holds."""
    fields = json.loads(plaintext)
    return AndroidSigning(
        keystore=base64.b64decode(fields["keystore_base64"]),
        keystore_password=fields["keystore_password"],
        key_alias=fields["key_alias"],
        key_password=fields["key_password"],
    )
