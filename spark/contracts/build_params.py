"""`unity_build` params (CONTRACT §5): which target, how, and from which ref."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from spark.contracts.params import Params
from spark.domain.targets import BuildTarget

__all__ = ["BuildOptions", "BuildTarget", "GitRef", "UnityBuildParams"]

#: a git branch, tag or commit; no leading dash, so it can never be read as a git option
GitRef = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./@{}~^-]{0,199}$", max_length=200)
]
#: the longest a build may be given; Celery's own limit for the kind sits above it
MAX_BUILD_TIMEOUT_S = 3 * 3600


class BuildOptions(Params):
    """Target-specific switches passed to SPARK's build method."""

    compression: Literal["gzip", "brotli", "none"] = "gzip"
    #: Android only: an `.apk` to install, or an `.aab` for Google Play
    android_format: Literal["apk", "aab"] = "apk"


class UnityBuildParams(Params):
    """`unity_build`: build the project's enabled scenes for one target."""

    target: BuildTarget
    development: bool = False
    ref: GitRef | None = None
    options: BuildOptions = Field(default_factory=BuildOptions)
    #: stop the build after this long; unset → SPARK_BUILD_TIMEOUT_S (60 min)
    timeout_s: int | None = Field(default=None, ge=1, le=MAX_BUILD_TIMEOUT_S)
