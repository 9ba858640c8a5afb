"""The `spark` command line (typer + rich)."""

from __future__ import annotations

import typer

from spark.cli import (
    audit,
    bench,
    builds,
    events,
    farm,
    files,
    flower,
    jobs,
    keys,
    patches,
    secrets,
    serve,
    sessions,
    unity_tests,
    up,
    usage,
)

app = typer.Typer(help="SPARK: jobs for AI-assisted Unity development.", no_args_is_help=True)
up.register(app)
serve.register(app)
jobs.register(app)
builds.register(app)
unity_tests.register(app)
patches.register(app)
bench.register(app)
flower.register(app)
events.register(app)
audit.register(app)
farm.register(app)
usage.register(app)
app.add_typer(keys.app, name="keys", help="Create, list and revoke API keys.")
app.add_typer(sessions.session_app, name="session", help="Open, show, end and list sessions.")
app.add_typer(jobs.jobs_app, name="jobs", help="List, show, cancel, wait for jobs; read logs.")
secrets.register(builds.projects_app)
app.add_typer(
    builds.projects_app, name="projects", help="Register and list projects; their secrets."
)
app.add_typer(
    files.files_app, name="files", help="A project's files: list, show, history, rollback, diff."
)


def main() -> None:
    """Entry point of the `spark` script."""
    app()


if __name__ == "__main__":
    main()
