"""What handlers work with: the worker process's connections and engines, made after fork."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spark.config import ModelPrice, Settings
from spark.db.executor import Database
from spark.engines.unity.bridge import Editor, EditorBridge
from spark.engines.unity.builds import BuildEnvironment
from spark.kv.preview_cache import PreviewCache
from spark.llm.base import ScriptGenerator
from spark.security.destinations import Destinations
from spark.storage.artifacts import ArtifactStorage


@dataclass(frozen=True)
class Tools:
    """One worker process's tools, shared by every job it runs."""

    db: Database
    generator: ScriptGenerator
    artifacts: ArtifactStorage
    builds: BuildEnvironment
    #: the Unity editor bridge (connects on first use, per editor URL)
    editor: EditorBridge
    #: where rendered frames are remembered, for every worker
    previews: PreviewCache
    #: the editor a job without a project's own uses (SPARK_UNITY_MCP_URL)
    default_editor: Editor | None = None
    #: where a job may call for a user: a project's editor URL is checked at each use
    destinations: Destinations = field(default_factory=Destinations)
    #: what each model's tokens cost (SPARK_PRICES): every recorded call is priced by it
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    #: the settings the worker was made with (an assist's step cap, the tiers' limits)
    settings: Settings | None = None
