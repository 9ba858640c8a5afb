"""What handlers work with: the worker process's connections and engines, made after fork."""

from __future__ import annotations

from dataclasses import dataclass

from spark.artifacts import ArtifactStorage
from spark.db.engine import Database
from spark.engines.unity.bridge import EditorBridge
from spark.engines.unity.builds import BuildEnvironment
from spark.llm.base import ScriptGenerator


@dataclass(frozen=True)
class Tools:
    """One worker process's tools, shared by every job it runs."""

    db: Database
    generator: ScriptGenerator
    artifacts: ArtifactStorage
    builds: BuildEnvironment
    #: the Unity editor bridge (connects on first use, per editor URL)
    editor: EditorBridge
