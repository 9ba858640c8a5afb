"""`unity_build` params (CONTRACT §5): which target, how, and from which ref."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from spark.contracts.params import Params

#: a git branch, tag or commit; no leading dash, so it can never be read as a git option
GitRef = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./@{}~^-]{0,199}$", max_length=200)
]
#: the longest a build may be given; Celery's own limit for the kind sits above it
MAX_BUILD_TIMEOUT_S = 3 * 3600


class BuildTarget(enum.StrEnum):
    """Unity's BuildTarget names, as `-buildTarget` takes them."""

    STANDALONE_OSX = "StandaloneOSX"
    STANDALONE_WINDOWS = "StandaloneWindows"
    STANDALONE_WINDOWS64 = "StandaloneWindows64"
    STANDALONE_LINUX64 = "StandaloneLinux64"
    IOS = "iOS"
    ANDROID = "Android"
    WEBGL = "WebGL"
    WSA_PLAYER = "WSAPlayer"
    PS4 = "PS4"
    XBOX_ONE = "XboxOne"
    TVOS = "tvOS"
    VISION_OS = "VisionOS"
    SWITCH = "Switch"


class BuildOptions(Params):
    """Target-specific switches passed to SPARK's build method."""

    compression: Literal["gzip", "brotli", "none"] = "gzip"


class UnityBuildParams(Params):
    """`unity_build`: build the project's enabled scenes for one target."""

    target: BuildTarget
    development: bool = False
    ref: GitRef | None = None
    options: BuildOptions = Field(default_factory=BuildOptions)
    #: stop the build after this long; unset → SPARK_BUILD_TIMEOUT_S (60 min)
    timeout_s: int | None = Field(default=None, ge=1, le=MAX_BUILD_TIMEOUT_S)
