# One image for every SPARK process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini celeryconfig.py ./
COPY spark ./spark
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home spark && mkdir -p /app/var && chown spark /app/var
USER spark
ENV SPARK_VAR_DIR=/app/var
CMD ["spark", "api", "--host", "0.0.0.0", "--port", "8000"]
