"""Android signing material in a build's workspace, for the build's duration only.

The keystore and a JSON file with its passwords and alias are written, readable by SPARK's
user alone, into a dot folder at the workspace's root: outside Assets/ (Unity imports
nothing from it), outside Builds/ (nothing in it is stored) and outside Library/ (nothing in
it is cached). Unity is told only the JSON file's path, so no secret is on its command line,
which SPARK logs; the folder is removed when the build ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from spark.contracts.build_params import BuildTarget, UnityBuildParams
from spark.domain.secrets import AndroidSigning

#: the workspace folder the material lies in while Unity runs
FOLDER = ".spark-signing"
#: the argument naming the JSON file SparkBuilder reads the keystore's details from
ARGUMENT = "-sparkAndroidSigning"
_OWNER_ONLY = 0o600


@contextlib.contextmanager
def laid_out(
    workspace: Path, params: UnityBuildParams, signing: AndroidSigning | None
) -> Iterator[list[str]]:
    """The extra Unity arguments that sign the build; the material is gone on exit."""
    if params.target is not BuildTarget.ANDROID or signing is None:
        yield []
        return
    folder = workspace / FOLDER
    # A folder left by a build killed with the worker goes first: its files are not this one's.
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.mkdir(mode=0o700)
        keystore = _private_file(folder / "keystore", signing.keystore)
        details = {
            "keystore": str(keystore),
            "keystore_password": signing.keystore_password,
            "key_alias": signing.key_alias,
            "key_password": signing.key_password,
        }
        settings = _private_file(folder / "signing.json", json.dumps(details).encode())
        yield [ARGUMENT, str(settings)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_file(path: Path, content: bytes) -> Path:
    """path holding content, created readable and writable by its owner alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _OWNER_ONLY)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return path
