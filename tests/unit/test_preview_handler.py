"""The render_preview handler against an in-process bridge: scene first, then one capture
of the asked size; a cache hit copies the frame without calling the editor."""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image
from prometheus_client import REGISTRY

from spark.domain.events import Event, EventType
from spark.domain.jobs import Job, JobKind, JobState
from spark.engines.unity.bridge import Editor, EditorInstance, EditorUnavailable, Screenshot
from spark.errors import JobFailure
from spark.handlers.previews import render_preview
from spark.jobs.runner import JobContext
from spark.jobs.tools import Tools
from spark.kv.preview_cache import CachedPreview
from spark.storage.artifacts import Artifacts
from spark.storage.local import LocalBlobs

EDITOR = Editor("http://editor.example:8080/mcp")


@dataclass
class FakeBridge:
    """Records calls; captures a 16:9 frame no larger than asked (it is its own session)."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    down: bool = False
    instance: ClassVar[EditorInstance] = EditorInstance("Game@1234abcd", "Game", "1234abcd")

    @contextlib.contextmanager
    def attach(self, editor: Editor) -> Iterator[FakeBridge]:
        if self.down:
            raise EditorUnavailable(f"no Unity editor is connected to {editor.url}")
        yield self

    def open_scene(self, scene: str) -> None:
        self.calls.append(("open_scene", scene))

    def screenshot(self, *, width: int, height: int, camera: str | None = None) -> Screenshot:
        self.calls.append(("screenshot", (width, height, camera)))
        longest = max(width, height)
        w, h = longest, max(1, longest * 9 // 16)
        out = io.BytesIO()
        Image.new("RGBA", (w, h), (0, 128, 0, 255)).save(out, "PNG")
        return Screenshot(out.getvalue(), "image/png", w, h)


@dataclass
class Previews:
    """The preview cache as a dict (the Redis adapter has its own integration test)."""

    entries: dict[str, CachedPreview] = field(default_factory=dict)

    def get(self, key: str) -> CachedPreview | None:
        return self.entries.get(key)

    def put(self, key: str, entry: CachedPreview) -> None:
        self.entries[key] = entry


@dataclass
class Sink:
    events: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.events.append(event)


def run(
    tools: Tools, params: dict[str, Any], sink: Sink, attempt: int = 1
) -> tuple[uuid.UUID, dict[str, Any]]:
    job = Job(
        uuid.uuid4(), "alice", JobKind.RENDER_PREVIEW, JobState.RUNNING, params, datetime.now(UTC)
    )
    ctx = JobContext(job, attempt, lambda p, m: None, tools, sink)  # type: ignore[arg-type]
    return job.id, dict(render_preview(ctx))


def stored(tools: Tools, job_id: uuid.UUID, name: str, attempt: int = 1) -> bytes:
    """The bytes of the artifact the job's attempt stored as name."""
    opened = tools.artifacts.open(job_id, attempt, name)
    assert opened is not None
    with opened:
        return opened.read()


@pytest.fixture
def bridge() -> FakeBridge:
    return FakeBridge()


@pytest.fixture
def tools(tmp_path: Path, bridge: FakeBridge) -> Tools:
    return Tools(
        db=None,  # type: ignore[arg-type]  # a job without a project reads no files
        generator=None,  # type: ignore[arg-type]
        artifacts=Artifacts(LocalBlobs(tmp_path)),
        builds=None,  # type: ignore[arg-type]
        editor=bridge,  # type: ignore[arg-type]
        default_editor=EDITOR,
        previews=Previews(),
    )


def test_the_scene_is_opened_before_one_capture_of_the_asked_size(
    tools: Tools, bridge: FakeBridge
) -> None:
    params = {"width": 1080, "height": 1920, "scene": "Assets/Scenes/Main.unity", "camera": "Cam"}
    job_id, result = run(tools, params, Sink())
    assert bridge.calls == [
        ("open_scene", "Assets/Scenes/Main.unity"),
        ("screenshot", (1080, 1920, "Cam")),
    ]
    [listed] = result.pop("artifacts")
    assert result == {"artifact": "preview.png", "width": 1080, "height": 1920, "cached": False}
    assert listed["name"] == "preview.png" and listed["content_type"] == "image/png"
    with Image.open(io.BytesIO(stored(tools, job_id, "preview.png"))) as image:
        assert image.size == (1080, 1920)


def test_a_frame_event_names_the_artifact_its_href_size_and_digest(tools: Tools) -> None:
    sink = Sink()
    job_id, _ = run(tools, {"width": 64, "height": 48, "format": "jpg"}, sink)
    [frame] = sink.events
    data = stored(tools, job_id, "preview.jpg")
    assert frame.type is EventType.FRAME
    assert frame.subject == "spark.preview.unity.frame.default"
    assert dict(frame.data) == {
        "artifact": "preview.jpg",
        "href": f"/v1/jobs/{job_id}/artifacts/preview.jpg",
        "width": 64,
        "height": 48,
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_the_same_preview_again_is_copied_from_the_cache(tools: Tools, bridge: FakeBridge) -> None:
    params = {"width": 320, "height": 200}
    first, _ = run(tools, params, Sink())
    sink = Sink()
    second, result = run(tools, params, sink)
    assert result["cached"] is True
    assert [c for c in bridge.calls if c[0] == "screenshot"] == [("screenshot", (320, 200, None))]
    assert stored(tools, second, "preview.png") == stored(tools, first, "preview.png")
    assert [e.type for e in sink.events] == [EventType.FRAME]


def test_a_frame_a_later_attempt_rendered_is_found_under_that_attempt(
    tools: Tools, bridge: FakeBridge
) -> None:
    """Artifacts are kept per attempt: the cache remembers which attempt stored the frame."""
    params = {"width": 100, "height": 50}
    first, _ = run(tools, params, Sink(), attempt=3)
    second, result = run(tools, params, Sink())
    assert result["cached"] is True and result["artifacts"][0]["attempt"] == 1
    assert stored(tools, second, "preview.png") == stored(tools, first, "preview.png", attempt=3)
    assert len([c for c in bridge.calls if c[0] == "screenshot"]) == 1


def _lookups(result: str) -> float:
    return REGISTRY.get_sample_value("spark_preview_cache_lookups_total", {"result": result}) or 0.0


def test_each_lookup_is_counted_as_a_miss_then_a_hit(tools: Tools) -> None:
    """The first render of a preview counts a miss, the same preview again a hit."""
    hits, misses = _lookups("hit"), _lookups("miss")
    params = {"width": 64, "height": 48}
    run(tools, params, Sink())
    run(tools, params, Sink())
    assert (_lookups("hit") - hits, _lookups("miss") - misses) == (1, 1)


def test_a_cached_frame_whose_artifact_is_gone_is_rendered_again(
    tools: Tools, bridge: FakeBridge
) -> None:
    first, _ = run(tools, {"width": 32, "height": 32}, Sink())
    tools.artifacts.remove(first)
    _, result = run(tools, {"width": 32, "height": 32}, Sink())
    assert result["cached"] is False
    assert len([c for c in bridge.calls if c[0] == "screenshot"]) == 2


def test_an_editor_that_does_not_answer_is_a_dependency_outage(
    tools: Tools, bridge: FakeBridge
) -> None:
    bridge.down = True
    with pytest.raises(EditorUnavailable, match=r"editor\.example"):
        run(tools, {"width": 32, "height": 32}, Sink())


def test_without_any_editor_configured_the_job_fails_editor_unavailable(tmp_path: Path) -> None:
    bare = Tools(None, None, Artifacts(LocalBlobs(tmp_path)), None, FakeBridge(), Previews())  # type: ignore[arg-type]
    with pytest.raises(JobFailure) as failed:
        run(bare, {"width": 32, "height": 32}, Sink())
    assert failed.value.failure_code == "editor_unavailable"
