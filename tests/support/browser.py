"""Debian's Chromium for the browser tier: found, or installed with apt when running as root.

`python -m tests.support.browser` installs it before the tests start (out of their timeouts);
a machine where it cannot be had fails the tier saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

#: as root Chromium needs --no-sandbox; the rest keep it from reaching for Google's services,
#: which this machine's closed network refuses (noise, and slow starts)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def missing_reason() -> str | None:
    """Why the browser tier cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`), "
            "or run `python -m tests.support.browser` as root"
        )
    return None


def install() -> int:
    """apt-get install chromium when it is missing and this is root; the exit status."""
    if CHROMIUM.exists():
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(missing_reason(), file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
    done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, check=False)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(install())
