"""The one settings object: every SPARK_* variable, read once from the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from spark.domain.targets import BuildTarget

#: the servers every SPARK process reaches
ServerUrl = Literal["database_url", "broker_url", "redis_url", "nats_url"]


class ConfigurationMissing(RuntimeError):
    """A setting a process cannot run without is unset."""


class ModelPrice(BaseModel):
    """A model's price per million tokens, in and out (SPARK_PRICES), in the operator's
    currency."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    per_million_in: float = Field(ge=0, alias="in")
    per_million_out: float = Field(ge=0, alias="out")


class Settings(BaseSettings):
    """Configuration for every SPARK process; nothing else reads os.environ."""

    # validate_by_name: fields with an old environment name as well still take their own
    # name in code (Settings(allow_private_destinations=True)).
    model_config = SettingsConfigDict(
        env_prefix="SPARK_", extra="ignore", frozen=True, validate_by_name=True
    )

    # The servers (CONTRACT §3): unset, `spark up` starts embedded ones (spark/embedded) and
    # hands their URLs to the processes it runs; any other process needs them set.
    database_url: str | None = None
    database_replica_url: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    nats_url: str | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    #: `reasoning: creative` may use another model; both have their own temperature
    llm_creative_model: str | None = None
    llm_creative_temperature: float = Field(default=0.8, ge=0, le=2)
    llm_deterministic_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_timeout_s: float = Field(default=60.0, gt=0)
    # Circuit breakers on external calls (shared by every process through Redis).
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=60.0, gt=0)
    breaker_successes: int = Field(default=2, ge=1)
    unity_path: Path | None = None
    # Builds: the default time limit, and how long Unity gets between TERM and KILL.
    build_timeout_s: int = Field(default=3600, ge=1, le=3 * 3600)
    build_kill_grace_s: float = Field(default=10.0, ge=0)
    #: where build workers keep a workspace per project, reused between builds
    workspace_dir: Path = Path("./var/workspaces")
    #: the targets this builder declares (`spark worker --targets`); unset: what Unity builds
    #: on this host's OS (spark/domain/targets.py)
    build_targets: Annotated[list[BuildTarget] | None, NoDecode] = None

    @field_validator("build_targets", mode="before")
    @classmethod
    def _target_list(cls, value: object) -> object:
        # `WebGL,Android` as people write it; an empty value means the host's default.
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()] or None
        return value

    #: where a builder keeps Unity's Library/ per (project, target, Unity version), and the
    #: cap in GB its least recently used entries are evicted to stay under
    library_cache_dir: Path = Path("./var/library-cache")
    library_cache_gb: float = Field(default=20.0, ge=0)
    #: how often a builder tells Redis it is alive; it is gone after three missed beats
    farm_heartbeat_s: float = Field(default=5.0, gt=0)
    #: AES-256-GCM keys (base64, comma-separated) that seal project secrets at rest: the first
    #: seals, every one opens, so a key is rotated by putting the new one first
    secrets_key: SecretStr | None = None
    #: let the URLs users choose (webhooks, a project's unity_mcp_url) reach private,
    #: loopback, link-local and reserved addresses (off: no SSRF into the network SPARK runs
    #: in; on for destinations inside your own network). `spark up` turns it on unless set.
    #: SPARK_WEBHOOK_ALLOW_PRIVATE is its former name, still read.
    allow_private_destinations: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "SPARK_ALLOW_PRIVATE_DESTINATIONS", "SPARK_WEBHOOK_ALLOW_PRIVATE"
        ),
    )
    #: directories a project's source_dir (or file:// git URL) must lie under once resolved;
    #: `{user}` stands for the caller (the project's owner on a builder). Unset: no project
    #: may read a local directory. `spark up` sets it to the user's home unless it is given.
    source_roots: list[Path] | None = None

    @field_validator("source_roots")
    @classmethod
    def _absolute_roots(cls, value: list[Path] | None) -> list[Path] | None:
        # A relative root would mean whatever directory each process started in.
        for root in value or []:
            if not root.is_absolute():
                raise ValueError(f"{root} is not an absolute path")
        return value

    #: how long an MCP tool call with `wait: true` follows its job before returning it as it is
    mcp_wait_s: float = Field(default=300.0, ge=0, le=3600)
    #: serve /mcp without sessions, so any API process answers any call (a balancer needs no
    #: affinity); false keeps MCP sessions in the process that opened them
    mcp_stateless: bool = True
    #: Host and Origin values /mcp accepts (DNS-rebinding protection; `host:*` any port,
    #: `*` alone turns the check off for a proxy that checks Host itself): name the public
    #: host a proxy forwards (`spark.example.com`), or every call through it is refused 421
    mcp_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    )
    mcp_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    )
    #: the URL clients reach the API at (behind a proxy); unset: as each request names it
    public_url: str | None = None

    @field_validator("mcp_allowed_hosts", "mcp_allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    unity_mcp_url: str | None = None
    unity_mcp_api_key: SecretStr | None = None
    #: how long a call to unity-mcp may take beyond the server's own waits for that tool
    unity_mcp_timeout_s: float = Field(default=30.0, gt=0)
    #: how long a job waits for its Unity instance to come back (a domain reload)
    unity_mcp_wait_s: float = Field(default=60.0, ge=0)
    #: where what jobs produce is kept (artifacts, logs, frames): a directory, or
    #: `s3://bucket/prefix` on AWS or the S3-compatible server at s3_endpoint_url (the
    #: credentials come from the standard AWS variables)
    storage_url: str = "./var/storage"
    s3_endpoint_url: str | None = None
    #: artifact downloads answer 302 to a presigned URL of the object store instead of
    #: passing the bytes through the API (a directory has no such URLs: it streams)
    artifact_redirect: bool = False
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    # What a JWT must say to be accepted (both checked when set), and how its claims map.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_s: float = Field(default=30.0, ge=0)
    #: how long fetched signing keys are trusted before the JWKS is fetched again
    jwt_jwks_cache_s: float = Field(default=300.0, gt=0)
    #: how long an API key's stored record is reused; a revoked key stops within this
    key_cache_s: float = Field(default=4.0, ge=0, le=5)
    #: per-tier overrides of DEFAULT_TIER_LIMITS, e.g. {"free": {"requests_per_day": 500}}
    tier_limits: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("tier_limits")
    @classmethod
    def _known_tiers(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        # Fail at start-up, not on the first request of a misconfigured tier.
        for tier, overrides in value.items():
            if tier not in DEFAULT_TIER_LIMITS:
                raise ValueError(f"unknown tier {tier!r} (free, pro, enterprise)")
            TierLimits.model_validate({**DEFAULT_TIER_LIMITS[tier].model_dump(), **overrides})
        return value

    #: what each model's tokens cost, per million: {"<model>": {"in": 2.5, "out": 10.0}}
    #: (SPARK_PRICES as JSON); a model missing here costs 0 and is reported as unpriced
    prices: dict[str, ModelPrice] = Field(default_factory=dict)

    flower_basic_auth: SecretStr | None = None

    # This host's own files (worker metrics, the beat schedule, `spark up`'s servers).
    var_dir: Path = Path("./var")

    # The CLI's view of the API.
    api_url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None

    # Logs: JSON lines, or text for a person when stderr is a terminal ("auto").
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    # HTTP limits.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Job lifecycle timing.
    heartbeat_interval_s: float = Field(default=5.0, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    progress_interval_s: float = Field(default=0.25, ge=0)
    relay_interval_s: float = Field(default=2.0, gt=0)
    relay_min_age_s: float = Field(default=3.0, ge=0)
    reaper_interval_s: float = Field(default=10.0, gt=0)
    #: a job message a worker took this long ago, that no live worker holds, is sent again
    #: (its worker died with it prefetched); also how often that is checked, halved
    rescue_after_s: float = Field(default=10.0, gt=0)
    #: how long ending a job keeps retrying while the database is away before the task
    #: gives up (its message then comes back, and the job is taken over)
    end_patience_s: float = Field(default=30.0, ge=0)
    #: fault-injection tests only: the first process to reach this named point (see
    #: spark/faults.py) stops there until its marker file under var_dir is removed
    fault_pause_at: str | None = None

    #: an open session with no new job for this long is ended by `spark beat`'s sweep
    session_idle_s: float = Field(default=1800.0, gt=0)

    # Retention (run hourly by `spark beat`, after the hourly rollups): days each data set is
    # kept. Finished jobs go with their logs, artifacts and webhook deliveries; usage records
    # and jobs only once their hour is rolled up; events by whole monthly partitions.
    retention_events_days: int = Field(default=90, ge=0)
    retention_jobs_days: int = Field(default=30, ge=0)
    retention_usage_days: int = Field(default=400, ge=0)
    retention_audit_days: int = Field(default=365, ge=0)
    #: rows one short delete transaction removes at most
    retention_batch: int = Field(default=1000, ge=1, le=100_000)

    # The worker's own /metrics server (the API serves /metrics itself); port 0 disables it.
    worker_metrics_port: int = Field(default=9808, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    # The offline generator can pace its output like a streaming model, so progress,
    # cancellation and the CLI's progress bar have something to show in demos.
    offline_latency_s: float = Field(default=0.0, ge=0, le=600)
    #: how many answers an `assist` job asks its LLM for before it stops planning: a model
    #: that keeps calling tools ends with what it did so far instead of running up tokens
    assist_max_steps: int = Field(default=8, ge=1, le=64)

    # The event consumer: processes sharing a durable name share the stream.
    consumer_durable: str = "spark-events-store"
    consumer_batch: int = Field(default=500, ge=1, le=10_000)
    consumer_ack_wait_s: float = Field(default=30.0, gt=0)

    def require(self, name: ServerUrl) -> str:
        """The configured URL of a server SPARK needs; ConfigurationMissing if it is unset."""
        value: str | None = getattr(self, name)
        if not value:
            raise ConfigurationMissing(
                f"SPARK_{name.upper()} is not set, and no running `spark up` recorded one in"
                f" {self.var_dir / 'servers.json'}: set the URL of each server SPARK uses"
            )
        return value


class TierLimits(BaseModel):
    """What one tier may do (CONTRACT §6): quotas per day and month, rates per minute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_day: int = Field(ge=0)
    tokens_per_month: int = Field(ge=0)
    concurrent_builds: int = Field(ge=0)
    #: sessions open at once (POST /v1/sessions); ending one frees its slot
    concurrent_sessions: int = Field(ge=0)
    #: POST /v1/jobs
    submissions_per_minute: int = Field(ge=0)
    #: other writes (cancel, projects)
    writes_per_minute: int = Field(ge=0)
    #: reads (GET), including polling and event streams
    reads_per_minute: int = Field(ge=0)


DEFAULT_TIER_LIMITS: dict[str, TierLimits] = {
    "free": TierLimits(
        requests_per_day=100,
        tokens_per_month=100_000,
        concurrent_builds=1,
        concurrent_sessions=1,
        submissions_per_minute=60,
        writes_per_minute=120,
        reads_per_minute=600,
    ),
    "pro": TierLimits(
        requests_per_day=20_000,
        tokens_per_month=5_000_000,
        concurrent_builds=4,
        concurrent_sessions=10,
        submissions_per_minute=600,
        writes_per_minute=1_200,
        reads_per_minute=6_000,
    ),
    "enterprise": TierLimits(
        requests_per_day=1_000_000,
        tokens_per_month=100_000_000,
        concurrent_builds=16,
        concurrent_sessions=100,
        submissions_per_minute=6_000,
        writes_per_minute=12_000,
        reads_per_minute=60_000,
    ),
}


def tier_limits(settings: Settings, tier: str) -> TierLimits:
    """The tier's limits: the defaults with SPARK_TIER_LIMITS' overrides applied."""
    base = DEFAULT_TIER_LIMITS[tier].model_dump()
    return TierLimits.model_validate({**base, **settings.tier_limits.get(tier, {})})


#: the file under var_dir where `spark up` keeps the ports of the embedded servers it runs
SERVERS_FILE = "servers.json"
#: the database SPARK uses on its embedded PostgreSQL
EMBEDDED_DATABASE = "spark"


def embedded_urls(ports: Mapping[str, int]) -> dict[str, str]:
    """The server URL settings of embedded servers on these ports (postgres, redis, nats)."""
    urls = {}
    if "postgres" in ports:
        urls["database_url"] = (
            f"postgresql+psycopg://postgres@127.0.0.1:{ports['postgres']}/{EMBEDDED_DATABASE}"
        )
    if "redis" in ports:
        # Celery's messages and SPARK's own keys in separate databases: one FLUSHDB never
        # takes the other's data
        urls["broker_url"] = f"redis://127.0.0.1:{ports['redis']}/0"
        urls["redis_url"] = f"redis://127.0.0.1:{ports['redis']}/1"
    if "nats" in ports:
        urls["nats_url"] = f"nats://127.0.0.1:{ports['nats']}"
    return urls


def remembered_ports(var_dir: Path) -> dict[str, int]:
    """The ports `spark up` chose for its embedded servers under var_dir; empty if none."""
    try:
        found = json.loads((var_dir / SERVERS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {name: port for name, port in found.items() if isinstance(port, int)}


def with_embedded_servers(settings: Settings) -> Settings:
    """settings with each server URL left unset pointing at `spark up`'s embedded server
    under var_dir, so a second terminal's `spark keys create` needs nothing exported."""
    remembered = embedded_urls(remembered_ports(settings.var_dir))
    unset = {name: url for name, url in remembered.items() if getattr(settings, name) is None}
    return settings.model_copy(update=unset) if unset else settings


def load_settings(*, embedded: bool = True) -> Settings:
    """Read the settings from the environment (the only place that does); unless embedded is
    off, unset server URLs come from `spark up`'s embedded servers under var_dir."""
    settings = Settings()
    return with_embedded_servers(settings) if embedded else settings
