"""bench_jobs' figures: each side of each phase, SPARK's ratios, the table and the JSON."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from bench._wrk import WrkResult

#: SPARK's rate over the thin job API's (with its row), at least
GOALS = {"submit": 1.0, "poll": 0.9, "e2e": 0.7}
POLL_P99_GOAL_MS = 50.0


@dataclass(frozen=True)
class Side:
    """One side of one phase: what wrk saw, and the CPU its processes and Postgres spent."""

    wrk: WrkResult
    api_cpu_ms: float
    pg_cpu_ms: float
    #: e2e only: accepted jobs done per second, first request to last job done
    done_per_s: float | None = None
    worker_cpu_ms: float | None = None

    @property
    def rate(self) -> float:
        """The phase's figure: responses per second, or jobs done per second end to end."""
        return self.wrk.per_s if self.done_per_s is None else self.done_per_s


@dataclass(frozen=True)
class Phase:
    """Every side of one phase; the floor (the thin API keeping no row) where it differs."""

    name: str
    thin: Side
    spark: Side
    floor: Side | None = None

    @property
    def ratio(self) -> float:
        """SPARK's rate over the thin job API's: the figure the goals are about."""
        return self.spark.rate / self.thin.rate

    @property
    def floor_ratio(self) -> float | None:
        """SPARK's rate over the floor's, where there is one."""
        return self.spark.rate / self.floor.rate if self.floor else None


@dataclass(frozen=True)
class Report:
    """Every phase of one run."""

    servers: str
    seconds: float
    connections: int
    phases: tuple[Phase, ...]

    def phase(self, name: str) -> Phase:
        """The phase called name."""
        return next(p for p in self.phases if p.name == name)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        return {
            "servers": self.servers,
            "cpus": os.cpu_count(),
            "seconds": self.seconds,
            "connections": self.connections,
            "ratios": {p.name: p.ratio for p in self.phases},
            "phases": {p.name: _phase_dict(p) for p in self.phases},
        }


def _side_dict(side: Side | None) -> dict[str, Any] | None:
    return None if side is None else asdict(side) | {"rate": side.rate}


def _phase_dict(phase: Phase) -> dict[str, Any]:
    return {
        "thin": _side_dict(phase.thin),
        "no_row": _side_dict(phase.floor),
        "spark": _side_dict(phase.spark),
        "ratio": phase.ratio,
        "ratio_no_row": phase.floor_ratio,
        "goal": GOALS[phase.name],
    }


def _side_row(label: str, side: Side) -> str:
    w = side.wrk
    rate = f"{side.rate:,.0f}/s"
    cpu = f"{side.api_cpu_ms:.2f}"
    if side.worker_cpu_ms is not None:
        cpu += f" + {side.worker_cpu_ms:.2f}"
    cpu += f" + pg {side.pg_cpu_ms:.2f}"
    return (
        f"  {label:<8}{w.requests:>8}{w.per_s:>10,.0f}{w.p50_ms:>9.1f}{w.p99_ms:>9.1f}"
        f"{w.bad_status:>6}{w.socket_errors:>6}{rate:>11}  {cpu}"
    )


def _phase_lines(phase: Phase) -> list[str]:
    goal = GOALS[phase.name]
    mark = "ok" if phase.ratio >= goal else "SHORT"
    lines = [phase.name, _side_row("thin", phase.thin)]
    if phase.floor is not None:
        lines.append(_side_row("no row", phase.floor))
    lines += [
        _side_row("SPARK", phase.spark),
        f"  SPARK / thin {phase.ratio:.2f}x (goal >= {goal:g}x: {mark})"
        + (f"   SPARK / no row {phase.floor_ratio:.2f}x" if phase.floor_ratio else ""),
    ]
    return lines


def render(report: Report) -> str:
    """The human-readable table."""
    lines = [
        "SPARK vs the thin job API a user would write (Starlette, a jobs row, send_task, bare "
        f"Celery): wrk -t1 -c{report.connections} -d{report.seconds:g}s per side, "
        f"{os.cpu_count()} CPUs",
        f"servers: {report.servers} (durable)",
        "",
        f"  {'':<8}{'reqs':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'!2xx':>6}{'sock':>6}"
        f"{'rate':>11}  CPU ms/req (API [+ worker] + Postgres)",
    ]
    for phase in report.phases:
        lines += _phase_lines(phase)
    poll = report.phase("poll").spark.wrk
    lines += [
        f"SPARK poll p99 {poll.p99_ms:.1f} ms (goal <= {POLL_P99_GOAL_MS:g} ms)",
        "ratios (SPARK / thin with its row): "
        + ", ".join(f"{p.name} {p.ratio:.2f}x" for p in report.phases),
    ]
    return "\n".join(lines)
