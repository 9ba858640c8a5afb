"""Per-kind job results as clients read them (CONTRACT §5); OpenAPI documents them from here.

Results may carry more than these fields (a build's target and revision, say): clients
must ignore what they do not know, so the models allow extra fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Result(BaseModel):
    """Base for every kind's result."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Tokens(BaseModel):
    prompt: int
    completion: int


class Diagnostic(BaseModel):
    """A problem in the code: found by SPARK's syntax check, by the project's editor
    compiling it (`source: editor`; the editor names the file, not the column), or said by
    the generator itself (`source: generator`, a warning: the offline generator has no
    behaviour for the request and wrote an empty class, which is not written to a project)."""

    line: int
    column: int | None
    message: str
    file: str | None = None
    source: Literal["syntax", "editor", "generator"] | None = None
    severity: Literal["error", "warning"] | None = None


class EditorDiagnostic(BaseModel):
    file: str
    line: int
    message: str


class StaleFile(BaseModel):
    """A file edited in the editor since SPARK last wrote it: left as the editor has it."""

    path: str
    expected_sha256: str | None
    current_sha256: str | None


class RefusedFile(BaseModel):
    """A file the editor would not take (a path or type it does not accept)."""

    path: str
    error: str


class EditorPush(BaseModel):
    """How the job's files went into the project's Unity editor (projects with one only).
    `error` (`editor_unavailable: …`) says the editor stopped answering; the files are in
    SPARK all the same."""

    pushed: list[str]
    stale: list[StaleFile]
    diagnostics: list[EditorDiagnostic]
    refused: list[RefusedFile] = Field(default_factory=list)
    error: str | None = None


class VerifyStep(BaseModel):
    """One verify step: the child job that ran it, how it ended, and what it found."""

    job_id: str
    kind: str
    state: str
    result: dict[str, object] | None = None
    error: dict[str, object] | None = None


class Restored(BaseModel):
    """A path a failed verification put back: the version that restores it, or why not."""

    path: str
    #: the version written by the rollback (None: nothing written, see reason)
    version: int | None = None
    #: the path did not exist before the job: the rollback deleted it
    deleted: bool = False
    reason: str | None = None


class Verification(BaseModel):
    """`verification`: each step asked for (null when not asked for, or not reached)."""

    compile: VerifyStep | None = None
    tests: VerifyStep | None = None
    build: VerifyStep | None = None
    #: the step that failed (or was canceled); None when every step passed
    failed_step: str | None = None
    rolled_back: list[Restored] = Field(default_factory=list)


class GenerateScriptResult(Result):
    """`generate_script`: the script and what writing it cost."""

    path: str
    code: str
    class_name: str
    provider: str
    model: str | None
    tokens: Tokens
    diagnostics: list[Diagnostic]
    #: with write_to_project: the version of path the script was written as, and its SHA-256
    version: int | None = None
    sha256: str | None = None
    editor: EditorPush | None = None
    verification: Verification | None = None


class ProjectFile(BaseModel):
    path: str
    content: str
    sha256: str | None = None


class FileVersionRef(BaseModel):
    """One version of one project file: what a job wrote, packed or built."""

    path: str
    version: int
    sha256: str


class ApplyPresetResult(Result):
    """`apply_preset`: every script of the template, the build settings that suit it (also
    as a JSON file), and with a project, the version of each file it wrote there."""

    preset_id: str
    name: str
    files: list[ProjectFile]
    build_settings: dict[str, object]
    settings_file: ProjectFile | None = None
    written: list[FileVersionRef] = Field(default_factory=list)
    editor: EditorPush | None = None
    verification: Verification | None = None


class GenerateAssetResult(Result):
    """`generate_asset`: the Unity YAML asset and its .meta."""

    asset_type: Literal["prefab", "material"]
    path: str
    guid: str
    files: list[ProjectFile]
    #: with a project: the asset's and the .meta's new versions
    written: list[FileVersionRef] = Field(default_factory=list)
    editor: EditorPush | None = None
    verification: Verification | None = None


class Artifact(BaseModel):
    name: str
    size: int
    sha256: str
    content_type: str


class PackagedFile(BaseModel):
    path: str
    guid: str


class ExportPackageResult(Result):
    """`export_package`: the .unitypackage artifact and what it holds."""

    artifact: str
    files: list[PackagedFile]
    size: int
    sha256: str
    artifacts: list[Artifact]
    #: the project file versions packed (files given inline have none)
    versions: list[FileVersionRef] = Field(default_factory=list)


class BuildMessage(BaseModel):
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str | None = None
    message: str


class CompileCheckResult(Result):
    """`compile_check`: what the editor's compile said, and the file versions compiled."""

    result: Literal["succeeded", "failed"]
    exit_code: int | None
    duration_s: float
    errors: list[BuildMessage]
    warnings: list[BuildMessage]
    error_count: int
    warning_count: int
    files: list[FileVersionRef] = Field(default_factory=list)
    #: whether the builder's Library cache held this project's Library/ when it started
    library_cache: Literal["hit", "miss"] | None = None


class UnityBuildResult(Result):
    """`unity_build`: how the build went, what Unity said, what it produced."""

    result: Literal["succeeded", "failed", "canceled", "unknown"]
    exit_code: int | None
    duration_s: float
    errors: list[BuildMessage]
    warnings: list[BuildMessage]
    artifacts: list[Artifact]
    #: the version of each SPARK project file laid over the source for this build
    files: list[FileVersionRef] = Field(default_factory=list)
    #: whether the builder's Library cache held this project's Library/ for the target and
    #: its Unity version when the build started
    library_cache: Literal["hit", "miss"] | None = None
    #: Android only: signed with the project's keystore, or with Unity's debug key
    signed: Literal["project", "debug"] | None = None


class FailedTest(BaseModel):
    """One failed test: its full name, the assertion's message and where it failed."""

    fullname: str
    message: str
    file: str | None = None
    line: int | None = None
    stack: str = ""


class RunTestsResult(Result):
    """`run_tests`: the NUnit counts, each failure, and the file versions tested."""

    result: Literal["passed", "failed", "error"]
    total: int
    passed: int
    failed: int
    skipped: int
    inconclusive: int
    duration_s: float
    failures: list[FailedTest]
    #: Unity's exit code (0 passed, 2 failures, 3 run error, 4 unknown platform)
    exit_code: int | None = None
    #: the version of each SPARK project file laid over the source for this run
    files: list[FileVersionRef] = Field(default_factory=list)
    #: the NUnit XML, `<platform>-results.xml`
    artifacts: list[Artifact] = Field(default_factory=list)


class ApplyPatchResult(Result):
    """`apply_patch`: the file's new version, and a unified diff of what changed."""

    path: str
    version: int
    sha256: str
    #: from a/<path> (/dev/null for a new file) to b/<path>; an `unified_diff` patch of it
    #: applies to the old version
    diff: str
    editor: EditorPush | None = None
    verification: Verification | None = None


class RenderPreviewResult(Result):
    """`render_preview`: the captured frame, stored as an artifact."""

    artifact: str
    width: int
    height: int
    cached: bool
