# SPARK: `make run` serves on its own PostgreSQL, Valkey and NATS; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-lane-1 test-lane-2 test-lane-3 lint typecheck unit integration acceptance fuzz chaos \
	cluster browser bench clean mcp-inspector chromium

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

# The MCP Inspector CLI from npm, the third-party client of tests/acceptance/test_mcp_inspector.py:
# installed once into ~/.cache/spark-test before the tests start, out of their timeouts. Its
# failure does not stop the run: those tests then fail saying what is missing.
mcp-inspector: $(VENV)/.installed-dev
	-$(BIN)/python -m tests.support.inspector

# Debian's Chromium for the browser tier, installed with apt when root and missing, before the
# tests start; where it cannot be had the tier fails saying so.
chromium: $(VENV)/.installed-dev
	-$(BIN)/python -m tests.support.browser

run: $(VENV)/.installed
	$(BIN)/spark up

RUFF := $(BIN)/ruff check .
RUFF_FORMAT := $(BIN)/ruff format --check spark workers celeryconfig.py bench fakes deploy tests
MYPY := $(BIN)/mypy
UNIT := $(BIN)/pytest tests/unit -q
INTEGRATION := $(BIN)/pytest tests/integration -q
FUZZ := $(BIN)/pytest tests/fuzz -q
CHAOS := $(BIN)/pytest tests/chaos -q
CLUSTER := $(BIN)/pytest tests/cluster -q
BROWSER := $(BIN)/pytest tests/browser -q
#: the acceptance tier in three parts by file name, so the three lanes of `make test` take
#: about as long (each part's files summed about 5 to 7 minutes in one run)
ACCEPTANCE_FILES := $(sort $(wildcard tests/acceptance/test_*.py))
_PREFIXED = $(filter $(foreach p,$(1),tests/acceptance/test_$(p)%),$(ACCEPTANCE_FILES))
ACCEPTANCE_FM := $(call _PREFIXED,f g h i j k l m)
ACCEPTANCE_NS := $(call _PREFIXED,n o p q r s)
ACCEPTANCE_REST := $(filter-out $(ACCEPTANCE_FM) $(ACCEPTANCE_NS),$(ACCEPTANCE_FILES))
ACCEPTANCE_1 := $(BIN)/pytest -q $(ACCEPTANCE_FM)
ACCEPTANCE_2 := $(BIN)/pytest -q $(ACCEPTANCE_NS)
ACCEPTANCE_3 := $(BIN)/pytest -q $(ACCEPTANCE_REST)

# Every pytest run starts its own PostgreSQL, Redis (Valkey) and NATS from the wheels on free
# ports, so runs never meet: `make test` runs three lanes at once. The suite mostly waits on
# processes it started (workers, Unity stand-ins, servers), so a third lane shortens it on two
# cores (about 14 minutes, where two lanes took 17 and one after the other over 25): the chaos
# tier and acceptance files f to m; the fast tiers and acceptance files n to s; the multi-host
# tier (it needs root), the browser tier, the other acceptance files and fuzz. Each step's
# output is printed when it ends; a failed step ends its lane, and the other lanes run on.
test: $(VENV)/.installed-dev $(UNITY_MCP_SERVER) mcp-inspector chromium
	@$(MAKE) --no-print-directory -j3 -k --output-sync=line test-lane-1 test-lane-2 test-lane-3

test-lane-1:
	$(CHAOS)
	$(ACCEPTANCE_1)

test-lane-2:
	$(RUFF)
	$(RUFF_FORMAT)
	$(MYPY)
	$(UNIT)
	$(INTEGRATION)
	$(ACCEPTANCE_2)

test-lane-3:
	$(CLUSTER)
	$(BROWSER)
	$(ACCEPTANCE_3)
	$(FUZZ)

lint: $(VENV)/.installed-dev
	$(RUFF)
	$(RUFF_FORMAT)

typecheck: $(VENV)/.installed-dev
	$(MYPY)

unit: $(VENV)/.installed-dev
	$(UNIT)

integration: $(VENV)/.installed-dev $(UNITY_MCP_SERVER)
	$(INTEGRATION)

acceptance: $(VENV)/.installed-dev $(UNITY_MCP_SERVER) mcp-inspector
	$(BIN)/pytest tests/acceptance -q

# schemathesis over /openapi.json against a real `spark api`, with a key and without one
fuzz: $(VENV)/.installed-dev
	$(FUZZ)

# Real processes killed and the suite's own Redis, Postgres and NATS stopped, killed and
# restarted under load (never the machine's), and `make run`'s whole stack killed outright.
chaos: $(VENV)/.installed-dev
	$(CHAOS)

# SPARK on hosts of its own: network namespaces on a bridge of their own in 198.18.0.0/24, each
# host seeing only its own files (root and iproute2; without them every test fails saying so).
cluster: $(VENV)/.installed-dev
	$(CLUSTER)

# the web console in Debian's Chromium, headless, driven by Playwright (screenshots of each
# panel under test-output/browser/)
browser: $(VENV)/.installed-dev $(UNITY_MCP_SERVER) chromium
	$(BROWSER)

bench: $(VENV)/.installed-dev
	$(BIN)/spark bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
