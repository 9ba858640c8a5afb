"""The command line every single-count benchmark shares: one count option and --json."""

from __future__ import annotations

import argparse
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, TypeVar

R = TypeVar("R")


def terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM as an exception, so finally blocks stop children and drop the database."""
    raise SystemExit(128 + signum)


@dataclass(frozen=True)
class Bench(Generic[R]):
    """A benchmark: its name, its count option, and how to run, print and serialise it."""

    prog: str
    doc: str
    flag: str
    default: int
    help: str
    run: Callable[[int], R]
    render: Callable[[R], str]
    as_json: Callable[[R], Any]

    def main(self, argv: list[str] | None = None) -> int:
        """Parse the options, run the benchmark, print the table or JSON."""
        parser = argparse.ArgumentParser(prog=self.prog, description=self.doc.split("\n")[0])
        parser.add_argument(self.flag, type=int, default=self.default, help=self.help)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        opts = parser.parse_args(argv)
        count = getattr(opts, self.flag.lstrip("-").replace("-", "_"))
        if count < 1:
            parser.error(f"{self.flag} must be at least 1")
        signal.signal(signal.SIGTERM, terminate)
        report = self.run(count)
        print(json.dumps(self.as_json(report), indent=2) if opts.json else self.render(report))
        return 0
