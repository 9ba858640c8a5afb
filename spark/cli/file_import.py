"""A Unity project directory written into SPARK's file store through the public API, so a
project registered without source_dir or git_url has its whole source in SPARK.

Only the folders the store keeps are read (Assets/, Packages/, ProjectSettings/): Library/,
Temp/ and the rest are Unity's caches, made again by any builder. Files come in history
documents (`POST …/history/import`), each request under the API's body limit; a path the
project has already is left alone: SPARK's version is the source from then on, changed
through jobs, patches and rollbacks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spark.client import SparkClient
from spark.contracts.files import FILE_ROOTS, HISTORY_FORMAT, check_file_path, encode_content
from spark.contracts.paths import MAX_CODE_BYTES
from spark.domain.files import sha256_of

#: the JSON sent per request, below the API's default 1 MB body limit with room to spare
BATCH_BYTES = 768 * 1024
#: file listing page size (the API's largest)
_PAGE = 200

Progress = Callable[[int], None]


@dataclass(frozen=True)
class LocalFile:
    """A file of the directory as the store will name it."""

    path: str
    source: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Scan:
    """What the directory holds for the store, and what it holds that the store cannot."""

    files: list[LocalFile]
    #: over the store's size limit (CONTRACT §5: 200 KB)
    too_large: list[str] = field(default_factory=list)
    #: names no project path may have (a backslash, `..`, too long)
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """What an import will do, path by path."""

    new: list[LocalFile]
    unchanged: list[str]
    #: paths SPARK has with other content: not written, SPARK's version stays the source
    differing: list[str]
    too_large: list[str]
    refused: list[str]

    @property
    def new_bytes(self) -> int:
        """The bytes of the files to write, for a progress bar."""
        return sum(f.size for f in self.new)

    def as_dict(self, requests: int) -> dict[str, Any]:
        """The summary `--json` prints once the files are written."""
        return {
            "written": [f.path for f in self.new],
            "unchanged": len(self.unchanged),
            "differing": self.differing,
            "too_large": self.too_large,
            "refused": self.refused,
            "requests": requests,
        }


def scan(directory: Path) -> Scan:
    """The directory's files under the store's roots, in path order; hidden names and
    Unity's `name~` folders left out as Unity leaves them out, symlinks not followed."""
    found, too_large, refused = [], [], []
    for root in FILE_ROOTS:
        for source in _walk(directory / root.rstrip("/")):
            path = source.relative_to(directory).as_posix()
            try:
                check_file_path(path)
            except ValueError:
                refused.append(path)
                continue
            # By its size alone: a project's large textures are never read only to be left out.
            if source.stat().st_size > MAX_CODE_BYTES:
                too_large.append(path)
                continue
            content = source.read_bytes()
            found.append(LocalFile(path, source, len(content), sha256_of(content)))
    return Scan(sorted(found, key=lambda f: f.path), sorted(too_large), sorted(refused))


def _walk(folder: Path) -> Iterator[Path]:
    """Regular files under folder, skipping what Unity's asset database skips."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(names):
            path = Path(parent) / name
            if not _ignored(name) and path.is_file() and not path.is_symlink():
                yield path


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith("~")


def existing(client: SparkClient, project_id: str) -> dict[str, str]:
    """Every path the project has, with its newest version's SHA-256."""
    heads: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page = client.files(project_id, limit=_PAGE, cursor=cursor)
        heads |= {item["path"]: item["sha256"] for item in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return heads


def plan(client: SparkClient, project_id: str, directory: Path) -> Plan:
    """The directory's files set against what the project has."""
    found = scan(directory)
    have = existing(client, project_id)
    return Plan(
        new=[f for f in found.files if f.path not in have],
        unchanged=[f.path for f in found.files if have.get(f.path) == f.sha256],
        differing=[f.path for f in found.files if have.get(f.path) not in (None, f.sha256)],
        too_large=found.too_large,
        refused=found.refused,
    )


def write(
    client: SparkClient, project_id: str, planned: Plan, message: str, progress: Progress
) -> int:
    """Write the plan's new files as the caller's version 1 of each; progress(bytes) after
    each request; how many requests it took."""
    author = {"user": client.usage()["user"], "subject": None}
    requests = 0
    for batch, size in batches(planned.new, author, message):
        client.import_history(project_id, batch)
        requests += 1
        progress(size)
    return requests


def batches(
    files: list[LocalFile], author: dict[str, Any], message: str
) -> Iterator[tuple[dict[str, Any], int]]:
    """History documents of version 1 of each file, each under BATCH_BYTES of JSON (a file
    whose JSON is larger goes alone), with the bytes of the files each holds."""
    created_at = datetime.now(UTC).isoformat()
    entries: list[dict[str, Any]] = []
    # The document around the entries counts too.
    envelope = len(json.dumps({"format": HISTORY_FORMAT, "files": []}))
    weight, size = envelope, 0
    for local in files:
        text, encoded = encode_content(local.source.read_bytes())
        version = {
            "version": 1,
            "sha256": local.sha256,
            "size": local.size,
            "author": author,
            "message": message,
            "created_at": created_at,
            "content": text,
            "content_base64": encoded,
        }
        entry = {"path": local.path, "versions": [version]}
        # As httpx encodes it (escapes make some text longer than its bytes), and a comma.
        cost = len(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        if entries and weight + cost > BATCH_BYTES:
            yield {"format": HISTORY_FORMAT, "files": entries}, size
            entries, weight, size = [], envelope, 0
        entries.append(entry)
        weight += cost
        size += local.size
    if entries:
        yield {"format": HISTORY_FORMAT, "files": entries}, size
