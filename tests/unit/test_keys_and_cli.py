"""API key format and hashing, cursors, the CLI's param syntax, and how `spark bench` finds the
benchmark."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

import pytest
import typer

from spark.cli.bench import _load_bench
from spark.cli.jobs import parse_params
from spark.domain.jobs import Job, JobKind, JobState
from spark.domain.principals import Permission, Tier
from spark.errors import ValidationFailed
from spark.jobs.submit import request_hash
from spark.security.apikeys import KeyVerifier, hash_secret, mint
from spark.web.cursors import after_stamp, decode_after_stamp


def test_minted_keys_have_the_contract_shape_and_store_only_a_hash() -> None:
    """spk_<id>_<secret>; the record keeps the SHA-256 of the secret, never the secret."""
    minted = mint("alice", Tier.PRO, {Permission.READ})
    prefix, key_id, secret = minted.token.split("_", 2)
    assert prefix == "spk" and key_id == minted.record.key_id
    assert (
        minted.record.secret_hash == hash_secret(secret) and secret not in minted.record.secret_hash
    )


def test_two_mints_never_collide() -> None:
    """Ids and secrets are random."""
    a, b = mint("a", Tier.FREE, set()), mint("a", Tier.FREE, set())
    assert a.token != b.token and a.record.key_id != b.record.key_id


def test_request_hash_ignores_key_order() -> None:
    """The same body in another key order is the same request."""
    assert request_hash({"a": 1, "b": {"c": 2, "d": 3}}) == request_hash(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert request_hash({"a": 1}) != request_hash({"a": 2})


def test_cursor_round_trips() -> None:
    """A cursor decodes to the job it was made from."""
    job = Job(
        id=uuid.uuid4(),
        owner="a",
        kind=JobKind.GENERATE_SCRIPT,
        state=JobState.QUEUED,
        params={},
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
    )
    assert decode_after_stamp(after_stamp(job.created_at, job.id)) == (job.created_at, job.id)


@pytest.mark.parametrize("bad", ["", "!!!", "bm90LWEtY3Vyc29y", "W10"])
def test_foreign_cursors_are_a_validation_error(bad: str) -> None:
    """A cursor we did not make is a 422, not a crash."""
    with pytest.raises(ValidationFailed):
        decode_after_stamp(bad)


def test_cli_params_are_strings_unless_json_is_asked_for() -> None:
    """k=v is a string (even 'false'); k:=v is JSON."""
    parsed = parse_params(["prompt=a coin = money", "include_comments:=false", "n:=3", "name=007"])
    assert parsed == {"prompt": "a coin = money", "include_comments": False, "n": 3, "name": "007"}
    with pytest.raises(typer.BadParameter):
        parse_params(["novalue"])
    with pytest.raises(typer.BadParameter):
        parse_params(["x:={bad"])


def test_spark_bench_imports_the_installed_bench_package() -> None:
    """The benchmark is a package like spark, found without touching sys.path."""
    before = list(sys.path)
    assert callable(_load_bench("bench_security"))
    assert sys.path == before


def test_spark_bench_without_the_bench_package_exits_2_saying_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An install without bench (the Docker image) gets a clear error, not a traceback."""
    # None in sys.modules makes an import fail as if the package were absent.
    for name in ("bench", "bench.bench_jobs"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(typer.Exit) as exited:
        _load_bench("bench_jobs")
    assert exited.value.exit_code == 2
    assert "the benchmark is not available" in capsys.readouterr().err


def test_malformed_keys_are_refused_before_any_lookup() -> None:
    """Tokens not shaped like spk_<hex16>_<secret> never reach the database."""
    from spark.errors import Unauthenticated

    verifier = KeyVerifier(db=None)  # type: ignore[arg-type]
    for token in ["", "spk_", "spk_xyz_abc", "sk_0123456789abcdef_" + "a" * 40, "Bearer x"]:
        with pytest.raises(Unauthenticated):
            verifier.verify(token)
