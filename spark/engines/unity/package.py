"""The export_package job: project files packed into an importable `.unitypackage`."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from spark.contracts.asset_params import ExportPackageParams
from spark.engines.unity.unity_yaml import check_guid, meta_for_path, meta_guid, stable_guid
from spark.errors import JobFailure

Report = Callable[[int, str], None]

# Fixed timestamps and owners make the same files give byte-identical packages, so a
# package's sha256 identifies its content and repeated exports can be compared.
_MTIME = 0
_FILE_MODE = 0o644


@dataclass(frozen=True)
class PackageEntry:
    """One asset in a package: its project path, GUID, bytes and .meta text."""

    path: str
    guid: str
    asset: bytes
    meta: str


#: a file to pack: its project path and its text, or its bytes as the project store holds them
Packable = tuple[str, str | bytes]


def plan_package(
    files: Sequence[Packable], guid_for: Callable[[str], str] | None = None
) -> list[PackageEntry]:
    """The package's entries: each file with its given .meta, or a new one with a stable GUID."""
    contents = dict(files)
    if len(contents) != len(files):
        raise ValueError("a path appears more than once")
    metas = {path: _text(path, data) for path, data in contents.items() if path.endswith(".meta")}
    for meta_path in metas:
        if meta_path.removesuffix(".meta") not in contents:
            raise ValueError(f"{meta_path} comes without its asset")
    new_guid = guid_for or stable_guid
    entries: list[PackageEntry] = []
    for path, text in contents.items():
        if path in metas:
            continue  # packed as the asset.meta of its asset, never as an asset itself
        given = metas.get(f"{path}.meta")
        guid = meta_guid(given) if given is not None else check_guid(new_guid(path))
        meta = given if given is not None else meta_for_path(path, guid)
        asset = text.encode() if isinstance(text, str) else text
        entries.append(PackageEntry(path, guid, asset, meta))
    guids = [entry.guid for entry in entries]
    if len(set(guids)) != len(guids):
        raise ValueError("two files share a GUID; Unity would import only one of them")
    return entries


def _text(path: str, data: str | bytes) -> str:
    """A .meta file's text; Unity writes them as UTF-8 YAML."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add one regular file with fixed metadata."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _MTIME
    info.mode = _FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    archive.addfile(info, io.BytesIO(data))


def write_unitypackage(entries: Sequence[PackageEntry]) -> bytes:
    """A gzip-compressed tar of `<guid>/asset`, `<guid>/asset.meta`, `<guid>/pathname` per entry."""
    buffer = io.BytesIO()
    # mtime=0 and no file name keep the gzip header itself deterministic.
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=_MTIME) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        for entry in sorted(entries, key=lambda e: e.guid):
            _add(archive, f"{entry.guid}/asset", entry.asset)
            _add(archive, f"{entry.guid}/asset.meta", entry.meta.encode())
            _add(archive, f"{entry.guid}/pathname", entry.path.encode())
    return buffer.getvalue()


def build_unitypackage(
    files: Sequence[Packable], guid_for: Callable[[str], str] | None = None
) -> bytes:
    """A .unitypackage of (project path, text) files; `<path>.meta` inputs give their GUIDs."""
    return write_unitypackage(plan_package(files, guid_for))


def selected_files(params: ExportPackageParams) -> list[Packable]:
    """The listed files given inline, plus the given .meta of each (other paths name the
    project's files, which the caller reads from the store)."""
    contents = {f.path: f.content for f in params.files}
    assets = [path for path in params.paths if path in contents and not path.endswith(".meta")]
    metas = [f"{path}.meta" for path in assets if f"{path}.meta" in contents]
    return [(path, contents[path]) for path in [*assets, *metas]]


def export_package(
    params: ExportPackageParams, report: Report, files: Sequence[Packable] | None = None
) -> tuple[dict[str, Any], bytes]:
    """Pack files (by default those the params give inline), and describe the package as the
    job's result alongside its bytes."""
    chosen = selected_files(params) if files is None else files
    report(10, f"packing {len(chosen)} files")
    try:
        entries = plan_package(chosen)
    except ValueError as exc:
        raise JobFailure("invalid_package", str(exc)) from exc
    report(50, "compressing the package")
    data = write_unitypackage(entries)
    report(90, "package ready")
    result = {
        "artifact": f"{params.name}.unitypackage",
        "files": [{"path": entry.path, "guid": entry.guid} for entry in entries],
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return result, data
