"""SPARK's import architecture: every contract in pyproject.toml's [tool.importlinter] is kept,
no module of spark or workers imports itself through others (directly, inside a function,
or under TYPE_CHECKING: grimp reads them all), and the API opens no transaction itself."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
#: the venv's import-linter (the dev extra); its command line is its stable interface
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS: list[dict[str, Any]] = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"][
    "contracts"
]
#: what a contract forbidding "everything else" leaves allowed, besides its own package
ALLOWED = {
    "db-below-domain": {"spark.domain", "spark.errors", "spark.config", "spark.batching"},
    "registry-on-domain-and-contracts": {"spark.domain", "spark.contracts"},
}

#: the calls that open a transaction, take a connection or run a statement (the executor's
#: faces, psycopg)
OPENERS = frozenset(
    {"transaction", "autocommit", "one", "all", "scalar", "run", "stream", "by_key"}
    | {"connect", "connection", "cursor", "execute", "commit"}
)
#: openers whose name a file or a log store shares (`stream.read(n)`): counted when called
#: without arguments, as the executor's `db.read()` is
BARE_OPENERS = frozenset({"read"})
#: receiver.method calls named like an opener that open no transaction: the MCP transport's
#: session managers run for the app's lifespan (spark/web/mcp/server.py, transport.py)
NOT_DATABASE = frozenset({"manager.run", "streaming.run", "plain.run"})


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """spark and workers as grimp sees them (no cache: the tree must not gain files)."""
    return grimp.build_graph("spark", "workers", cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest cycle per group of modules that import each other, as a module chain."""
    cycles: list[list[str]] = []
    seen: set[str] = set()
    for module in sorted(graph.modules):
        if module in seen:
            continue
        # A module's cycle group: what it imports (transitively) that also imports it.
        group = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if not group:
            continue
        seen |= group | {module}
        first = min(graph.find_modules_directly_imported_by(module) & group)
        back = graph.find_shortest_chain(importer=first, imported=module)
        assert back is not None  # first is in the group, so it reaches module
        cycles.append([module, *back])
    return cycles


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c["id"] for c in CONTRACTS])
def test_the_import_contract_is_kept(contract: dict[str, Any]) -> None:
    """lint-imports checks the contract alone; a broken one is named with its import chains."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the dev extra (make .venv/.installed-dev)")
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract["id"]]
    done = subprocess.run(
        [*args, str(PYPROJECT)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (
        f"import contract broken: {contract['name']} ({contract['id']})\n{done.stdout}{done.stderr}"
    )


@pytest.mark.parametrize("contract_id", sorted(ALLOWED))
def test_a_contract_forbidding_everything_else_names_every_package(
    contract_id: str, graph: grimp.ImportGraph
) -> None:
    """A new top-level package of spark must be allowed here or forbidden in pyproject.toml."""
    contract = next(c for c in CONTRACTS if c["id"] == contract_id)
    placed = {*ALLOWED[contract_id], *contract["source_modules"], *contract["forbidden_modules"]}
    unplaced = sorted(graph.find_children("spark") - placed)
    assert not unplaced, f"{contract_id}: neither allowed nor forbidden: {', '.join(unplaced)}"


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    """Every module-level import cycle in spark and workers, one line each."""
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_sees_imports_in_functions_and_under_type_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself, on a package whose loop is hidden both ways."""
    package = tmp_path / "looped"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f() -> None:\n    from looped import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from looped import a\n"
    )
    (package / "c.py").write_text("from looped import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("looped", cache_dir=None)
    assert import_cycles(graph) == [["looped.a", "looped.b", "looped.a"]]


def transaction_opens(package: Path) -> list[str]:
    """Every call of an opener in package's modules, as path:line .name()."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            receiver = node.func.value
            named = (
                receiver.attr
                if isinstance(receiver, ast.Attribute)
                else receiver.id
                if isinstance(receiver, ast.Name)
                else None
            )
            if f"{named}.{node.func.attr}" in NOT_DATABASE:
                continue
            bare = not node.args and not node.keywords and node.func.attr in BARE_OPENERS
            if node.func.attr in OPENERS or bare:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
    return found


def test_the_api_opens_no_transaction_itself() -> None:
    """Routes hand the database to service functions, which own their transactions."""
    opens = transaction_opens(ROOT / "spark" / "web")
    assert not opens, f"{len(opens)} transactions opened in spark/web:\n" + "\n".join(opens)


def test_the_count_sees_the_transactions_a_service_module_opens() -> None:
    """The check itself, on the project files service, which opens its own."""
    opens = transaction_opens(ROOT / "spark" / "projects")
    assert any("files.py" in line and ".transaction()" in line for line in opens)
    assert any("registry.py" in line and ".read()" in line for line in opens)
