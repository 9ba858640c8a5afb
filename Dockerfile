# One image for every SPARK process; docker-compose.yml picks the command.
FROM python:3.11-slim
# git: builds of projects whose source is a git URL clone it.
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini celeryconfig.py ./
COPY spark ./spark
COPY workers ./workers
COPY migrations ./migrations
# The volume mount points exist and belong to spark, so fresh named volumes inherit that owner.
RUN pip install --no-cache-dir -e . && useradd --create-home spark \
    && mkdir -p /app/var/workspaces && chown -R spark /app/var
USER spark
ENV SPARK_VAR_DIR=/app/var
CMD ["spark", "api", "--host", "0.0.0.0", "--port", "8000"]
