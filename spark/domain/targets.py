"""Unity build targets, the build queue each is routed to, and what a host's OS can build."""

from __future__ import annotations

import enum
import platform


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


#: what Unity builds on each host OS with the platform modules Unity Hub installs; consoles
#: need their vendors' modules and dev kits, so a console builder declares them itself
HOST_TARGETS: dict[str, tuple[BuildTarget, ...]] = {
    "Linux": (BuildTarget.STANDALONE_LINUX64, BuildTarget.ANDROID, BuildTarget.WEBGL),
    "Darwin": (
        BuildTarget.STANDALONE_OSX,
        BuildTarget.IOS,
        BuildTarget.TVOS,
        BuildTarget.VISION_OS,
        BuildTarget.ANDROID,
        BuildTarget.WEBGL,
    ),
    "Windows": (
        BuildTarget.STANDALONE_WINDOWS,
        BuildTarget.STANDALONE_WINDOWS64,
        BuildTarget.WSA_PLAYER,
        BuildTarget.ANDROID,
        BuildTarget.WEBGL,
    ),
}


def host_os() -> str:
    """This machine's OS as HOST_TARGETS names it (`Linux`, `Darwin`, `Windows`)."""
    return platform.system()


def default_targets(os_name: str | None = None) -> tuple[BuildTarget, ...]:
    """What a builder on os_name (this machine's OS by default) builds unless told."""
    return HOST_TARGETS.get(os_name or host_os(), ())


def build_queue(target: BuildTarget) -> str:
    """The broker queue a build for target waits in: only builders declaring it consume it."""
    return f"builds.{target.value}"
