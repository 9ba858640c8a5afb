"""Which Unity version a builder's editor is: read from Unity Hub's install path, else asked of
the editor itself (`Unity -version`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

#: Unity's version strings: 2022.3.20f1, 6000.0.23f1, 2023.1.0b4
_VERSION = re.compile(r"\b(\d{4}\.\d+\.\d+[abfpx]\d+)\b")
VERSION_TIMEOUT_S = 60.0


def unity_version(unity: Path | None, timeout_s: float = VERSION_TIMEOUT_S) -> str | None:
    """The editor's version, or None when there is no editor or it would not say."""
    if unity is None:
        return None
    # Unity Hub installs each editor under Editor/<version>/: no process needed.
    for part in reversed(unity.resolve().parts):
        if found := _VERSION.fullmatch(part):
            return found.group(1)
    try:
        done = subprocess.run(
            [str(unity), "-version", "-batchmode", "-nographics"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(done.stdout)
    return found.group(1) if found else None
