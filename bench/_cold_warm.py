"""Cold vs warm builds: a project of ASSETS assets built twice on one builder, the first with no
Library/ (every asset imported, at IMPORT_S each in the Unity stand-in), the second from the
builder's Library cache (nothing imported)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fakes.unity import make_unity_project

#: the project: scripts, materials, prefabs, textures and audio clips, about 10 MB in all
ASSETS = {"cs": (100, 3_000), "mat": (80, 2_000), "prefab": (60, 12_000)}
ASSETS |= {"png": (40, 128_000), "wav": (20, 200_000)}
#: what importing one asset costs the stand-in: Unity takes ~10 ms for a script or material
#: and 100 ms or more for a texture or a clip, so 50 ms is a fair mean for this mix
IMPORT_S = 0.05
ROUNDS = 2
_IMPORTED = re.compile(r"^\[FakeUnity\] imported (\d+) of (\d+) assets$", re.MULTILINE)

#: POSTs one unity_build job for a project id and waits for it: (job id, submitted, finished_at)
BuildOne = Callable[[str], tuple[str, float, float]]


@dataclass(frozen=True)
class Timed:
    """One build: seconds from the POST to the job's end, Unity's own seconds, assets imported
    of the project's, and the Library cache's answer."""

    total_s: float
    unity_s: float
    imported: int
    assets: int
    cache: str


@dataclass(frozen=True)
class ColdWarm:
    """Every round's cold and warm build, and the Library/ one project leaves in the cache."""

    cold: list[Timed]
    warm: list[Timed]
    library_bytes: int

    def means(self) -> dict[str, float]:
        """Mean seconds cold and warm (total and Unity's) and cold ÷ warm of each."""
        figures = {
            f"{side}_{leg}_s": statistics.fmean(getattr(t, f"{leg}_s") for t in timed)
            for side, timed in (("cold", self.cold), ("warm", self.warm))
            for leg in ("total", "unity")
        }
        figures["total_ratio"] = figures["cold_total_s"] / figures["warm_total_s"]
        figures["unity_ratio"] = figures["cold_unity_s"] / figures["warm_unity_s"]
        return figures


def make_project(root: Path) -> Path:
    """The benchmark's Unity project at root, its per-asset import cost IMPORT_S."""
    project = make_unity_project(root, "success", 0.0)
    (project / ".fake-unity-import-s").write_text(str(IMPORT_S))
    for extension, (count, size) in ASSETS.items():
        folder = project / "Assets" / extension.capitalize()
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            seed = f"{extension}{index}".encode()
            (folder / f"Asset{index}.{extension}").write_bytes((seed * size)[:size])
    return project


def _timed(http: httpx.Client, job_id: str, submitted: float, ended: float) -> Timed:
    """The build's figures from its job and its log."""
    job = http.get(f"/v1/jobs/{job_id}").json()
    found = _IMPORTED.search(http.get(f"/v1/jobs/{job_id}/log").text)
    if found is None:
        raise RuntimeError(f"build {job_id}: the stand-in's import line is not in its log")
    result: dict[str, Any] = job["result"]
    imported, assets = int(found.group(1)), int(found.group(2))
    return Timed(ended - submitted, result["duration_s"], imported, assets, result["library_cache"])


def run_rounds(http: httpx.Client, source: Path, cache_dir: Path, build_one: BuildOne) -> ColdWarm:
    """ROUNDS times: a new project over source (its own cache key), built cold then warm."""
    cold: list[Timed] = []
    warm: list[Timed] = []
    for index in range(ROUNDS):
        body = {"name": f"ColdWarm{index}", "source_dir": str(source)}
        resp = http.post("/v1/projects", json=body)
        if resp.status_code != 201:
            raise RuntimeError(f"POST /v1/projects answered {resp.status_code}: {resp.text[:300]}")
        project_id = str(resp.json()["id"])
        for side in (cold, warm):
            side.append(_timed(http, *build_one(project_id)))
    if {t.cache for t in cold} != {"miss"} or {t.cache for t in warm} != {"hit"}:
        raise RuntimeError(f"cold builds must miss and warm ones hit: {cold} {warm}")
    if any(t.imported for t in warm):
        raise RuntimeError(f"a warm build imported assets: {warm}")
    return ColdWarm(cold, warm, _entry_bytes(cache_dir))


def _entry_bytes(cache_dir: Path) -> int:
    """The largest entry's bytes in the builder's cache (one project's Library/)."""
    sizes = [
        int((entry / "usage").read_text().split()[0])
        for entry in (cache_dir / "entries").iterdir()
        if (entry / "usage").is_file()
    ]
    return max(sizes, default=0)


def render(figures: ColdWarm) -> list[str]:
    """The cold vs warm lines of the table."""
    means, cold = figures.means(), figures.cold[0]
    return [
        f"Library cache, cold vs warm ({ROUNDS} rounds, one project of {cold.assets} assets, "
        f"{IMPORT_S * 1000:.0f} ms per imported asset in the stand-in, Library/ "
        f"{figures.library_bytes / 2**20:.1f} MiB):",
        f"  submit -> terminal   cold {means['cold_total_s']:7.2f} s   warm "
        f"{means['warm_total_s']:6.2f} s   cold / warm {means['total_ratio']:5.1f}x",
        f"  Unity (duration_s)   cold {means['cold_unity_s']:7.2f} s   warm "
        f"{means['warm_unity_s']:6.2f} s   cold / warm {means['unity_ratio']:5.1f}x",
        f"  assets imported      cold {cold.imported} of {cold.assets}, warm "
        f"{figures.warm[0].imported}",
    ]
