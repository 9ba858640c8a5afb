"""The kind registry: every fact about each job kind, declared once.

Adding a kind is one declaration here plus its handler module (and its params and result
models in `spark/contracts/`). Everything else that needs a kind fact — the Celery queues
and routes, the worker's tasks, the permission a submission needs, the quotas it is
checked against, the subject tree its events go to — derives it from this table, so a
kind cannot be half-added. The registry imports only `domain` and `contracts`, so every
layer may read it; handlers are named by import path and loaded by the worker alone, so
the API process never imports an engine.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from spark.contracts import results
from spark.contracts.asset_params import ExportPackageParams, GenerateAssetParams
from spark.contracts.assist import AssistParams, AssistResult
from spark.contracts.build_params import UnityBuildParams
from spark.contracts.compile_params import CompileCheckParams
from spark.contracts.params import GenerateScriptParams, Params, Verify
from spark.contracts.patch_params import ApplyPatchParams, RenderPreviewParams
from spark.contracts.preset_params import ApplyPresetParams
from spark.contracts.test_params import RunTestsParams
from spark.domain.events import EventFamily
from spark.domain.jobs import JobKind, Queue
from spark.domain.principals import Permission
from spark.domain.targets import BuildTarget, build_queue


class Quota(enum.Enum):
    """A tier limit checked when a job of the kind is submitted (CONTRACT §6)."""

    #: refused once the owner's LLM tokens this month reach the tier's quota
    LLM_TOKENS = "llm_tokens"
    #: counts against the owner's concurrent builds, held in the inserting transaction
    CONCURRENT_BUILDS = "concurrent_builds"


@dataclass(frozen=True)
class TimeLimits:
    """How long a job of the kind may run, and how long its message may go unclaimed."""

    #: the handler is interrupted (job timed_out) after this long
    soft_s: int
    #: the worker process is killed after this long; the reaper uses it for silent jobs
    hard_s: int
    #: a queued job whose message has not been claimed after this long is sent again, in
    #: case the broker lost it (the idempotent claim makes a duplicate harmless)
    redispatch_after_s: int = 900


@dataclass(frozen=True)
class RetryPolicy:
    """What a job of the kind does when something other than its own code fails."""

    #: how many attempts may die with their worker before the job fails worker_lost
    #: (None: SPARK_MAX_ATTEMPTS)
    max_attempts: int | None = None
    #: how long after submission a job may keep waiting for a failing dependency such as
    #: the LLM (None: its soft time limit)
    dependency_wait_s: int | None = None
    #: the longest pause between tries of a message whose database was away
    backoff_max_s: int = 60


@dataclass(frozen=True)
class KindSpec:
    """Everything SPARK knows about one job kind."""

    kind: JobKind
    queue: Queue
    params: type[Params]
    result: type[BaseModel]
    permission: Permission
    family: EventFamily
    limits: TimeLimits
    #: "module:function" of the handler the worker runs; None: declared by the contract but
    #: not served yet, so submissions are refused with a 422 that says so
    handler: str | None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quotas: frozenset[Quota] = frozenset()
    #: a submission must name one of the owner's projects
    needs_project: bool = False
    #: the project's webhooks hear when a job of the kind ends
    notifies_webhooks: bool = False
    #: the job runs on the farm for the target its params name: its message goes to that
    #: target's queue (`builds.<Target>`), which only builders declaring the target consume
    per_target: bool = False
    #: the API stores what the submitting credential may do in the params' `caller`, and
    #: the job acts for its owner only within that (an assist's tool calls)
    records_caller: bool = False

    @property
    def task_name(self) -> str:
        """The Celery task that runs jobs of this kind."""
        return f"spark.jobs.{self.kind.value}"

    @property
    def available(self) -> bool:
        """Whether this server runs jobs of the kind."""
        return self.handler is not None

    def target_of(self, params: Mapping[str, Any]) -> BuildTarget | None:
        """The build target a job of the kind with params runs for; None off the farm."""
        if not self.per_target:
            return None
        try:
            return BuildTarget(str(params.get("target")))
        except ValueError:
            return None

    def queue_for(self, params: Mapping[str, Any]) -> str:
        """The broker queue a job of the kind with params is sent to."""
        target = self.target_of(params)
        return build_queue(target) if target is not None else self.queue.value

    def permissions_for(self, params: Mapping[str, Any]) -> frozenset[Permission]:
        """What submitting a job of the kind with params needs: the kind's permission, and
        spark:build as well when its `verify` runs steps on the farm."""
        steps = Verify.asked_in(params) is not None
        return frozenset({self.permission, Permission.BUILD} if steps else {self.permission})

    def quotas_for(self, params: Mapping[str, Any]) -> frozenset[Quota]:
        """The quotas a submission of the kind with params is checked against: the kind's,
        and a build slot when its `verify` runs steps on the farm."""
        verifies = Verify.asked_in(params) is not None
        return self.quotas | {Quota.CONCURRENT_BUILDS} if verifies else self.quotas


def _farm_kind(
    kind: JobKind,
    params: type[Params],
    result: type[BaseModel],
    handler: str,
    *,
    per_target: bool = False,
) -> KindSpec:
    """A kind the build farm runs: a builds queue, spark:build, the build event family, up to
    three hours, one of the owner's concurrent builds, a project whose webhooks hear its end."""
    return KindSpec(
        kind=kind,
        queue=Queue.BUILDS,
        params=params,
        result=result,
        permission=Permission.BUILD,
        family=EventFamily.BUILD,
        limits=TimeLimits(soft_s=3 * 3600, hard_s=3 * 3600 + 300, redispatch_after_s=6 * 3600),
        handler=handler,
        quotas=frozenset({Quota.CONCURRENT_BUILDS}),
        needs_project=True,
        notifies_webhooks=True,
        per_target=per_target,
    )


#: the longest unity-mcp may hold one push into a project's editor: a script write and the
#: refresh after it, each waiting out the compile it starts (the bridge's SERVER_WAIT_S); the
#: kinds that write project files get it on top of their own work, so a slow compile is
#: reported as the editor's, not as the job timing out with its files already written
EDITOR_PUSH_S = 240

_DECLARED = (
    KindSpec(
        kind=JobKind.GENERATE_SCRIPT,
        queue=Queue.GENERATION,
        params=GenerateScriptParams,
        result=results.GenerateScriptResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        limits=TimeLimits(soft_s=120 + EDITOR_PUSH_S, hard_s=150 + EDITOR_PUSH_S),
        handler="spark.handlers.scripts:generate_script",
        quotas=frozenset({Quota.LLM_TOKENS}),
        # an LLM that is down is waited for as long as the generation itself may take
        retry=RetryPolicy(dependency_wait_s=120),
    ),
    KindSpec(
        kind=JobKind.APPLY_PATCH,
        queue=Queue.PATCHES,
        params=ApplyPatchParams,
        result=results.ApplyPatchResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        limits=TimeLimits(soft_s=60 + EDITOR_PUSH_S, hard_s=90 + EDITOR_PUSH_S),
        handler="spark.handlers.patches:apply_patch",
        needs_project=True,
    ),
    KindSpec(
        kind=JobKind.APPLY_PRESET,
        queue=Queue.GENERATION,
        params=ApplyPresetParams,
        result=results.ApplyPresetResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        limits=TimeLimits(soft_s=120 + EDITOR_PUSH_S, hard_s=150 + EDITOR_PUSH_S),
        handler="spark.handlers.presets:apply_preset",
    ),
    KindSpec(
        kind=JobKind.GENERATE_ASSET,
        queue=Queue.PATCHES,
        params=GenerateAssetParams,
        result=results.GenerateAssetResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        limits=TimeLimits(soft_s=60 + EDITOR_PUSH_S, hard_s=90 + EDITOR_PUSH_S),
        handler="spark.handlers.assets:generate_asset",
    ),
    KindSpec(
        kind=JobKind.RENDER_PREVIEW,
        queue=Queue.PREVIEWS,
        params=RenderPreviewParams,
        result=results.RenderPreviewResult,
        permission=Permission.GENERATE,
        family=EventFamily.PREVIEW,
        limits=TimeLimits(soft_s=120, hard_s=180),
        handler="spark.handlers.previews:render_preview",
        # A preview is interactive: with no editor connected it fails within seconds
        # instead of waiting out its two-minute limit (the bridge itself rides out reloads).
        retry=RetryPolicy(dependency_wait_s=10),
    ),
    _farm_kind(
        JobKind.UNITY_BUILD,
        UnityBuildParams,
        results.UnityBuildResult,
        "spark.handlers.builds:unity_build",
        per_target=True,
    ),
    # No target to build: the plain builds queue, which every builder consumes.
    _farm_kind(
        JobKind.COMPILE_CHECK,
        CompileCheckParams,
        results.CompileCheckResult,
        "spark.handlers.compile:compile_check",
    ),
    _farm_kind(
        JobKind.RUN_TESTS, RunTestsParams, results.RunTestsResult, "spark.handlers.tests:run_tests"
    ),
    KindSpec(
        kind=JobKind.EXPORT_PACKAGE,
        queue=Queue.PATCHES,
        params=ExportPackageParams,
        result=results.ExportPackageResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        limits=TimeLimits(soft_s=600, hard_s=660),
        handler="spark.handlers.packages:export_package",
    ),
    KindSpec(
        kind=JobKind.ASSIST,
        queue=Queue.GENERATION,
        params=AssistParams,
        result=AssistResult,
        permission=Permission.GENERATE,
        family=EventFamily.RUNTIME,
        # The limits hold each of its runs (an LLM answer, a refused call answered); the tool
        # calls run as child jobs under their own limits while the turn holds no worker.
        limits=TimeLimits(soft_s=300, hard_s=330),
        handler="spark.handlers.assist:assist",
        quotas=frozenset({Quota.LLM_TOKENS}),
        retry=RetryPolicy(dependency_wait_s=120),
        records_caller=True,
    ),
)

#: every declared kind, by name
REGISTRY: Mapping[JobKind, KindSpec] = {spec.kind: spec for spec in _DECLARED}

#: the longest any message may stay unacknowledged; the broker's visibility timeout must exceed it
LONGEST_HARD_LIMIT_S = max(spec.limits.hard_s for spec in _DECLARED)


def spec_of(kind: JobKind) -> KindSpec:
    """The declaration of kind."""
    return REGISTRY[kind]


def available() -> list[KindSpec]:
    """The kinds this server runs."""
    return [spec for spec in _DECLARED if spec.available]


def queue_of(kind: JobKind, params: Mapping[str, Any]) -> str:
    """The broker queue a job of kind with params is sent to."""
    return REGISTRY[kind].queue_for(params)


def per_target_kinds() -> frozenset[JobKind]:
    """The kinds routed to a queue per build target."""
    return frozenset(spec.kind for spec in _DECLARED if spec.per_target)


def target_queues() -> list[str]:
    """Every per-target farm queue, in BuildTarget order."""
    return [build_queue(target) for target in BuildTarget]


def kinds_with(quota: Quota) -> frozenset[JobKind]:
    """The kinds checked against quota."""
    return frozenset(spec.kind for spec in _DECLARED if quota in spec.quotas)


def job_permissions() -> frozenset[Permission]:
    """Every permission some kind needs (any of them lets a caller cancel its own jobs)."""
    return frozenset(spec.permission for spec in _DECLARED)
