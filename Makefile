# SPARK: `make run` serves on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit integration acceptance fuzz chaos bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "SPARK needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

# unity-mcp's real server, for the tests that stand only the Unity Editor in: a venv of its own,
# its dependencies (fastmcp 3, mcp 1.x, top-level `core`, `models`, ...) clash with SPARK's.
UNITY_MCP_SERVER := $(VENV)/unity-mcp/.installed

$(UNITY_MCP_SERVER): tests/support/unity-mcp-server.txt | $(BIN)/python
	rm -rf $(VENV)/unity-mcp
	$(PYTHON) -m venv $(VENV)/unity-mcp
	$(VENV)/unity-mcp/bin/pip install -q -r tests/support/unity-mcp-server.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/spark up

test: lint typecheck unit integration acceptance fuzz chaos

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check spark workers celeryconfig.py bench fakes deploy tests

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest tests/unit -q

integration: $(VENV)/.installed-dev $(UNITY_MCP_SERVER)
	$(BIN)/pytest tests/integration -q

acceptance: $(VENV)/.installed-dev $(UNITY_MCP_SERVER)
	$(BIN)/pytest tests/acceptance -q

# schemathesis over /openapi.json against a real `spark api`, with a key and without one
fuzz: $(VENV)/.installed-dev
	$(BIN)/pytest tests/fuzz -q

# Real processes killed and real services restarted (Redis, the local Postgres) under load.
chaos: $(VENV)/.installed-dev
	$(BIN)/pytest tests/chaos -q

bench: $(VENV)/.installed-dev
	$(BIN)/spark bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
