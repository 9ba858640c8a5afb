"""Alembic environment: SPARK's models, the URL from the one Settings object."""

from __future__ import annotations

import re
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from spark.config import load_settings
from spark.db.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("url") or load_settings().require("database_url")
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
target_metadata = Base.metadata
#: monthly partitions of spark_events are made at run time, not modelled
PARTITION = re.compile(r"^spark_events_\d{4}_\d{2}$")


def include_name(name: str | None, type_: str, _parent: dict[str, str | None]) -> bool:
    """Leave spark_events' partitions out of autogenerate and `alembic check`."""
    return not (type_ == "table" and name is not None and PARTITION.match(name))


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a live connection."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
