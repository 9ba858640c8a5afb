"""Build-farm entry point: a worker that consumes only builds, one build at a time.

Run it on machines with Unity (`python -m workers.build [--targets WebGL,Android]`, or
`spark worker --queues builds --targets …`): it consumes `builds` and the `builds.<Target>`
queue of each target it declares (default: SPARK_BUILD_TARGETS, else what Unity builds on
this OS), and heartbeats into the farm registry.
"""

from __future__ import annotations

import sys

from spark.cli import app
from spark.config import load_settings


def main() -> None:
    """Start a builds-only worker with one build process."""
    state_db = load_settings().var_dir / "build-worker.state"
    args = ["worker", "--queues", "builds", "--concurrency", "1", "--state-db", str(state_db)]
    app([*args, *sys.argv[1:]])


if __name__ == "__main__":
    main()
