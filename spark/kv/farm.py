"""The farm registry in Redis: each builder's heartbeat and the jobs its processes run.

A builder's description is a key that expires after three missed beats, so a machine that
dies leaves the farm within that time with nobody cleaning up after it; a running job is a
key of its own, kept alive by the process running it (a prefork child), so a builder is its
description plus the job keys of its node. Index sets name the keys; a reader drops the
names whose key expired, atomically, so a builder beating at that moment is never lost.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import redis

from spark.config import Settings
from spark.domain.farm import Builder, BuilderBeat, Farm, RunningJob
from spark.domain.targets import BuildTarget
from spark.errors import ServiceUnavailable

PREFIX = "spark:farm:"
BUILDERS = PREFIX + "builders"
#: a builder is gone after this many missed beats
MISSED_BEATS = 3

# The members of the index set KEYS[1] whose key (ARGV[1] .. member) still exists; the
# others are removed from the set in the same step.
_LIVE_MEMBERS = """
local live = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. member) == 1 then
    table.insert(live, member)
  else
    redis.call('SREM', KEYS[1], member)
  end
end
return live
"""


def _builder_key(node: str) -> str:
    return f"{PREFIX}builder:{node}"


def _jobs_index(node: str) -> str:
    return f"{PREFIX}jobs:{node}"


def _job_prefix(node: str) -> str:
    return f"{PREFIX}job:{node}:"


class RedisFarm:
    """Builders' heartbeats and running jobs, shared by every host through Redis."""

    def __init__(self, url: str, heartbeat_s: float) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)
        self._live = self._redis.register_script(_LIVE_MEMBERS)
        #: how long a beat keeps its key: three missed beats and it is gone
        self.ttl_ms = max(1, int(heartbeat_s * MISSED_BEATS * 1000))

    def close(self) -> None:
        """Release the connection pool."""
        self._redis.close()

    def beat(self, beat: BuilderBeat) -> None:
        """Record that the builder is alive, as it describes itself."""
        pipe = self._redis.pipeline()
        pipe.set(_builder_key(beat.node), json.dumps(_beat_json(beat)), px=self.ttl_ms)
        pipe.sadd(BUILDERS, beat.node)
        pipe.execute()

    def leave(self, node: str) -> None:
        """Remove the builder and every job it listed (a graceful shutdown)."""
        jobs = cast("set[bytes]", self._redis.smembers(_jobs_index(node)))
        keys = [_job_prefix(node) + j.decode() for j in jobs]
        pipe = self._redis.pipeline()
        pipe.delete(_builder_key(node), _jobs_index(node), *keys)
        pipe.srem(BUILDERS, node)
        pipe.execute()

    def running(self, job: RunningJob) -> None:
        """Record (again) that one of the node's processes runs job."""
        index = _jobs_index(job.node)
        pipe = self._redis.pipeline()
        value = json.dumps({"owner": job.owner})
        pipe.set(_job_prefix(job.node) + str(job.job_id), value, px=self.ttl_ms)
        pipe.sadd(index, str(job.job_id))
        # the index outlives its builder by no more than a job key would
        pipe.pexpire(index, self.ttl_ms)
        pipe.execute()

    def finished(self, node: str, job_id: uuid.UUID) -> None:
        """The node no longer runs job_id."""
        pipe = self._redis.pipeline()
        pipe.delete(_job_prefix(node) + str(job_id))
        pipe.srem(_jobs_index(node), str(job_id))
        pipe.execute()

    def read(self) -> Farm:
        """Every live builder with the jobs it runs; ServiceUnavailable when Redis is away."""
        try:
            return self._read()
        except (redis.RedisError, OSError) as exc:
            raise ServiceUnavailable("the farm registry (Redis) is unavailable") from exc

    def _read(self) -> Farm:
        nodes = self._members(BUILDERS, _builder_key(""))
        if not nodes:
            return Farm(())
        raws = cast("list[bytes | None]", self._redis.mget([_builder_key(n) for n in nodes]))
        beats = [_beat_of(raw) for raw in raws if raw is not None]
        return Farm(tuple(Builder(b, self._jobs(b.node)) for b in beats if b is not None))

    def _members(self, index: str, prefix: str) -> list[str]:
        found = cast("list[bytes]", self._live(keys=[index], args=[prefix]))
        return sorted(m.decode() for m in found)

    def _jobs(self, node: str) -> tuple[RunningJob, ...]:
        ids = self._members(_jobs_index(node), _job_prefix(node))
        if not ids:
            return ()
        raws = cast("list[bytes | None]", self._redis.mget([_job_prefix(node) + i for i in ids]))
        return tuple(
            RunningJob(node, uuid.UUID(i), str(json.loads(raw)["owner"]))
            for i, raw in zip(ids, raws, strict=True)
            if raw is not None
        )


def _beat_json(beat: BuilderBeat) -> dict[str, Any]:
    return {
        "node": beat.node,
        "host": beat.host,
        "os": beat.os,
        "unity_versions": list(beat.unity_versions),
        "targets": [t.value for t in beat.targets],
        "last_seen": beat.last_seen.isoformat(),
    }


def _beat_of(raw: bytes) -> BuilderBeat | None:
    """The beat stored in raw; None for one this version cannot read."""
    try:
        data = json.loads(raw)
        return BuilderBeat(
            node=str(data["node"]),
            host=str(data["host"]),
            os=str(data["os"]),
            unity_versions=tuple(str(v) for v in data["unity_versions"]),
            targets=tuple(BuildTarget(t) for t in data["targets"]),
            last_seen=datetime.fromisoformat(data["last_seen"]).astimezone(UTC),
        )
    except (ValueError, KeyError, TypeError):
        return None


def make_farm(settings: Settings) -> RedisFarm:
    """The farm registry on the configured Redis."""
    return RedisFarm(settings.require("redis_url"), settings.farm_heartbeat_s)
