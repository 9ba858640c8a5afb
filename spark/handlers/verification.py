"""`verify`: a job that wrote into a project proves its files on the farm — a compile check,
then the project's tests, then a build, each a child job — and, when a step fails, puts each
path back as it was before the job (unless `keep_on_failure`).

The parent's run hands over to its first step and returns (spark/jobs/children.py); each
step's end continues it here. What it carries between steps is its own result, the versions
it wrote and each finished step's evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from spark.contracts.build_params import UnityBuildParams
from spark.contracts.compile_params import CompileCheckParams
from spark.contracts.params import Verify
from spark.contracts.test_params import RunTestsParams
from spark.db import jobs as job_queries
from spark.domain.jobs import Claim, Job, JobError, JobKind, JobState
from spark.handlers import restore
from spark.jobs import children
from spark.jobs.ending import CANCELED, Ending
from spark.jobs.runner import Waits
from spark.jobs.tools import Tools

#: the steps in the order they run: (name in `verify` and `verification`, kind, params model)
STEPS: tuple[tuple[str, JobKind, type[BaseModel]], ...] = (
    ("compile", JobKind.COMPILE_CHECK, CompileCheckParams),
    ("tests", JobKind.RUN_TESTS, RunTestsParams),
    ("build", JobKind.UNITY_BUILD, UnityBuildParams),
)
_KINDS = {kind: name for name, kind, _ in STEPS}
#: the parent's progress once its own work is done; the steps share what remains
_WRITTEN_PERCENT = 50


def plan_of(job: Job) -> Verify | None:
    """The job's `verify`, when it asks for at least one step."""
    return Verify.asked_in(job.params)


def steps_of(plan: Verify) -> list[tuple[str, JobKind, dict[str, Any]]]:
    """(name, kind, params) of each step the plan asks for, in order."""
    asked: dict[str, dict[str, Any] | None] = {"compile": {} if plan.compile else None}
    asked["tests"] = {"platform": plan.tests} if plan.tests else None
    asked["build"] = {"target": plan.build.value} if plan.build else None
    found = []
    for name, kind, model in STEPS:
        given = asked[name]
        if given is not None:
            params = model.model_validate(given).model_dump(mode="json", by_alias=True)
            found.append((name, kind, params))
    return found


def written_refs(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The versions a writing job's result names: `written`, or its one `path` + `version`."""
    if isinstance(result.get("written"), list):
        return [dict(ref) for ref in result["written"]]
    if "path" in result and "version" in result:
        return [{"path": result["path"], "version": result["version"], "sha256": result["sha256"]}]
    return []


@dataclass(frozen=True)
class Verifier:
    """Starts a job's verify steps and decides what follows each one."""

    parenting: children.Parenting
    tools: Tools

    def follow_up(self, held: Claim, ending: Ending) -> Ending | Waits | None:
        """After a writing job's handler: hand over to its first step, or end as it was."""
        plan = plan_of(held.job)
        if plan is None or ending.result is None:
            return ending
        carried = {"result": dict(ending.result), "written": written_refs(ending.result)}
        first = self._next(plan, carried, done={})
        if first is None:
            return ending
        if children.hand_over(self.parenting, held.job, held.attempt, first) is not None:
            return Waits(held.job)
        current = job_queries.get_job(self.parenting.db, held.job.id)
        if current is None or current.state is not JobState.RUNNING:
            return None
        if current.attempts != held.attempt or not current.cancel_requested:
            return None
        # Canceled before its first step: the change was never proven.
        return self._fail(current, plan, carried, {}, None)

    def decide(self, parent: Job, carried: Mapping[str, Any], child: Job) -> children.Next | Ending:
        """What follows the child's end: the next step, or the parent's end."""
        plan = plan_of(parent)
        if plan is None:  # never expected: only a job with a plan waits
            return Ending(JobState.FAILED, error=JobError("internal_error", "no verify plan"))
        done = {**carried.get("done", {}), _KINDS[child.kind]: evidence(child)}
        if parent.cancel_requested or child.state is not JobState.SUCCEEDED:
            return self._fail(parent, plan, carried, done, child)
        following = self._next(plan, carried, done)
        if following is not None:
            return following
        verification = {**_steps(done), "failed_step": None, "rolled_back": []}
        return Ending(JobState.SUCCEEDED, {**carried["result"], "verification": verification})

    def _next(
        self, plan: Verify, carried: Mapping[str, Any], done: Mapping[str, Any]
    ) -> children.Next | None:
        steps = steps_of(plan)
        remaining = [step for step in steps if step[0] not in done]
        if not remaining:
            return None
        name, kind, params = remaining[0]
        share = (100 - _WRITTEN_PERCENT) * (len(steps) - len(remaining)) // len(steps)
        return children.Next(
            kind=kind,
            params=params,
            continuation={**carried, "done": dict(done)},
            percent=_WRITTEN_PERCENT + share,
            message=f"verifying: {name} step {len(steps) - len(remaining) + 1} of {len(steps)}",
        )

    def _fail(
        self,
        parent: Job,
        plan: Verify,
        carried: Mapping[str, Any],
        done: Mapping[str, Any],
        child: Job | None,
    ) -> Ending:
        """The parent's end when a step failed, or it was canceled: its writes put back."""
        child_canceled = child is not None and child.state is JobState.CANCELED
        canceled = parent.cancel_requested or child_canceled
        step = _KINDS[child.kind] if child is not None else None
        rolled: Sequence[Mapping[str, Any]] = []
        pushed: Mapping[str, Any] = {}
        if not plan.keep_on_failure and parent.project_id is not None:
            why = _why(step, child, canceled)
            rolled, pushed = restore.put_back(
                self.tools, parent.project_id, parent.id, carried.get("written", []), why
            )
        verification = {**_steps(done), "failed_step": step, "rolled_back": list(rolled), **pushed}
        result = {**carried["result"], "verification": verification}
        if canceled:
            return Ending(JobState.CANCELED, result, CANCELED)
        assert child is not None
        return Ending(JobState.FAILED, result, _failure(step, child, plan, rolled))


def evidence(child: Job) -> dict[str, Any]:
    """A step's record in `verification`: its job, how it ended, what it found."""
    error = child.error
    return {
        "job_id": str(child.id),
        "kind": child.kind.value,
        "state": child.state.value,
        "result": dict(child.result) if child.result is not None else None,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


def _steps(done: Mapping[str, Any]) -> dict[str, Any]:
    return {name: done.get(name) for name, _, _ in STEPS}


def _why(step: str | None, child: Job | None, canceled: bool) -> str:
    if canceled or child is None:
        return "verify: canceled before the change was proven"
    return f"verify: the {step} step failed (job {child.id})"


def _failure(
    step: str | None, child: Job, plan: Verify, rolled: Sequence[Mapping[str, Any]]
) -> JobError:
    cause = child.error.message if child.error else child.state.value
    kept = "the change was kept" if plan.keep_on_failure else "the change was rolled back"
    message = f"the {step} step failed (job {child.id}): {cause}; {kept}"
    details = {
        "step": step,
        "job_id": str(child.id),
        "code": child.error.code if child.error else None,
        "rolled_back": [ref["path"] for ref in rolled if ref.get("version") is not None],
    }
    return JobError("verification_failed", message, details)
