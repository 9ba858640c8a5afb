"""The Unity stand-in's asset import: what a cold Library/ costs an editor that opens a project.

Unity imports every asset under Assets/ whose artifact its Library/ lacks before it compiles or
builds anything, so a project opened without its Library/ takes time in proportion to its
assets. The stand-in does the same in miniature: an asset's artifact is
`Library/Artifacts/<xx>/<sha256 of its path and content>`; each missing one is logged as Unity
logs it, paused over for the per-asset cost and written. Library/ also gets the databases and
compiled scripts a real one holds, in sizes that grow with the project, so a cache of it has
sizes to cap.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path

#: seconds one asset's import takes when neither the environment nor the project says
DEFAULT_IMPORT_S = 0.002
#: imported artifacts are larger than their sources (mipmaps, platform formats): this many times
ARTIFACT_GROWTH = 2
#: a database's bytes per asset it records (ArtifactDB, SourceAssetDB), above a base of 16 KiB
DB_BYTES_PER_ASSET = 512
_GUID = re.compile(r"^guid:\s*([0-9a-f]{32})\s*$", re.MULTILINE)


def assets_of(project: Path) -> list[Path]:
    """The project's assets: every file under Assets/ but the .meta files beside them."""
    assets = project / "Assets"
    if not assets.is_dir():
        return []
    return sorted(p for p in assets.rglob("*") if p.is_file() and p.suffix != ".meta")


def artifact_path(project: Path, asset: Path, content: bytes) -> Path:
    """Where the artifact of asset with this content lives in Library/."""
    relative = asset.relative_to(project).as_posix()
    digest = hashlib.sha256(relative.encode() + b"\0" + content).hexdigest()
    return project / "Library" / "Artifacts" / digest[:2] / digest


def import_assets(project: Path, log: Callable[..., None], per_asset_s: float) -> int:
    """Import every asset whose artifact is missing, logging as Unity does; how many were."""
    started = time.monotonic()
    assets = assets_of(project)
    imported = 0
    for asset in assets:
        content = asset.read_bytes()
        artifact = artifact_path(project, asset, content)
        if artifact.is_file():
            continue
        relative = asset.relative_to(project).as_posix()
        log(f"Start importing {relative} using Guid({_guid(asset, relative)})")
        time.sleep(per_asset_s)
        artifact.parent.mkdir(parents=True, exist_ok=True)
        artifact.write_bytes(_filler(content, ARTIFACT_GROWTH * len(content) + 256))
        imported += 1
    _write_databases(project, assets)
    total = time.monotonic() - started
    refresh = hashlib.sha256(str(project).encode()).hexdigest()[:6]
    log(
        f"Asset Pipeline Refresh (id={refresh}): Total: {total:.3f} seconds - Initiated by "
        "InitialRefreshV2(NoUpdateAssetOptions)",
        f"[FakeUnity] imported {imported} of {len(assets)} assets",
    )
    return imported


def _guid(asset: Path, relative: str) -> str:
    """The asset's GUID from its .meta file, else one derived from its project path."""
    try:
        found = _GUID.search(asset.with_name(asset.name + ".meta").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        found = None
    return found.group(1) if found else hashlib.sha256(relative.encode()).hexdigest()[:32]


def _write_databases(project: Path, assets: list[Path]) -> None:
    """The asset databases and compiled scripts of Library/, sized by the project."""
    library = project / "Library"
    scripts = sum(p.stat().st_size for p in assets if p.suffix == ".cs")
    sizes = {
        "ArtifactDB": 16384 + DB_BYTES_PER_ASSET * len(assets),
        "SourceAssetDB": 16384 + DB_BYTES_PER_ASSET * len(assets),
        "ScriptAssemblies/Assembly-CSharp.dll": 4096 + scripts,
        "ScriptAssemblies/Assembly-CSharp.pdb": 1024 + scripts // 2,
    }
    for name, size in sizes.items():
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        (library / name).write_bytes(_filler(name.encode(), size))


def _filler(seed: bytes, size: int) -> bytes:
    """size bytes derived from seed."""
    block = hashlib.sha256(seed).digest()
    return (block * (size // len(block) + 1))[:size]
