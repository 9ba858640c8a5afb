"""The one settings object: every SPARK_* variable, read once from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for every SPARK process; nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_prefix="SPARK_", extra="ignore", frozen=True)

    # Job state, broker and the optional shared services (CONTRACT §3).
    database_url: str = "sqlite:///./var/spark.db"
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
    # Circuit breakers on external calls (shared through Redis when SPARK_REDIS_URL is set).
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=60.0, gt=0)
    breaker_successes: int = Field(default=2, ge=1)
    unity_path: Path | None = None
    # Builds: the default time limit, and how long Unity gets between TERM and KILL.
    build_timeout_s: int = Field(default=3600, ge=1, le=3 * 3600)
    build_kill_grace_s: float = Field(default=10.0, ge=0)
    #: where build workers keep a workspace per project, reused between builds
    workspace_dir: Path = Path("./var/workspaces")
    unity_mcp_url: str | None = None
    unity_mcp_api_key: SecretStr | None = None
    artifact_dir: Path = Path("./var/artifacts")
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    flower_basic_auth: SecretStr | None = None

    # Where the embedded default keeps its files (SQLite, the file broker).
    var_dir: Path = Path("./var")

    # The CLI's view of the API.
    api_url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None

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

    # The worker's own /metrics server (the API serves /metrics itself); port 0 disables it.
    worker_metrics_port: int = Field(default=9808, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    # The offline generator can pace its output like a streaming model, so progress,
    # cancellation and the CLI's progress bar have something to show in demos.
    offline_latency_s: float = Field(default=0.0, ge=0, le=600)

    # The event consumer: processes sharing a durable name share the stream.
    consumer_durable: str = "spark-events-store"
    consumer_batch: int = Field(default=500, ge=1, le=10_000)
    consumer_ack_wait_s: float = Field(default=30.0, gt=0)

    @property
    def resolved_broker_url(self) -> str:
        """The Celery broker: the configured one, or the file broker under var_dir."""
        return self.broker_url or "filesystem://"

    @property
    def uses_file_broker(self) -> bool:
        """Whether the broker is the embedded file-backed one."""
        return self.resolved_broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        """The folder the file broker keeps its messages in."""
        return self.var_dir / "broker"


def load_settings() -> Settings:
    """Read the settings from the environment (the only place that does)."""
    return Settings()
