"""The suite is hermetic: it reaches only the servers it starts, never the machine's own."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
#: the default ports of PostgreSQL, Redis and NATS, where the machine's own servers listen
#: (spelled so that this file does not match its own search)
MACHINE_PORTS = ("54" + "32", "63" + "79", "42" + "22")
PORT = re.compile(r"(?<![\w.])(" + "|".join(MACHINE_PORTS) + r")(?![\w])")


def test_no_test_names_a_port_of_the_machines_postgres_redis_or_nats() -> None:
    """Every server URL in tests/ comes from the suite's own stack (tests/support/services.py),
    on ports it chose; a default port written anywhere would reach the machine's server, or
    clash with another run's."""
    found = [
        f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PORT.search(line)
    ]
    assert not found, "\n".join(found)
