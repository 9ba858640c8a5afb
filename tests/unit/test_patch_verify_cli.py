"""`spark patch --verify`: its words parsed into apply_patch's verify param, a bad one refused
as a usage error before anything is sent, and `spark submit`'s `:=` carrying a JSON verify."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.cli import patches
from spark.cli.jobs import parse_params
from spark.cli.patches import verify_params
from spark.contracts.params import Verify


def test_compile_and_tests_alone_ask_for_a_compile_and_the_editmode_tests() -> None:
    assert verify_params("compile,tests") == {
        "compile": True,
        "tests": "EditMode",
        "build": None,
        "keep_on_failure": False,
    }


def test_every_step_with_its_value_and_keep() -> None:
    assert verify_params("compile, tests=PlayMode ,build=WebGL,keep") == {
        "compile": True,
        "tests": "PlayMode",
        "build": "WebGL",
        "keep_on_failure": True,
    }


def test_platforms_and_targets_are_matched_in_any_case_and_sent_as_unity_spells_them() -> None:
    verify = verify_params("tests=playmode,build=standalonelinux64")
    assert (verify["tests"], verify["build"]) == ("PlayMode", "StandaloneLinux64")
    assert verify["compile"] is False


def test_the_parsed_words_are_what_the_api_accepts() -> None:
    parsed = Verify.model_validate(verify_params("compile,tests,build=Android,keep"))
    assert parsed.any and parsed.keep_on_failure


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("compile,lint", "unknown step 'lint'"),
        ("build=Amiga", "unknown build target 'Amiga'"),
        ("build", "build needs a target"),
        ("tests=Smoke", "unknown test platform 'Smoke'"),
        ("compile=yes", "compile takes no value"),
        ("keep=1,compile", "keep takes no value"),
        ("compile,,tests", "an empty step"),
        ("tests,tests=PlayMode", "tests given twice"),
        ("keep", "nothing to verify"),
        ("", "an empty step"),
    ],
)
def test_a_bad_spec_is_a_usage_error_naming_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(typer.BadParameter, match=says):
        verify_params(spec)


def test_a_bad_verify_exits_2_without_reaching_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client() -> Any:
        raise AssertionError("a refused --verify must not reach the API")

    monkeypatch.setattr(patches, "client_from_settings", no_client)
    args = ["patch", "Shop", "Assets/A.cs", "--replace", "a", "b", "--verify", "build=Amiga"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2, result.output
    assert "Amiga" in result.output and "WebGL" in result.output


def test_submit_params_given_with_colon_equals_are_json_objects() -> None:
    params = parse_params(["path=Assets/A.cs", 'verify:={"compile": true, "tests": null}'])
    assert params == {"path": "Assets/A.cs", "verify": {"compile": True, "tests": None}}


def test_an_equals_sign_inside_a_json_value_keeps_it_json() -> None:
    params = parse_params(['verify:={"build": "a=b"}', "old=x:=y"])
    assert params == {"verify": {"build": "a=b"}, "old": "x:=y"}
