"""Per-process worker resources, made after fork so no connection crosses a fork."""

from __future__ import annotations

import os
from dataclasses import dataclass

from spark import faults
from spark.config import Settings, load_settings
from spark.db.executor import Database
from spark.engines.unity.builds import BuildEnvironment
from spark.engines.unity.editor_version import unity_version
from spark.engines.unity.library_cache import LibraryCache, key_version
from spark.engines.unity.mcp_bridge import default_editor, make_editor_bridge
from spark.events.factory import make_sink
from spark.events.sink import EventSink
from spark.jobs.heartbeat import Heartbeats
from spark.jobs.tools import Tools
from spark.kv.factory import make_breaker_store, make_leases, make_preview_cache
from spark.llm.factory import make_generator
from spark.security.destinations import Destinations
from spark.storage.artifacts import Artifacts
from spark.storage.factory import make_blobs
from spark.storage.live_logs import make_log_store


@dataclass(frozen=True)
class WorkerResources:
    """What tasks in this process use."""

    settings: Settings
    db: Database
    heartbeats: Heartbeats
    events: EventSink
    #: what handlers work with
    tools: Tools


_resources: dict[int, WorkerResources] = {}


def resources() -> WorkerResources:
    """This process's resources, created on first use in each process."""
    pid = os.getpid()
    found = _resources.get(pid)
    if found is None:
        _resources.clear()
        found = _create(load_settings())
        _resources[pid] = found
    return found


def _create(settings: Settings) -> WorkerResources:
    db = Database(settings.require("database_url"), settings.database_replica_url, pool_size=2)
    heartbeats = Heartbeats(db, settings.heartbeat_interval_s)
    heartbeats.start()
    blobs = make_blobs(settings)
    artifacts = Artifacts(blobs)
    faults.arm(settings.fault_pause_at, settings.var_dir)
    builds = BuildEnvironment(
        unity_path=settings.unity_path,
        workspace_root=settings.workspace_dir,
        artifacts=artifacts,
        logs=make_log_store(settings, blobs),
        default_timeout_s=settings.build_timeout_s,
        kill_grace_s=settings.build_kill_grace_s,
        source_roots=None if settings.source_roots is None else tuple(settings.source_roots),
        library_cache=LibraryCache(
            settings.library_cache_dir, int(settings.library_cache_gb * 2**30)
        ),
        # Asked once per process: the editor on a builder does not change under it.
        unity_version=key_version(unity_version(settings.unity_path)),
    )
    return WorkerResources(
        settings=settings,
        db=db,
        heartbeats=heartbeats,
        events=make_sink(settings, db),
        tools=Tools(
            db,
            make_generator(settings),
            artifacts,
            builds,
            make_editor_bridge(settings, make_breaker_store(settings), make_leases(settings)),
            default_editor=default_editor(settings),
            destinations=Destinations(allow_private=settings.allow_private_destinations),
            previews=make_preview_cache(settings),
            prices=settings.prices,
            settings=settings,
        ),
    )
