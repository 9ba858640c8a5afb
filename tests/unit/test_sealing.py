"""Project secrets sealed at rest: AES-256-GCM under SPARK_SECRETS_KEY, bound to their place."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from spark.cli.up import SECRETS_KEY_FILE, local_secrets_key
from spark.config import Settings
from spark.security.sealing import (
    KEY_BYTES,
    CannotOpen,
    Keyring,
    KeysInvalid,
    Sealed,
    key_id,
    new_key,
)

PROJECT = uuid.UUID("8a1f3c52-0d4e-4b7a-9c1e-2f3a4b5c6d7e")
PLAINTEXT = b'{"keystore_password": "correct horse battery staple"}'


def ring(*keys: str) -> Keyring:
    parsed = Keyring.parse(SecretStr(",".join(keys)))
    assert parsed is not None
    return parsed


def test_sealed_bytes_open_to_the_plaintext_and_do_not_contain_it() -> None:
    keys = ring(new_key())
    sealed = keys.seal(PLAINTEXT, PROJECT, "android_signing")
    assert PLAINTEXT not in sealed.data and b"horse" not in sealed.data
    assert keys.open(sealed, PROJECT, "android_signing") == PLAINTEXT


def test_each_sealing_takes_a_fresh_nonce() -> None:
    keys = ring(new_key())
    first, second = (keys.seal(PLAINTEXT, PROJECT, "android_signing") for _ in range(2))
    assert first.data != second.data and first.key_id == second.key_id


def test_sealed_bytes_moved_to_another_project_or_name_do_not_open() -> None:
    keys = ring(new_key())
    sealed = keys.seal(PLAINTEXT, PROJECT, "android_signing")
    with pytest.raises(CannotOpen):
        keys.open(sealed, uuid.uuid4(), "android_signing")
    with pytest.raises(CannotOpen):
        keys.open(sealed, PROJECT, "other")


def test_altered_sealed_bytes_do_not_open() -> None:
    keys = ring(new_key())
    sealed = keys.seal(PLAINTEXT, PROJECT, "android_signing")
    flipped = bytes([sealed.data[-1] ^ 1])
    with pytest.raises(CannotOpen):
        keys.open(Sealed(sealed.key_id, sealed.data[:-1] + flipped), PROJECT, "android_signing")


def test_a_rotated_key_set_seals_with_the_new_key_and_still_opens_with_the_old() -> None:
    old, new = new_key(), new_key()
    sealed_before = ring(old).seal(PLAINTEXT, PROJECT, "android_signing")
    rotated = ring(new, old)
    assert rotated.open(sealed_before, PROJECT, "android_signing") == PLAINTEXT
    sealed_after = rotated.seal(PLAINTEXT, PROJECT, "android_signing")
    assert sealed_after.key_id == key_id(base64.b64decode(new)) != sealed_before.key_id
    with pytest.raises(CannotOpen, match="no configured key"):
        ring(new).open(sealed_before, PROJECT, "android_signing")


def test_the_key_id_is_a_short_fingerprint_not_the_key() -> None:
    key = new_key()
    sealed = ring(key).seal(PLAINTEXT, PROJECT, "android_signing")
    assert len(sealed.key_id) == 16 and sealed.key_id not in key
    assert key not in repr(ring(key)) and repr(sealed).count("data") == 0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("not base64!", "key 1 is not base64"),
        (base64.b64encode(b"short").decode(), f"key 1 is 5 bytes; AES-256 needs {KEY_BYTES}"),
    ],
)
def test_a_key_that_is_not_32_base64_bytes_is_refused_by_position(
    setting: str, message: str
) -> None:
    with pytest.raises(KeysInvalid, match=message) as refused:
        Keyring.parse(SecretStr(setting))
    assert setting not in str(refused.value)


def test_no_key_configured_is_no_keyring() -> None:
    assert Keyring.parse(None) is None
    assert Keyring.parse(SecretStr(" , ")) is None


def test_spark_up_makes_a_secrets_key_once_keeps_it_private_and_leaves_a_given_one(
    tmp_path: Path,
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    made = local_secrets_key(settings)["SPARK_SECRETS_KEY"]
    assert Keyring.parse(SecretStr(made)) is not None
    assert local_secrets_key(settings) == {"SPARK_SECRETS_KEY": made}
    assert (tmp_path / "var" / SECRETS_KEY_FILE).stat().st_mode & 0o777 == 0o600
    given = settings.model_copy(update={"secrets_key": SecretStr(new_key())})
    assert local_secrets_key(given) == {}
