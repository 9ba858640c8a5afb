"""Android signing material in a build's workspace: private, named by path only, and gone
when the build ends however it ends; the stand-in signs with it, or with Unity's debug key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fakes.unity
from spark.contracts.build_params import UnityBuildParams
from spark.domain.secrets import AndroidSigning
from spark.engines.unity.signing import ARGUMENT, FOLDER, laid_out
from tests.support.signing import material

FAKE_UNITY = Path(fakes.unity.__file__)


def android(**options: str) -> UnityBuildParams:
    return UnityBuildParams.model_validate({"target": "Android", "options": options})


def signing_of(alias: str = "release") -> AndroidSigning:
    made = material(alias)
    return AndroidSigning(made.keystore, made.keystore_password, made.key_alias, made.key_password)


def test_the_material_is_private_named_only_by_path_and_removed_after_the_build(
    tmp_path: Path,
) -> None:
    signing = signing_of()
    with laid_out(tmp_path, android(), signing) as args:
        assert args[0] == ARGUMENT and len(args) == 2
        assert signing.keystore_password not in " ".join(args)
        laid = json.loads(Path(args[1]).read_text())
        assert laid["key_alias"] == "release" and laid["key_password"] == signing.key_password
        assert Path(laid["keystore"]).read_bytes() == signing.keystore
        for path in (Path(args[1]), Path(laid["keystore"])):
            assert path.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / FOLDER).stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / FOLDER).exists()


def test_the_material_is_removed_when_the_build_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), laid_out(tmp_path, android(), signing_of()):
        assert (tmp_path / FOLDER).is_dir()
        raise RuntimeError("Unity crashed")
    assert not (tmp_path / FOLDER).exists()


def test_no_secret_or_another_target_lays_nothing_out(tmp_path: Path) -> None:
    with laid_out(tmp_path, android(), None) as args:
        assert args == [] and not (tmp_path / FOLDER).exists()
    webgl = UnityBuildParams.model_validate({"target": "WebGL"})
    with laid_out(tmp_path, webgl, signing_of()) as args:
        assert args == [] and not (tmp_path / FOLDER).exists()


def test_the_signing_material_repr_shows_no_value() -> None:
    signing = signing_of()
    assert signing.keystore_password not in repr(signing) and "release" not in repr(signing)


def run_stand_in(
    tmp_path: Path, target: str, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_UNITY_")}
    env["FAKE_UNITY_DELAY_S"] = "0"
    args = ["-projectPath", str(tmp_path), "-customBuildTarget", target]
    return subprocess.run(
        [sys.executable, str(FAKE_UNITY), *args, "-customBuildPath", str(out), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_stand_in_signs_an_aab_with_the_laid_out_keystore(tmp_path: Path) -> None:
    signing = signing_of("upload-key")
    out = tmp_path / "out" / "Game.aab"
    with laid_out(tmp_path, android(android_format="aab"), signing) as args:
        done = run_stand_in(tmp_path, "Android", out, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    package = zipfile.ZipFile(out)
    assert {"base/manifest/AndroidManifest.xml", "base/dex/classes.dex"} <= set(package.namelist())
    assert "META-INF/UPLOAD-K.SF" in package.namelist()
    assert signing.keystore_password not in done.stdout


def test_the_stand_in_fails_a_target_whose_module_is_missing_as_unity_does(tmp_path: Path) -> None:
    (tmp_path / ".fake-unity-modules").write_text("WebGL")
    done = run_stand_in(tmp_path, "PS4", tmp_path / "out" / "Game")
    assert done.returncode == 101
    lines = done.stdout.splitlines()
    at = lines.index("Error building player because build target was unsupported")
    assert lines[at - 1].startswith("[SparkBuilder] Build target PS4 is not installed")
    assert "Result: Failed" in lines and not (tmp_path / "out").exists()
